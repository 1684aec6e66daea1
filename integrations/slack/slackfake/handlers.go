package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
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
	case strings.HasPrefix(r.URL.Path, "/api/"):
		f.record(fmt.Sprintf("%s %s → unknown_method", r.Method, r.URL.Path))
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "unknown_method"})
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

// postMessageRequest holds the chat.postMessage fields the fake reads,
// from a form or a JSON body.
type postMessageRequest struct {
	Token   string          `json:"-"`
	Channel string          `json:"channel"`
	Text    string          `json:"text"`
	Blocks  json.RawMessage `json:"blocks"`
}

func (f *Fake) servePostMessage(w http.ResponseWriter, r *http.Request) {
	request, err := readPostMessage(w, r)
	if err != nil {
		f.record(fmt.Sprintf("chat.postMessage → invalid_arguments (%v)", err))
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_arguments"})
		return
	}

	call := fmt.Sprintf("chat.postMessage %s %s", request.Channel, quoteText(request.Text))
	if code := f.checkPostMessage(request); code != "" {
		f.record(call + " → " + code)
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": code})
		return
	}

	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.messages = append(f.messages, PostedMessage{
		Channel: request.Channel,
		Text:    request.Text,
		Blocks:  request.Blocks,
	})
	f.mu.Unlock()

	writeJSON(w, http.StatusOK, map[string]any{
		"ok":      true,
		"channel": request.Channel,
		"ts":      Timestamp,
		"message": map[string]any{"type": "message", "text": request.Text, "ts": Timestamp},
	})
}

// checkPostMessage returns the Slack error code for an invalid request, or
// "" for a valid one.
func (f *Fake) checkPostMessage(request postMessageRequest) string {
	switch {
	case request.Token == "":
		return "not_authed"
	case f.opts.BotToken != "" && request.Token != f.opts.BotToken:
		return "invalid_auth"
	case request.Channel == "":
		return "channel_not_found"
	case request.Text == "" && len(request.Blocks) == 0:
		return "no_text"
	}
	return ""
}

// readPostMessage decodes a JSON body or a form. The token comes from an
// "Authorization: Bearer" header or, as slack-go sends it, the form field
// "token".
func readPostMessage(w http.ResponseWriter, r *http.Request) (postMessageRequest, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)

	var request postMessageRequest
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType == "application/json" {
		if err := json.NewDecoder(r.Body).Decode(&request); err != nil {
			return request, fmt.Errorf("decoding JSON body: %w", err)
		}
	} else {
		if err := r.ParseForm(); err != nil {
			return request, fmt.Errorf("parsing form: %w", err)
		}
		request.Channel = r.PostForm.Get("channel")
		request.Text = r.PostForm.Get("text")
		request.Token = r.PostForm.Get("token")
		if blocks := r.PostForm.Get("blocks"); blocks != "" {
			request.Blocks = json.RawMessage(blocks)
		}
	}

	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		request.Token = bearer
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
