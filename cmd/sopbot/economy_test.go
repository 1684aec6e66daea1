package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/github"
	"github.com/sopbot/sopbot/integrations/github/githubfake"
	"github.com/sopbot/sopbot/internal/demo"
	"github.com/sopbot/sopbot/sop"
)

// Bounds on the GitHub API calls the bot makes per event.
const (
	maxTickCalls = 1
	// docs/benchmarks.md lists the calls of a whole request.
	maxRequestCalls = 15
)

func TestEconomyIgnoredPushMakesNoCall(t *testing.T) {
	b := startLiveBot(t)
	ctx := context.Background()
	require.NoError(t, b.scenario.Open(ctx))
	b.fakes.GitHub.ResetCalls()

	body, err := os.ReadFile("../../testdata/github/push.new-branch.json")
	require.NoError(t, err)
	status, reply := postWebhook(t, b, "push", body)
	require.NoError(t, b.scenario.Settle(ctx))

	assert.Equal(t, http.StatusAccepted, status)
	assert.Equal(t, "ignored", reply["status"])
	assert.Empty(t, b.fakes.GitHub.Calls(), "an ignored push makes no GitHub API call")
}

func TestEconomyCommentWithoutCommandMakesNoCall(t *testing.T) {
	b := startLiveBot(t)
	ctx := context.Background()
	require.NoError(t, b.scenario.Open(ctx))
	b.fakes.GitHub.ResetCalls()

	_, err := b.fakes.GitHub.UserComment(demo.People.Alice.Login, b.scenario.Issue(), "Thanks, I will look at the metrics tomorrow.")
	require.NoError(t, err)
	require.NoError(t, b.scenario.Settle(ctx))

	var outcome string
	require.NoError(t, b.db.QueryRow(`SELECT outcome FROM deliveries WHERE event = 'issue_comment' ORDER BY rowid DESC LIMIT 1`).Scan(&outcome))
	assert.True(t, strings.HasPrefix(outcome, "ignored"), "the comment is stored and ignored, got outcome %q", outcome)
	assert.Empty(t, b.fakes.GitHub.Calls(), "a comment without a command makes no GitHub API call")
}

func TestEconomyRoleHolderTickMakesOneCall(t *testing.T) {
	b := startLiveBot(t)
	ctx := context.Background()
	require.NoError(t, b.scenario.Open(ctx))
	require.NoError(t, b.scenario.Settle(ctx))
	b.fakes.GitHub.ResetCalls()

	require.NoError(t, b.scenario.Tick(ctx, demo.People.Bob, "s2-1"))

	calls := b.fakes.GitHub.Calls()
	t.Logf("GitHub API calls for one tick:\n%s", strings.Join(calls, "\n"))
	require.True(t, b.scenario.Checked("s2-1"), "the role holder's tick stays")
	assert.LessOrEqual(t, len(calls), maxTickCalls, "GitHub API calls for one legitimate tick")
}

func TestEconomyWholeRequestCalls(t *testing.T) {
	b := startLiveBot(t)
	b.fakes.GitHub.ResetCalls()

	require.NoError(t, b.scenario.Run(context.Background()))

	calls := b.fakes.GitHub.Calls()
	t.Logf("GitHub API calls for one SOP-02 request:\n%s", strings.Join(calls, "\n"))
	assert.LessOrEqual(t, len(calls), maxRequestCalls, "GitHub API calls for a whole SOP-02 request")
	for _, call := range calls {
		assert.False(t, strings.HasPrefix(call, "GET "), "no read before an edit: %s", call)
		assert.False(t, strings.HasPrefix(call, "PUT "), "labels go with the issue's PATCH: %s", call)
	}

	pr, ok := b.fakes.GitHub.Issue(b.scenario.PR())
	require.True(t, ok)
	var states []string
	for _, status := range b.fakes.GitHub.Statuses(pr.HeadSHA) {
		states = append(states, status.State)
	}
	assert.Equal(t, []string{"pending", "success"}, states, "each sign-off status is set once")

	comments := b.fakes.GitHub.Comments(b.scenario.Issue())
	require.NotEmpty(t, comments)
	last := comments[len(comments)-1].Body
	assert.Contains(t, last, "This request is **done**", "the last comment says the request is done")
	assert.Contains(t, last, "## Records of #1 (done)", "and carries the records")
	assert.Equal(t, 2, strings.Count(last, "<!-- sopbot:effect="), "with the marker of each")
}

// TestEconomyOverwrittenEditIsWrittenBack edits the issue as a person
// while the edit's webhook is held back, so the bot's next write starts
// from the body it knew and overwrites the edit on GitHub. The webhook of
// the bot's own write shows the overwritten body, which the bot writes
// back; the held webhook, once delivered, records the tick.
func TestEconomyOverwrittenEditIsWrittenBack(t *testing.T) {
	b := startLiveBot(t)
	ctx := context.Background()
	require.NoError(t, b.scenario.Open(ctx))
	issueNumber := b.scenario.Issue()

	issue, ok := b.fakes.GitHub.Issue(issueNumber)
	require.True(t, ok)
	body, changed := sop.SetChecked(issue.Body, "s2-1", true)
	require.True(t, changed)
	const note = "Note from bob: the fairness report is in the model card."
	body += "\n\n" + note
	b.fakes.GitHub.SuppressNextDeliveries(1)
	require.NoError(t, b.fakes.GitHub.UserEditBody(demo.People.Bob.Login, issueNumber, body))
	deliveries := b.fakes.GitHub.Deliveries()
	suppressedID := deliveries[len(deliveries)-1].ID
	require.Equal(t, githubfake.SuppressedError, deliveries[len(deliveries)-1].Error)

	// The parity check passing makes the bot tick s2-2 from the body it knew.
	pr, _, err := b.fakes.GitHub.OpenPullRequest(demo.People.Alice.Login, "Serve fraud-detector v3", fmt.Sprintf("SOP request: #%d", issueNumber))
	require.NoError(t, err)
	require.NoError(t, b.scenario.Settle(ctx))
	require.NoError(t, b.fakes.GitHub.CompleteCheckRun("ci-runner[bot]", pr, demo.ParityCheck, "success"))
	require.NoError(t, b.scenario.Settle(ctx))

	issue, _ = b.fakes.GitHub.Issue(issueNumber)
	assert.Contains(t, issue.Body, note, "the overwritten note is written back")
	assert.True(t, b.scenario.Checked("s2-1"), "the overwritten tick is written back")
	assert.True(t, b.scenario.Checked("s2-2"), "the bot's own tick stays")

	require.NoError(t, b.fakes.GitHub.Redeliver(suppressedID))
	require.NoError(t, b.scenario.Settle(ctx))

	issue, _ = b.fakes.GitHub.Issue(issueNumber)
	assert.Contains(t, issue.Body, note)
	assert.True(t, b.scenario.Checked("s2-1"), "the tick stays once its webhook arrives")
	assert.True(t, b.scenario.Checked("s2-2"))
	var by string
	require.NoError(t, b.db.QueryRow(`SELECT by_login FROM items WHERE key = 's2-1' AND checked = 1`).Scan(&by))
	assert.Equal(t, demo.People.Bob.Login, by, "the tick is recorded as bob's")
}

// TestEconomyLateWebhookOfOverwrittenTick holds a person's tick back while
// the bot sets back another person's tick, from a body that shows both.
// When the first webhook arrives late, its edit's body is one the issue
// had before, so the bot must write the tick back instead of taking that
// body as the issue's.
func TestEconomyLateWebhookOfOverwrittenTick(t *testing.T) {
	b := startLiveBot(t)
	ctx := context.Background()
	require.NoError(t, b.scenario.Open(ctx))

	b.fakes.GitHub.SuppressNextDeliveries(1)
	require.NoError(t, b.scenario.Tick(ctx, demo.People.Bob, "s2-1"))
	deliveries := b.fakes.GitHub.Deliveries()
	suppressedID := deliveries[len(deliveries)-1].ID

	// The bot sets mallory's tick back. It sets bob's back too, because
	// it has not processed his edit yet.
	require.NoError(t, b.scenario.Tick(ctx, demo.People.Mallory, "s3-1"))
	assert.False(t, b.scenario.Checked("s3-1"), "mallory's tick is set back")

	require.NoError(t, b.fakes.GitHub.Redeliver(suppressedID))
	require.NoError(t, b.scenario.Settle(ctx))
	assert.True(t, b.scenario.Checked("s2-1"), "bob's tick is on the issue once its webhook arrives")
	assert.False(t, b.scenario.Checked("s3-1"), "mallory's tick stays set back")
	var by string
	require.NoError(t, b.db.QueryRow(`SELECT by_login FROM items WHERE key = 's2-1' AND checked = 1`).Scan(&by))
	assert.Equal(t, demo.People.Bob.Login, by)
}

// postWebhook sends body as a signed delivery of event straight to the
// bot and returns the status and the decoded JSON reply.
func postWebhook(t *testing.T, b *liveBot, event string, body []byte) (int, map[string]string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.scenario.ServerURL+"/github/webhook", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", uuid.NewString())
	req.Header.Set("X-Hub-Signature-256", github.Sign(b.fakes.WebhookSecret, body))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var reply map[string]string
	require.NoError(t, json.Unmarshal(data, &reply), "reply %s", data)
	return resp.StatusCode, reply
}
