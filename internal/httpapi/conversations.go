package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/companyapi/companyapi/internal/auth"
	"github.com/companyapi/companyapi/internal/chat"
)

func (s *server) createConversation(c echo.Context) error {
	o, err := bindObject(c, "conversation")
	if err != nil {
		return err
	}
	recipient := o.id("recipient_id")
	if err := o.err(); err != nil {
		return err
	}
	conv, created, err := s.chat.CreateConversation(c.Request().Context(), auth.Current(c).User.ID, recipient)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, dataBody{Data: conv})
}

type conversationsPaging struct {
	Cursor *string `json:"cursor"`
}

type conversationsBody struct {
	Data   []chat.Conversation `json:"data"`
	Paging conversationsPaging `json:"paging"`
}

func (s *server) listConversations(c echo.Context) error {
	q := newQuery(c)
	limit, cursor := q.limit(), c.QueryParam("cursor")
	if err := q.err(chat.ValidateCursor(cursor)); err != nil {
		return err
	}
	list, next, err := s.chat.ListConversations(c.Request().Context(), auth.Current(c).User.ID, cursor, limit)
	if err != nil {
		return err
	}
	body := conversationsBody{Data: list}
	if next != "" {
		body.Paging.Cursor = &next
	}
	return c.JSON(http.StatusOK, body)
}

func (s *server) getConversation(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	conv, err := s.chat.GetConversation(c.Request().Context(), auth.Current(c).User.ID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, dataBody{Data: conv})
}

// markRead moves the caller's read mark: PUT /api/conversations/:id/read
// {"message_id": id}. An older mark is accepted and changes nothing.
func (s *server) markRead(c echo.Context) error {
	convID, err := pathID(c, "id")
	if err != nil {
		return err
	}
	o, err := bindTop(c)
	if err != nil {
		return err
	}
	msgID := o.id("message_id")
	if err := o.err(); err != nil {
		return err
	}
	if err := s.chat.MarkRead(c.Request().Context(), auth.Current(c).User.ID, convID, msgID, ""); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
