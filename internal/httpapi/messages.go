package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/companyapi/companyapi/internal/auth"
	"github.com/companyapi/companyapi/internal/chat"
)

func (s *server) createMessage(c echo.Context) error {
	convID, err := pathID(c, "id")
	if err != nil {
		return err
	}
	o, err := bindObject(c, "message")
	if err != nil {
		return err
	}
	content, clientID := o.str("content"), o.str("client_id")
	if err := o.err(chat.ValidateSend(content, clientID)); err != nil {
		return err
	}
	m, err := s.chat.SendMessage(c.Request().Context(), chat.SendInput{
		SenderID:       auth.Current(c).User.ID,
		ConversationID: convID,
		Content:        content,
		ClientID:       clientID,
	})
	if err != nil {
		return err
	}
	if m.Repeat {
		// A retry of a send that was stored: the stored message, no new one.
		return c.JSON(http.StatusOK, dataBody{Data: m})
	}
	return c.JSON(http.StatusCreated, dataBody{Data: m})
}

type historyBody struct {
	Data   []chat.Message  `json:"data"`
	Paging map[string]*int `json:"paging"`
}

// listMessages pages through history: newest first by default and with
// ?before=, oldest first with ?after= (catching up after a reconnect;
// ?after=0 from the start).
func (s *server) listMessages(c echo.Context) error {
	convID, err := pathID(c, "id")
	if err != nil {
		return err
	}
	q := newQuery(c)
	limit, before, after := q.limit(), q.int("before", 1, 0), q.int("after", 0, 0)
	// ?after=0 reads from the first message: a client that has none yet
	// catches up the same way as one that has some.
	forward := q.has("after")
	if q.has("before") && forward {
		q.errs.Add("after", "cannot be combined with before")
	}
	if err := q.err(); err != nil {
		return err
	}
	page, err := s.chat.History(c.Request().Context(), auth.Current(c).User.ID, convID,
		chat.HistoryQuery{Before: before, After: after, Forward: forward, Limit: limit})
	if err != nil {
		return err
	}
	body := historyBody{Data: page.Messages, Paging: map[string]*int{}}
	if forward {
		body.Paging["after"] = nonZero(page.After)
	} else {
		body.Paging["before"] = nonZero(page.Before)
	}
	return c.JSON(http.StatusOK, body)
}

func nonZero(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}
