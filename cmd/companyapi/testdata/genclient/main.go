// Command genclient drives a companyapi server through the client that
// oapi-codegen generates from api/openapi.yaml (package apiclient, made by
// TestGeneratedClient next to this file): it compiles only if the document
// gives generators what they need, and it exits 1 if a call's answer does
// not land in the typed response the document promises.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"time"

	"genclient/apiclient"
)

func main() {
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "genclient:", err)
		os.Exit(1)
	}
	fmt.Println("ok")
}

func bearer(token string) apiclient.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

func acceptJSON(_ context.Context, r *http.Request) error {
	r.Header.Set("Accept", "application/json")
	return nil
}

func run(base string) error {
	ctx := context.Background()
	c, err := apiclient.NewClientWithResponses(base)
	if err != nil {
		return err
	}

	health, err := c.HealthzWithResponse(ctx)
	if err != nil || health.JSON200 == nil || health.JSON200.Status != apiclient.StatusStatusOk {
		return fmt.Errorf("healthz: %v %v", health, err)
	}

	register := func(name string) (apiclient.User, error) {
		var body apiclient.RegisterJSONRequestBody
		body.User.Name, body.User.Subname, body.User.Email, body.User.Job = name, "Doe", name+"@example.com", "engineer"
		res, err := c.RegisterWithResponse(ctx, body)
		if err != nil || res.JSON201 == nil {
			return apiclient.User{}, fmt.Errorf("register %s: %v %v", name, res.Status(), err)
		}
		return *res.JSON201, nil
	}
	ann, err := register("ann")
	if err != nil {
		return err
	}
	bob, err := register("bob")
	if err != nil {
		return err
	}

	var bad apiclient.RegisterJSONRequestBody
	bad.User.Email = "nope"
	invalid, err := c.RegisterWithResponse(ctx, bad)
	if err != nil || invalid.JSON422 == nil || len(invalid.JSON422.Errors) != 4 {
		return fmt.Errorf("invalid registration: %s %v", invalid.Body, err)
	}

	// The welcome mails go out through an outbox, a moment later.
	var mails *apiclient.ListSentMailsResponse
	for i := 0; i < 100; i++ {
		time.Sleep(20 * time.Millisecond)
		mails, err = c.ListSentMailsWithResponse(ctx, acceptJSON)
		if err != nil || mails.JSON200 == nil {
			return fmt.Errorf("sent mails: %v %v", mails, err)
		}
		if len(*mails.JSON200) == 2 {
			break
		}
	}
	if len(*mails.JSON200) != 2 {
		return fmt.Errorf("sent mails: %s, want 2", mails.Body)
	}
	var m []string
	for _, mail := range *mails.JSON200 {
		if mail.To == string(ann.Email) {
			m = regexp.MustCompile(`generated password ([A-Za-z0-9_-]+)`).FindStringSubmatch(mail.Text)
		}
	}
	if m == nil {
		return fmt.Errorf("no password for %s in %+v", ann.Email, *mails.JSON200)
	}

	var creds apiclient.LoginJSONRequestBody
	creds.Creds.Email, creds.Creds.Password = string(ann.Email), "wrong"
	refused, err := c.LoginWithResponse(ctx, creds)
	if err != nil || refused.JSON401 == nil || refused.JSON401.Data != "invalid email or password" || refused.Headers401.WWWAuthenticate == "" {
		return fmt.Errorf("login with a wrong password: %s %v", refused.Body, err)
	}
	creds.Creds.Password = m[1]
	login, err := c.LoginWithResponse(ctx, creds)
	if err != nil || login.JSON200 == nil || login.Headers200.Authorization != "Bearer "+login.JSON200.Data.Token {
		return fmt.Errorf("login: %s %v", login.Body, err)
	}
	auth := bearer(login.JSON200.Data.Token)

	anonymous, err := c.GetMeWithResponse(ctx)
	if err != nil || anonymous.JSON401 == nil || anonymous.JSON401.Message != apiclient.UnauthorizedMessageMissingToken {
		return fmt.Errorf("me without a token: %s %v", anonymous.Body, err)
	}
	me, err := c.GetMeWithResponse(ctx, auth)
	if err != nil || me.JSON200 == nil || me.JSON200.Data.Id != ann.Id {
		return fmt.Errorf("me: %s %v", me.Body, err)
	}

	var open apiclient.OpenConversationJSONRequestBody
	open.Conversation.RecipientId = bob.Id
	conv, err := c.OpenConversationWithResponse(ctx, open, auth)
	if err != nil || conv.JSON201 == nil {
		return fmt.Errorf("open conversation: %s %v", conv.Body, err)
	}
	if raw, _ := conv.JSON201.Data.LastMessage.MarshalJSON(); string(raw) != "null" {
		return fmt.Errorf("a new conversation's last_message is %s, want null", raw)
	}
	id := conv.JSON201.Data.Id

	var post apiclient.PostMessageJSONRequestBody
	post.Message.Content = "Hi Bob!"
	sent, err := c.PostMessageWithResponse(ctx, id, post, auth)
	if err != nil || sent.JSON201 == nil || sent.JSON201.Data.Content != "Hi Bob!" {
		return fmt.Errorf("post: %s %v", sent.Body, err)
	}
	after := 0
	history, err := c.ListMessagesWithResponse(ctx, id, &apiclient.ListMessagesParams{After: &after}, auth)
	if err != nil || history.JSON200 == nil || len(history.JSON200.Data) != 1 || history.JSON200.Paging.After != nil {
		return fmt.Errorf("history after=0: %s %v", history.Body, err)
	}
	got, err := c.GetConversationWithResponse(ctx, id, auth)
	if err != nil || got.JSON200 == nil {
		return fmt.Errorf("get conversation: %s %v", got.Body, err)
	}
	last, err := got.JSON200.Data.LastMessage.AsMessage()
	if err != nil || last.Id != sent.JSON201.Data.Id {
		return fmt.Errorf("last_message %+v (%v), want message %d", last, err, sent.JSON201.Data.Id)
	}
	missing, err := c.GetConversationWithResponse(ctx, id+1000, auth)
	if err != nil || missing.JSON404 == nil || missing.JSON404.Message != apiclient.NotFoundMessageNotFound {
		return fmt.Errorf("unknown conversation: %s %v", missing.Body, err)
	}
	return nil
}
