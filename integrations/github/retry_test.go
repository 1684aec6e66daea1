package github_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/github"
	"github.com/sopbot/sopbot/integrations/httpretry"
	"github.com/sopbot/sopbot/internal/faults"
)

// firstMatch returns a Skip function that exempts every request except the
// first n whose method is method and whose path ends in suffix.
func firstMatch(method, suffix string, n int64) func(*http.Request) bool {
	var seen atomic.Int64
	return func(r *http.Request) bool {
		if r.Method != method || !strings.HasSuffix(r.URL.Path, suffix) {
			return true
		}
		return seen.Add(1) > n
	}
}

func TestGetRetriedAfterServerErrors(t *testing.T) {
	fake, client := setup(t)
	ctx := context.Background()
	_, err := client.CreateIssue(ctx, testInstallationID, "title", "body", nil)
	require.NoError(t, err)
	fake.FailNext(http.MethodGet, "/repos/acme/ml-requests/issues/1", http.StatusBadGateway, 2)
	fake.ResetCalls()

	issue, err := client.GetIssue(ctx, testInstallationID, 1)

	require.NoError(t, err)
	assert.Equal(t, "title", issue.Title)
	assert.Len(t, fake.Calls(), 3, "two failures, then the answer")
}

func TestCreateCommentLostReplyPostsOnce(t *testing.T) {
	fake, client := setup(t)
	ctx := context.Background()
	issue, err := client.CreateIssue(ctx, testInstallationID, "title", "body", nil)
	require.NoError(t, err)
	injector := fake.InjectFaults(faults.Config{Rate: 1, Kinds: []faults.Kind{faults.ServerError}, Modes: []faults.Mode{faults.After},
		Skip: firstMatch(http.MethodPost, "/comments", 1)})

	comment, err := client.CreateComment(ctx, testInstallationID, issue.Number, "once <!-- sopbot:effect=c1 -->")

	require.NoError(t, err)
	require.Len(t, fake.Comments(issue.Number), 1, "the comment the lost reply hid is found, not posted again")
	assert.Equal(t, fake.Comments(issue.Number)[0].ID, comment.ID)
	assert.Equal(t, 1, injector.Count(faults.ServerError, faults.After))
}

func TestCreateCommentFailedBeforePostsAgain(t *testing.T) {
	fake, client := setup(t)
	ctx := context.Background()
	issue, err := client.CreateIssue(ctx, testInstallationID, "title", "body", nil)
	require.NoError(t, err)
	fake.InjectFaults(faults.Config{Rate: 1, Kinds: []faults.Kind{faults.HangUp}, Modes: []faults.Mode{faults.Before},
		Skip: firstMatch(http.MethodPost, "/comments", 1)})

	_, err = client.CreateComment(ctx, testInstallationID, issue.Number, "posted on the second try")

	require.NoError(t, err)
	require.Len(t, fake.Comments(issue.Number), 1)
}

func TestCreateIssueLostReplyOpensOnce(t *testing.T) {
	fake, client := setup(t)
	fake.InjectFaults(faults.Config{Rate: 1, Kinds: []faults.Kind{faults.Timeout}, Modes: []faults.Mode{faults.After},
		Hold: 50 * time.Millisecond, Skip: firstMatch(http.MethodPost, "/issues", 1)})

	issue, err := client.CreateIssue(context.Background(), testInstallationID, "title", "body <!-- sopbot:request=R-1 -->", []string{"sopbot"})

	require.NoError(t, err)
	require.Len(t, fake.Issues(), 1)
	assert.Equal(t, 1, issue.Number)
	assert.Equal(t, []string{"sopbot"}, issue.Labels)
}

func TestCreateCommentUnknownOutcome(t *testing.T) {
	fake, client := setup(t)
	ctx := context.Background()
	issue, err := client.CreateIssue(ctx, testInstallationID, "title", "body", nil)
	require.NoError(t, err)
	fake.InjectFaults(faults.Config{Rate: 1, Kinds: []faults.Kind{faults.ServerError}, Modes: []faults.Mode{faults.Before},
		Skip: func(r *http.Request) bool { return !strings.Contains(r.URL.Path, "/comments") }})

	_, err = client.CreateComment(ctx, testInstallationID, issue.Number, "never posted")

	require.Error(t, err)
	var unknown *httpretry.UnknownOutcomeError
	assert.True(t, errors.As(err, &unknown), "the check failed too, so the outcome is unknown: %v", err)
	assert.False(t, github.IsPermanent(err))
	_, ok := github.RetryAfter(err)
	assert.False(t, ok, "an unknown outcome is never a snooze, which would not count as an attempt")
	assert.Empty(t, fake.Comments(issue.Number))
}

func TestSecondaryRateLimitWaitsRetryAfter(t *testing.T) {
	fake, client := setup(t)
	ctx := context.Background()
	issue, err := client.CreateIssue(ctx, testInstallationID, "title", "body", nil)
	require.NoError(t, err)
	injector := fake.InjectFaults(faults.Config{Rate: 1, Kinds: []faults.Kind{faults.SecondaryRateLimit},
		Skip: firstMatch(http.MethodPost, "/comments", 1)})

	started := time.Now()
	_, err = client.CreateComment(ctx, testInstallationID, issue.Number, "after the wait")

	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(started), time.Second)
	assert.Len(t, fake.Comments(issue.Number), 1)
	assert.Empty(t, injector.Violations(0))
}

func TestLongRetryAfterHoldsLaterCalls(t *testing.T) {
	fake, client := setup(t)
	ctx := context.Background()
	issue, err := client.CreateIssue(ctx, testInstallationID, "title", "body", nil)
	require.NoError(t, err)
	injector := fake.InjectFaults(faults.Config{Rate: 1, Kinds: []faults.Kind{faults.SecondaryRateLimit}, RetryAfter: 30 * time.Second,
		Skip: firstMatch(http.MethodGet, "/issues/1", 1)})

	_, err = client.GetIssue(ctx, testInstallationID, issue.Number)
	require.Error(t, err)
	wait, ok := github.RetryAfter(err)
	require.True(t, ok, "error: %v", err)
	assert.InDelta(t, 30, wait.Seconds(), 1)
	assert.False(t, github.IsPermanent(err))

	calls := len(injector.Calls())
	_, err = client.GetIssue(ctx, testInstallationID, issue.Number)
	require.Error(t, err)
	wait, ok = github.RetryAfter(err)
	require.True(t, ok, "a later call is held back: %v", err)
	assert.InDelta(t, 30, wait.Seconds(), 1)
	assert.Equal(t, calls, len(injector.Calls()), "the held call is not sent")
	assert.Empty(t, injector.Violations(0))
}

func TestExpiredTokenIsRefreshed(t *testing.T) {
	fake, client := setup(t)
	ctx := context.Background()
	issue, err := client.CreateIssue(ctx, testInstallationID, "title", "body", nil)
	require.NoError(t, err)
	injector := fake.InjectFaults(faults.Config{Rate: 1, Kinds: []faults.Kind{faults.ExpiredToken},
		Skip: firstMatch(http.MethodGet, "/issues/1", 2)})
	injector.SetRate(0)
	_, err = client.GetIssue(ctx, testInstallationID, issue.Number)
	require.NoError(t, err, "a token expires only after it served a request through the injector")
	injector.SetRate(1)
	fake.ResetCalls()

	got, err := client.GetIssue(ctx, testInstallationID, issue.Number)
	require.NoError(t, err)
	assert.Equal(t, "title", got.Title)
	_, err = client.GetIssue(ctx, testInstallationID, issue.Number)
	require.NoError(t, err, "later calls use the new token")

	assert.Equal(t, []string{
		"POST /app/installations/7/access_tokens",
		"GET /repos/acme/ml-requests/issues/1",
		"GET /repos/acme/ml-requests/issues/1",
	}, fake.Calls(), "the fake saw the new token's calls only")
	assert.Empty(t, injector.Faults()[1:], "the new token is not expired")
	assert.Equal(t, 1, injector.Count(faults.ExpiredToken, faults.Before))
}

func TestEditRetriedAfterLostReply(t *testing.T) {
	fake, client := setup(t)
	ctx := context.Background()
	issue, err := client.CreateIssue(ctx, testInstallationID, "title", "body", nil)
	require.NoError(t, err)
	fake.InjectFaults(faults.Config{Rate: 1, Kinds: []faults.Kind{faults.HangUp}, Modes: []faults.Mode{faults.After},
		Skip: firstMatch(http.MethodPatch, "/issues/1", 1)})

	require.NoError(t, client.EditIssueBody(ctx, testInstallationID, issue.Number, "new body"))

	stored, _ := fake.Issue(issue.Number)
	assert.Equal(t, "new body", stored.Body)
	edits := 0
	for _, d := range fake.Deliveries() {
		if d.Event == "issues" && d.Action == "edited" {
			edits++
		}
	}
	assert.Equal(t, 1, edits, "sending the same body again changes nothing")
}
