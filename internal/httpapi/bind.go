package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/companyapi/companyapi/internal/chat"
)

// object is one decoded JSON object whose fields are read one by one, so a
// wrong type is a 422 on that field rather than a 400 or a 500, and unknown
// fields are ignored.
type object struct {
	fields map[string]json.RawMessage
	errs   chat.FieldErrors
}

// bindObject reads the body as {"<key>": {...}} — the seed's envelope —
// and returns the inner object. A body that is not JSON, or has no such
// object, is a 400.
func bindObject(c echo.Context, key string) (*object, error) {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		// Echo's limit answers with its own error on streamed (chunked)
		// bodies and with http.MaxBytesError on sized ones.
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
			return nil, echo.NewHTTPError(http.StatusRequestEntityTooLarge)
		}
		return nil, echo.NewHTTPError(http.StatusBadRequest, "could not read the request body")
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "request body is not a JSON object")
	}
	raw, ok := env[key]
	var inner map[string]json.RawMessage
	if !ok || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) || json.Unmarshal(raw, &inner) != nil {
		return nil, echo.NewHTTPError(http.StatusBadRequest, `request body needs a "`+key+`" object`)
	}
	return &object{fields: inner, errs: chat.FieldErrors{}}, nil
}

// str returns a string field; absent or null is "", anything else that is
// not a string is recorded as invalid.
func (o *object) str(name string) string {
	raw, ok := o.fields[name]
	if !ok || string(raw) == "null" {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		o.errs.Add(name, chat.MsgInvalid)
	}
	return s
}

// id returns a positive integer field, recording "can't be blank" when
// absent and "is invalid" for anything that is not a positive integer.
func (o *object) id(name string) int {
	raw, ok := o.fields[name]
	if !ok || string(raw) == "null" {
		o.errs.Add(name, chat.MsgBlank)
		return 0
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil || n <= 0 {
		o.errs.Add(name, chat.MsgInvalid)
		return 0
	}
	return n
}

// err returns the type errors recorded so far.
func (o *object) err() error { return o.errs.Err() }

// queryInt reads an optional positive integer query parameter; 0 if absent.
func queryInt(c echo.Context, name string, maxVal int) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || (maxVal > 0 && n > maxVal) {
		msg := chat.MsgInvalid
		if maxVal > 0 && err == nil && n > maxVal {
			msg = "must be at most " + strconv.Itoa(maxVal)
		}
		return 0, chat.FieldError(name, msg)
	}
	return n, nil
}

// limitParam reads ?limit= with the default and maximum every list shares.
func limitParam(c echo.Context) (int, error) {
	n, err := queryInt(c, "limit", chat.MaxLimit)
	if err != nil || n == 0 {
		return chat.DefaultLimit, err
	}
	return n, nil
}

// pathID reads a positive integer path parameter; anything else names
// nothing that exists.
func pathID(c echo.Context, name string) (int, error) {
	n, err := strconv.Atoi(c.Param(name))
	if err != nil || n <= 0 {
		return 0, chat.ErrNotFound
	}
	return n, nil
}

type dataBody struct {
	Data any `json:"data"`
}
