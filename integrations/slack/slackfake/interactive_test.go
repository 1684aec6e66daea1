package slackfake_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/slack/slackfake"
)

// postForm sends form to a Web API method and decodes the JSON response.
func postForm(t *testing.T, url string, form url.Values) map[string]any {
	t.Helper()
	resp, err := http.PostForm(url, form)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return body
}

func TestPostMessageAssignsTimestamps(t *testing.T) {
	fake := startFake(t)

	_, first := postJSON(t, fake.URL()+"chat.postMessage", "xoxb-good", `{"channel":"C1","text":"one"}`)
	_, second := postJSON(t, fake.URL()+"chat.postMessage", "xoxb-good", `{"channel":"C1","text":"two"}`)

	assert.Equal(t, slackfake.Timestamp, first["ts"])
	assert.Equal(t, "1700000000.000101", second["ts"])
	messages := fake.Messages()
	require.Len(t, messages, 2)
	assert.Equal(t, slackfake.Timestamp, messages[0].TS)
	assert.Equal(t, "1700000000.000101", messages[1].TS)
}

func TestChatUpdate(t *testing.T) {
	tests := []struct {
		name      string
		token     string
		form      url.Values
		wantError string
	}{
		{"accepted", "xoxb-good", url.Values{"channel": {"C1"}, "ts": {slackfake.Timestamp}, "text": {"done"}, "blocks": {`[]`}}, ""},
		{"wrong token", "xoxb-bad", url.Values{"channel": {"C1"}, "ts": {slackfake.Timestamp}, "text": {"done"}}, "invalid_auth"},
		{"unknown ts", "xoxb-good", url.Values{"channel": {"C1"}, "ts": {"1.2"}, "text": {"done"}}, "message_not_found"},
		{"other channel", "xoxb-good", url.Values{"channel": {"C2"}, "ts": {slackfake.Timestamp}, "text": {"done"}}, "message_not_found"},
		{"no text", "xoxb-good", url.Values{"channel": {"C1"}, "ts": {slackfake.Timestamp}}, "no_text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t)
			postJSON(t, fake.URL()+"chat.postMessage", "xoxb-good", `{"channel":"C1","text":"pending"}`)
			tt.form.Set("token", tt.token)

			body := postForm(t, fake.URL()+"chat.update", tt.form)

			if tt.wantError != "" {
				assert.Equal(t, false, body["ok"])
				assert.Equal(t, tt.wantError, body["error"])
				assert.Empty(t, fake.Updates())
				return
			}
			assert.Equal(t, true, body["ok"])
			assert.Equal(t, slackfake.Timestamp, body["ts"])
			updates := fake.Updates()
			require.Len(t, updates, 1)
			assert.Equal(t, slackfake.PostedMessage{Channel: "C1", TS: slackfake.Timestamp, Text: "done", Blocks: []byte(`[]`)}, updates[0])
			assert.Equal(t, "pending", fake.Messages()[0].Text, "posted message after the update")
			assert.Equal(t, `chat.update C1 1700000000.000100 "done"`, fake.Calls()[1])
		})
	}
}

func TestViewsOpen(t *testing.T) {
	const view = `{"type":"modal","callback_id":"sopbot_reject_reason","private_metadata":"#12"}`
	tests := []struct {
		name      string
		token     string
		body      string
		wantError string
	}{
		{"accepted", "xoxb-good", `{"trigger_id":"t1","view":` + view + `}`, ""},
		{"no token", "", `{"trigger_id":"t1","view":` + view + `}`, "not_authed"},
		{"no trigger", "xoxb-good", `{"view":` + view + `}`, "invalid_arguments"},
		{"no view", "xoxb-good", `{"trigger_id":"t1"}`, "invalid_arguments"},
		{"null view", "xoxb-good", `{"trigger_id":"t1","view":null}`, "invalid_arguments"},
		{"view not an object", "xoxb-good", `{"trigger_id":"t1","view":[1]}`, "invalid_arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t)

			_, body := postJSON(t, fake.URL()+"views.open", tt.token, tt.body)

			if tt.wantError != "" {
				assert.Equal(t, false, body["ok"])
				assert.Equal(t, tt.wantError, body["error"])
				assert.Empty(t, fake.Views())
				return
			}
			assert.Equal(t, true, body["ok"])
			opened, ok := body["view"].(map[string]any)
			require.True(t, ok, "view: got %T, want an object", body["view"])
			assert.Equal(t, "V00000001", opened["id"])
			assert.Equal(t, "sopbot_reject_reason", opened["callback_id"])
			views := fake.Views()
			require.Len(t, views, 1)
			assert.JSONEq(t, view, string(views[0]))
			assert.Equal(t, []string{"views.open sopbot_reject_reason"}, fake.Calls())
		})
	}
}

func TestViewsOpenTriggerUsedOnce(t *testing.T) {
	fake := startFake(t)
	body := `{"trigger_id":"t1","view":{"type":"modal","callback_id":"c"}}`

	_, first := postJSON(t, fake.URL()+"views.open", "xoxb-good", body)
	_, second := postJSON(t, fake.URL()+"views.open", "xoxb-good", body)

	assert.Equal(t, true, first["ok"])
	assert.Equal(t, "exchanged_trigger_id", second["error"])
	assert.Len(t, fake.Views(), 1)
}

func TestViewsOpenForm(t *testing.T) {
	fake := startFake(t)
	form := url.Values{"token": {"xoxb-good"}, "trigger_id": {"t1"}, "view": {`{"type":"modal","callback_id":"c"}`}}

	body := postForm(t, fake.URL()+"views.open", form)

	assert.Equal(t, true, body["ok"])
	require.Len(t, fake.Views(), 1)
	assert.JSONEq(t, `{"type":"modal","callback_id":"c"}`, string(fake.Views()[0]))
}

func TestUsersInfo(t *testing.T) {
	tests := []struct {
		name      string
		token     string
		user      string
		wantEmail any
		wantError string
	}{
		{"with email", "xoxb-good", "U0DANA", "dana@example.com", ""},
		{"without email", "xoxb-good", "U0NOMAIL", nil, ""},
		{"unknown user", "xoxb-good", "U0NOBODY", nil, "user_not_found"},
		{"wrong token", "xoxb-bad", "U0DANA", nil, "invalid_auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t)
			fake.SetUser("U0DANA", "dana@example.com")
			fake.SetUser("U0NOMAIL", "")

			body := postForm(t, fake.URL()+"users.info", url.Values{"token": {tt.token}, "user": {tt.user}})

			if tt.wantError != "" {
				assert.Equal(t, false, body["ok"])
				assert.Equal(t, tt.wantError, body["error"])
				assert.Equal(t, []string{"users.info " + tt.user + " → " + tt.wantError}, fake.Calls())
				return
			}
			assert.Equal(t, true, body["ok"])
			user, ok := body["user"].(map[string]any)
			require.True(t, ok, "user: got %T, want an object", body["user"])
			assert.Equal(t, tt.user, user["id"])
			profile, ok := user["profile"].(map[string]any)
			require.True(t, ok, "user.profile: got %T, want an object", user["profile"])
			assert.Equal(t, tt.wantEmail, profile["email"])
			assert.True(t, strings.HasPrefix(fake.Calls()[0], "users.info "+tt.user))
		})
	}
}
