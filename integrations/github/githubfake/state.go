package githubfake

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// User types as GitHub writes them in the "type" field of a user object.
const (
	userTypeUser = "User"
	userTypeBot  = "Bot"
)

// actor is the user behind a request or an action.
type actor struct {
	login    string
	userType string
}

func (f *Fake) bot() actor { return actor{login: f.opts.BotLogin, userType: userTypeBot} }

func human(login string) actor { return actor{login: login, userType: userTypeUser} }

// issue is an issue or, when pull is set, a pull request. Both share one
// number sequence, as on GitHub.
type issue struct {
	number      int
	title       string
	body        string
	state       string
	stateReason string
	labels      []string
	user        actor
	pull        *pullRequest
	created     time.Time
	updated     time.Time
	closed      time.Time
}

type pullRequest struct {
	headRef  string
	headSHA  string
	pushes   int
	reviews  []*review
	merged   bool
	mergedBy actor // set when merged
}

type review struct {
	id        int64
	user      actor
	state     string // lowercase, as in webhook payloads
	body      string
	commitID  string
	submitted time.Time
}

type comment struct {
	id      int64
	issue   int
	body    string
	user    actor
	created time.Time
	updated time.Time
}

// Issue is a snapshot of an issue or pull request in the fake.
type Issue struct {
	Number      int
	Title       string
	Body        string
	State       string
	StateReason string
	Labels      []string
	User        string
	PullRequest bool
	HeadSHA     string // head commit of a pull request
}

// Comment is a snapshot of an issue comment in the fake.
type Comment struct {
	ID    int64
	Issue int
	Body  string
	User  string
}

// Review is a snapshot of a pull request review in the fake.
type Review struct {
	ID       int64
	User     string
	State    string // "approved", "changes_requested", "commented" or "dismissed"
	Body     string
	CommitID string
}

// now returns the fake's clock at GitHub's one-second resolution.
func (f *Fake) now() time.Time {
	t := time.Now()
	if f.opts.Clock != nil {
		t = f.opts.Clock()
	}
	return t.UTC().Truncate(time.Second)
}

func (f *Fake) newIssueLocked(title, body string, author actor, labels []string) *issue {
	created := f.now()
	is := &issue{
		number:  f.nextNumber,
		title:   title,
		body:    body,
		state:   "open",
		labels:  uniqueLabels(labels),
		user:    author,
		created: created,
		updated: created,
	}
	f.issues[is.number] = is
	f.nextNumber++
	return is
}

func (f *Fake) newCommentLocked(is *issue, body string, author actor) *comment {
	created := f.now()
	c := &comment{id: f.nextID, issue: is.number, body: body, user: author, created: created, updated: created}
	f.nextID++
	f.comments = append(f.comments, c)
	is.updated = created
	return c
}

// applyEditLocked applies req to is and queues the deliveries GitHub
// sends: edited when the title or body changed, then closed or reopened.
func (f *Fake) applyEditLocked(is *issue, req issueRequest, sender actor) {
	changes := map[string]any{}
	if req.Title != nil && *req.Title != is.title {
		changes["title"] = map[string]any{"from": is.title}
		is.title = *req.Title
	}
	if req.Body != nil && *req.Body != is.body {
		changes["body"] = map[string]any{"from": is.body}
		is.body = *req.Body
	}
	if req.Labels != nil {
		is.labels = uniqueLabels(*req.Labels)
	}
	is.updated = f.now()
	if len(changes) > 0 {
		f.queueEditedLocked(is, sender, changes)
	}

	if req.State == nil || *req.State == is.state {
		return
	}
	reason := deref(req.StateReason)
	if *req.State == "closed" {
		f.closeLocked(is, reason, sender)
		return
	}
	is.state, is.stateReason, is.closed = "open", "reopened", time.Time{}
	f.queueIssueEventLocked("reopened", is, sender, nil)
}

// closeLocked closes is and queues issues.closed or pull_request.closed.
func (f *Fake) closeLocked(is *issue, reason string, sender actor) {
	if reason == "" {
		reason = "completed"
	}
	is.state, is.stateReason, is.closed = "closed", reason, f.now()
	is.updated = is.closed
	if is.pull != nil {
		f.queuePullRequestEventLocked("closed", is, sender, nil)
		return
	}
	f.queueIssueEventLocked("closed", is, sender, nil)
}

// queueEditedLocked queues issues.edited, or pull_request.edited for a pull
// request.
func (f *Fake) queueEditedLocked(is *issue, sender actor, changes map[string]any) {
	if is.pull != nil {
		f.queuePullRequestEventLocked("edited", is, sender, map[string]any{"changes": changes})
		return
	}
	f.queueIssueEventLocked("edited", is, sender, changes)
}

func (f *Fake) commentsLocked(number int) []*comment {
	var comments []*comment
	for _, c := range f.comments {
		if c.issue == number {
			comments = append(comments, c)
		}
	}
	return comments
}

func (f *Fake) commentByIDLocked(id int64) *comment {
	for _, c := range f.comments {
		if c.id == id {
			return c
		}
	}
	return nil
}

// Issue returns a snapshot of issue or pull request number.
func (f *Fake) Issue(number int) (Issue, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	is, ok := f.issues[number]
	if !ok {
		return Issue{}, false
	}
	return snapshotIssue(is), true
}

// Issues returns snapshots of every issue and pull request, by number.
func (f *Fake) Issues() []Issue {
	f.mu.Lock()
	defer f.mu.Unlock()
	issues := make([]Issue, 0, len(f.issues))
	for _, is := range f.issues {
		issues = append(issues, snapshotIssue(is))
	}
	sort.Slice(issues, func(i, j int) bool { return issues[i].Number < issues[j].Number })
	return issues
}

// Comments returns the comments on issue number, oldest first.
func (f *Fake) Comments(number int) []Comment {
	f.mu.Lock()
	defer f.mu.Unlock()
	var comments []Comment
	for _, c := range f.commentsLocked(number) {
		comments = append(comments, Comment{ID: c.id, Issue: c.issue, Body: c.body, User: c.user.login})
	}
	return comments
}

// Labels returns the labels of issue number, or nil when it does not exist.
func (f *Fake) Labels(number int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if is, ok := f.issues[number]; ok {
		return append([]string{}, is.labels...)
	}
	return nil
}

// Reviews returns the reviews of pull request number, oldest first.
func (f *Fake) Reviews(number int) []Review {
	f.mu.Lock()
	defer f.mu.Unlock()
	is, ok := f.issues[number]
	if !ok || is.pull == nil {
		return nil
	}
	var reviews []Review
	for _, rv := range is.pull.reviews {
		reviews = append(reviews, Review{ID: rv.id, User: rv.user.login, State: rv.state, Body: rv.body, CommitID: rv.commitID})
	}
	return reviews
}

func snapshotIssue(is *issue) Issue {
	snapshot := Issue{
		Number:      is.number,
		Title:       is.title,
		Body:        is.body,
		State:       is.state,
		StateReason: is.stateReason,
		Labels:      append([]string{}, is.labels...),
		User:        is.user.login,
		PullRequest: is.pull != nil,
	}
	if is.pull != nil {
		snapshot.HeadSHA = is.pull.headSHA
	}
	return snapshot
}

// labelsBody decodes a label list sent as ["a", "b"] or {"labels": ["a"]}.
type labelsBody struct {
	names []string
}

func (l *labelsBody) UnmarshalJSON(data []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("[")) {
		return json.Unmarshal(data, &l.names)
	}
	var wrapped struct {
		Labels []string `json:"labels"`
	}
	if err := json.Unmarshal(data, &wrapped); err != nil {
		return err
	}
	l.names = wrapped.Labels
	return nil
}

// uniqueLabels drops empty and repeated names, keeping the first spelling.
func uniqueLabels(names []string) []string {
	labels := []string{}
	for _, name := range names {
		if name != "" && !containsFold(labels, name) {
			labels = append(labels, name)
		}
	}
	return labels
}

func splitLabels(param string) []string {
	if param == "" {
		return nil
	}
	return strings.Split(param, ",")
}

// hasAllLabels reports whether have contains every name in want, ignoring
// case.
func hasAllLabels(have, want []string) bool {
	for _, name := range want {
		if !containsFold(have, strings.TrimSpace(name)) {
			return false
		}
	}
	return true
}

func containsFold(list []string, s string) bool {
	for _, item := range list {
		if strings.EqualFold(item, s) {
			return true
		}
	}
	return false
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// summarize returns the first line of s, cut to 60 characters.
func summarize(s string) string {
	line, _, cut := strings.Cut(s, "\n")
	if utf8.RuneCountInString(line) > 60 {
		line = string([]rune(line)[:60])
		cut = true
	}
	if cut {
		line += "…"
	}
	return line
}
