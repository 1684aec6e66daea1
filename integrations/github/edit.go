package github

import (
	"context"
	"fmt"

	gogithub "github.com/google/go-github/v60/github"
)

// EditIssue replaces an issue's title and body in one request.
func (c *Client) EditIssue(ctx context.Context, installationID int64, number int, title, body string) error {
	req := &gogithub.IssueRequest{Title: &title, Body: &body}
	if err := c.editIssue(ctx, installationID, number, req); err != nil {
		return fmt.Errorf("editing issue %s#%d: %w", c.repoName(), number, err)
	}
	return nil
}

// IssueUpdate lists the fields that one UpdateIssue request changes. A nil
// field and a false Close leave the issue as it is.
type IssueUpdate struct {
	Title *string
	Body  *string
	// Labels replaces every label of the issue, so a pointer to an empty
	// or nil slice removes them all.
	Labels *[]string
	// Close closes the issue with state_reason "completed".
	Close bool
}

// Empty reports whether the update changes nothing.
func (u IssueUpdate) Empty() bool {
	return u.Title == nil && u.Body == nil && u.Labels == nil && !u.Close
}

// UpdateIssue changes the title, body, labels and state of an issue in one
// PATCH /repos/{owner}/{repo}/issues/{number} and returns the issue as
// GitHub stored it, so the caller has the body and labels without a
// later GET. An empty update sends no request and returns a zero Issue.
func (c *Client) UpdateIssue(ctx context.Context, installationID int64, number int, update IssueUpdate) (Issue, error) {
	if update.Empty() {
		return Issue{}, nil
	}
	gh, err := c.installation(installationID)
	if err != nil {
		return Issue{}, fmt.Errorf("updating issue %s#%d: %w", c.repoName(), number, err)
	}

	req := &gogithub.IssueRequest{Title: update.Title, Body: update.Body}
	if update.Labels != nil {
		labels := *update.Labels
		if labels == nil {
			// go-github encodes a nil slice as JSON null, so send an
			// empty array to clear the labels.
			labels = []string{}
		}
		req.Labels = &labels
	}
	if update.Close {
		state, reason := "closed", "completed"
		req.State, req.StateReason = &state, &reason
	}
	updated, _, err := gh.Issues.Edit(ctx, c.owner, c.repo, number, req)
	if err != nil {
		return Issue{}, fmt.Errorf("updating issue %s#%d: %w", c.repoName(), number, err)
	}
	return issueFrom(updated), nil
}
