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
