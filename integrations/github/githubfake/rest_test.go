package githubfake_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gogithub "github.com/google/go-github/v60/github"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/github/githubfake"
)

// rawClient returns a go-github client authenticated as the installation,
// to send requests that package github validates away.
func (e *env) rawClient(t *testing.T) *gogithub.Client {
	t.Helper()
	key := testKey(t)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	itr, err := ghinstallation.New(http.DefaultTransport, appID, installationID, keyPEM)
	require.NoError(t, err)
	itr.BaseURL = strings.TrimRight(e.fake.URL(), "/")

	gh := gogithub.NewClient(&http.Client{Transport: itr})
	gh.BaseURL, err = url.Parse(e.fake.URL())
	require.NoError(t, err)
	return gh
}

// validationError returns the first error entry of a 422 response.
func validationError(t *testing.T, err error) gogithub.Error {
	t.Helper()
	var response *gogithub.ErrorResponse
	require.True(t, errors.As(err, &response), "error %v is not an ErrorResponse", err)
	require.Equal(t, http.StatusUnprocessableEntity, response.Response.StatusCode)
	require.NotEmpty(t, response.Errors)
	return response.Errors[0]
}

func TestCreateStatusResponse(t *testing.T) {
	e := start(t)
	gh := e.rawClient(t)
	_, head, err := e.fake.OpenPullRequest("carol", "Promote v3", "body")
	require.NoError(t, err)
	e.waitIdle(t)

	state, statusContext, description := "success", "sopbot/sign-off", "Signed off by @alice"
	created, resp, err := gh.Repositories.CreateStatus(context.Background(), owner, repo, head, &gogithub.RepoStatus{
		State: &state, Context: &statusContext, Description: &description,
	})

	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.NotZero(t, created.GetID())
	assert.Equal(t, "success", created.GetState())
	assert.Equal(t, "sopbot/sign-off", created.GetContext())
	assert.Equal(t, "Signed off by @alice", created.GetDescription())
	assert.Nil(t, created.TargetURL)
	assert.Equal(t, botLogin, created.GetCreator().GetLogin())
	assert.Equal(t, e.fake.URL()+"repos/acme/ml-requests/statuses/"+head, created.GetURL())
	calls := e.fake.Calls()
	assert.Equal(t, "POST /repos/acme/ml-requests/statuses/"+head[:7]+" sopbot/sign-off=success", calls[len(calls)-1])
	e.waitIdle(t)
	assert.Len(t, e.fake.Deliveries(), 1, "a status sends no delivery")
}

func TestCreateStatusValidation(t *testing.T) {
	e := start(t)
	gh := e.rawClient(t)
	_, head, err := e.fake.OpenPullRequest("carol", "Promote v3", "body")
	require.NoError(t, err)
	ctx := context.Background()
	create := func(sha, state, description string) error {
		_, _, err := gh.Repositories.CreateStatus(ctx, owner, repo, sha, &gogithub.RepoStatus{State: &state, Description: &description})
		return err
	}

	t.Run("invalid state", func(t *testing.T) {
		got := validationError(t, create(head, "approved", ""))
		assert.Equal(t, "state", got.Field)
		assert.Equal(t, "invalid", got.Code)
	})
	t.Run("description over 140 characters", func(t *testing.T) {
		got := validationError(t, create(head, "success", strings.Repeat("ü", 141)))
		assert.Equal(t, "description", got.Field)
		assert.Equal(t, "custom", got.Code)
		assert.Equal(t, "description is too long (maximum is 140 characters)", got.Message)
	})
	t.Run("unknown commit", func(t *testing.T) {
		unknown := strings.Repeat("a", 40)
		got := validationError(t, create(unknown, "success", ""))
		assert.Equal(t, "No commit found for SHA: "+unknown, got.Message)
	})
	assert.Empty(t, e.fake.Statuses(head))

	require.NoError(t, create(head, "pending", strings.Repeat("ü", 140)))
	status, ok := e.fake.LatestStatus(head, "default")
	require.True(t, ok, "an empty context is named default")
	assert.Equal(t, "pending", status.State)
}

func TestStatusesAndLatestStatus(t *testing.T) {
	e := start(t)
	number, head, err := e.fake.OpenPullRequest("carol", "Promote v3", "body")
	require.NoError(t, err)
	gh := e.rawClient(t)
	set := func(sha, statusContext, state string) {
		t.Helper()
		_, _, err := gh.Repositories.CreateStatus(context.Background(), owner, repo, sha, &gogithub.RepoStatus{State: &state, Context: &statusContext})
		require.NoError(t, err)
	}
	set(head, "sopbot/sign-off", "pending")
	set(head, "ci", "failure")
	set(head, "sopbot/sign-off", "success")
	newHead, err := e.fake.PushToPullRequest("carol", number)
	require.NoError(t, err)
	set(newHead, "sopbot/sign-off", "pending")

	assert.Equal(t, []string{"pending", "failure", "success"}, statusStates(e.fake.Statuses(head)))
	latest, ok := e.fake.LatestStatus(head, "sopbot/sign-off")
	require.True(t, ok)
	assert.Equal(t, "success", latest.State)
	latest, ok = e.fake.LatestStatus(newHead, "sopbot/sign-off")
	require.True(t, ok)
	assert.Equal(t, "pending", latest.State)
	_, ok = e.fake.LatestStatus(newHead, "ci")
	assert.False(t, ok)
	assert.Empty(t, e.fake.Statuses(strings.Repeat("b", 40)))
}

func statusStates(statuses []githubfake.Status) []string {
	states := []string{}
	for _, s := range statuses {
		states = append(states, s.State)
	}
	return states
}

func TestGetPullShape(t *testing.T) {
	e := start(t)
	gh := e.rawClient(t)
	ctx := context.Background()
	number, head, err := e.fake.OpenPullRequest("carol", "Promote v3", "Implements SOP-02")
	require.NoError(t, err)

	pull, _, err := gh.PullRequests.Get(ctx, owner, repo, number)
	require.NoError(t, err)
	assert.Equal(t, number, pull.GetNumber())
	assert.Equal(t, head, pull.GetHead().GetSHA())
	assert.Equal(t, "Implements SOP-02", pull.GetBody())
	assert.Equal(t, "open", pull.GetState())
	assert.Equal(t, "carol", pull.GetUser().GetLogin())
	assert.False(t, pull.GetMerged())
	assert.Nil(t, pull.MergedAt)

	require.NoError(t, e.fake.MergePullRequest("alice", number))
	pull, _, err = gh.PullRequests.Get(ctx, owner, repo, number)
	require.NoError(t, err)
	assert.True(t, pull.GetMerged())
	assert.Equal(t, "closed", pull.GetState())
	assert.NotNil(t, pull.MergedAt)
	assert.Equal(t, "alice", pull.GetMergedBy().GetLogin())

	issue, err := e.client.CreateIssue(ctx, installationID, "title", "body", nil)
	require.NoError(t, err)
	_, resp, err := gh.PullRequests.Get(ctx, owner, repo, issue.Number)
	require.Error(t, err)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "an issue is not a pull request")
}

func TestMergePullRequestDelivery(t *testing.T) {
	e := start(t)
	number, _, err := e.fake.OpenPullRequest("carol", "Promote v3", "body")
	require.NoError(t, err)

	require.NoError(t, e.fake.MergePullRequest("alice", number))
	event, parsed := e.last(t)

	require.Equal(t, "pull_request", event)
	ev := parsed.(*gogithub.PullRequestEvent)
	assert.Equal(t, "closed", ev.GetAction())
	assert.True(t, ev.GetPullRequest().GetMerged())
	assert.Equal(t, "alice", ev.GetSender().GetLogin())
	assert.ErrorContains(t, e.fake.MergePullRequest("alice", number), "it is closed")
}

func TestListReviewsShape(t *testing.T) {
	e := start(t)
	gh := e.rawClient(t)
	ctx := context.Background()
	number, head, err := e.fake.OpenPullRequest("carol", "Promote v3", "body")
	require.NoError(t, err)
	approval, err := e.fake.SubmitReview("alice", number, "approved", "")
	require.NoError(t, err)
	_, err = e.fake.SubmitReview("bob", number, "changes_requested", "Needs the eval report.")
	require.NoError(t, err)
	_, err = e.fake.SubmitReview("dave", number, "commented", "nit")
	require.NoError(t, err)
	_, err = e.fake.SubmitReview("erin", number, "approved", "")
	require.NoError(t, err)
	require.NoError(t, e.fake.DismissReview("bob", number, approval))

	var states []string
	opts := &gogithub.ListOptions{PerPage: 3}
	for page := 1; page != 0; {
		opts.Page = page
		reviews, resp, err := gh.PullRequests.ListReviews(ctx, owner, repo, number, opts)
		require.NoError(t, err)
		for _, rv := range reviews {
			states = append(states, rv.GetState())
			assert.Equal(t, head, rv.GetCommitID())
			assert.NotNil(t, rv.SubmittedAt)
			assert.NotNil(t, rv.Body, "the REST API sends an empty body as \"\"")
		}
		page = resp.NextPage
	}

	assert.Equal(t, []string{"DISMISSED", "CHANGES_REQUESTED", "COMMENTED", "APPROVED"}, states)
	calls := e.fake.Calls()
	assert.Equal(t, fmt.Sprintf("GET /repos/acme/ml-requests/pulls/%d/reviews?page=2&per_page=3", number), calls[len(calls)-1])
}

func TestListIssuesIncludesPullRequests(t *testing.T) {
	e := start(t)
	gh := e.rawClient(t)
	ctx := context.Background()
	e.createIssue(t, "first") // #1, labelled sop
	number, _, err := e.fake.OpenPullRequest("carol", "Promote v3", "body")
	require.NoError(t, err)
	require.NoError(t, e.client.ReplaceLabels(ctx, installationID, number, []string{"sop"}))
	closed := e.createIssue(t, "closed") // #3
	require.NoError(t, e.fake.CloseIssue("carol", closed))

	issues, _, err := gh.Issues.ListByRepo(ctx, owner, repo, &gogithub.IssueListByRepoOptions{State: "open", Labels: []string{"sop"}})

	require.NoError(t, err)
	require.Len(t, issues, 2)
	assert.Equal(t, number, issues[0].GetNumber())
	assert.True(t, issues[0].IsPullRequest())
	assert.Equal(t, 1, issues[1].GetNumber())
	assert.False(t, issues[1].IsPullRequest())
}

func TestListCommentsSince(t *testing.T) {
	var mu sync.Mutex
	clock := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	e := startWithClock(t, func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	})
	gh := e.rawClient(t)
	ctx := context.Background()
	number := e.createIssue(t, "body")
	_, err := e.fake.UserComment("alice", number, "old")
	require.NoError(t, err)
	mu.Lock()
	clock = clock.Add(time.Minute)
	since := clock
	mu.Unlock()
	newer, err := e.fake.UserComment("bob", number, "new")
	require.NoError(t, err)

	comments, _, err := gh.Issues.ListComments(ctx, owner, repo, number, &gogithub.IssueListCommentsOptions{Since: &since})
	require.NoError(t, err)
	require.Len(t, comments, 1)
	assert.Equal(t, newer, comments[0].GetID())
	assert.Equal(t, "bob", comments[0].GetUser().GetLogin())
	assert.True(t, since.Equal(comments[0].GetCreatedAt().Time))
	assert.True(t, since.Equal(comments[0].GetUpdatedAt().Time))

	req, err := gh.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/issues/%d/comments?since=yesterday", owner, repo, number), nil)
	require.NoError(t, err)
	_, err = gh.Do(ctx, req, nil)
	got := validationError(t, err)
	assert.Equal(t, "since", got.Field)
}
