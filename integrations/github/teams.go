package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	gogithub "github.com/google/go-github/v60/github"
)

// IsTeamMember reports whether login is an active member of the team
// org/team, where team is the team's slug. A pending invitation and a 404
// (no such user, team or membership) both return false. Any other failure
// returns an error, so a caller that treats errors as "no" fails closed.
func (c *Client) IsTeamMember(ctx context.Context, installationID int64, org, team, login string) (bool, error) {
	if org == "" || team == "" || login == "" {
		return false, fmt.Errorf("checking membership of %q in team %s/%s: org, team and login are all required", login, org, team)
	}
	gh, err := c.installation(installationID)
	if err != nil {
		return false, fmt.Errorf("checking membership of %s in team %s/%s: %w", login, org, team, err)
	}

	membership, _, err := gh.Teams.GetTeamMembershipBySlug(ctx, url.PathEscape(org), url.PathEscape(team), url.PathEscape(login))
	if isStatus(err, http.StatusNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking membership of %s in team %s/%s: %w", login, org, team, err)
	}
	return membership.GetState() == "active", nil
}

// RepositoryInstallation looks up the installation id of the configured
// repository with the app's own credentials (GET /repos/{owner}/{repo}/installation).
func (c *Client) RepositoryInstallation(ctx context.Context) (int64, error) {
	installation, _, err := c.appClient.Apps.FindRepositoryInstallation(ctx, c.owner, c.repo)
	if err != nil {
		return 0, fmt.Errorf("finding app installation for %s: %w", c.repoName(), err)
	}
	return installation.GetID(), nil
}

// isStatus reports whether err is a go-github error response with status.
func isStatus(err error, status int) bool {
	var response *gogithub.ErrorResponse
	return errors.As(err, &response) && response.Response != nil && response.Response.StatusCode == status
}
