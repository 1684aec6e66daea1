package slack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/slack"
)

func TestPostSendsMessage(t *testing.T) {
	fake := startFake(t)
	client := newClient(t, fake, testToken)

	err := client.Post(context.Background(), "C0123", slack.Message{Text: "Promoted fraud-detector v3"})

	require.NoError(t, err)
	assert.Equal(t, []string{`chat.postMessage C0123 "Promoted fraud-detector v3"`}, fake.Calls())
	messages := fake.Messages()
	require.Len(t, messages, 1)
	assert.Equal(t, "C0123", messages[0].Channel)
	assert.Equal(t, "Promoted fraud-detector v3", messages[0].Text)
	assert.Nil(t, messages[0].Blocks)
}

func TestPostSendsBlocks(t *testing.T) {
	fake := startFake(t)
	client := newClient(t, fake, testToken)
	divider := slackgo.NewDividerBlock()

	err := client.Post(context.Background(), "C0123", slack.Message{Text: "fallback", Blocks: []slackgo.Block{divider}})

	require.NoError(t, err)
	messages := fake.Messages()
	require.Len(t, messages, 1)
	var blocks []map[string]any
	require.NoError(t, json.Unmarshal(messages[0].Blocks, &blocks))
	require.Len(t, blocks, 1)
	assert.Equal(t, "divider", blocks[0]["type"])
}

func TestPostErrors(t *testing.T) {
	tests := []struct {
		name          string
		token         string
		channel       string
		failStatus    int
		wantText      string
		wantPermanent bool
		wantRetry     time.Duration
	}{
		{name: "invalid auth", token: "xoxb-wrong", channel: "C0123", wantText: "invalid_auth", wantPermanent: true},
		{name: "channel not found", token: testToken, channel: "", wantText: "channel_not_found", wantPermanent: true},
		{name: "server error", token: testToken, channel: "C0123", failStatus: http.StatusServiceUnavailable, wantText: "503"},
		{name: "rate limited", token: testToken, channel: "C0123", failStatus: http.StatusTooManyRequests, wantText: "rate limit", wantRetry: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t)
			client := newClient(t, fake, tt.token)
			if tt.failStatus != 0 {
				fake.FailNext("/api/chat.postMessage", tt.failStatus, 1)
			}

			err := client.Post(context.Background(), tt.channel, slack.Message{Text: "hi"})

			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantText)
			assert.Equal(t, tt.wantPermanent, slack.IsPermanent(err))
			retryAfter, ok := slack.RetryAfter(err)
			assert.Equal(t, tt.wantRetry != 0, ok)
			assert.Equal(t, tt.wantRetry, retryAfter)
			assert.Empty(t, fake.Messages())
			assert.Equal(t, 1, fake.CallCount())
		})
	}
}

func TestPostInvalidAuthCall(t *testing.T) {
	fake := startFake(t)
	client := newClient(t, fake, "xoxb-wrong")

	err := client.Post(context.Background(), "C0123", slack.Message{Text: "hi"})

	var apiErr slackgo.SlackErrorResponse
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "invalid_auth", apiErr.Err)
	assert.Equal(t, "posting message to C0123: Slack API error invalid_auth", err.Error())
	assert.Equal(t, []string{`chat.postMessage C0123 "hi" → invalid_auth`}, fake.Calls())
}

func TestPostRetriesAfterInjectedFailure(t *testing.T) {
	fake := startFake(t)
	client := newClient(t, fake, testToken)
	fake.FailNext("/api/chat.postMessage", http.StatusInternalServerError, 1)

	first := client.Post(context.Background(), "C0123", slack.Message{Text: "hi"})
	second := client.Post(context.Background(), "C0123", slack.Message{Text: "hi"})

	assert.Error(t, first)
	assert.NoError(t, second)
	assert.Equal(t, []string{
		"POST /api/chat.postMessage → 500 (injected)",
		`chat.postMessage C0123 "hi"`,
	}, fake.Calls())
}

func TestPostWithoutTokenSendsNothing(t *testing.T) {
	fake := startFake(t)
	client := newClient(t, fake, "")

	err := client.Post(context.Background(), "C0123", slack.Message{Text: "hi"})

	require.Error(t, err)
	assert.True(t, slack.IsPermanent(err))
	assert.Zero(t, fake.CallCount())
}
