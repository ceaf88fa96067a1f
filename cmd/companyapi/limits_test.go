package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServeAccountSettings: the binary applies REGISTRATION_DOMAINS,
// ALLOWED_ORIGINS (CORS) and RATE_LIMIT_SEND / RATE_LIMIT_SEND_BURST.
func TestServeAccountSettings(t *testing.T) {
	env := sqliteEnv(t)
	env["REGISTRATION_DOMAINS"] = "example.com"
	env["ALLOWED_ORIGINS"] = "https://app.example.com"
	env["RATE_LIMIT_SEND"] = "1"
	env["RATE_LIMIT_SEND_BURST"] = "1"
	base, stop := startServer(t, env)
	defer stop()
	do := func(method, path, token, body string, header ...string) (*http.Response, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return res, m
	}

	res, body := do("POST", "/api/users", "", `{"user":{"name":"Eve","subname":"X","email":"eve@evil.com","job":"spy"}}`)
	if res.StatusCode != 422 || fmt.Sprint(body["errors"]) != "map[email:[is not in a domain allowed to register]]" {
		t.Fatalf("registration outside REGISTRATION_DOMAINS: %d %v", res.StatusCode, body)
	}

	res, _ = do("OPTIONS", "/api/login", "", "", "Origin", "https://app.example.com", "Access-Control-Request-Method", "POST")
	if res.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatalf("preflight from ALLOWED_ORIGINS: %d %v", res.StatusCode, res.Header)
	}

	token := devLogin(t, base, "ann@example.com")
	_, bob := do("POST", "/api/users", "", `{"user":{"name":"Bob","subname":"Roe","email":"bob@example.com","job":"designer"}}`)
	_, conv := do("POST", "/api/conversations", token, fmt.Sprintf(`{"conversation":{"recipient_id":%v}}`, bob["id"]))
	path := fmt.Sprintf("/api/conversations/%v/messages", conv["data"].(map[string]any)["id"])
	if res, _ := do("POST", path, token, `{"message":{"content":"one"}}`); res.StatusCode != 201 {
		t.Fatalf("first message: %d", res.StatusCode)
	}
	if res, body := do("POST", path, token, `{"message":{"content":"two"}}`); res.StatusCode != 429 || body["message"] != "rate limited" {
		t.Fatalf("second message within a second of a 1/s budget: %d %v", res.StatusCode, body)
	}
}
