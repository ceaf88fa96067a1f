// Package mail renders and delivers the server's mails: the welcome mail that
// carries a generated password, sent over SMTP in production or kept in the
// development Mailbox. Requests never send mail themselves: they queue it in
// the outbox (internal/outbox), so a slow or failing mail server never holds
// one up.
package mail

import (
	"context"
	"time"
)

// Mail is one rendered message. Text and HTML are alternative bodies of the
// same content; either may be empty.
type Mail struct {
	To      string    `json:"to"`
	From    string    `json:"from"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	HTML    string    `json:"html"`
	SentAt  time.Time `json:"sent_at"`
}

// Mailer delivers one mail. Implementations must return promptly once ctx is
// cancelled: Queue.Close relies on it to stop its workers.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}
