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
		failCount     int
		wantText      string
		wantPermanent bool
		wantRetry     time.Duration
		wantCalls     int
	}{
		{name: "invalid auth", token: "xoxb-wrong", channel: "C0123", wantText: "invalid_auth", wantPermanent: true, wantCalls: 1},
		{name: "channel not found", token: testToken, channel: "", wantText: "channel_not_found", wantPermanent: true, wantCalls: 1},
		// Each of the three posts is followed by a read of the channel.
		{name: "server error", token: testToken, channel: "C0123", failStatus: http.StatusServiceUnavailable, failCount: 3,
			wantText: "outcome unknown: slack server error: 503", wantCalls: 6},
		{name: "rate limited", token: testToken, channel: "C0123", failStatus: http.StatusTooManyRequests, failCount: 1,
			wantText: "rate limit", wantRetry: time.Second, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t)
			client := newClientNoRetry(t, fake, tt.token)
			if tt.failStatus != 0 {
				fake.FailNext("/api/chat.postMessage", tt.failStatus, tt.failCount)
			}

			err := client.Post(context.Background(), tt.channel, slack.Message{Text: "hi"})

			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantText)
			assert.Equal(t, tt.wantPermanent, slack.IsPermanent(err))
			retryAfter, ok := slack.RetryAfter(err)
			assert.Equal(t, tt.wantRetry != 0, ok)
			assert.Equal(t, tt.wantRetry, retryAfter)
			assert.Empty(t, fake.Messages())
			assert.Equal(t, tt.wantCalls, fake.CallCount())
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

	err := client.Post(context.Background(), "C0123", slack.Message{Text: "hi"})

	require.NoError(t, err)
	assert.Equal(t, []string{
		"POST /api/chat.postMessage → 500 (injected)",
		"conversations.history C0123",
		`chat.postMessage C0123 "hi"`,
	}, fake.Calls(), "a 500 leaves the outcome unknown, so the channel is read before the message is posted again")
	assert.Len(t, fake.Messages(), 1)
}

func TestPostWithoutTokenSendsNothing(t *testing.T) {
	fake := startFake(t)
	client := newClient(t, fake, "")

	err := client.Post(context.Background(), "C0123", slack.Message{Text: "hi"})

	require.Error(t, err)
	assert.True(t, slack.IsPermanent(err))
	assert.Zero(t, fake.CallCount())
}
