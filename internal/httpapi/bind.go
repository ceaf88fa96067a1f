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
// and returns the inner object. A body that is not a JSON object is a 400;
// a missing envelope is a 422 naming it ("can't be blank"), as is one that
// is not an object ("is invalid").
func bindObject(c echo.Context, key string) (*object, error) {
	env, err := bindTop(c)
	if err != nil {
		return nil, err
	}
	raw, ok := env.fields[key]
	if !ok || string(raw) == "null" {
		return nil, chat.FieldError(key, chat.MsgBlank)
	}
	var inner map[string]json.RawMessage
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) || json.Unmarshal(raw, &inner) != nil {
		return nil, chat.FieldError(key, chat.MsgInvalid)
	}
	return &object{fields: inner, errs: chat.FieldErrors{}}, nil
}

// bindTop reads the body as one JSON object, for the routes that take
// their fields at the top level. A body that is not a JSON object is a 400.
func bindTop(c echo.Context) (*object, error) {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		// Echo's limit answers with its own error on streamed (chunked)
		// bodies and with http.MaxBytesError on sized ones.
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
			return nil, echo.NewHTTPError(http.StatusRequestEntityTooLarge)
		}
		return nil, echo.NewHTTPError(http.StatusBadRequest)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return nil, echo.NewHTTPError(http.StatusBadRequest)
	}
	return &object{fields: fields, errs: chat.FieldErrors{}}, nil
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

// err returns the type errors recorded so far, together with those of
// checks (the domain's validation of the values read) on every other
// field, so one answer names every invalid field. Nil when all is well.
func (o *object) err(checks ...error) error {
	return merge(o.errs, checks...)
}

// merge adds the field errors of checks to errs, except on fields errs
// already names (a field of the wrong type was read as its zero value,
// which the domain would call blank too), and returns the result.
func merge(errs chat.FieldErrors, checks ...error) error {
	own := len(errs)
	names := make(map[string]bool, own)
	for f := range errs {
		names[f] = true
	}
	for _, err := range checks {
		if err == nil {
			continue
		}
		var e *chat.Error
		if !errors.As(err, &e) || len(e.Fields) == 0 {
			return err
		}
		for f, msgs := range e.Fields {
			if !names[f] {
				errs[f] = append(errs[f], msgs...)
			}
		}
	}
	return errs.Err()
}

// query reads query parameters, recording every invalid one so that one
// answer names them all.
type query struct {
	c    echo.Context
	errs chat.FieldErrors
}

func newQuery(c echo.Context) *query { return &query{c: c, errs: chat.FieldErrors{}} }

// has reports whether the parameter was given.
func (q *query) has(name string) bool { return q.c.QueryParam(name) != "" }

// int reads an optional whole number in [minVal, maxVal] (maxVal 0: no
// maximum); 0 if absent or invalid.
func (q *query) int(name string, minVal, maxVal int) int {
	v := q.c.QueryParam(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil || n < minVal:
		q.errs.Add(name, chat.MsgInvalid)
		return 0
	case maxVal > 0 && n > maxVal:
		q.errs.Add(name, "must be at most "+strconv.Itoa(maxVal))
		return 0
	}
	return n
}

// limit reads ?limit= with the default and maximum every list shares.
func (q *query) limit() int {
	if n := q.int("limit", 1, chat.MaxLimit); n != 0 {
		return n
	}
	return chat.DefaultLimit
}

// err returns every invalid parameter, with those of checks.
func (q *query) err(checks ...error) error { return merge(q.errs, checks...) }

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
