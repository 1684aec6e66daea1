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
	"github.com/sopbot/sopbot/integrations/slack/slackfake"
)

func TestPostBlocksReturnsTS(t *testing.T) {
	fake := startFake(t)
	client := newClient(t, fake, testToken)

	first, err := client.PostBlocks(context.Background(), "C0123", "#12 needs approval", slack.GateBlocks(promotionGate()))
	require.NoError(t, err)
	second, err := client.PostBlocks(context.Background(), "C0123", "#13 needs approval", slack.GateBlocks(promotionGate()))
	require.NoError(t, err)

	assert.Equal(t, slackfake.Timestamp, first)
	assert.Equal(t, "1700000000.000101", second)
	messages := fake.Messages()
	require.Len(t, messages, 2)
	assert.Equal(t, first, messages[0].TS)
	assert.Equal(t, "#12 needs approval", messages[0].Text)
	gate, err := json.Marshal(slack.GateBlocks(promotionGate()))
	require.NoError(t, err)
	assert.JSONEq(t, string(gate), string(messages[0].Blocks))
}

func TestUpdateMessageReplacesBlocks(t *testing.T) {
	fake := startFake(t)
	client := newClient(t, fake, testToken)
	ts, err := client.PostBlocks(context.Background(), "C0123", "#12 needs approval", slack.GateBlocks(promotionGate()))
	require.NoError(t, err)
	resolved := slack.ResolvedBlocks(promotionGate(), "Approved by @dana")

	err = client.UpdateMessage(context.Background(), "C0123", ts, "#12 approved", resolved)

	require.NoError(t, err)
	updates := fake.Updates()
	require.Len(t, updates, 1)
	assert.Equal(t, "C0123", updates[0].Channel)
	assert.Equal(t, ts, updates[0].TS)
	assert.Equal(t, "#12 approved", updates[0].Text)
	want, err := json.Marshal(resolved)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(updates[0].Blocks))
}

func TestUpdateMessageWithoutBlocksClearsThem(t *testing.T) {
	fake := startFake(t)
	client := newClient(t, fake, testToken)
	ts, err := client.PostBlocks(context.Background(), "C0123", "#12 needs approval", slack.GateBlocks(promotionGate()))
	require.NoError(t, err)

	require.NoError(t, client.UpdateMessage(context.Background(), "C0123", ts, "#12 withdrawn", nil))

	updates := fake.Updates()
	require.Len(t, updates, 1)
	assert.JSONEq(t, `[]`, string(updates[0].Blocks))
}

func TestUpdateMessageUnknownTS(t *testing.T) {
	fake := startFake(t)
	client := newClient(t, fake, testToken)

	err := client.UpdateMessage(context.Background(), "C0123", "1.2", "text", nil)

	require.Error(t, err)
	assert.Contains(t, err.Error(), "updating message 1.2 in C0123: Slack API error message_not_found")
	assert.True(t, slack.IsPermanent(err))
}

func TestOpenViewRecordsModal(t *testing.T) {
	fake := startFake(t)
	client := newClient(t, fake, testToken)

	err := client.OpenView(context.Background(), "10215325802133.3901254001572.abc", slack.RejectModal("#12", "Promote fraud-detector"))

	require.NoError(t, err)
	views := fake.Views()
	require.Len(t, views, 1)
	var view slackgo.View
	require.NoError(t, json.Unmarshal(views[0], &view))
	assert.Equal(t, slack.RejectCallbackID, view.CallbackID)
	assert.Equal(t, "#12", view.PrivateMetadata)
	assert.Equal(t, slackgo.VTModal, view.Type)
	assert.Equal(t, []string{"views.open sopbot_reject_reason"}, fake.Calls())
}

func TestOpenViewErrors(t *testing.T) {
	tests := []struct {
		name     string
		trigger  string
		wantText string
		// wantCalls is the number of requests that reach the fake.
		wantCalls int
	}{
		{"empty trigger", "", "received empty parameters", 0},
		{"exchanged trigger", "used-trigger", "Slack API error exchanged_trigger_id", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t)
			client := newClient(t, fake, testToken)
			require.NoError(t, client.OpenView(context.Background(), "used-trigger", slack.RejectModal("#1", "t")))

			err := client.OpenView(context.Background(), tt.trigger, slack.RejectModal("#12", "t"))

			require.Error(t, err)
			assert.Contains(t, err.Error(), "opening view sopbot_reject_reason: ")
			assert.Contains(t, err.Error(), tt.wantText)
			assert.True(t, slack.IsPermanent(err))
			assert.Equal(t, 1+tt.wantCalls, fake.CallCount())
		})
	}
}

func TestUserEmail(t *testing.T) {
	tests := []struct {
		name          string
		user          string
		wantEmail     string
		wantText      string
		wantPermanent bool
	}{
		{name: "found", user: "U0DANA", wantEmail: "dana@example.com"},
		{name: "user not found", user: "U0NOBODY", wantText: "reading Slack user U0NOBODY: Slack API error user_not_found", wantPermanent: true},
		{name: "no email in profile", user: "U0NOMAIL", wantText: "users:read.email", wantPermanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t)
			fake.SetUser("U0DANA", "dana@example.com")
			fake.SetUser("U0NOMAIL", "")
			client := newClient(t, fake, testToken)

			email, err := client.UserEmail(context.Background(), tt.user)

			if tt.wantText == "" {
				require.NoError(t, err)
				assert.Equal(t, tt.wantEmail, email)
				return
			}
			require.Error(t, err)
			assert.Empty(t, email)
			assert.Contains(t, err.Error(), tt.wantText)
			assert.Equal(t, tt.wantPermanent, slack.IsPermanent(err))
		})
	}
}

func TestInteractiveMethodsRetryable(t *testing.T) {
	// Each method keeps slack-go's error in the chain, so a 429 is not
	// permanent and carries the fake's one-second Retry-After.
	tests := []struct {
		name string
		path string
		call func(ctx context.Context, client *slack.Client) error
	}{
		{"PostBlocks", "/api/chat.postMessage", func(ctx context.Context, client *slack.Client) error {
			_, err := client.PostBlocks(ctx, "C0123", "text", nil)
			return err
		}},
		{"UpdateMessage", "/api/chat.update", func(ctx context.Context, client *slack.Client) error {
			return client.UpdateMessage(ctx, "C0123", slackfake.Timestamp, "text", nil)
		}},
		{"OpenView", "/api/views.open", func(ctx context.Context, client *slack.Client) error {
			return client.OpenView(ctx, "trigger", slack.RejectModal("#12", "t"))
		}},
		{"UserEmail", "/api/users.info", func(ctx context.Context, client *slack.Client) error {
			_, err := client.UserEmail(ctx, "U0DANA")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t)
			client := newClientNoRetry(t, fake, testToken)
			fake.FailNext(tt.path, http.StatusTooManyRequests, 1)

			err := tt.call(context.Background(), client)

			require.Error(t, err)
			assert.False(t, slack.IsPermanent(err))
			wait, ok := slack.RetryAfter(err)
			assert.True(t, ok, "RetryAfter of %v", err)
			assert.Equal(t, time.Second, wait)
		})
	}
}

func TestInteractiveMethodsNeedToken(t *testing.T) {
	fake := startFake(t)
	client := newClient(t, fake, "")
	ctx := context.Background()

	_, postErr := client.PostBlocks(ctx, "C0123", "text", nil)
	updateErr := client.UpdateMessage(ctx, "C0123", slackfake.Timestamp, "text", nil)
	viewErr := client.OpenView(ctx, "trigger", slack.RejectModal("#12", "t"))
	_, emailErr := client.UserEmail(ctx, "U0DANA")

	for _, err := range []error{postErr, updateErr, viewErr, emailErr} {
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no bot token configured")
		assert.True(t, slack.IsPermanent(err))
	}
	assert.Zero(t, fake.CallCount())
}
