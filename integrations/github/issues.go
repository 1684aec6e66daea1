package github

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gogithub "github.com/google/go-github/v60/github"

	"github.com/sopbot/sopbot/integrations/httpretry"
)

// Issue is the part of a GitHub issue that sopbot reads.
type Issue struct {
	Number  int
	Title   string
	Body    string
	State   string // "open" or "closed"
	HTMLURL string
	Labels  []string
	User    string // login of the author
}

// Comment is the part of an issue comment that sopbot reads.
type Comment struct {
	ID        int64
	HTMLURL   string
	Body      string
	User      string // login of the author
	CreatedAt time.Time
	UpdatedAt time.Time
}

// pageSize is the maximum per_page value the REST API accepts.
const pageSize = 100

// maxCommentPages bounds how many pages of comments FindComment reads.
const maxCommentPages = 3

// CreateIssue opens an issue in the configured repository with the given
// labels. When the POST fails in a way that leaves its outcome unknown,
// CreateIssue looks among the newest issues for one with this title and
// body created since the call began, and sends the POST again only when
// there is none. The error of a call whose outcome stayed unknown wraps an
// *httpretry.UnknownOutcomeError.
//
// NOTE: an identical issue that another call created within createdWindow
// before this one also matches, so two identical creates in a row can
// leave one issue when the second one's reply is lost.
func (c *Client) CreateIssue(ctx context.Context, installationID int64, title, body string, labels []string) (Issue, error) {
	gh, err := c.installation(installationID)
	if err != nil {
		return Issue{}, fmt.Errorf("creating issue in %s: %w", c.repoName(), err)
	}

	req := &gogithub.IssueRequest{Title: &title, Body: &body}
	if len(labels) > 0 {
		req.Labels = &labels
	}
	since := time.Now().Add(-createdWindow)
	send := func(ctx context.Context) (*gogithub.Issue, error) {
		created, _, err := gh.Issues.Create(ctx, c.owner, c.repo, req)
		return created, err
	}
	find := func(ctx context.Context) (*gogithub.Issue, bool, error) {
		return c.findCreatedIssue(ctx, gh, title, body, since)
	}
	created, err := httpretry.Once(ctx, createAttempts, send, find, outcomeUnknown)
	if err != nil {
		return Issue{}, fmt.Errorf("creating issue in %s: %w", c.repoName(), err)
	}
	return issueFrom(created), nil
}

// findCreatedIssue returns the newest issue with title and body created
// after since, among the 30 most recently created.
func (c *Client) findCreatedIssue(ctx context.Context, gh *gogithub.Client, title, body string, since time.Time) (*gogithub.Issue, bool, error) {
	opts := &gogithub.IssueListByRepoOptions{State: "all", Sort: "created", Direction: "desc",
		ListOptions: gogithub.ListOptions{PerPage: 30}}
	issues, _, err := gh.Issues.ListByRepo(ctx, c.owner, c.repo, opts)
	if err != nil {
		return nil, false, fmt.Errorf("looking for the issue an earlier attempt created: %w", err)
	}
	for _, issue := range issues {
		if !issue.IsPullRequest() && issue.GetTitle() == title && issue.GetBody() == body && issue.GetCreatedAt().After(since) {
			return issue, true, nil
		}
	}
	return nil, false, nil
}

// FindIssueByMarker returns the newest issue carrying label whose body
// contains marker, so a retried create finds its earlier issue. It reads the
// 100 most recently created issues with that label, open or closed, and skips
// pull requests.
func (c *Client) FindIssueByMarker(ctx context.Context, installationID int64, label, marker string) (Issue, bool, error) {
	if marker == "" {
		return Issue{}, false, errors.New("finding issue by marker: marker is empty")
	}
	gh, err := c.installation(installationID)
	if err != nil {
		return Issue{}, false, fmt.Errorf("finding issue with label %q in %s: %w", label, c.repoName(), err)
	}

	opts := &gogithub.IssueListByRepoOptions{
		State:       "all",
		Sort:        "created",
		Direction:   "desc",
		ListOptions: gogithub.ListOptions{PerPage: pageSize},
	}
	if label != "" {
		opts.Labels = []string{label}
	}
	// NOTE: only the first page is read, so an issue older than the 100
	// newest with this label is not found.
	issues, _, err := gh.Issues.ListByRepo(ctx, c.owner, c.repo, opts)
	if err != nil {
		return Issue{}, false, fmt.Errorf("finding issue with label %q in %s: %w", label, c.repoName(), err)
	}

	for _, issue := range issues {
		if issue.IsPullRequest() {
			continue
		}
		if strings.Contains(issue.GetBody(), marker) {
			return issueFrom(issue), true, nil
		}
	}
	return Issue{}, false, nil
}

// ListOpenIssues returns the open issues that carry label, newest first,
// skipping pull requests. An empty label lists every open issue.
//
// NOTE: it reads at most maxListPages pages of 100, and pull requests take
// up room on those pages too, so when more than 1,000 open issues and pull
// requests carry the label, the oldest are not returned.
func (c *Client) ListOpenIssues(ctx context.Context, installationID int64, label string) ([]Issue, error) {
	gh, err := c.installation(installationID)
	if err != nil {
		return nil, fmt.Errorf("listing open issues with label %q in %s: %w", label, c.repoName(), err)
	}

	fetch := func(page int) ([]*gogithub.Issue, *gogithub.Response, error) {
		opts := &gogithub.IssueListByRepoOptions{
			State:       "open",
			Sort:        "created",
			Direction:   "desc",
			ListOptions: gogithub.ListOptions{Page: page, PerPage: pageSize},
		}
		if label != "" {
			opts.Labels = []string{label}
		}
		return gh.Issues.ListByRepo(ctx, c.owner, c.repo, opts)
	}
	listed, err := readPages(1, maxListPages, fetch)
	if err != nil {
		return nil, fmt.Errorf("listing open issues with label %q in %s: %w", label, c.repoName(), err)
	}

	issues := []Issue{}
	for _, issue := range listed {
		if !issue.IsPullRequest() {
			issues = append(issues, issueFrom(issue))
		}
	}
	return issues, nil
}

// GetIssue reads one issue of the configured repository.
func (c *Client) GetIssue(ctx context.Context, installationID int64, number int) (Issue, error) {
	gh, err := c.installation(installationID)
	if err != nil {
		return Issue{}, fmt.Errorf("getting issue %s#%d: %w", c.repoName(), number, err)
	}

	issue, _, err := gh.Issues.Get(ctx, c.owner, c.repo, number)
	if err != nil {
		return Issue{}, fmt.Errorf("getting issue %s#%d: %w", c.repoName(), number, err)
	}
	return issueFrom(issue), nil
}

// EditIssueBody replaces the body of an issue and changes nothing else.
func (c *Client) EditIssueBody(ctx context.Context, installationID int64, number int, body string) error {
	req := &gogithub.IssueRequest{Body: &body}
	if err := c.editIssue(ctx, installationID, number, req); err != nil {
		return fmt.Errorf("editing body of issue %s#%d: %w", c.repoName(), number, err)
	}
	return nil
}

// CloseIssue closes an issue with state_reason "completed".
func (c *Client) CloseIssue(ctx context.Context, installationID int64, number int) error {
	state, reason := "closed", "completed"
	req := &gogithub.IssueRequest{State: &state, StateReason: &reason}
	if err := c.editIssue(ctx, installationID, number, req); err != nil {
		return fmt.Errorf("closing issue %s#%d: %w", c.repoName(), number, err)
	}
	return nil
}

// editIssue sends PATCH /repos/{owner}/{repo}/issues/{number} with req.
func (c *Client) editIssue(ctx context.Context, installationID int64, number int, req *gogithub.IssueRequest) error {
	gh, err := c.installation(installationID)
	if err != nil {
		return err
	}
	_, _, err = gh.Issues.Edit(ctx, c.owner, c.repo, number, req)
	return err
}

// ReplaceLabels sets the labels of an issue to exactly labels. An empty list
// removes every label.
func (c *Client) ReplaceLabels(ctx context.Context, installationID int64, number int, labels []string) error {
	gh, err := c.installation(installationID)
	if err != nil {
		return fmt.Errorf("replacing labels of issue %s#%d: %w", c.repoName(), number, err)
	}

	if labels == nil {
		// go-github encodes a nil slice as JSON null, so send an empty
		// array to clear the labels.
		labels = []string{}
	}
	if _, _, err := gh.Issues.ReplaceLabelsForIssue(ctx, c.owner, c.repo, number, labels); err != nil {
		return fmt.Errorf("replacing labels of issue %s#%d: %w", c.repoName(), number, err)
	}
	return nil
}

// CreateComment adds a comment to an issue or pull request. When the POST
// fails in a way that leaves its outcome unknown, CreateComment looks for a
// comment with this body updated since the call began, and sends the POST
// again only when there is none. The error of a call whose outcome stayed
// unknown wraps an *httpretry.UnknownOutcomeError.
//
// NOTE: an identical comment that another call posted within createdWindow
// before this one also matches.
func (c *Client) CreateComment(ctx context.Context, installationID int64, number int, body string) (Comment, error) {
	gh, err := c.installation(installationID)
	if err != nil {
		return Comment{}, fmt.Errorf("commenting on issue %s#%d: %w", c.repoName(), number, err)
	}

	since := time.Now().Add(-createdWindow)
	send := func(ctx context.Context) (*gogithub.IssueComment, error) {
		created, _, err := gh.Issues.CreateComment(ctx, c.owner, c.repo, number, &gogithub.IssueComment{Body: &body})
		return created, err
	}
	find := func(ctx context.Context) (*gogithub.IssueComment, bool, error) {
		return c.findCreatedComment(ctx, gh, number, body, since)
	}
	created, err := httpretry.Once(ctx, createAttempts, send, find, outcomeUnknown)
	if err != nil {
		return Comment{}, fmt.Errorf("commenting on issue %s#%d: %w", c.repoName(), number, err)
	}
	return commentFrom(created), nil
}

// findCreatedComment returns the newest comment on the issue with body that
// was updated after since.
func (c *Client) findCreatedComment(ctx context.Context, gh *gogithub.Client, number int, body string, since time.Time) (*gogithub.IssueComment, bool, error) {
	fetch := func(page int) ([]*gogithub.IssueComment, *gogithub.Response, error) {
		utc := since.UTC()
		opts := &gogithub.IssueListCommentsOptions{Since: &utc, ListOptions: gogithub.ListOptions{Page: page, PerPage: pageSize}}
		return gh.Issues.ListComments(ctx, c.owner, c.repo, number, opts)
	}
	comments, err := readNewestPages(fetch)
	if err != nil {
		return nil, false, fmt.Errorf("looking for the comment an earlier attempt posted: %w", err)
	}
	for i := len(comments) - 1; i >= 0; i-- {
		if comments[i].GetBody() == body {
			return comments[i], true, nil
		}
	}
	return nil, false, nil
}

// FindComment reports whether a comment on the issue contains marker.
//
// The endpoint lists comments oldest first and GitHub documents no sort
// parameter for it, so FindComment reads the first page and then the newest
// pages, at most three pages of 100 in all. NOTE: on an issue with more than
// 300 comments, a comment in the skipped middle pages is not found.
func (c *Client) FindComment(ctx context.Context, installationID int64, number int, marker string) (bool, error) {
	if marker == "" {
		return false, errors.New("finding comment: marker is empty")
	}
	gh, err := c.installation(installationID)
	if err != nil {
		return false, fmt.Errorf("finding comment on issue %s#%d: %w", c.repoName(), number, err)
	}

	list := func(page int) ([]*gogithub.IssueComment, *gogithub.Response, error) {
		opts := &gogithub.IssueListCommentsOptions{ListOptions: gogithub.ListOptions{Page: page, PerPage: pageSize}}
		return gh.Issues.ListComments(ctx, c.owner, c.repo, number, opts)
	}

	comments, resp, err := list(1)
	if err != nil {
		return false, fmt.Errorf("finding comment on issue %s#%d: %w", c.repoName(), number, err)
	}
	if containsMarker(comments, marker) {
		return true, nil
	}

	for _, page := range newestPages(resp.LastPage, maxCommentPages-1) {
		comments, _, err := list(page)
		if err != nil {
			return false, fmt.Errorf("finding comment on issue %s#%d page %d: %w", c.repoName(), number, page, err)
		}
		if containsMarker(comments, marker) {
			return true, nil
		}
	}
	return false, nil
}

// ListComments returns the comments on an issue or pull request that were
// last updated after since, oldest first, or every comment when since is
// zero. since is sent in whole seconds, so a comment updated earlier in the
// same second as since can be returned too.
//
// NOTE: it returns at most maxListPages pages of 100. When more than 1,000
// comments match, it returns the last 10 pages, between 901 and 1,000 of
// the newest comments, and skips the older ones.
func (c *Client) ListComments(ctx context.Context, installationID int64, number int, since time.Time) ([]Comment, error) {
	gh, err := c.installation(installationID)
	if err != nil {
		return nil, fmt.Errorf("listing comments on issue %s#%d: %w", c.repoName(), number, err)
	}

	fetch := func(page int) ([]*gogithub.IssueComment, *gogithub.Response, error) {
		opts := &gogithub.IssueListCommentsOptions{ListOptions: gogithub.ListOptions{Page: page, PerPage: pageSize}}
		if !since.IsZero() {
			utc := since.UTC()
			opts.Since = &utc
		}
		return gh.Issues.ListComments(ctx, c.owner, c.repo, number, opts)
	}
	listed, err := readNewestPages(fetch)
	if err != nil {
		return nil, fmt.Errorf("listing comments on issue %s#%d: %w", c.repoName(), number, err)
	}

	comments := make([]Comment, 0, len(listed))
	for _, comment := range listed {
		comments = append(comments, commentFrom(comment))
	}
	return comments, nil
}

// newestPages returns up to n page numbers after page 1, from last down.
// last is zero when the Link header has no "last" relation, which means
// page 1 was the only page.
func newestPages(last, n int) []int {
	var pages []int
	for page := last; page > 1 && len(pages) < n; page-- {
		pages = append(pages, page)
	}
	return pages
}

// containsMarker reports whether any comment body contains marker.
func containsMarker(comments []*gogithub.IssueComment, marker string) bool {
	for _, comment := range comments {
		if strings.Contains(comment.GetBody(), marker) {
			return true
		}
	}
	return false
}

// commentFrom converts a go-github issue comment.
func commentFrom(comment *gogithub.IssueComment) Comment {
	return Comment{
		ID:        comment.GetID(),
		HTMLURL:   comment.GetHTMLURL(),
		Body:      comment.GetBody(),
		User:      comment.GetUser().GetLogin(),
		CreatedAt: comment.GetCreatedAt().Time,
		UpdatedAt: comment.GetUpdatedAt().Time,
	}
}

// issueFrom converts a go-github issue.
func issueFrom(issue *gogithub.Issue) Issue {
	labels := make([]string, 0, len(issue.Labels))
	for _, label := range issue.Labels {
		labels = append(labels, label.GetName())
	}
	return Issue{
		Number:  issue.GetNumber(),
		Title:   issue.GetTitle(),
		Body:    issue.GetBody(),
		State:   issue.GetState(),
		HTMLURL: issue.GetHTMLURL(),
		Labels:  labels,
		User:    issue.GetUser().GetLogin(),
	}
}
