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

func TestHistoryNewestFirstWithMetadata(t *testing.T) {
	fake := slackfake.New(slackfake.Options{BotToken: "xoxb-test"})
	fake.Start()
	defer fake.Close()
	post := func(method string, form url.Values) map[string]any {
		if form.Get("token") == "" {
			form.Set("token", "xoxb-test")
		}
		resp, err := http.Post(fake.URL()+method, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return out
	}
	post("chat.postMessage", url.Values{"channel": {"C1"}, "text": {"first"},
		"metadata": {`{"event_type":"sopbot_post","event_payload":{"post_id":"a"}}`}})
	post("chat.postMessage", url.Values{"channel": {"C2"}, "text": {"elsewhere"}})
	post("chat.postMessage", url.Values{"channel": {"C1"}, "text": {"second"}})

	out := post("conversations.history", url.Values{"channel": {"C1"}, "include_all_metadata": {"1"}})

	assert.Equal(t, true, out["ok"])
	messages := out["messages"].([]any)
	require.Len(t, messages, 2)
	assert.Equal(t, "second", messages[0].(map[string]any)["text"])
	first := messages[1].(map[string]any)
	assert.Equal(t, "first", first["text"])
	assert.Equal(t, map[string]any{"event_type": "sopbot_post", "event_payload": map[string]any{"post_id": "a"}}, first["metadata"])

	limited := post("conversations.history", url.Values{"channel": {"C1"}, "limit": {"1"}})
	assert.Len(t, limited["messages"], 1)
	assert.Equal(t, true, limited["has_more"])
	assert.Nil(t, limited["messages"].([]any)[0].(map[string]any)["metadata"], "metadata only when asked for")

	assert.Equal(t, "invalid_auth", post("conversations.history", url.Values{"channel": {"C1"}, "token": {"bad"}})["error"])
}
