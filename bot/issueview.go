package bot

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/github"
	"github.com/sopbot/sopbot/sop"
)

// While a request's checks or its action run, the effects on its issue
// wait, for at most effectHoldMax and checking every effectHoldStep. The
// results of those jobs arrive as more effects on the same issue, so the
// wait lets one comment and one edit carry them all.
const (
	effectHoldStep = 50 * time.Millisecond
	effectHoldMax  = 3 * time.Second
)

// busyKinds are the jobs whose results an effect waits for.
var busyKinds = []string{CheckArgs{}.Kind(), ActionArgs{}.Kind()}

// holdWhileBusy returns River's snooze while a check or the action of the
// request is waiting or running and the effect was enqueued less than
// effectHoldMax ago. A failed look-up holds nothing.
func (w *Workers) holdWhileBusy(ctx context.Context, kind string, requestID int64, since time.Time) error {
	if time.Since(since) >= effectHoldMax {
		return nil
	}
	for _, busy := range busyKinds {
		live, err := w.Engine.DB.LiveJob(ctx, busy, requestID, time.Time{})
		if err != nil {
			w.Log.Warn("checking the request's running jobs failed; running the effect now",
				"request_id", requestID, "job_kind", kind, "error", err)
			return nil
		}
		if live {
			return river.JobSnooze(effectHoldStep)
		}
	}
	return nil
}

// recentBodies bounds how many body hashes an issueView keeps.
const recentBodies = 16

type bodyHash [sha256.Size]byte

func hashBody(body string) bodyHash { return sha256.Sum256([]byte(body)) }

// issueView is the bot's record of a request issue on GitHub, so it can
// edit the issue without reading it first. It is kept in memory, so after
// a restart the first write reads the issue.
type issueView struct {
	body  string
	title string
	// labels are the labels the bot set, sorted; nil when unknown.
	labels []string
	closed bool
	// foreign marks a body that may show edits the store does not know,
	// such as one read from GitHub while an edit's webhook was lost or
	// still on its way. A write then sets only the lines its effect names,
	// so such an edit stays for its webhook or the sweep.
	foreign bool
	// stale marks a body that GitHub does not show, because a write of the
	// bot's overwrote an edit. The next write sends the body even when it
	// changes nothing in it.
	stale bool
	// seen holds hashes of bodies known to have been on GitHub and wrote
	// those that the bot's own writes produced, newest last.
	seen, wrote []bodyHash
	// last is what the bot's newest write changed.
	last bodyChange
}

// bodyChange is the change one write of the bot's made in a body: the
// boxes it flipped and, when the Parameters table changed, the parameter
// values.
type bodyChange struct {
	checked map[string]bool
	params  map[string]string
}

// apply makes the same change in another body.
func (c bodyChange) apply(body string) string {
	for key, checked := range c.checked {
		body, _ = sop.SetChecked(body, key, checked)
	}
	for _, name := range sortedKeys(c.params) {
		body, _ = sop.SetParam(body, name, c.params[name])
	}
	return body
}

func (c bodyChange) keys() []string { return sortedKeys(c.checked) }

// remember records a body that GitHub held.
func (v *issueView) remember(body string) { v.seen = pushHash(v.seen, hashBody(body)) }

func pushHash(hashes []bodyHash, h bodyHash) []bodyHash {
	hashes = append(hashes, h)
	if len(hashes) > recentBodies {
		hashes = slices.Delete(hashes, 0, len(hashes)-recentBodies)
	}
	return hashes
}

// issueViews holds an issueView per issue number. A caller holds the
// issue's lock (Workers.lockIssue) while it reads and replaces a view.
type issueViews struct {
	mu    sync.Mutex
	views map[int]issueView
}

func (vs *issueViews) get(number int) (issueView, bool) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	v, ok := vs.views[number]
	return v, ok
}

func (vs *issueViews) put(number int, v issueView) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if vs.views == nil {
		vs.views = map[int]issueView{}
	}
	vs.views[number] = v
}

func (vs *issueViews) forget(number int) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	delete(vs.views, number)
}

// viewOf returns the view of an issue as GitHub returned it. The labels
// count as known only when they are exactly the labels the bot sets,
// because a person may have added others.
func viewOf(issue github.Issue, botLabels []string) issueView {
	v := issueView{body: issue.Body, title: issue.Title, closed: issue.State == "closed"}
	if sameLabels(issue.Labels, botLabels) {
		v.labels = sortedLabels(botLabels)
	}
	v.remember(issue.Body)
	return v
}

func sortedLabels(labels []string) []string {
	out := slices.Clone(labels)
	slices.Sort(out)
	return out
}

func sameLabels(a, b []string) bool {
	return a != nil && b != nil && slices.Equal(sortedLabels(a), sortedLabels(b))
}

// issueWrite lists the lines and fields of a request issue that one effect
// writes.
type issueWrite struct {
	keys   []string // boxes to set to their stored state
	params bool     // rewrite the title and the Parameters table
	labels bool     // set the labels of the request's state
	close  bool     // close the issue even if the request has not ended
}

// writeIssue brings a request issue in line with the store in at most one
// PATCH: its boxes, Parameters table and title, the labels of the
// request's state, and closed once the request has ended.
//
// It edits the body the bot last knew and reads the issue only when it
// knows none, as after a restart. On a known body that is not foreign it
// sets every box and parameter to its stored value. Such a body differs
// from the store only where the bot means to write, because each person's
// edit changes the store and the view together under the issue's lock
// (see trackBodyEdit), so the write also does the work of the other
// effects still waiting. On a foreign body it sets only the lines want
// names.
func (w *Workers) writeIssue(ctx context.Context, r requestJob, want issueWrite) error {
	number := r.req.IssueNumber
	defer w.lockIssue(number)()
	// The store is read again under the lock, so it holds every edit whose
	// webhook was processed before.
	req, s, items, err := w.loadRequest(ctx, r.req.ID)
	if err != nil {
		return err
	}
	desired := Labels(req)
	view, known := w.views.get(number)
	if !known {
		issue, err := w.GitHub.GetIssue(ctx, r.inst, number)
		if err != nil {
			return err
		}
		view = viewOf(issue, desired)
		view.foreign = true
	}

	body := view.body
	if view.foreign {
		for _, key := range want.keys {
			body, _ = sop.SetChecked(body, key, items[key].Checked)
		}
	} else {
		for key, item := range items {
			body, _ = sop.SetChecked(body, key, item.Checked)
		}
	}
	paramsChanged := false
	if !view.foreign || want.params {
		for _, name := range sortedKeys(req.Params) {
			var changed bool
			body, changed = sop.SetParam(body, name, req.Params[name])
			paramsChanged = paramsChanged || changed
		}
	}

	var update github.IssueUpdate
	if body != view.body || view.stale {
		update.Body = &body
	}
	if want.params || paramsChanged {
		if title := s.RenderTitle(req.Params); title != view.title {
			update.Title = &title
		}
	}
	if (view.labels != nil || want.labels) && !sameLabels(desired, view.labels) {
		update.Labels = &desired
	}
	if (req.Terminal() || want.close) && !view.closed {
		update.Close = true
	}
	if update.Empty() {
		w.keepView(ctx, number, view, known)
		return nil
	}

	issue, err := w.GitHub.UpdateIssue(ctx, r.inst, number, update)
	if err != nil {
		return err
	}
	next := view
	next.title, next.closed = issue.Title, issue.State == "closed"
	if update.Labels != nil {
		next.labels = sortedLabels(desired)
	}
	// Without a body in the request, the returned body may show an edit
	// whose webhook is not processed yet, so the view keeps its own.
	if update.Body != nil {
		change := bodyChange{checked: map[string]bool{}}
		for _, c := range diffChecklist(view.body, issue.Body) {
			change.checked[c.key] = c.checked
		}
		if paramsChanged {
			change.params = maps.Clone(req.Params)
		}
		next.body, next.stale, next.last = issue.Body, false, change
		next.remember(issue.Body)
		next.wrote = pushHash(next.wrote, hashBody(issue.Body))
	}
	w.keepView(ctx, number, next, known)
	return nil
}

// keepView stores the view a write ended with. A view that began with a
// read is kept only while no delivery about the issue waits, because such
// a delivery may report an edit that the read already showed. Otherwise
// the next write reads the issue again.
func (w *Workers) keepView(ctx context.Context, number int, v issueView, known bool) {
	if !known {
		pending, err := w.Engine.DB.PendingForSubject(ctx, subjectOf(number))
		if err != nil || pending {
			w.views.forget(number)
			return
		}
	}
	w.views.put(number, v)
}

// bodyEdit is a change of an issue body that a webhook reported.
type bodyEdit struct {
	issue    int
	from, to string
	// ignored marks an edit the engine ignores: the bot's own or another
	// app's.
	ignored bool
}

// bodyEditOf returns the body change that a delivery reports, if any.
func bodyEditOf(d store.Delivery, ev Event) (bodyEdit, bool) {
	if edited, ok := ev.(ChecklistEdited); ok {
		return bodyEdit{issue: edited.Issue, from: edited.OldBody, to: edited.NewBody}, edited.HasOld
	}
	if ev != nil || d.Source != "github" || d.Event != "issues" {
		return bodyEdit{}, false
	}
	var payload struct {
		Action string `json:"action"`
		Issue  struct {
			Number int    `json:"number"`
			Body   string `json:"body"`
		} `json:"issue"`
		Changes struct {
			Body *struct {
				From *string `json:"from"`
			} `json:"body"`
		} `json:"changes"`
	}
	if err := json.Unmarshal(d.Payload, &payload); err != nil || payload.Action != "edited" ||
		payload.Changes.Body == nil || payload.Changes.Body.From == nil {
		return bodyEdit{}, false
	}
	return bodyEdit{issue: payload.Issue.Number, from: *payload.Changes.Body.From, to: payload.Issue.Body, ignored: true}, true
}

// trackBodyEdit updates the view of an issue from the webhook of a body
// edit. It runs in the transaction that processes the delivery, after the
// engine recorded any ticks, and under the issue's lock. It returns the
// view update to make once the transaction commits.
//
// An edit whose previous body is the one the bot knew simply gives the
// next body. Otherwise the edit may have been overwritten on GitHub by a
// write that the bot made from the body it knew, and a sync is enqueued:
//
//   - A person's edit to a body GitHub held before is a late webhook: the
//     bot has since processed edits made after it, so the view stays, and
//     the sync writes the ticks this transaction recorded.
//   - A person's edit from another body landed before such a write: the
//     view takes the edit's body, and the sync writes it back with the
//     store applied.
//   - The webhook of the bot's own write that replaced a body the bot never
//     knew, as when an edit's webhook was lost, gets that body back with
//     the bot's change applied to it, as a read before the write would
//     have done.
func (w *Workers) trackBodyEdit(ctx context.Context, tx *sql.Tx, edit bodyEdit) (func(), error) {
	view, ok := w.views.get(edit.issue)
	if !ok {
		return nil, nil // the next write reads the issue
	}
	var keys []string
	switch {
	case edit.ignored && slices.Contains(view.wrote, hashBody(edit.to)):
		if slices.Contains(view.seen, hashBody(edit.from)) {
			return nil, nil // the bot's own write, made from a body it knew
		}
		if view.body != edit.to {
			// The view has moved on since that write, so the change cannot
			// be put on the overwritten body.
			w.Log.Warn("a write of the bot's overwrote an edit it did not know, after which the issue changed again; reading the issue before the next write",
				"issue", edit.issue)
			return func() { w.views.forget(edit.issue) }, nil
		}
		keys = view.last.keys()
		view.body, view.stale, view.foreign = view.last.apply(edit.from), true, true
		view.remember(edit.from)
	case edit.ignored && (edit.from == view.body || edit.to == view.body):
		view.body = edit.to
		view.remember(edit.to)
		return func() { w.views.put(edit.issue, view) }, nil
	case edit.ignored:
		// Another app edited a body the bot did not know.
		return func() { w.views.forget(edit.issue) }, nil
	case edit.to != view.body && slices.Contains(view.seen, hashBody(edit.to)):
		keys = flippedKeys(edit)
	case edit.from == view.body || edit.to == view.body:
		view.body = edit.to
		view.remember(edit.from)
		view.remember(edit.to)
		return func() { w.views.put(edit.issue, view) }, nil
	default:
		keys = flippedKeys(edit)
		// The store now holds the edit's ticks and every change of the
		// bot's, so the write sets every line, as for a body not foreign.
		view.body, view.stale, view.foreign = edit.to, true, false
		view.remember(edit.from)
		view.remember(edit.to)
	}
	req, err := w.Engine.DB.RequestByIssue(ctx, tx, edit.issue)
	if errors.Is(err, store.ErrNotFound) {
		return func() { w.views.forget(edit.issue) }, nil
	}
	if err != nil {
		return nil, err
	}
	if _, err := w.Engine.Queue.InsertTx(ctx, tx, SyncItemsArgs{RequestID: req.ID, Keys: keys}, nil); err != nil {
		return nil, err
	}
	w.Log.Info("an edit of the issue body may have been overwritten on GitHub; writing it back",
		"request_id", req.ID, "issue", edit.issue, "items", keys)
	return func() { w.views.put(edit.issue, view) }, nil
}

// flippedKeys returns the boxes an edit changed.
func flippedKeys(edit bodyEdit) []string {
	var keys []string
	for _, c := range diffChecklist(edit.from, edit.to) {
		keys = append(keys, c.key)
	}
	return keys
}

// trackClose records that a person closed an issue, so the bot does not
// close it again.
func (w *Workers) trackClose(number int) func() {
	return func() {
		if view, ok := w.views.get(number); ok {
			view.closed = true
			w.views.put(number, view)
		}
	}
}

// trustView clears the foreign mark of an issue's view when the sweep read
// body from GitHub and found every box as the store has it.
func (w *Workers) trustView(number int, body string) {
	defer w.lockIssue(number)()
	if view, ok := w.views.get(number); ok && view.body == body && !view.stale {
		view.foreign = false
		w.views.put(number, view)
	}
}
