package github_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/github"
	"github.com/sopbot/sopbot/integrations/github/githubfake"
)

func TestGetPullRequest(t *testing.T) {
	fake, client := setup(t)
	ctx := context.Background()
	number, head := openPull(t, fake)

	pull, err := client.GetPullRequest(ctx, testInstallationID, number)

	require.NoError(t, err)
	assert.Equal(t, github.PullRequest{
		Number:  number,
		Title:   "Promote v3",
		Body:    "Implements SOP-02",
		State:   "open",
		HeadSHA: head,
		User:    "carol",
		HTMLURL: fmt.Sprintf("https://github.example/acme/ml-requests/pull/%d", number),
		Merged:  false,
	}, pull)
	assert.Contains(t, fake.Calls(), fmt.Sprintf("GET /repos/acme/ml-requests/pulls/%d", number))
}

func TestGetPullRequestMerged(t *testing.T) {
	fake, client := setup(t)
	number, _ := openPull(t, fake)
	require.NoError(t, fake.MergePullRequest("alice", number))

	pull, err := client.GetPullRequest(context.Background(), testInstallationID, number)

	require.NoError(t, err)
	assert.True(t, pull.Merged)
	assert.Equal(t, "closed", pull.State)
}

func TestGetPullRequestOnIssue(t *testing.T) {
	_, client := setup(t)
	ctx := context.Background()
	issue, err := client.CreateIssue(ctx, testInstallationID, "title", "body", nil)
	require.NoError(t, err)

	_, err = client.GetPullRequest(ctx, testInstallationID, issue.Number)

	require.Error(t, err)
	assert.True(t, github.IsPermanent(err), "404 is permanent: %v", err)
	assert.ErrorContains(t, err, "getting pull request acme/ml-requests#1")
}

func TestListReviewsLowercasesStates(t *testing.T) {
	clock := newTestClock()
	fake, client := setupWithClock(t, clock)
	number, first := openPull(t, fake)
	approval, err := fake.SubmitReview("alice", number, "approved", "")
	require.NoError(t, err)
	clock.Advance(time.Minute)
	_, err = fake.SubmitReview("bob", number, "changes_requested", "Needs the eval report.")
	require.NoError(t, err)
	second, err := fake.PushToPullRequest("carol", number)
	require.NoError(t, err)
	clock.Advance(time.Minute)
	_, err = fake.SubmitReview("dave", number, "commented", "nit")
	require.NoError(t, err)
	require.NoError(t, fake.DismissReview("bob", number, approval))

	reviews, err := client.ListReviews(context.Background(), testInstallationID, number)

	require.NoError(t, err)
	require.Len(t, reviews, 3)
	start := newTestClock().Now()
	tests := []struct {
		user, state, commit, body string
		submitted                 time.Time
	}{
		{user: "alice", state: "dismissed", commit: first, body: "", submitted: start},
		{user: "bob", state: "changes_requested", commit: first, body: "Needs the eval report.", submitted: start.Add(time.Minute)},
		{user: "dave", state: "commented", commit: second, body: "nit", submitted: start.Add(2 * time.Minute)},
	}
	for i, want := range tests {
		got := reviews[i]
		assert.NotZero(t, got.ID, "review %d", i)
		assert.Equal(t, want.user, got.User, "review %d", i)
		assert.Equal(t, want.state, got.State, "review %d", i)
		assert.Equal(t, want.commit, got.CommitID, "review %d", i)
		assert.Equal(t, want.body, got.Body, "review %d", i)
		assert.True(t, want.submitted.Equal(got.SubmittedAt), "review %d submitted at %v, want %v", i, got.SubmittedAt, want.submitted)
	}
	assert.Equal(t, approval, reviews[0].ID)
}

func TestListReviewsReadsEveryPage(t *testing.T) {
	t.Parallel()
	fake, client := setup(t)
	number, _ := openPull(t, fake)
	submitReviews(t, fake, number, 250)

	reviews, err := client.ListReviews(context.Background(), testInstallationID, number)

	require.NoError(t, err)
	require.Equal(t, 250, len(reviews))
	assert.Equal(t, "review 1", reviews[0].Body)
	assert.Equal(t, "review 250", reviews[249].Body)
	calls := fake.Calls()
	assert.Contains(t, calls, fmt.Sprintf("GET /repos/acme/ml-requests/pulls/%d/reviews?page=3&per_page=100", number))
	assert.Equal(t, 4, fake.CallCount(), "one token and three pages")
}

// TestListReviewsKeepsNewestPages checks the page bound: of 11 pages, the
// first is read to find the last, then the last 10 are returned.
func TestListReviewsKeepsNewestPages(t *testing.T) {
	t.Parallel()
	fake, client := setup(t)
	number, _ := openPull(t, fake)
	submitReviews(t, fake, number, 1050)
	fake.ResetCalls()

	reviews, err := client.ListReviews(context.Background(), testInstallationID, number)

	require.NoError(t, err)
	require.Equal(t, 950, len(reviews), "pages 2 to 11")
	assert.Equal(t, "review 101", reviews[0].Body)
	assert.Equal(t, "review 1050", reviews[949].Body)
	assert.Equal(t, 12, fake.CallCount(), "one token, page 1, then pages 2 to 11")
}

func TestListReviewsOnIssue(t *testing.T) {
	_, client := setup(t)
	ctx := context.Background()
	issue, err := client.CreateIssue(ctx, testInstallationID, "title", "body", nil)
	require.NoError(t, err)

	_, err = client.ListReviews(ctx, testInstallationID, issue.Number)

	require.Error(t, err)
	assert.True(t, github.IsPermanent(err), "404 is permanent: %v", err)
}

// submitReviews adds n comment reviews with bodies "review 1" to "review n".
func submitReviews(t *testing.T, fake *githubfake.Fake, number, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		_, err := fake.SubmitReview("alice", number, "commented", fmt.Sprintf("review %d", i))
		require.NoError(t, err)
	}
}
