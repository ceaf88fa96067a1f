package mail

import (
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"

	"github.com/companyapi/companyapi/templates"
)

// WelcomeSubject is the seed's subject for the registration mail.
const WelcomeSubject = "Generated password"

// The embedded files cannot change after the build, so a parse error is a
// programming error and the package tests catch it.
var (
	welcomeHTML = htmltemplate.Must(htmltemplate.ParseFS(templates.FS, "welcome.html"))
	welcomeText = texttemplate.Must(texttemplate.New("welcome.txt").Option("missingkey=error").
			ParseFS(templates.FS, "welcome.txt"))
)

type welcomeData struct {
	Email    string
	Password string
}

// RenderWelcome builds the registration mail that carries the generated
// password. The HTML body goes through html/template, so an address or
// password with markup in it is escaped; the text body is plain text.
func RenderWelcome(from, to, password string) (Mail, error) {
	data := welcomeData{Email: to, Password: password}
	var text, html strings.Builder
	if err := welcomeText.Execute(&text, data); err != nil {
		return Mail{}, fmt.Errorf("mail: render welcome.txt: %w", err)
	}
	if err := welcomeHTML.Execute(&html, data); err != nil {
		return Mail{}, fmt.Errorf("mail: render welcome.html: %w", err)
	}
	return Mail{To: to, From: from, Subject: WelcomeSubject, Text: text.String(), HTML: html.String()}, nil
}
