package mail

import (
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/companyapi/companyapi/templates"
)

// A mail's two bodies from templates/: the HTML one goes through
// html/template, so an address, password or token with markup in it is
// escaped; the text one is plain text.
type bodies struct {
	name string
	html *htmltemplate.Template
	text *texttemplate.Template
}

// The embedded files cannot change after the build, so a parse error is a
// programming error and the package tests catch it.
func mustBodies(name string) bodies {
	return bodies{
		name: name,
		html: htmltemplate.Must(htmltemplate.ParseFS(templates.FS, name+".html")),
		text: texttemplate.Must(texttemplate.New(name+".txt").Option("missingkey=error").ParseFS(templates.FS, name+".txt")),
	}
}

func (b bodies) render(from, to, subject string, data any) (Mail, error) {
	var text, html strings.Builder
	if err := b.text.Execute(&text, data); err != nil {
		return Mail{}, fmt.Errorf("mail: render %s.txt: %w", b.name, err)
	}
	if err := b.html.Execute(&html, data); err != nil {
		return Mail{}, fmt.Errorf("mail: render %s.html: %w", b.name, err)
	}
	return Mail{To: to, From: from, Subject: subject, Text: text.String(), HTML: html.String()}, nil
}

// Subjects of the account mails; the welcome mail's is the seed's.
const (
	WelcomeSubject       = "Generated password"
	PasswordResetSubject = "Reset your password"
)

var (
	welcomeBodies = mustBodies("welcome")
	resetBodies   = mustBodies("password_reset")
)

// RenderWelcome builds the registration mail that carries the generated
// password.
func RenderWelcome(from, to, password string) (Mail, error) {
	return welcomeBodies.render(from, to, WelcomeSubject, struct{ Email, Password string }{to, password})
}

// RenderPasswordReset builds the mail that carries a password reset token,
// valid for validFor.
func RenderPasswordReset(from, to, token string, validFor time.Duration) (Mail, error) {
	return resetBodies.render(from, to, PasswordResetSubject, struct{ Email, Token, ValidFor string }{to, token, humanDuration(validFor)})
}

// humanDuration says d the way a person would: "1 hour", "30 minutes".
func humanDuration(d time.Duration) string {
	unit, n := "minute", int(d.Round(time.Minute)/time.Minute)
	if d >= time.Hour && d%time.Hour == 0 {
		unit, n = "hour", int(d/time.Hour)
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s", n, unit)
}
