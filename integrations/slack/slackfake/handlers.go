package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// maxBodyBytes caps the request bodies the fake reads.
const maxBodyBytes = 1 << 20

// maxCallText is the number of runes of message text shown in Calls.
const maxCallText = 60

func (f *Fake) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if status, ok := f.takeFailure(r.URL.Path); ok {
		f.record(fmt.Sprintf("%s %s → %d (injected)", r.Method, r.URL.Path, status))
		writeInjected(w, r.URL.Path, status)
		return
	}

	switch {
	case r.URL.Path == "/api/chat.postMessage":
		f.servePostMessage(w, r)
	case r.URL.Path == "/api/conversations.history":
		f.serveHistory(w, r)
	case r.URL.Path == "/api/chat.update":
		f.serveUpdate(w, r)
	case r.URL.Path == "/api/views.open":
		f.serveViewsOpen(w, r)
	case r.URL.Path == "/api/users.info":
		f.serveUsersInfo(w, r)
	case strings.HasPrefix(r.URL.Path, "/api/"):
		f.record(fmt.Sprintf("%s %s → unknown_method", r.Method, r.URL.Path))
		writeAPIError(w, "unknown_method")
	case strings.HasPrefix(r.URL.Path, "/response/"):
		f.serveResponseURL(w, r)
	default:
		f.record(fmt.Sprintf("%s %s → 404", r.Method, r.URL.Path))
		http.NotFound(w, r)
	}
}

func writeInjected(w http.ResponseWriter, path string, status int) {
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	if strings.HasPrefix(path, "/api/") && status == http.StatusTooManyRequests {
		writeJSON(w, status, map[string]any{"ok": false, "error": "ratelimited"})
		return
	}
	http.Error(w, "injected failure", status)
}

func (f *Fake) servePostMessage(w http.ResponseWriter, r *http.Request) {
	request, err := readAPIRequest(w, r)
	if err != nil {
		f.record(fmt.Sprintf("chat.postMessage → invalid_arguments (%v)", err))
		writeAPIError(w, "invalid_arguments")
		return
	}

	channel, text, blocks := request.get("channel"), request.get("text"), request.raw("blocks")
	call := fmt.Sprintf("chat.postMessage %s %s", channel, quoteText(text))
	if code := f.checkMessage(request.token, channel, text, blocks); code != "" {
		f.record(call + " → " + code)
		writeAPIError(w, code)
		return
	}

	f.mu.Lock()
	ts := fmt.Sprintf("1700000000.%06d", firstTSMicros+len(f.messages))
	f.calls = append(f.calls, call)
	f.messages = append(f.messages, PostedMessage{Channel: channel, TS: ts, Text: text, Blocks: blocks, Metadata: request.raw("metadata")})
	f.mu.Unlock()

	writeJSON(w, http.StatusOK, map[string]any{
		"ok":      true,
		"channel": channel,
		"ts":      ts,
		"message": map[string]any{"type": "message", "text": text, "ts": ts},
	})
}

// checkMessage returns the Slack error code for an invalid chat.postMessage
// or chat.update request, or "" for a valid one.
func (f *Fake) checkMessage(token, channel, text string, blocks json.RawMessage) string {
	if code := f.checkToken(token); code != "" {
		return code
	}
	switch {
	case channel == "":
		return "channel_not_found"
	case text == "" && len(blocks) == 0:
		return "no_text"
	}
	return ""
}

// checkToken returns not_authed or invalid_auth for a token that the fake
// does not accept, or "" for one it does.
func (f *Fake) checkToken(token string) string {
	switch {
	case token == "":
		return "not_authed"
	case f.opts.BotToken != "" && token != f.opts.BotToken:
		return "invalid_auth"
	}
	return ""
}

// apiRequest is a Web API call's token and arguments, from a JSON body or
// a form.
type apiRequest struct {
	token string
	json  map[string]json.RawMessage
	form  url.Values
}

// get returns a string argument, or "" when it is missing or not a string.
func (a apiRequest) get(name string) string {
	if a.form != nil {
		return a.form.Get(name)
	}
	var value string
	_ = json.Unmarshal(a.json[name], &value)
	return value
}

// raw returns an argument that holds JSON, such as blocks or view, or nil
// when it is missing. A form carries such an argument as a JSON string.
func (a apiRequest) raw(name string) json.RawMessage {
	if a.form != nil {
		if value := a.form.Get(name); value != "" {
			return json.RawMessage(value)
		}
		return nil
	}
	return a.json[name]
}

// readAPIRequest decodes a JSON body or a form. The token comes from an
// "Authorization: Bearer" header or, as slack-go sends it with forms, the
// form field "token".
func readAPIRequest(w http.ResponseWriter, r *http.Request) (apiRequest, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)

	var request apiRequest
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType == "application/json" {
		if err := json.NewDecoder(r.Body).Decode(&request.json); err != nil {
			return request, fmt.Errorf("decoding JSON body: %w", err)
		}
	} else {
		if err := r.ParseForm(); err != nil {
			return request, fmt.Errorf("parsing form: %w", err)
		}
		request.form = r.PostForm
		request.token = r.PostForm.Get("token")
	}

	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		request.token = bearer
	}
	return request, nil
}

// responseRequest holds the response URL fields the fake reads.
type responseRequest struct {
	ResponseType    string `json:"response_type"`
	Text            string `json:"text"`
	ReplaceOriginal bool   `json:"replace_original"`
}

func (f *Fake) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	label, known := f.responseURLs[r.URL.Path]
	f.mu.Unlock()
	if !known || r.Method != http.MethodPost {
		f.record(fmt.Sprintf("%s %s → 404", r.Method, r.URL.Path))
		http.NotFound(w, r)
		return
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var request responseRequest
	if err == nil {
		err = json.Unmarshal(body, &request)
	}
	if err != nil {
		f.record(fmt.Sprintf("response %s → 400 (%v)", label, err))
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}

	f.recordResponse(label, r, request, body)
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "ok")
}

func (f *Fake) recordResponse(label string, r *http.Request, request responseRequest, body []byte) {
	call := fmt.Sprintf("response %s %s %s", label, request.ResponseType, quoteText(request.Text))
	if request.ReplaceOriginal {
		call += " (replace original)"
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	f.responses = append(f.responses, Response{
		URL:             f.server.URL + r.URL.Path,
		ResponseType:    request.ResponseType,
		Text:            request.Text,
		ReplaceOriginal: request.ReplaceOriginal,
		Body:            json.RawMessage(body),
	})
}

// quoteText quotes text for Calls, cut to maxCallText runes with "…".
func quoteText(text string) string {
	if utf8.RuneCountInString(text) > maxCallText {
		text = string([]rune(text)[:maxCallText]) + "…"
	}
	return fmt.Sprintf("%q", text)
}

func writeJSON(w http.ResponseWriter, status int, value any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(value)
}

// writeAPIError writes a Web API error the way Slack does: HTTP 200 with
// "ok": false and the error code.
func writeAPIError(w http.ResponseWriter, code string) {
	writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": code})
}
