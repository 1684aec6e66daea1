package github_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/github"
)

// gitHubPort repeats the bot package's GitHub interface. Importing that
// package here would pull in packages that depend on this one.
type gitHubPort interface {
	CreateIssue(ctx context.Context, installationID int64, title, body string, labels []string) (github.Issue, error)
	FindIssueByMarker(ctx context.Context, installationID int64, label, marker string) (github.Issue, bool, error)
	GetIssue(ctx context.Context, installationID int64, number int) (github.Issue, error)
	EditIssueBody(ctx context.Context, installationID int64, number int, body string) error
	ReplaceLabels(ctx context.Context, installationID int64, number int, labels []string) error
	CreateComment(ctx context.Context, installationID int64, number int, body string) (github.Comment, error)
	FindComment(ctx context.Context, installationID int64, number int, marker string) (bool, error)
	CloseIssue(ctx context.Context, installationID int64, number int) error
	ListOpenIssues(ctx context.Context, installationID int64, label string) ([]github.Issue, error)
	ListComments(ctx context.Context, installationID int64, number int, since time.Time) ([]github.Comment, error)
	GetPullRequest(ctx context.Context, installationID int64, number int) (github.PullRequest, error)
	ListReviews(ctx context.Context, installationID int64, number int) ([]github.Review, error)
	SetCommitStatus(ctx context.Context, installationID int64, sha, state, statusContext, description, targetURL string) error
	IsTeamMember(ctx context.Context, installationID int64, org, team, login string) (bool, error)
	RepositoryInstallation(ctx context.Context) (int64, error)
}

var _ gitHubPort = (*github.Client)(nil)

func TestCreateIssueWithLabels(t *testing.T) {
	fake, client := setup(t)
	ctx := context.Background()

	issue, err := client.CreateIssue(ctx, testInstallationID, "[SOP-02] Promote model", "body <!-- sop:1 -->", []string{"sop", "sop-02"})
	require.NoError(t, err)

	assert.Equal(t, 1, issue.Number)
	assert.Equal(t, "[SOP-02] Promote model", issue.Title)
	assert.Equal(t, "body <!-- sop:1 -->", issue.Body)
	assert.Equal(t, "open", issue.State)
	assert.Equal(t, []string{"sop", "sop-02"}, issue.Labels)
	assert.Equal(t, testBot, issue.User)
	assert.Equal(t, "https://github.example/acme/ml-requests/issues/1", issue.HTMLURL)

	stored, ok := fake.Issue(1)
	require.True(t, ok)
	assert.Equal(t, []string{"sop", "sop-02"}, stored.Labels)
	assert.Equal(t, []string{
		"POST /app/installations/7/access_tokens",
		`POST /repos/acme/ml-requests/issues "[SOP-02] Promote model"`,
	}, fake.Calls())
}

func TestInstallationTokenIsReused(t *testing.T) {
	fake, client := setup(t)
	ctx := context.Background()

	for range 3 {
		_, err := client.CreateIssue(ctx, testInstallationID, "t", "b", nil)
		require.NoError(t, err)
	}

	tokenCalls := 0
	for _, call := range fake.Calls() {
		if strings.Contains(call, "access_tokens") {
			tokenCalls++
		}
	}
	assert.Equal(t, 1, tokenCalls)
	assert.Equal(t, 4, fake.CallCount())
}

func TestFindIssueByMarker(t *testing.T) {
	fake, client := setup(t)
	ctx := context.Background()
	create := func(title, body string, labels ...string) {
		t.Helper()
		_, err := client.CreateIssue(ctx, testInstallationID, title, body, labels)
		require.NoError(t, err)
	}
	create("old", "marker-a", "sop")          // #1
	create("other label", "marker-b", "misc") // #2
	create("new", "marker-a again", "sop")    // #3
	_, _, err := fake.OpenPullRequest("carol", "pr", "marker-c")
	require.NoError(t, err) // #4
	require.NoError(t, fake.CloseIssue("carol", 3))

	tests := []struct {
		name       string
		label      string
		marker     string
		wantFound  bool
		wantNumber int
	}{
		{name: "newest match, closed too", label: "sop", marker: "marker-a", wantFound: true, wantNumber: 3},
		{name: "marker under another label", label: "sop", marker: "marker-b", wantFound: false},
		{name: "other label", label: "misc", marker: "marker-b", wantFound: true, wantNumber: 2},
		{name: "pull request skipped", label: "", marker: "marker-c", wantFound: false},
		{name: "absent marker", label: "sop", marker: "nowhere", wantFound: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			issue, found, err := client.FindIssueByMarker(ctx, testInstallationID, tt.label, tt.marker)
			require.NoError(t, err)
			assert.Equal(t, tt.wantFound, found)
			assert.Equal(t, tt.wantNumber, issue.Number)
		})
	}

	fake.ResetCalls()
	_, _, err = client.FindIssueByMarker(ctx, testInstallationID, "sop", "x")
	require.NoError(t, err)
	assert.Equal(t, []string{
		"GET /repos/acme/ml-requests/issues?direction=desc&labels=sop&per_page=100&sort=created&state=all",
	}, fake.Calls())
}

func TestFindIssueByMarkerEmptyMarker(t *testing.T) {
	_, client := setup(t)

	_, _, err := client.FindIssueByMarker(context.Background(), testInstallationID, "sop", "")

	assert.ErrorContains(t, err, "marker is empty")
}

func TestGetIssue(t *testing.T) {
	_, client := setup(t)
	ctx := context.Background()
	_, err := client.CreateIssue(ctx, testInstallationID, "title", "body", []string{"sop"})
	require.NoError(t, err)

	issue, err := client.GetIssue(ctx, testInstallationID, 1)
	require.NoError(t, err)
	assert.Equal(t, "title", issue.Title)
	assert.Equal(t, []string{"sop"}, issue.Labels)

	_, err = client.GetIssue(ctx, testInstallationID, 99)
	require.Error(t, err)
	assert.True(t, github.IsPermanent(err), "404 is permanent: %v", err)
	assert.ErrorContains(t, err, "getting issue acme/ml-requests#99")
}

func TestEditIssueBody(t *testing.T) {
	fake, client := setup(t)
	ctx := context.Background()
	_, err := client.CreateIssue(ctx, testInstallationID, "title", "old", []string{"sop"})
	require.NoError(t, err)
	fake.ResetCalls()

	require.NoError(t, client.EditIssueBody(ctx, testInstallationID, 1, "- [x] done"))

	issue, _ := fake.Issue(1)
	assert.Equal(t, "- [x] done", issue.Body)
	assert.Equal(t, "title", issue.Title)
	assert.Equal(t, []string{"sop"}, issue.Labels)
	assert.Equal(t, []string{"PATCH /repos/acme/ml-requests/issues/1 body"}, fake.Calls())
}

func TestReplaceLabels(t *testing.T) {
	fake, client := setup(t)
	ctx := context.Background()
	_, err := client.CreateIssue(ctx, testInstallationID, "title", "body", []string{"sop", "pending"})
	require.NoError(t, err)

	require.NoError(t, client.ReplaceLabels(ctx, testInstallationID, 1, []string{"sop", "approved"}))
	assert.Equal(t, []string{"sop", "approved"}, fake.Labels(1))

	require.NoError(t, client.ReplaceLabels(ctx, testInstallationID, 1, nil))
	assert.Empty(t, fake.Labels(1))

	calls := fake.Calls()
	assert.Contains(t, calls, "PUT /repos/acme/ml-requests/issues/1/labels sop,approved")
	assert.Contains(t, calls, "PUT /repos/acme/ml-requests/issues/1/labels")
}

func TestCreateAndFindComment(t *testing.T) {
	fake, client := setup(t)
	ctx := context.Background()
	_, err := client.CreateIssue(ctx, testInstallationID, "title", "body", nil)
	require.NoError(t, err)

	comment, err := client.CreateComment(ctx, testInstallationID, 1, "Approved by @alice <!-- tick:3 -->")
	require.NoError(t, err)
	assert.NotZero(t, comment.ID)
	assert.Equal(t, "Approved by @alice <!-- tick:3 -->", comment.Body)
	assert.Equal(t, fmt.Sprintf("https://github.example/acme/ml-requests/issues/1#issuecomment-%d", comment.ID), comment.HTMLURL)

	found, err := client.FindComment(ctx, testInstallationID, 1, "<!-- tick:3 -->")
	require.NoError(t, err)
	assert.True(t, found)

	found, err = client.FindComment(ctx, testInstallationID, 1, "<!-- tick:4 -->")
	require.NoError(t, err)
	assert.False(t, found)

	stored := fake.Comments(1)
	require.Len(t, stored, 1)
	assert.Equal(t, testBot, stored[0].User)
}

// TestFindCommentPageBound fills four pages of comments and checks which
// pages FindComment reads: the first and the two newest.
func TestFindCommentPageBound(t *testing.T) {
	fake, client := setup(t)
	ctx := context.Background()
	_, err := client.CreateIssue(ctx, testInstallationID, "title", "body", nil)
	require.NoError(t, err)
	for i := 1; i <= 350; i++ {
		_, err := fake.UserComment("carol", 1, fmt.Sprintf("comment %d.", i))
		require.NoError(t, err)
	}

	tests := []struct {
		marker string
		want   bool
	}{
		{marker: "comment 5.", want: true},    // page 1
		{marker: "comment 150.", want: false}, // page 2, skipped
		{marker: "comment 250.", want: true},  // page 3
		{marker: "comment 350.", want: true},  // page 4, the last
	}
	for _, tt := range tests {
		t.Run(tt.marker, func(t *testing.T) {
			fake.ResetCalls()
			found, err := client.FindComment(ctx, testInstallationID, 1, tt.marker)
			require.NoError(t, err)
			assert.Equal(t, tt.want, found)
			assert.LessOrEqual(t, fake.CallCount(), 3)
		})
	}
}

func TestCloseIssue(t *testing.T) {
	fake, client := setup(t)
	ctx := context.Background()
	_, err := client.CreateIssue(ctx, testInstallationID, "title", "body", nil)
	require.NoError(t, err)
	fake.ResetCalls()

	require.NoError(t, client.CloseIssue(ctx, testInstallationID, 1))

	issue, _ := fake.Issue(1)
	assert.Equal(t, "closed", issue.State)
	assert.Equal(t, "completed", issue.StateReason)
	assert.Equal(t, []string{"PATCH /repos/acme/ml-requests/issues/1 state=closed state_reason=completed"}, fake.Calls())
}

func TestIsTeamMember(t *testing.T) {
	fake, client := setupNoRetry(t)
	ctx := context.Background()

	tests := []struct {
		name    string
		team    string
		login   string
		fail    int
		want    bool
		wantErr bool
	}{
		{name: "member", team: "ml-leads", login: "alice", want: true},
		{name: "login case ignored", team: "ml-leads", login: "bob", want: true},
		{name: "not a member", team: "ml-leads", login: "mallory", want: false},
		{name: "unknown team", team: "nobody", login: "alice", want: false},
		{name: "server error", team: "ml-leads", login: "alice", fail: http.StatusInternalServerError, wantErr: true},
		{name: "forbidden", team: "ml-leads", login: "alice", fail: http.StatusForbidden, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fail != 0 {
				fake.FailNext(http.MethodGet, "/orgs/acme/teams/", tt.fail, 1)
			}
			got, err := client.IsTeamMember(ctx, testInstallationID, testOwner, tt.team, tt.login)
			if tt.wantErr {
				assert.Error(t, err)
				assert.False(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRepositoryInstallation(t *testing.T) {
	fake, client := setup(t)

	id, err := client.RepositoryInstallation(context.Background())

	require.NoError(t, err)
	assert.Equal(t, int64(testInstallationID), id)
	assert.Equal(t, []string{"GET /repos/acme/ml-requests/installation"}, fake.Calls())
}

func TestEnterpriseBaseURLPrefix(t *testing.T) {
	for _, prefix := range []string{"/api/v3/", "/api/v3"} {
		t.Run(prefix, func(t *testing.T) {
			fake := startFake(t, "/api/v3/")
			key, _ := testKeys(t)
			base := strings.TrimSuffix(fake.URL(), "/api/v3/") + prefix
			client, err := github.New(github.Config{BaseURL: base, AppID: testAppID, PrivateKey: pemOf(key), Owner: testOwner, Repo: testRepo})
			require.NoError(t, err)
			ctx := context.Background()

			id, err := client.RepositoryInstallation(ctx)
			require.NoError(t, err)
			assert.Equal(t, int64(testInstallationID), id)

			_, err = client.CreateIssue(ctx, testInstallationID, "title", "body", nil)
			require.NoError(t, err)
			assert.Len(t, fake.Issues(), 1)
		})
	}
}

func TestBadCredentials(t *testing.T) {
	t.Run("wrong app key", func(t *testing.T) {
		fake := startFake(t, "")
		_, otherKey := testKeys(t)
		client := newClient(t, fake, otherKey)

		_, err := client.CreateIssue(context.Background(), testInstallationID, "title", "body", nil)

		require.Error(t, err)
		assert.True(t, github.IsPermanent(err), "a rejected JWT is permanent: %v", err)
		assert.NotContains(t, err.Error(), "PRIVATE KEY")
		assert.Empty(t, fake.Issues())
		assert.Equal(t, []string{"POST /app/installations/7/access_tokens -> 401"}, fake.Calls())
	})

	t.Run("wrong app key on app call", func(t *testing.T) {
		fake := startFake(t, "")
		_, otherKey := testKeys(t)
		client := newClient(t, fake, otherKey)

		_, err := client.RepositoryInstallation(context.Background())

		require.Error(t, err)
		assert.True(t, github.IsPermanent(err))
		assert.ErrorContains(t, err, "Bad credentials")
	})

	t.Run("revoked token is replaced", func(t *testing.T) {
		fake, client := setup(t)
		ctx := context.Background()
		_, err := client.CreateIssue(ctx, testInstallationID, "title", "body", nil)
		require.NoError(t, err)
		fake.RevokeTokens()
		fake.ResetCalls()

		issue, err := client.GetIssue(ctx, testInstallationID, 1)

		require.NoError(t, err)
		assert.Equal(t, "title", issue.Title)
		assert.Equal(t, []string{
			"GET /repos/acme/ml-requests/issues/1 -> 401",
			"POST /app/installations/7/access_tokens",
			"GET /repos/acme/ml-requests/issues/1",
		}, fake.Calls(), "a 401 mints a new token and sends the request once more")
	})

	t.Run("every token rejected", func(t *testing.T) {
		fake, client := setup(t)
		ctx := context.Background()
		_, err := client.CreateIssue(ctx, testInstallationID, "title", "body", nil)
		require.NoError(t, err)
		fake.FailNext(http.MethodGet, "/repos/acme/ml-requests/issues/1", http.StatusUnauthorized, 3)
		fake.ResetCalls()

		_, err = client.GetIssue(ctx, testInstallationID, 1)

		require.Error(t, err)
		assert.ErrorContains(t, err, "401 Bad credentials")
		assert.NotContains(t, err.Error(), "ghs_")
		assert.True(t, github.IsPermanent(err), "new tokens that are rejected too are permanent")
		assert.Equal(t, []string{
			"GET /repos/acme/ml-requests/issues/1 -> 401",
			"POST /app/installations/7/access_tokens",
			"GET /repos/acme/ml-requests/issues/1 -> 401",
			"POST /app/installations/7/access_tokens",
			"GET /repos/acme/ml-requests/issues/1 -> 401",
		}, fake.Calls(), "three tokens in all")
	})

	t.Run("unknown installation", func(t *testing.T) {
		_, client := setup(t)

		_, err := client.GetIssue(context.Background(), 999, 1)

		require.Error(t, err)
		assert.True(t, github.IsPermanent(err))
	})
}

func TestInvalidInstallationID(t *testing.T) {
	fake, client := setup(t)

	_, err := client.GetIssue(context.Background(), 0, 1)

	assert.ErrorContains(t, err, "installation id 0 is invalid")
	assert.Zero(t, fake.CallCount())
}

func TestIsPermanentFromResponses(t *testing.T) {
	tests := []struct {
		status        int
		wantPermanent bool
	}{
		{status: http.StatusNotFound, wantPermanent: true},
		{status: http.StatusUnprocessableEntity, wantPermanent: true},
		{status: http.StatusForbidden, wantPermanent: true},
		{status: http.StatusRequestTimeout, wantPermanent: false},
		{status: http.StatusConflict, wantPermanent: false},
		{status: http.StatusTooManyRequests, wantPermanent: false},
		{status: http.StatusInternalServerError, wantPermanent: false},
		{status: http.StatusBadGateway, wantPermanent: false},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			fake, client := setupNoRetry(t)
			ctx := context.Background()
			_, err := client.CreateIssue(ctx, testInstallationID, "title", "body", nil)
			require.NoError(t, err)
			fake.FailNext(http.MethodGet, "/repos/acme/ml-requests/issues/1", tt.status, 1)

			_, err = client.GetIssue(ctx, testInstallationID, 1)

			require.Error(t, err)
			assert.Equal(t, tt.wantPermanent, github.IsPermanent(err), "error: %v", err)
		})
	}
}

func TestTokenServerErrorIsNotPermanent(t *testing.T) {
	fake, client := setupNoRetry(t)
	fake.FailNext(http.MethodPost, "/app/installations/", http.StatusBadGateway, 1)

	_, err := client.GetIssue(context.Background(), testInstallationID, 1)

	require.Error(t, err)
	assert.False(t, github.IsPermanent(err), "error: %v", err)
}

func TestNetworkErrorIsNotPermanent(t *testing.T) {
	fake, _ := setup(t)
	key, _ := testKeys(t)
	client := newClient(t, fake, key)
	fake.Close()

	_, err := client.GetIssue(context.Background(), testInstallationID, 1)

	require.Error(t, err)
	assert.False(t, github.IsPermanent(err), "error: %v", err)
}
