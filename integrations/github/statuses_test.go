package github_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/github"
	"github.com/sopbot/sopbot/integrations/github/githubfake"
)

const signOffContext = "sopbot/sign-off"

// openPull opens a pull request by carol and returns its number and head.
func openPull(t *testing.T, fake *githubfake.Fake) (int, string) {
	t.Helper()
	number, head, err := fake.OpenPullRequest("carol", "Promote v3", "Implements SOP-02")
	require.NoError(t, err)
	return number, head
}

func TestSetCommitStatus(t *testing.T) {
	fake, client := setup(t)
	ctx := context.Background()
	_, head := openPull(t, fake)

	err := client.SetCommitStatus(ctx, testInstallationID, head, "pending", signOffContext, "Waiting for sign-off", "https://github.example/acme/ml-requests/issues/1")
	require.NoError(t, err)
	err = client.SetCommitStatus(ctx, testInstallationID, head, "success", signOffContext, "Signed off by @alice", "")
	require.NoError(t, err)

	assert.Equal(t, []githubfake.Status{
		{State: "pending", Context: signOffContext, Description: "Waiting for sign-off", TargetURL: "https://github.example/acme/ml-requests/issues/1"},
		{State: "success", Context: signOffContext, Description: "Signed off by @alice"},
	}, fake.Statuses(head))
	latest, ok := fake.LatestStatus(head, signOffContext)
	require.True(t, ok)
	assert.Equal(t, "success", latest.State)
	assert.Equal(t, []string{
		"POST /app/installations/7/access_tokens",
		"POST /repos/acme/ml-requests/statuses/" + head[:7] + " sopbot/sign-off=pending",
		"POST /repos/acme/ml-requests/statuses/" + head[:7] + " sopbot/sign-off=success",
	}, fake.Calls())
}

func TestSetCommitStatusRejectsInvalidState(t *testing.T) {
	fake, client := setup(t)
	_, head := openPull(t, fake)

	for _, state := range []string{"", "SUCCESS", "done", "approved"} {
		t.Run(state, func(t *testing.T) {
			err := client.SetCommitStatus(context.Background(), testInstallationID, head, state, signOffContext, "", "")

			assert.ErrorContains(t, err, "is invalid: want pending, success, failure or error")
			assert.Zero(t, fake.CallCount(), "no request is sent")
		})
	}
}

func TestSetCommitStatusRejectsEmptySHA(t *testing.T) {
	fake, client := setup(t)

	err := client.SetCommitStatus(context.Background(), testInstallationID, "", "success", signOffContext, "", "")

	assert.ErrorContains(t, err, "commit SHA is empty")
	assert.Zero(t, fake.CallCount())
}

func TestSetCommitStatusTruncatesDescription(t *testing.T) {
	fake, client := setup(t)
	_, head := openPull(t, fake)
	exact := strings.Repeat("a", 140)
	long := strings.Repeat("ü", 150) // two bytes per character in UTF-8

	require.NoError(t, client.SetCommitStatus(context.Background(), testInstallationID, head, "failure", "exact", exact, ""))
	require.NoError(t, client.SetCommitStatus(context.Background(), testInstallationID, head, "failure", "long", long, ""))

	unchanged, ok := fake.LatestStatus(head, "exact")
	require.True(t, ok)
	assert.Equal(t, exact, unchanged.Description)
	cut, ok := fake.LatestStatus(head, "long")
	require.True(t, ok)
	assert.Equal(t, 140, utf8.RuneCountInString(cut.Description))
	assert.Equal(t, strings.Repeat("ü", 139)+"…", cut.Description)
}

func TestSetCommitStatusDefaultContext(t *testing.T) {
	fake, client := setup(t)
	_, head := openPull(t, fake)

	require.NoError(t, client.SetCommitStatus(context.Background(), testInstallationID, head, "error", "", "", ""))

	status, ok := fake.LatestStatus(head, "default")
	require.True(t, ok)
	assert.Equal(t, "error", status.State)
}

func TestSetCommitStatusUnknownCommit(t *testing.T) {
	fake, client := setup(t)
	openPull(t, fake)
	unknown := strings.Repeat("0", 40)

	err := client.SetCommitStatus(context.Background(), testInstallationID, unknown, "success", signOffContext, "", "")

	require.Error(t, err)
	assert.ErrorContains(t, err, "No commit found for SHA")
	assert.ErrorContains(t, err, `setting commit status "sopbot/sign-off" on acme/ml-requests@`+unknown)
	assert.True(t, github.IsPermanent(err), "422 is permanent: %v", err)
	assert.Empty(t, fake.Statuses(unknown))
}

func TestSetCommitStatusOnEarlierHead(t *testing.T) {
	fake, client := setup(t)
	number, first := openPull(t, fake)
	_, err := fake.PushToPullRequest("carol", number)
	require.NoError(t, err)

	require.NoError(t, client.SetCommitStatus(context.Background(), testInstallationID, first, "success", signOffContext, "", ""))

	assert.Len(t, fake.Statuses(first), 1)
}
