package mail

import (
	"errors"
	"fmt"

	gomail "github.com/wneessen/go-mail"
)

// errNoBody is permanent: sending it again will not give it a body.
var errNoBody = errors.New("mail: no text or HTML body")

// message turns m into a go-mail message: text first and HTML as its
// alternative, so clients that cannot show HTML still show the password.
func message(m Mail) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(m.From); err != nil {
		return nil, fmt.Errorf("mail: from %q: %w", m.From, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("mail: to %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	if m.SentAt.IsZero() {
		msg.SetDate()
	} else {
		msg.SetDateWithValue(m.SentAt)
	}
	msg.SetMessageID()
	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	case m.Text != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	case m.HTML != "":
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	default:
		return nil, errNoBody
	}
	return msg, nil
}
