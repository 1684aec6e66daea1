package github_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/github"
)

func TestUpdateIssueSendsOnePatch(t *testing.T) {
	fake, client := setup(t)
	ctx := context.Background()
	_, err := client.CreateIssue(ctx, testInstallationID, "title", "- [ ] step", []string{"sopbot", "state:open"})
	require.NoError(t, err)
	fake.ResetCalls()

	title, body := "new title", "- [x] step"
	labels := []string{"sopbot", "state:done"}
	issue, err := client.UpdateIssue(ctx, testInstallationID, 1, github.IssueUpdate{Title: &title, Body: &body, Labels: &labels, Close: true})
	require.NoError(t, err)

	assert.Equal(t, []string{
		"PATCH /repos/acme/ml-requests/issues/1 title body state=closed state_reason=completed labels=sopbot,state:done",
	}, fake.Calls())
	assert.Equal(t, "new title", issue.Title, "the returned issue is GitHub's")
	assert.Equal(t, "- [x] step", issue.Body)
	assert.Equal(t, "closed", issue.State)
	assert.ElementsMatch(t, labels, issue.Labels)
	stored, _ := fake.Issue(1)
	assert.Equal(t, "- [x] step", stored.Body)
	assert.Equal(t, "completed", stored.StateReason)
}

func TestUpdateIssueChangesOnlyGivenFields(t *testing.T) {
	fake, client := setup(t)
	ctx := context.Background()
	_, err := client.CreateIssue(ctx, testInstallationID, "title", "body", []string{"sopbot"})
	require.NoError(t, err)
	fake.ResetCalls()

	var none []string
	issue, err := client.UpdateIssue(ctx, testInstallationID, 1, github.IssueUpdate{Labels: &none})
	require.NoError(t, err)

	assert.Equal(t, []string{"PATCH /repos/acme/ml-requests/issues/1 labels="}, fake.Calls(), "a nil label list clears the labels")
	assert.Empty(t, issue.Labels)
	assert.Equal(t, "body", issue.Body)
	assert.Equal(t, "title", issue.Title)
	assert.Equal(t, "open", issue.State)
}

func TestUpdateIssueEmptySendsNothing(t *testing.T) {
	fake, client := setup(t)
	fake.ResetCalls()

	issue, err := client.UpdateIssue(context.Background(), testInstallationID, 1, github.IssueUpdate{})
	require.NoError(t, err)
	assert.Zero(t, issue.Number)
	assert.Empty(t, fake.Calls())
}

func TestUpdateIssueNotFound(t *testing.T) {
	_, client := setup(t)
	body := "body"

	_, err := client.UpdateIssue(context.Background(), testInstallationID, 99, github.IssueUpdate{Body: &body})
	require.Error(t, err)
	assert.True(t, github.IsPermanent(err), "404 is permanent: %v", err)
	assert.ErrorContains(t, err, "updating issue acme/ml-requests#99")
}
