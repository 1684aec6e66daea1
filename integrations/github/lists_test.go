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

func issueNumbers(issues []github.Issue) []int {
	numbers := []int{}
	for _, issue := range issues {
		numbers = append(numbers, issue.Number)
	}
	return numbers
}

func TestListOpenIssues(t *testing.T) {
	fake, client := setup(t)
	ctx := context.Background()
	create := func(labels ...string) {
		t.Helper()
		_, err := client.CreateIssue(ctx, testInstallationID, "title", "body", labels)
		require.NoError(t, err)
	}
	create("sop")  // #1
	create("sop")  // #2, closed below
	create("misc") // #3
	pull, _ := openPull(t, fake)
	require.Equal(t, 4, pull)
	require.NoError(t, client.ReplaceLabels(ctx, testInstallationID, pull, []string{"sop"}))
	create("sop", "sop-02") // #5
	require.NoError(t, fake.CloseIssue("carol", 2))

	tests := []struct {
		label string
		want  []int
	}{
		{label: "sop", want: []int{5, 1}},
		{label: "sop-02", want: []int{5}},
		{label: "", want: []int{5, 3, 1}},
		{label: "unused", want: []int{}},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			issues, err := client.ListOpenIssues(ctx, testInstallationID, tt.label)
			require.NoError(t, err)
			assert.Equal(t, tt.want, issueNumbers(issues))
		})
	}

	fake.ResetCalls()
	issues, err := client.ListOpenIssues(ctx, testInstallationID, "sop")
	require.NoError(t, err)
	assert.Equal(t, []string{"sop", "sop-02"}, issues[0].Labels)
	assert.Equal(t, []string{
		"GET /repos/acme/ml-requests/issues?direction=desc&labels=sop&page=1&per_page=100&sort=created&state=open",
	}, fake.Calls())
}

func TestListOpenIssuesReadsEveryPage(t *testing.T) {
	t.Parallel()
	fake, client := setup(t)
	createIssues(t, client, 250)
	pull, _ := openPull(t, fake)
	require.NoError(t, client.ReplaceLabels(context.Background(), testInstallationID, pull, []string{"sop"}))
	fake.ResetCalls()

	issues, err := client.ListOpenIssues(context.Background(), testInstallationID, "sop")

	require.NoError(t, err)
	require.Equal(t, 250, len(issues), "the pull request is skipped")
	assert.Equal(t, 250, issues[0].Number)
	assert.Equal(t, 1, issues[249].Number)
	assert.Equal(t, 3, fake.CallCount(), "251 items fit in three pages")
}

// TestListOpenIssuesPageBound fills 11 pages and checks that the oldest
// issues, on the 11th page, are not returned.
func TestListOpenIssuesPageBound(t *testing.T) {
	t.Parallel()
	fake, client := setup(t)
	createIssues(t, client, 1005)
	fake.ResetCalls()

	issues, err := client.ListOpenIssues(context.Background(), testInstallationID, "sop")

	require.NoError(t, err)
	require.Equal(t, 1000, len(issues))
	assert.Equal(t, 1005, issues[0].Number)
	assert.Equal(t, 6, issues[999].Number)
	assert.Equal(t, 10, fake.CallCount())
}

// createIssues creates n issues labelled "sop" through client.
func createIssues(t *testing.T, client *github.Client, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		_, err := client.CreateIssue(context.Background(), testInstallationID, fmt.Sprintf("issue %d", i), "body", []string{"sop"})
		require.NoError(t, err)
	}
}

func TestListComments(t *testing.T) {
	clock := newTestClock()
	fake, client := setupWithClock(t, clock)
	ctx := context.Background()
	_, err := client.CreateIssue(ctx, testInstallationID, "title", "body", nil)
	require.NoError(t, err)
	start := clock.Now()

	first, err := client.CreateComment(ctx, testInstallationID, 1, "Recorded.") // created at start
	require.NoError(t, err)
	clock.Advance(time.Minute)
	second, err := fake.UserComment("alice", 1, "/approve") // start+1m
	require.NoError(t, err)
	clock.Advance(time.Minute)
	third, err := fake.UserComment("bob", 1, "/approve") // start+2m
	require.NoError(t, err)
	clock.Advance(time.Minute)
	require.NoError(t, fake.UserEditComment("alice", second, "/approve v3")) // start+3m

	all, err := client.ListComments(ctx, testInstallationID, 1, time.Time{})
	require.NoError(t, err)
	require.Len(t, all, 3)
	assert.Equal(t, first, all[0], "CreateComment and ListComments return the same fields")
	assert.Equal(t, testBot, all[0].User)
	assert.True(t, start.Equal(all[0].CreatedAt))
	assert.Equal(t, github.Comment{
		ID:        second,
		HTMLURL:   fmt.Sprintf("https://github.example/acme/ml-requests/issues/1#issuecomment-%d", second),
		Body:      "/approve v3",
		User:      "alice",
		CreatedAt: start.Add(time.Minute),
		UpdatedAt: start.Add(3 * time.Minute),
	}, all[1])

	tests := []struct {
		name  string
		since time.Time
		want  []int64
	}{
		{name: "at the second comment", since: start.Add(time.Minute), want: []int64{second, third}},
		{name: "at the third comment", since: start.Add(2 * time.Minute), want: []int64{second, third}},
		{name: "fraction of a second is dropped", since: start.Add(2*time.Minute + 500*time.Millisecond), want: []int64{second, third}},
		{name: "after the third comment", since: start.Add(2*time.Minute + time.Second), want: []int64{second}},
		{name: "after the edit", since: start.Add(4 * time.Minute), want: []int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			comments, err := client.ListComments(ctx, testInstallationID, 1, tt.since)
			require.NoError(t, err)
			ids := []int64{}
			for _, c := range comments {
				ids = append(ids, c.ID)
			}
			assert.Equal(t, tt.want, ids)
		})
	}

	fake.ResetCalls()
	_, err = client.ListComments(ctx, testInstallationID, 1, start.Add(2*time.Minute).In(time.FixedZone("CEST", 2*60*60)))
	require.NoError(t, err)
	assert.Equal(t, []string{
		"GET /repos/acme/ml-requests/issues/1/comments?page=1&per_page=100&since=2024-05-01T09%3A02%3A00Z",
	}, fake.Calls())
}

func TestListCommentsReadsEveryPage(t *testing.T) {
	t.Parallel()
	fake, client := setup(t)
	issue := createCommentedIssue(t, fake, client, 250)
	fake.ResetCalls()

	comments, err := client.ListComments(context.Background(), testInstallationID, issue, time.Time{})

	require.NoError(t, err)
	require.Equal(t, 250, len(comments))
	assert.Equal(t, "comment 1", comments[0].Body)
	assert.Equal(t, "comment 250", comments[249].Body)
	assert.Equal(t, 3, fake.CallCount())
}

// TestListCommentsKeepsNewestPages fills 11 pages and checks that the
// last 10 are returned.
func TestListCommentsKeepsNewestPages(t *testing.T) {
	t.Parallel()
	fake, client := setup(t)
	issue := createCommentedIssue(t, fake, client, 1050)
	fake.ResetCalls()

	comments, err := client.ListComments(context.Background(), testInstallationID, issue, time.Time{})

	require.NoError(t, err)
	require.Equal(t, 950, len(comments), "pages 2 to 11")
	assert.Equal(t, "comment 101", comments[0].Body)
	assert.Equal(t, "comment 1050", comments[949].Body)
	assert.Equal(t, 11, fake.CallCount(), "page 1, then pages 2 to 11")
}

func TestListCommentsUnknownIssue(t *testing.T) {
	_, client := setup(t)

	_, err := client.ListComments(context.Background(), testInstallationID, 99, time.Time{})

	require.Error(t, err)
	assert.True(t, github.IsPermanent(err), "404 is permanent: %v", err)
	assert.ErrorContains(t, err, "listing comments on issue acme/ml-requests#99: page 1:")
}

// createCommentedIssue creates an issue with n comments by carol, with
// bodies "comment 1" to "comment n", and returns its number.
func createCommentedIssue(t *testing.T, fake *githubfake.Fake, client *github.Client, n int) int {
	t.Helper()
	issue, err := client.CreateIssue(context.Background(), testInstallationID, "title", "body", nil)
	require.NoError(t, err)
	for i := 1; i <= n; i++ {
		_, err := fake.UserComment("carol", issue.Number, fmt.Sprintf("comment %d", i))
		require.NoError(t, err)
	}
	return issue.Number
}
