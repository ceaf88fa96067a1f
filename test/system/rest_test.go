package system

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// client is the HTTP client of every REST call: a bound, so a hung server
// fails the call rather than the test's timeout.
var client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// call makes a REST request and decodes a JSON answer into out (if any).
func call(method, url, token string, body any, out any) (status int, header http.Header, err error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, res.Header, err
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return res.StatusCode, res.Header, fmt.Errorf("%d %s: %w", res.StatusCode, raw, err)
		}
	}
	return res.StatusCode, res.Header, nil
}

// post sends a message over REST.
func post(n *node, token string, conv int, content, clientID string) (int, message, error) {
	body := map[string]any{"content": content}
	if clientID != "" {
		body["client_id"] = clientID
	}
	var out struct {
		Data message `json:"data"`
	}
	status, _, err := call("POST", n.url(fmt.Sprintf("/api/conversations/%d/messages", conv)), token, map[string]any{"message": body}, &out)
	return status, out.Data, err
}

// page reads a conversation forwards after id.
func page(n *node, token string, conv, after int) ([]message, error) {
	var out struct {
		Data []message `json:"data"`
	}
	status, _, err := call("GET", n.url(fmt.Sprintf("/api/conversations/%d/messages?after=%d&limit=200", conv, after)), token, nil, &out)
	if err == nil && status != 200 {
		err = fmt.Errorf("history: HTTP %d", status)
	}
	return out.Data, err
}
