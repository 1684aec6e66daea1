package github

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	gogithub "github.com/google/go-github/v60/github"
)

// statusStates are the commit status states GitHub accepts.
var statusStates = []string{"pending", "success", "failure", "error"}

// maxStatusDescription is the longest commit status description GitHub
// accepts, in characters. A longer one gets 422 "description is too long
// (maximum is 140 characters)".
const maxStatusDescription = 140

// SetCommitStatus sets the commit status named statusContext on commit sha
// (POST /repos/{owner}/{repo}/statuses/{sha}). state is "pending",
// "success", "failure" or "error"; any other state is rejected before a
// request is sent. A description longer than 140 characters is cut to 139
// and ends in "…". An empty statusContext is named "default" by GitHub, and
// an empty targetURL sets no link.
func (c *Client) SetCommitStatus(ctx context.Context, installationID int64, sha, state, statusContext, description, targetURL string) error {
	if sha == "" {
		return errors.New("setting commit status: commit SHA is empty")
	}
	if !slices.Contains(statusStates, state) {
		return fmt.Errorf("setting commit status %q on %s@%s: state %q is invalid: want pending, success, failure or error", statusContext, c.repoName(), sha, state)
	}
	gh, err := c.installation(installationID)
	if err != nil {
		return fmt.Errorf("setting commit status %q on %s@%s: %w", statusContext, c.repoName(), sha, err)
	}

	status := &gogithub.RepoStatus{State: &state}
	if statusContext != "" {
		status.Context = &statusContext
	}
	if description != "" {
		short := truncateDescription(description)
		status.Description = &short
	}
	if targetURL != "" {
		status.TargetURL = &targetURL
	}
	if _, _, err := gh.Repositories.CreateStatus(ctx, c.owner, c.repo, sha, status); err != nil {
		return fmt.Errorf("setting commit status %q on %s@%s: %w", statusContext, c.repoName(), sha, err)
	}
	return nil
}

// truncateDescription cuts s to maxStatusDescription characters, counted
// as Unicode code points, replacing the last kept one with "…" when it cuts.
func truncateDescription(s string) string {
	if utf8.RuneCountInString(s) <= maxStatusDescription {
		return s
	}
	runes := []rune(s)
	return string(runes[:maxStatusDescription-1]) + "…"
}
