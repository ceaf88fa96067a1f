package chat

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Conversation cursors are opaque to clients: base64url of
// "<unix nanos>.<id>", the last row's sort key.
func encodeActivityCursor(at time.Time, id int) string {
	raw := strconv.FormatInt(at.UTC().UnixNano(), 10) + "." + strconv.Itoa(id)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// ValidateCursor checks a ListConversations cursor without the store, for
// transports to report a bad one together with their other field errors.
func ValidateCursor(cursor string) error {
	if cursor == "" {
		return nil
	}
	if _, _, err := decodeActivityCursor(cursor); err != nil {
		return FieldError("cursor", MsgInvalid)
	}
	return nil
}

func decodeActivityCursor(s string) (time.Time, int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, 0, err
	}
	ns, id, ok := strings.Cut(string(b), ".")
	if !ok {
		return time.Time{}, 0, errors.New("malformed cursor")
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil {
		return time.Time{}, 0, err
	}
	i, err := strconv.Atoi(id)
	if err != nil || i <= 0 {
		return time.Time{}, 0, errors.New("malformed cursor")
	}
	return time.Unix(0, n).UTC(), i, nil
}
