package githubfake

import (
	"errors"
	"fmt"
	"strings"
)

// Review states as webhook payloads carry them.
const (
	reviewApproved         = "approved"
	reviewChangesRequested = "changes_requested"
	reviewCommented        = "commented"
	reviewDismissed        = "dismissed"
)

// ErrNotFound is wrapped by the error of every action on a missing issue,
// pull request, comment or review.
var ErrNotFound = errors.New("not found")

// UserEditBody replaces the body of issue number as login and queues
// issues.edited with changes.body.from set to the old body. On a pull
// request it queues pull_request.edited.
func (f *Fake) UserEditBody(login string, number int, body string) error {
	if login == "" {
		return errors.New("editing body: login is empty")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	is, ok := f.issues[number]
	if !ok {
		return fmt.Errorf("editing body of #%d: issue %w", number, ErrNotFound)
	}
	f.editBodyLocked(is, login, body)
	return nil
}

func (f *Fake) editBodyLocked(is *issue, login, body string) {
	changes := map[string]any{"body": map[string]any{"from": is.body}}
	is.body = body
	is.updated = f.now()
	f.queueEditedLocked(is, human(login), changes)
}

// UserComment adds a comment by login to issue or pull request number and
// queues issue_comment.created. It returns the comment id.
func (f *Fake) UserComment(login string, number int, body string) (int64, error) {
	if login == "" || body == "" {
		return 0, errors.New("commenting: login and body are required")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	is, ok := f.issues[number]
	if !ok {
		return 0, fmt.Errorf("commenting on #%d: issue %w", number, ErrNotFound)
	}

	c := f.newCommentLocked(is, body, human(login))
	f.queueCommentEventLocked("created", is, c, human(login), nil)
	return c.id, nil
}

// UserEditComment replaces the body of comment commentID as login and
// queues issue_comment.edited with changes.body.from set to the old body.
func (f *Fake) UserEditComment(login string, commentID int64, body string) error {
	if login == "" {
		return errors.New("editing comment: login is empty")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.commentByIDLocked(commentID)
	if c == nil {
		return fmt.Errorf("editing comment %d: comment %w", commentID, ErrNotFound)
	}

	changes := map[string]any{"body": map[string]any{"from": c.body}}
	c.body = body
	c.updated = f.now()
	f.queueCommentEventLocked("edited", f.issues[c.issue], c, human(login), changes)
	return nil
}

// OpenPullRequest opens a pull request by login and queues
// pull_request.opened. It returns the number, taken from the same sequence
// as issues, and the head commit SHA.
func (f *Fake) OpenPullRequest(login, title, body string) (int, string, error) {
	if login == "" || title == "" {
		return 0, "", errors.New("opening pull request: login and title are required")
	}
	f.mu.Lock()
	defer f.mu.Unlock()

	is := f.newIssueLocked(title, body, human(login), nil)
	is.pull = &pullRequest{headRef: fmt.Sprintf("%s-patch-%d", strings.ToLower(login), is.number)}
	is.pull.headSHA = f.headSHA(is)
	f.queuePullRequestEventLocked("opened", is, human(login), nil)
	return is.number, is.pull.headSHA, nil
}

// EditPullRequestBody replaces the body of pull request number as login and
// queues pull_request.edited with changes.body.from.
func (f *Fake) EditPullRequestBody(login string, number int, body string) error {
	if login == "" {
		return errors.New("editing pull request body: login is empty")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	is, err := f.pullLocked(number)
	if err != nil {
		return fmt.Errorf("editing pull request body: %w", err)
	}
	f.editBodyLocked(is, login, body)
	return nil
}

// PushToPullRequest adds a commit to pull request number as login and
// queues pull_request.synchronize with before and after set. It returns
// the new head SHA.
func (f *Fake) PushToPullRequest(login string, number int) (string, error) {
	if login == "" {
		return "", errors.New("pushing to pull request: login is empty")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	is, err := f.pullLocked(number)
	if err != nil {
		return "", fmt.Errorf("pushing to pull request: %w", err)
	}

	before := is.pull.headSHA
	is.pull.pushes++
	is.pull.headSHA = f.headSHA(is)
	is.updated = f.now()
	f.queuePullRequestEventLocked("synchronize", is, human(login), map[string]any{"before": before, "after": is.pull.headSHA})
	return is.pull.headSHA, nil
}

// SubmitReview submits a review by login on pull request number at its
// current head and queues pull_request_review.submitted. state is
// "approved", "changes_requested" or "commented". Like GitHub, the fake
// rejects an approval or change request by the pull request's author.
func (f *Fake) SubmitReview(login string, number int, state, body string) (int64, error) {
	state = strings.ToLower(state)
	if state != reviewApproved && state != reviewChangesRequested && state != reviewCommented {
		return 0, fmt.Errorf("submitting review: state %q is invalid: want approved, changes_requested or commented", state)
	}
	if login == "" {
		return 0, errors.New("submitting review: login is empty")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	is, err := f.pullLocked(number)
	if err != nil {
		return 0, fmt.Errorf("submitting review: %w", err)
	}
	if state != reviewCommented && strings.EqualFold(login, is.user.login) {
		return 0, fmt.Errorf("submitting review: %s cannot %s their own pull request #%d", login, state, number)
	}

	rv := &review{id: f.nextID, user: human(login), state: state, body: body, commitID: is.pull.headSHA, submitted: f.now()}
	f.nextID++
	is.pull.reviews = append(is.pull.reviews, rv)
	f.queueReviewEventLocked("submitted", is, rv, human(login))
	return rv.id, nil
}

// DismissReview dismisses review reviewID on pull request number as login
// and queues pull_request_review.dismissed with review.state "dismissed".
// Like GitHub, only approvals and change requests can be dismissed.
func (f *Fake) DismissReview(login string, number int, reviewID int64) error {
	if login == "" {
		return errors.New("dismissing review: login is empty")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	is, err := f.pullLocked(number)
	if err != nil {
		return fmt.Errorf("dismissing review: %w", err)
	}

	for _, rv := range is.pull.reviews {
		if rv.id != reviewID {
			continue
		}
		if rv.state != reviewApproved && rv.state != reviewChangesRequested {
			return fmt.Errorf("dismissing review %d: a %s review cannot be dismissed", reviewID, rv.state)
		}
		rv.state = reviewDismissed
		f.queueReviewEventLocked("dismissed", is, rv, human(login))
		return nil
	}
	return fmt.Errorf("dismissing review %d on #%d: review %w", reviewID, number, ErrNotFound)
}

// CloseIssue closes issue or pull request number as login and queues
// issues.closed, or pull_request.closed.
func (f *Fake) CloseIssue(login string, number int) error {
	if login == "" {
		return errors.New("closing issue: login is empty")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	is, ok := f.issues[number]
	if !ok {
		return fmt.Errorf("closing #%d: issue %w", number, ErrNotFound)
	}
	if is.state == "closed" {
		return nil
	}
	f.closeLocked(is, "completed", human(login))
	return nil
}

func (f *Fake) pullLocked(number int) (*issue, error) {
	is, ok := f.issues[number]
	if !ok || is.pull == nil {
		return nil, fmt.Errorf("pull request #%d %w", number, ErrNotFound)
	}
	return is, nil
}

// headSHA derives the head commit of a pull request from its number and
// push count, so runs are repeatable.
func (f *Fake) headSHA(is *issue) string {
	return f.pushSHA(is.number, is.pull.pushes)
}

// pushSHA returns the head commit of pull request number after push pushes.
func (f *Fake) pushSHA(number, push int) string {
	return fakeSHA(fmt.Sprintf("%s#%d/%d", f.repoPath(), number, push))
}

// baseSHA returns the commit the fake's main branch points at.
func (f *Fake) baseSHA() string {
	return fakeSHA(f.repoPath() + "@main")
}

// MergePullRequest merges open pull request number as login and queues
// pull_request.closed with merged set to true.
func (f *Fake) MergePullRequest(login string, number int) error {
	if login == "" {
		return errors.New("merging pull request: login is empty")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	is, err := f.pullLocked(number)
	if err != nil {
		return fmt.Errorf("merging pull request: %w", err)
	}
	if is.state != "open" {
		return fmt.Errorf("merging pull request #%d: it is %s", number, is.state)
	}

	is.pull.merged = true
	is.pull.mergedBy = human(login)
	f.closeLocked(is, "completed", human(login))
	return nil
}

// CompleteCheckRun reports a check run named name on the head commit of
// pull request number as completed with conclusion ("success", "failure",
// …), as the app appLogin, and queues check_run.completed.
func (f *Fake) CompleteCheckRun(appLogin string, number int, name, conclusion string) error {
	if name == "" || conclusion == "" {
		return errors.New("completing check run: name and conclusion are required")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	is, err := f.pullLocked(number)
	if err != nil {
		return fmt.Errorf("completing check run: %w", err)
	}
	head := is.pull.headSHA
	id := f.nextID
	f.nextID++
	sender := actor{login: appLogin, userType: userTypeBot}
	f.queuePayloadLocked("check_run", templateCheckRun, "completed", sender, func(p payload) {
		run := p.object("check_run")
		run["id"] = id
		run["name"] = name
		run["head_sha"] = head
		run["status"] = "completed"
		run["conclusion"] = conclusion
		run["pull_requests"] = []any{map[string]any{
			"number": number,
			"head":   map[string]any{"sha": head},
		}}
	})
	return nil
}
