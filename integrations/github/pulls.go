package github

import (
	"context"
	"fmt"
	"strings"
	"time"

	gogithub "github.com/google/go-github/v60/github"
)

// PullRequest is the part of a GitHub pull request that sopbot reads.
type PullRequest struct {
	Number  int
	Title   string
	Body    string
	State   string // "open" or "closed"; a merged pull request is closed
	HeadSHA string // head commit
	User    string // login of the author
	HTMLURL string
	Merged  bool
}

// Review is the part of a pull request review that sopbot reads.
type Review struct {
	ID int64
	// User is the login of the reviewer.
	User string
	// State is lowercase, as webhook payloads send it: "approved",
	// "changes_requested", "commented" or "dismissed" (or "pending" for the
	// app's own unsubmitted review). The REST API sends it in uppercase.
	State string
	// CommitID is the head commit the review was submitted on.
	CommitID    string
	Body        string
	SubmittedAt time.Time
}

// GetPullRequest reads one pull request of the configured repository.
func (c *Client) GetPullRequest(ctx context.Context, installationID int64, number int) (PullRequest, error) {
	gh, err := c.installation(installationID)
	if err != nil {
		return PullRequest{}, fmt.Errorf("getting pull request %s#%d: %w", c.repoName(), number, err)
	}

	pull, _, err := gh.PullRequests.Get(ctx, c.owner, c.repo, number)
	if err != nil {
		return PullRequest{}, fmt.Errorf("getting pull request %s#%d: %w", c.repoName(), number, err)
	}
	return PullRequest{
		Number:  pull.GetNumber(),
		Title:   pull.GetTitle(),
		Body:    pull.GetBody(),
		State:   pull.GetState(),
		HeadSHA: pull.GetHead().GetSHA(),
		User:    pull.GetUser().GetLogin(),
		HTMLURL: pull.GetHTMLURL(),
		Merged:  pull.GetMerged(),
	}, nil
}

// ListReviews returns the reviews of a pull request, oldest first, as
// GitHub lists them.
//
// NOTE: it returns at most maxListPages pages of 100. On a pull request
// with more than 1,000 reviews, it returns the last 10 pages, between 901
// and 1,000 of the newest reviews, and skips the older ones.
func (c *Client) ListReviews(ctx context.Context, installationID int64, number int) ([]Review, error) {
	gh, err := c.installation(installationID)
	if err != nil {
		return nil, fmt.Errorf("listing reviews of pull request %s#%d: %w", c.repoName(), number, err)
	}

	fetch := func(page int) ([]*gogithub.PullRequestReview, *gogithub.Response, error) {
		opts := &gogithub.ListOptions{Page: page, PerPage: pageSize}
		return gh.PullRequests.ListReviews(ctx, c.owner, c.repo, number, opts)
	}
	listed, err := readNewestPages(fetch)
	if err != nil {
		return nil, fmt.Errorf("listing reviews of pull request %s#%d: %w", c.repoName(), number, err)
	}

	reviews := make([]Review, 0, len(listed))
	for _, review := range listed {
		reviews = append(reviews, reviewFrom(review))
	}
	return reviews, nil
}

// reviewFrom converts a go-github review, lowercasing its state.
func reviewFrom(review *gogithub.PullRequestReview) Review {
	return Review{
		ID:          review.GetID(),
		User:        review.GetUser().GetLogin(),
		State:       strings.ToLower(review.GetState()),
		CommitID:    review.GetCommitID(),
		Body:        review.GetBody(),
		SubmittedAt: review.GetSubmittedAt().Time,
	}
}
