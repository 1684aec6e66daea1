package slackfake_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/slack/slackfake"
)

func startFake(t *testing.T) *slackfake.Fake {
	t.Helper()
	fake := slackfake.New(slackfake.Options{BotToken: "xoxb-good"})
	fake.Start()
	t.Cleanup(fake.Close)
	return fake
}

// postJSON sends body as JSON with an optional bearer token and decodes
// the JSON response.
func postJSON(t *testing.T, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}

	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()

	var decoded map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&decoded)
	return resp.StatusCode, decoded
}

func TestPostMessageJSON(t *testing.T) {
	tests := []struct {
		name      string
		token     string
		body      string
		wantError string
	}{
		{"accepted", "xoxb-good", `{"channel":"C0123","text":"hi","blocks":[{"type":"divider"}]}`, ""},
		{"no token", "", `{"channel":"C0123","text":"hi"}`, "not_authed"},
		{"wrong token", "xoxb-bad", `{"channel":"C0123","text":"hi"}`, "invalid_auth"},
		{"no channel", "xoxb-good", `{"text":"hi"}`, "channel_not_found"},
		{"no text", "xoxb-good", `{"channel":"C0123"}`, "no_text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t)

			status, body := postJSON(t, fake.URL()+"chat.postMessage", tt.token, tt.body)

			assert.Equal(t, http.StatusOK, status)
			if tt.wantError != "" {
				assert.Equal(t, false, body["ok"])
				assert.Equal(t, tt.wantError, body["error"])
				assert.Empty(t, fake.Messages())
				return
			}
			assert.Equal(t, true, body["ok"])
			assert.Equal(t, "C0123", body["channel"])
			assert.Equal(t, slackfake.Timestamp, body["ts"])
			messages := fake.Messages()
			require.Len(t, messages, 1)
			assert.JSONEq(t, `[{"type":"divider"}]`, string(messages[0].Blocks))
		})
	}
}

func TestResponseURLs(t *testing.T) {
	fake := startFake(t)
	first := fake.NewResponseURL()
	second := fake.NewResponseURL()

	assert.True(t, strings.HasPrefix(first, fake.ResponseURLPrefix()))
	assert.True(t, strings.HasPrefix(fake.ResponseURLPrefix(), "http://127.0.0.1:"))
	assert.NotEqual(t, first, second)
	status, _ := postJSON(t, second, "", `{"response_type":"in_channel","text":"done"}`)
	assert.Equal(t, http.StatusOK, status)
	status, _ = postJSON(t, fake.ResponseURLPrefix()+"unknown", "", `{"text":"x"}`)
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = postJSON(t, first, "", `not json`)
	assert.Equal(t, http.StatusBadRequest, status)

	calls := fake.Calls()
	require.Len(t, calls, 3)
	assert.Equal(t, `response r2 in_channel "done"`, calls[0])
	assert.Contains(t, calls[1], "/response/unknown → 404")
	assert.Contains(t, calls[2], "response r1 → 400")
	responses := fake.Responses()
	require.Len(t, responses, 1)
	assert.Equal(t, second, responses[0].URL)
}

func TestCallsTruncateLongText(t *testing.T) {
	fake := startFake(t)
	text := strings.Repeat("a", 70)

	postJSON(t, fake.URL()+"chat.postMessage", "xoxb-good", `{"channel":"C1","text":"`+text+`"}`)

	assert.Equal(t, []string{`chat.postMessage C1 "` + strings.Repeat("a", 60) + `…"`}, fake.Calls())
	assert.Equal(t, text, fake.Messages()[0].Text)
}

func TestUnknownMethod(t *testing.T) {
	fake := startFake(t)

	_, body := postJSON(t, fake.URL()+"chat.delete", "xoxb-good", `{}`)

	assert.Equal(t, "unknown_method", body["error"])
}
