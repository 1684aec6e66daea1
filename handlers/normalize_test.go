package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/handlers"
)

const testBotLogin = "sopbot[bot]"

// newNormalizer returns a normalizer whose directory gives Codertocat the
// "ML lead" role and pairs Codertocat and alice with Slack users.
func newNormalizer(botLogin string) *handlers.Normalizer {
	cfg := config.Config{
		Roles: map[string]config.Holders{"ML lead": {GitHub: []string{"Codertocat"}}},
		People: []config.Person{
			{GitHub: "Codertocat", Slack: "U0CODER"},
			{GitHub: "alice", Slack: "U0ALICE"},
		},
	}
	return &handlers.Normalizer{Directory: bot.NewDirectory(cfg, nil), BotLogin: botLogin}
}

// codertocat is the actor the directory of newNormalizer resolves for the
// sender of the octokit example payloads.
var codertocat = bot.Actor{Login: "codertocat", Slack: "U0CODER", Members: map[string]bool{"ml lead": true}}

// storeGitHub posts body through a server configured for repository and
// returns the stored delivery, as the process_delivery worker loads it.
func storeGitHub(t *testing.T, repository, event string, body []byte) store.Delivery {
	t.Helper()
	h := newHarness(t, func(s *handlers.Server) { s.Repository = repository })
	const deliveryID = "normalize-1"
	got := h.postGitHub(t, event, deliveryID, body)
	require.Equal(t, http.StatusAccepted, got.status, "status: got %d, want 202 (body %s)", got.status, got.body)
	require.Equal(t, "queued", got.json(t)["status"], "reply status")
	return h.loadDelivery(t, "github:"+deliveryID)
}

// deriveFixture decodes a payload file, lets edit change it and encodes
// it again. The result is a derived fixture, not a recorded delivery.
func deriveFixture(t *testing.T, file string, edit func(payload map[string]any)) []byte {
	t.Helper()
	decoder := json.NewDecoder(bytes.NewReader(githubFixture(t, file)))
	decoder.UseNumber()
	var payload map[string]any
	require.NoError(t, decoder.Decode(&payload), "decoding %s", file)
	edit(payload)
	derived, err := json.Marshal(payload)
	require.NoError(t, err, "encoding the payload derived from %s", file)
	return derived
}

// object returns the JSON object at key of payload.
func object(t *testing.T, payload map[string]any, key string) map[string]any {
	t.Helper()
	v, ok := payload[key].(map[string]any)
	require.True(t, ok, "payload field %q: got %T, want an object", key, payload[key])
	return v
}

// fieldAt returns the value at a dotted path of a JSON document.
func fieldAt(t *testing.T, body []byte, path string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(body, &v))
	for _, key := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		require.True(t, ok, "%s: %q is not inside an object", path, key)
		v = m[key]
	}
	return v
}

// stringField returns the string at a dotted path of a JSON document.
func stringField(t *testing.T, body []byte, path string) string {
	t.Helper()
	v := fieldAt(t, body, path)
	s, ok := v.(string)
	require.True(t, ok, "%s: got %T, want a string", path, v)
	return s
}

func normalize(t *testing.T, n *handlers.Normalizer, d store.Delivery) (bot.Event, string) {
	t.Helper()
	ev, reason, err := n.Normalize(context.Background(), d)
	require.NoError(t, err, "normalizing %s", d.ID)
	return ev, reason
}

func TestNormalizeChecklistEdited(t *testing.T) {
	tick := githubFixture(t, "issues.edited.task-list-tick.json")
	oldBody := stringField(t, tick, "changes.body.from")
	newBody := stringField(t, tick, "issue.body")
	require.Contains(t, oldBody, "- [ ] <5%", "fixture: old body has the unticked box")
	require.Contains(t, newBody, "- [x] <5%", "fixture: new body has the ticked box")
	tests := []struct {
		name       string
		file       string
		repository string
		want       bot.ChecklistEdited
	}{
		{
			name: "task list tick", file: "issues.edited.task-list-tick.json", repository: "Mageroni-Org/Actions-more-than-CI-CD",
			want: bot.ChecklistEdited{
				DeliveryID: "github:normalize-1", Actor: bot.Actor{Login: "mageroni", Members: map[string]bool{}},
				Issue: 62, OldBody: oldBody, NewBody: newBody, HasOld: true,
			},
		},
		{
			// GitHub sends changes: {} when the body did not change.
			name: "empty changes", file: "issues.edited.json", repository: "Codertocat/Hello-World",
			want: bot.ChecklistEdited{
				DeliveryID: "github:normalize-1", Actor: codertocat,
				Issue: 1, NewBody: stringField(t, githubFixture(t, "issues.edited.json"), "issue.body"), HasOld: false,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := storeGitHub(t, tt.repository, "issues", githubFixture(t, tt.file))

			ev, reason := normalize(t, newNormalizer(testBotLogin), d)

			assert.Empty(t, reason)
			assert.Equal(t, tt.want, ev)
		})
	}
}

func TestNormalizeIssueNotHandled(t *testing.T) {
	d := storeGitHub(t, testRepository, "issues", githubFixture(t, "issues.opened.json"))

	ev, reason := normalize(t, newNormalizer(testBotLogin), d)

	assert.Nil(t, ev)
	assert.Equal(t, "issue opened not handled", reason)
}

func TestNormalizeIssueComment(t *testing.T) {
	// Every case but the first posts a payload derived from
	// issue_comment.created.json: the recorded comment carries no command.
	setBody := func(body string) func(map[string]any) {
		return func(p map[string]any) { object(t, p, "comment")["body"] = body }
	}
	withCommand := setBody("/mlops status #1")
	command := bot.CommandIssued{
		DeliveryID:     "github:normalize-1",
		Actor:          codertocat,
		Line:           "/mlops status #1",
		Origin:         store.Origin{Source: "github", Issue: 1, InstallationID: 1},
		InstallationID: 1,
		CommentID:      492700400, // comment.id of issue_comment.created.json
	}
	tests := []struct {
		name       string
		edit       func(map[string]any)
		botLogin   string
		wantEvent  bot.Event
		wantReason string
	}{
		{name: "recorded comment", wantReason: "comment carries no command"},
		{name: "command", edit: withCommand, wantEvent: command},
		{
			name:      "command after prose",
			edit:      setBody("Ready for review.\r\n\r\n/mlops status #1\r\n"),
			wantEvent: command,
		},
		{
			name:       "command in a code block",
			edit:       setBody("```\n/mlops status #1\n```"),
			wantReason: "comment carries no command",
		},
		{
			name: "edited comment",
			edit: func(p map[string]any) {
				withCommand(p)
				p["action"] = "edited"
			},
			wantReason: "comment edited: only new comments can carry commands",
		},
		{
			name: "sender is a bot account",
			edit: func(p map[string]any) {
				withCommand(p)
				object(t, p, "sender")["type"] = "Bot"
			},
			wantReason: "sent by another bot",
		},
		{
			name: "sender login ends in [bot]",
			edit: func(p map[string]any) {
				withCommand(p)
				object(t, p, "sender")["login"] = "dependabot[bot]"
			},
			wantReason: "sent by another bot",
		},
		{
			name:       "sender is the bot login",
			edit:       withCommand,
			botLogin:   "codertocat",
			wantReason: "sent by sopbot itself",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := githubFixture(t, "issue_comment.created.json")
			if tt.edit != nil {
				body = deriveFixture(t, "issue_comment.created.json", tt.edit)
			}
			botLogin := testBotLogin
			if tt.botLogin != "" {
				botLogin = tt.botLogin
			}
			d := storeGitHub(t, testRepository, "issue_comment", body)

			ev, reason := normalize(t, newNormalizer(botLogin), d)

			assert.Equal(t, tt.wantEvent, ev)
			assert.Equal(t, tt.wantReason, reason)
		})
	}
}

func TestNormalizeReview(t *testing.T) {
	tests := []struct {
		file       string
		repository string
		want       bot.ReviewSubmitted
	}{
		{
			file: "pull_request_review.submitted.approved.json", repository: "sotayamashita/test_project",
			want: bot.ReviewSubmitted{
				Actor: bot.Actor{Login: "sotayamashita", Members: map[string]bool{}}, PR: 88, PRBody: "edit", PRAuthor: "watsonbot",
				HeadSHA: "29335900a2bcda837ffccd89d934f34de2f83d16", ReviewID: 77635500, State: "approved",
				CommitID: "29335900a2bcda837ffccd89d934f34de2f83d16",
			},
		},
		{
			file: "pull_request_review.submitted.changes_requested.json", repository: "sotayamashita/test_project",
			want: bot.ReviewSubmitted{
				Actor: bot.Actor{Login: "sotayamashita", Members: map[string]bool{}}, PR: 88, PRBody: "edit", PRAuthor: "watsonbot",
				HeadSHA: "29335900a2bcda837ffccd89d934f34de2f83d16", ReviewID: 77635470, State: "changes_requested",
				Body: "Request Changes", CommitID: "29335900a2bcda837ffccd89d934f34de2f83d16",
			},
		},
		{
			file: "pull_request_review.submitted.commented.json", repository: testRepository,
			want: bot.ReviewSubmitted{
				Actor: codertocat, PR: 2, PRBody: "This is a pretty simple change that we need to pull into master.", PRAuthor: "Codertocat",
				HeadSHA: "ec26c3e57ca3a959ca5aad62de7213c562f8c821", ReviewID: 237895671, State: "commented",
				CommitID: "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
			},
		},
		{
			file: "pull_request_review.dismissed.json", repository: testRepository,
			want: bot.ReviewSubmitted{
				Actor: codertocat, PR: 2, PRAuthor: "Codertocat",
				HeadSHA: "ec26c3e57ca3a959ca5aad62de7213c562f8c821", ReviewID: 237895671, State: bot.ReviewDismissed,
				CommitID: "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := githubFixture(t, tt.file)
			d := storeGitHub(t, tt.repository, "pull_request_review", body)
			want := tt.want
			want.DeliveryID = d.ID
			require.Equal(t, optionalString(t, body, "pull_request.body"), want.PRBody, "fixture: pull request body")
			require.Equal(t, optionalString(t, body, "review.body"), want.Body, "fixture: review body")

			ev, reason := normalize(t, newNormalizer(testBotLogin), d)

			assert.Empty(t, reason)
			assert.Equal(t, want, ev)
		})
	}
}

// optionalString returns the string at a dotted path of a JSON document,
// or "" when the value there is null.
func optionalString(t *testing.T, body []byte, path string) string {
	t.Helper()
	v := fieldAt(t, body, path)
	if v == nil {
		return ""
	}
	s, ok := v.(string)
	require.True(t, ok, "%s: got %T, want a string or null", path, v)
	return s
}

func TestNormalizePullRequest(t *testing.T) {
	tests := []struct {
		file       string
		wantAction string
	}{
		{"pull_request.opened.json", "opened"},
		{"pull_request.synchronize.json", "synchronize"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := githubFixture(t, tt.file)
			d := storeGitHub(t, testRepository, "pull_request", body)
			want := bot.PullRequestChanged{
				DeliveryID: d.ID, Actor: codertocat, PR: 2,
				Body:    stringField(t, body, "pull_request.body"),
				HeadSHA: stringField(t, body, "pull_request.head.sha"),
				Action:  tt.wantAction,
			}

			ev, reason := normalize(t, newNormalizer(testBotLogin), d)

			assert.Empty(t, reason)
			assert.Equal(t, want, ev)
		})
	}
}

func TestNormalizeSynchronizeHeadIsAfter(t *testing.T) {
	body := githubFixture(t, "pull_request.synchronize.json")
	d := storeGitHub(t, testRepository, "pull_request", body)

	ev, _ := normalize(t, newNormalizer(testBotLogin), d)

	changed, ok := ev.(bot.PullRequestChanged)
	require.True(t, ok, "event: got %T, want bot.PullRequestChanged", ev)
	assert.Equal(t, stringField(t, body, "after"), changed.HeadSHA, "head SHA: want the pushed commit")
}

func TestNormalizeSlackCommand(t *testing.T) {
	tests := []struct {
		name      string
		userID    string
		wantActor bot.Actor
	}{
		{"mapped user", "U0ALICE", bot.Actor{Login: "alice", Slack: "U0ALICE", Members: map[string]bool{}}},
		{"mapped user with a role", "U0CODER", codertocat},
		{"unmapped user", "U0NOBODY", bot.Actor{Slack: "U0NOBODY", Members: map[string]bool{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			body := slackForm("promote model fraud-detector 3", func(f url.Values) { f.Set("user_id", tt.userID) })
			got := h.postSlack(t, body)
			require.Equal(t, http.StatusOK, got.status, "status: got %d, want 200 (body %s)", got.status, got.body)
			d := h.loadDelivery(t, "slack:"+testTriggerID)
			want := bot.CommandIssued{
				DeliveryID: "slack:" + testTriggerID,
				Actor:      tt.wantActor,
				Line:       "promote model fraud-detector 3",
				Origin: store.Origin{
					Source: "slack", ResponseURL: "https://hooks.slack.com/commands/T0001/1234/abcd", Channel: "C0MLOPS",
				},
			}

			ev, reason := normalize(t, newNormalizer(testBotLogin), d)

			assert.Empty(t, reason)
			assert.Equal(t, want, ev)
		})
	}
}

// recordingTeams is a bot.TeamChecker that records each lookup as
// "installation org/team login". Like github.Client, it rejects an
// installation id that is not positive.
type recordingTeams struct {
	members map[string]bool // "org/team login"
	calls   []string
}

func (r *recordingTeams) IsTeamMember(_ context.Context, installationID int64, org, team, login string) (bool, error) {
	r.calls = append(r.calls, fmt.Sprintf("%d %s/%s %s", installationID, org, team, login))
	if installationID <= 0 {
		return false, fmt.Errorf("installation id %d is invalid: want a positive id", installationID)
	}
	return r.members[org+"/"+team+" "+login], nil
}

func TestNormalizeTeamRoleNeedsInstallation(t *testing.T) {
	// A role held through a GitHub team can only be resolved as an app
	// installation. Deliveries that carry no installation id (Slack
	// commands, repository webhooks) are resolved with installation 0,
	// which the GitHub client rejects, so the role counts as not held.
	// The normalizer falls back to the configured or looked-up
	// installation for such deliveries.
	tests := []struct {
		name    string
		deliver func(t *testing.T) store.Delivery
	}{
		{
			name: "slack command",
			deliver: func(t *testing.T) store.Delivery {
				h := newHarness(t, nil)
				got := h.postSlack(t, slackForm("approve #1", func(f url.Values) { f.Set("user_id", "U0CODER") }))
				require.Equal(t, http.StatusOK, got.status, "status: got %d, want 200 (body %s)", got.status, got.body)
				return h.loadDelivery(t, "slack:"+testTriggerID)
			},
		},
		{
			name: "repository webhook without installation",
			deliver: func(t *testing.T) store.Delivery {
				body := githubFixture(t, "issues.edited.json")
				require.Nil(t, fieldAt(t, body, "installation"), "fixture: issues.edited.json has no installation")
				return storeGitHub(t, testRepository, "issues", body)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.deliver(t)
			teams := &recordingTeams{members: map[string]bool{"acme/compliance codertocat": true}}
			cfg := config.Config{
				Roles:  map[string]config.Holders{"compliance officer": {Teams: []string{"acme/compliance"}}},
				People: []config.Person{{GitHub: "Codertocat", Slack: "U0CODER"}},
			}
			n := &handlers.Normalizer{Directory: bot.NewDirectory(cfg, teams), BotLogin: testBotLogin,
				Installation: func(context.Context) (int64, error) { return 7, nil }}

			ev, reason, err := n.Normalize(context.Background(), d)

			require.NoError(t, err)
			require.NotNil(t, ev, "event: got nil (reason %q)", reason)
			actor := actorOf(t, ev)
			assert.Empty(t, actor.Unresolved, "unresolved roles (team lookups: %v)", teams.calls)
			assert.True(t, actor.Holds("compliance officer"), "codertocat holds compliance officer through acme/compliance (team lookups: %v)", teams.calls)
		})
	}
}

func actorOf(t *testing.T, ev bot.Event) bot.Actor {
	t.Helper()
	switch e := ev.(type) {
	case bot.CommandIssued:
		return e.Actor
	case bot.ChecklistEdited:
		return e.Actor
	}
	require.Failf(t, "unexpected event", "got %T, want bot.CommandIssued or bot.ChecklistEdited", ev)
	return bot.Actor{}
}

func TestNormalizeCheckRun(t *testing.T) {
	d := storeGitHub(t, "Codertocat/Hello-World", "check_run", githubFixture(t, "check_run.completed.json"))
	n := &handlers.Normalizer{Directory: bot.NewDirectory(config.Config{}, nil), BotLogin: testBotLogin}

	ev, reason, err := n.Normalize(context.Background(), d)
	require.NoError(t, err)
	require.NotNil(t, ev, "event: got nil (reason %q)", reason)
	check, ok := ev.(bot.CheckReported)
	require.True(t, ok, "event type: got %T, want bot.CheckReported", ev)
	assert.Equal(t, []int{2}, check.PRs, "pull requests")
	assert.Equal(t, "ec26c3e57ca3a959ca5aad62de7213c562f8c821", check.HeadSHA, "head")
	assert.Equal(t, "Octocoders-linter", check.Name, "name")
	assert.Equal(t, "success", check.Conclusion, "conclusion")
}

func TestNormalizeSlackUserByProfileEmail(t *testing.T) {
	h := newHarness(t, nil)
	got := h.postSlack(t, slackForm("status #1", func(f url.Values) { f.Set("user_id", "U0MAILED") }))
	require.Equal(t, http.StatusOK, got.status, "status: got %d (body %s)", got.status, got.body)
	d := h.loadDelivery(t, "slack:"+testTriggerID)

	cfg := config.Config{People: []config.Person{{GitHub: "Codertocat", Email: "coder@example.com"}}}
	lookups := 0
	n := &handlers.Normalizer{Directory: bot.NewDirectory(cfg, nil), BotLogin: testBotLogin,
		SlackEmail: func(_ context.Context, user string) (string, error) {
			lookups++
			if user == "U0MAILED" {
				return "Coder@Example.com", nil
			}
			return "", errors.New("user_not_found")
		}}

	ev, _, err := n.Normalize(context.Background(), d)
	require.NoError(t, err)
	cmd, ok := ev.(bot.CommandIssued)
	require.True(t, ok, "event type %T", ev)
	assert.Equal(t, "codertocat", cmd.Actor.Login, "paired through the profile e-mail")
	assert.Equal(t, "U0MAILED", cmd.Actor.Slack)
	assert.Equal(t, 1, lookups, "one users.info lookup")
}
