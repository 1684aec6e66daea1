package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/handlers"
	"github.com/sopbot/sopbot/integrations/slack"
)

// storeInteraction posts payload through a harness server and returns the
// stored delivery, as the process_delivery worker loads it.
func storeInteraction(t *testing.T, payload any) store.Delivery {
	t.Helper()
	h := newHarness(t, nil)
	got := h.postInteraction(t, interactionBody(t, payload))
	require.Equal(t, http.StatusOK, got.status, "status: got %d, want 200 (body %s)", got.status, got.body)
	deliveries := h.deliveries(t)
	require.Len(t, deliveries, 1, "stored deliveries")
	return h.loadDelivery(t, deliveries[0].ID)
}

// asUser returns an edit that makes a payload's user slackUser.
func asUser(slackUser string) func(map[string]any) {
	return func(p map[string]any) { p["user"].(map[string]any)["id"] = slackUser }
}

func TestNormalizeButtonPressed(t *testing.T) {
	tests := []struct {
		name       string
		actionID   string
		slackUser  string
		wantAction string
		wantActor  bot.Actor
	}{
		{"mapped user approves", slack.ApproveActionID, "U0ALICE", bot.ButtonApprove, bot.Actor{Login: "alice", Slack: "U0ALICE", Members: map[string]bool{}}},
		{"mapped user with a role", slack.ApproveActionID, "U0CODER", bot.ButtonApprove, codertocat},
		{"mapped user rejects", slack.RejectActionID, "U0ALICE", bot.ButtonReject, bot.Actor{Login: "alice", Slack: "U0ALICE", Members: map[string]bool{}}},
		{"unmapped user", slack.ApproveActionID, "U0NOBODY", bot.ButtonApprove, bot.Actor{Slack: "U0NOBODY", Members: map[string]bool{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := storeInteraction(t, clickPayload(t, tt.actionID, "#12", asUser(tt.slackUser)))
			want := bot.ButtonPressed{
				DeliveryID:  "slack:interaction:" + fixtureTriggerID,
				Actor:       tt.wantActor,
				Ref:         bot.RequestRef{Issue: 12},
				Action:      tt.wantAction,
				ResponseURL: fixtureResponseURL,
				TriggerID:   fixtureTriggerID,
				Channel:     fixtureChannel,
				MessageTS:   fixtureMessageTS,
			}

			ev, reason := normalize(t, newNormalizer(testBotLogin), d)

			assert.Empty(t, reason)
			assert.Equal(t, want, ev)
		})
	}
}

func TestNormalizeButtonMessageTS(t *testing.T) {
	// Without container.message_ts, the ts of the message itself is used.
	payload := clickPayload(t, slack.ApproveActionID, "R-7", func(p map[string]any) {
		delete(p["container"].(map[string]any), "message_ts")
		p["message"].(map[string]any)["ts"] = "1767326999.000001"
	})
	d := storeInteraction(t, payload)

	ev, reason := normalize(t, newNormalizer(testBotLogin), d)

	require.NotNil(t, ev, "event: got nil (reason %q)", reason)
	pressed, ok := ev.(bot.ButtonPressed)
	require.True(t, ok, "event: got %T, want bot.ButtonPressed", ev)
	assert.Equal(t, "1767326999.000001", pressed.MessageTS)
	assert.Equal(t, bot.RequestRef{ID: 7}, pressed.Ref)
}

func TestNormalizeButtonBadValue(t *testing.T) {
	d := storeInteraction(t, clickPayload(t, slack.ApproveActionID, "twelve", nil))

	ev, reason := normalize(t, newNormalizer(testBotLogin), d)

	assert.Nil(t, ev)
	assert.True(t, strings.HasPrefix(reason, "button value is not a request"), "reason %q", reason)
}

func TestNormalizeButtonRevision(t *testing.T) {
	revision := strings.Repeat("3f", 32)
	d := storeInteraction(t, clickPayload(t, slack.ApproveActionID, "#12@"+revision, nil))

	ev, reason := normalize(t, newNormalizer(testBotLogin), d)

	require.NotNil(t, ev, "event: got nil (reason %q)", reason)
	pressed, ok := ev.(bot.ButtonPressed)
	require.True(t, ok, "event: got %T, want bot.ButtonPressed", ev)
	assert.Equal(t, bot.RequestRef{Issue: 12}, pressed.Ref)
	assert.Equal(t, revision, pressed.Revision)
}

func TestNormalizeButtonBadRevision(t *testing.T) {
	d := storeInteraction(t, clickPayload(t, slack.ApproveActionID, "#12@not-hex", nil))

	ev, reason := normalize(t, newNormalizer(testBotLogin), d)

	assert.Nil(t, ev)
	assert.Contains(t, reason, "button value is not a request: revision \"not-hex\" is not 7 to 64 lower-case hex digits")
}

func TestNormalizeButtonTeamRole(t *testing.T) {
	// A role held through a GitHub team needs an installation, which a
	// Slack interaction does not carry, so the configured one is used.
	d := storeInteraction(t, clickPayload(t, slack.ApproveActionID, "#12", asUser("U0CODER")))
	teams := &recordingTeams{members: map[string]bool{"acme/compliance codertocat": true}}
	cfg := config.Config{
		Roles:  map[string]config.Holders{"compliance officer": {Teams: []string{"acme/compliance"}}},
		People: []config.Person{{GitHub: "Codertocat", Slack: "U0CODER"}},
	}
	n := &handlers.Normalizer{Directory: bot.NewDirectory(cfg, teams), BotLogin: testBotLogin,
		Installation: func(context.Context) (int64, error) { return 7, nil }}

	ev, reason := normalize(t, n, d)

	require.NotNil(t, ev, "event: got nil (reason %q)", reason)
	pressed, ok := ev.(bot.ButtonPressed)
	require.True(t, ok, "event: got %T, want bot.ButtonPressed", ev)
	assert.True(t, pressed.Actor.Holds("compliance officer"), "team lookups: %v", teams.calls)
	assert.Equal(t, []string{"7 acme/compliance codertocat"}, teams.calls)
}

func TestNormalizeRejectReason(t *testing.T) {
	tests := []struct {
		name       string
		ref        string
		reason     string
		want       bot.Event
		wantReason string
	}{
		{
			name: "reason", ref: "#12", reason: "  Bias analysis is missing.\n",
			want: bot.RejectReasonSubmitted{
				DeliveryID: "slack:interaction:" + fixtureViewKey,
				// U00FAKEUSER2, the user of the fixture, is not paired.
				Actor:  bot.Actor{Slack: "U00FAKEUSER2", Members: map[string]bool{}},
				Ref:    bot.RequestRef{Issue: 12},
				Reason: "Bias analysis is missing.",
			},
		},
		{name: "blank reason", ref: "#12", reason: " \n ", wantReason: "reject reason is empty"},
		{name: "reason too long", ref: "#12", reason: strings.Repeat("é", 1001), wantReason: "reject reason is longer than 1000 characters"},
		{name: "bad ref", ref: "issue twelve", reason: "Bias analysis is missing.", wantReason: "reject modal names no request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := storeInteraction(t, submissionPayload(t, tt.ref, tt.reason))

			ev, reason := normalize(t, newNormalizer(testBotLogin), d)

			assert.Equal(t, tt.want, ev)
			if tt.wantReason == "" {
				assert.Empty(t, reason)
			} else {
				assert.True(t, strings.HasPrefix(reason, tt.wantReason), "reason: got %q, want prefix %q", reason, tt.wantReason)
			}
		})
	}
}

func TestNormalizeRejectReasonMappedUser(t *testing.T) {
	payload := submissionPayload(t, "#12", "Bias analysis is missing.")
	asUser("U0ALICE")(payload)
	d := storeInteraction(t, payload)

	ev, reason := normalize(t, newNormalizer(testBotLogin), d)

	require.NotNil(t, ev, "event: got nil (reason %q)", reason)
	submitted, ok := ev.(bot.RejectReasonSubmitted)
	require.True(t, ok, "event: got %T, want bot.RejectReasonSubmitted", ev)
	assert.Equal(t, bot.Actor{Login: "alice", Slack: "U0ALICE", Members: map[string]bool{}}, submitted.Actor)
}

func TestNormalizeSlackUnknownEvent(t *testing.T) {
	d := store.Delivery{ID: "slack:x", Source: "slack", Event: "view_closed", Payload: []byte("payload=%7B%7D")}

	ev, reason := normalize(t, newNormalizer(testBotLogin), d)

	assert.Nil(t, ev)
	assert.Equal(t, "slack event view_closed not handled", reason)
}
