package bot_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

const (
	testChannel = "C0MLOPS"
	issueURL    = "https://github.example/acme/ml-requests/issues/1"
	promoteLine = "promote model fraud-detector 3"
)

// recordingQueue is a bot.Enqueuer that keeps every inserted job's
// arguments instead of running them.
type recordingQueue struct {
	mu   sync.Mutex
	jobs []river.JobArgs
}

func (q *recordingQueue) InsertTx(_ context.Context, _ *sql.Tx, args river.JobArgs, _ *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, args)
	return &rivertype.JobInsertResult{Job: &rivertype.JobRow{}}, nil
}

// mark returns the number of jobs recorded so far, as the start index for
// jobsOf and kindsSince.
func (q *recordingQueue) mark() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.jobs)
}

// jobsOf returns the recorded jobs of type T from index from on.
func jobsOf[T river.JobArgs](q *recordingQueue, from int) []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []T
	for _, job := range q.jobs[from:] {
		if typed, ok := job.(T); ok {
			out = append(out, typed)
		}
	}
	return out
}

// kindsSince lists the kinds of the jobs recorded from index from on.
func (q *recordingQueue) kindsSince(from int) []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var kinds []string
	for _, job := range q.jobs[from:] {
		kinds = append(kinds, job.Kind())
	}
	return kinds
}

// harness is one engine over its own database, with the people and roles
// of the SOP-02 tests.
type harness struct {
	t      *testing.T
	ctx    context.Context
	db     *store.DB
	engine *bot.Engine
	queue  *recordingQueue
	dir    *bot.Directory
	sop    *sop.SOP
	nextID int
}

func testConfig() config.Config {
	return config.Config{
		Roles: map[string]config.Holders{
			"ML platform engineer":  {GitHub: []string{"bob"}},
			"senior data scientist": {GitHub: []string{"carol"}},
			"ML lead":               {GitHub: []string{"dana"}},
			"compliance officer":    {GitHub: []string{"erin"}},
			"ML platform lead":      {GitHub: []string{"frank"}},
			"security officer":      {GitHub: []string{"gina"}},
			"Platform engineer":     {GitHub: []string{"hank"}},
			"Security engineer":     {GitHub: []string{"ivy"}},
			"Security lead":         {GitHub: []string{"gina"}},
		},
		People: []config.Person{{GitHub: "alice", Slack: "U0ALICE"}, {GitHub: "dana", Slack: "U0DANA"}},
	}
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "bot.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	lib, err := sop.Embedded()
	require.NoError(t, err)
	s, ok := lib.Get("SOP-02")
	require.True(t, ok, "embedded library has SOP-02")

	dir := bot.NewDirectory(testConfig(), nil)
	queue := &recordingQueue{}
	engine := &bot.Engine{
		DB: db, Library: lib, Grammar: bot.NewGrammar(lib), Directory: dir, Queue: queue,
		Settings: bot.Settings{Channel: testChannel, Repository: "acme/ml-requests"}, Log: slog.New(slog.DiscardHandler),
	}
	return &harness{t: t, ctx: ctx, db: db, engine: engine, queue: queue, dir: dir, sop: s}
}

func (h *harness) actor(login string) bot.Actor {
	return h.dir.Resolve(h.ctx, 0, login)
}

func (h *harness) deliveryID() string {
	h.nextID++
	return fmt.Sprintf("delivery-%d", h.nextID)
}

// handle applies one event in its own transaction and fails the test on
// an error.
func (h *harness) handle(ev bot.Event) {
	h.t.Helper()
	err := h.db.InTx(h.ctx, func(tx *sql.Tx) error { return h.engine.Handle(h.ctx, tx, ev) })
	require.NoError(h.t, err)
}

// command handles a command typed in Slack by login.
func (h *harness) command(login, line string) {
	h.t.Helper()
	h.commandAs(h.actor(login), line)
}

func (h *harness) commandAs(actor bot.Actor, line string) {
	h.t.Helper()
	origin := store.Origin{Source: "slack", ResponseURL: "https://hooks.slack.com/commands/T0/1/x", Channel: testChannel}
	h.handle(bot.CommandIssued{DeliveryID: h.deliveryID(), Actor: actor, Line: line, Origin: origin})
}

// lastReply returns the text of the newest reply recorded from index from on.
func (h *harness) lastReply(from int) string {
	h.t.Helper()
	replies := jobsOf[bot.ReplyArgs](h.queue, from)
	require.NotEmpty(h.t, replies, "a reply was enqueued")
	return replies[len(replies)-1].Text
}

// commandReply handles a command and returns the reply it produced.
func (h *harness) commandReply(login, line string) string {
	h.t.Helper()
	mark := h.queue.mark()
	h.command(login, line)
	return h.lastReply(mark)
}

// open opens the SOP-02 request for fraud-detector v3 as alice and returns
// its id.
func (h *harness) open() int64 {
	h.t.Helper()
	mark := h.queue.mark()
	h.command("alice", promoteLine)
	opened := jobsOf[bot.OpenIssueArgs](h.queue, mark)
	require.Len(h.t, opened, 1, "one issue is opened")
	return opened[0].RequestID
}

// openIssue opens the request and records issue number 1 for it.
func (h *harness) openIssue() int64 {
	h.t.Helper()
	id := h.open()
	h.handle(bot.IssueOpened{RequestID: id, Number: 1, URL: issueURL})
	return id
}

// passCheck records a passing bot check for pre-1.
// passCheck reports the bot's job checks of SOP-02 (version stage, metrics,
// artifact scan) as passed. The parity item is left to people because the
// harness configures no parity check.
func (h *harness) passCheck(id int64) {
	h.t.Helper()
	for _, key := range []string{"pre-1", "pre-2", "s2-5"} {
		h.handle(bot.CheckFinished{RequestID: id, Key: key, Passed: true, Evidence: "evidence for " + key})
	}
}

// reviewed opens the request and completes every section before the
// approval step, leaving it in awaiting-approval.
func (h *harness) reviewed() int64 {
	h.t.Helper()
	id := h.openIssue()
	h.passCheck(id)
	h.tick("alice", "pre-3")
	h.tick("bob", "s2-1", "s2-2", "s2-3")
	h.tick("carol", "s2-4")
	h.tick("erin", "s3-1", "s3-2", "s3-3", "s3-4")
	require.Equal(h.t, bot.StateAwaitingApproval, h.request(id).State, "state after reviews")
	return id
}

// approved takes the request through both approvals and a successful
// action, leaving it in deploying.
func (h *harness) approved() int64 {
	h.t.Helper()
	id := h.reviewed()
	h.command("dana", "approve #1")
	h.command("erin", "approve #1")
	require.Equal(h.t, bot.StateActing, h.request(id).State, "state after approvals")
	h.handle(bot.ActionFinished{RequestID: id, Succeeded: true, Summary: "**fraud-detector v3** moved to **Production**.", Result: `{"model":"fraud-detector"}`})
	return id
}

// body renders the issue body of the request from its stored ticks, which
// is the body the bot keeps in sync.
func (h *harness) body(id int64) string {
	h.t.Helper()
	req := h.request(id)
	s := h.sop
	if other, ok := h.engine.Library.Get(req.SOPID); ok {
		s = other
	}
	_, body := bot.RenderIssue(s, req, fmt.Sprintf("R-%d", id), h.items(id), h.dir, nil)
	return body
}

// edit returns base with the given boxes set to checked.
func (h *harness) edit(base string, checked bool, keys ...string) string {
	h.t.Helper()
	body := base
	for _, key := range keys {
		var changed bool
		body, changed = sop.SetChecked(body, key, checked)
		require.True(h.t, changed, "box %s flips in the body", key)
	}
	return body
}

// editBody handles an edit of issue number 1 from oldBody to newBody by
// login.
func (h *harness) editBody(login, oldBody, newBody string) {
	h.t.Helper()
	h.handle(bot.ChecklistEdited{DeliveryID: h.deliveryID(), Actor: h.actor(login), Issue: 1,
		OldBody: oldBody, NewBody: newBody, HasOld: true})
}

// tick has login tick the boxes, one edit per box, starting from the body
// that matches the store.
func (h *harness) tick(login string, keys ...string) {
	h.t.Helper()
	h.setBoxes(login, true, keys...)
}

func (h *harness) untick(login string, keys ...string) {
	h.t.Helper()
	h.setBoxes(login, false, keys...)
}

func (h *harness) setBoxes(login string, checked bool, keys ...string) {
	h.t.Helper()
	id := h.requestIDOfIssue(1)
	for _, key := range keys {
		base := h.body(id)
		h.editBody(login, base, h.edit(base, checked, key))
	}
}

func (h *harness) requestIDOfIssue(issue int) int64 {
	h.t.Helper()
	var id int64
	err := h.db.InTx(h.ctx, func(tx *sql.Tx) error {
		req, err := h.db.RequestByIssue(h.ctx, tx, issue)
		id = req.ID
		return err
	})
	require.NoError(h.t, err)
	return id
}

func (h *harness) request(id int64) store.Request {
	h.t.Helper()
	var req store.Request
	err := h.db.InTx(h.ctx, func(tx *sql.Tx) error {
		var err error
		req, err = h.db.GetRequest(h.ctx, tx, id)
		return err
	})
	require.NoError(h.t, err)
	return req
}

func (h *harness) items(id int64) map[string]store.Item {
	h.t.Helper()
	var items map[string]store.Item
	err := h.db.InTx(h.ctx, func(tx *sql.Tx) error {
		var err error
		items, err = h.db.Items(h.ctx, tx, id)
		return err
	})
	require.NoError(h.t, err)
	return items
}

func (h *harness) signoffs(id int64) []store.Signoff {
	h.t.Helper()
	var signoffs []store.Signoff
	err := h.db.InTx(h.ctx, func(tx *sql.Tx) error {
		var err error
		signoffs, err = h.db.ActiveSignoffs(h.ctx, tx, id)
		return err
	})
	require.NoError(h.t, err)
	return signoffs
}

func (h *harness) audit(id int64) []store.AuditEntry {
	h.t.Helper()
	entries, err := h.db.Audit(h.ctx, id)
	require.NoError(h.t, err)
	return entries
}

// auditActions lists the audit actions of a request as "actor action".
func (h *harness) auditActions(id int64) []string {
	h.t.Helper()
	var out []string
	for _, e := range h.audit(id) {
		out = append(out, e.Actor+" "+e.Action)
	}
	return out
}

// lastAudit returns the newest audit row of a request.
func (h *harness) lastAudit(id int64) store.AuditEntry {
	h.t.Helper()
	entries := h.audit(id)
	require.NotEmpty(h.t, entries, "request %d has audit rows", id)
	return entries[len(entries)-1]
}

// assertReverted checks that an edit was set back: the item keeps its
// stored state, a sync for exactly that key was enqueued and the comment
// contains want.
func (h *harness) assertReverted(id int64, mark int, key string, wantChecked bool, want string) {
	h.t.Helper()
	assert.Equal(h.t, wantChecked, h.items(id)[key].Checked, "stored state of %s", key)
	syncs := jobsOf[bot.SyncItemsArgs](h.queue, mark)
	if assert.Len(h.t, syncs, 1, "sync jobs") {
		assert.Equal(h.t, []string{key}, syncs[0].Keys, "synced keys")
	}
	comments := jobsOf[bot.CommentArgs](h.queue, mark)
	if assert.Len(h.t, comments, 1, "comments") {
		assert.Contains(h.t, comments[0].Body, want, "comment")
	}
}

// sectionItems lists the item keys of a section of the SOP.
func (h *harness) sectionItems(key string) []string {
	h.t.Helper()
	sec, ok := h.sop.Section(key)
	require.True(h.t, ok, "section %s exists", key)
	var keys []string
	for _, item := range sec.Items {
		keys = append(keys, item.Key)
	}
	return keys
}

func containsLine(lines []string, want string) bool {
	for _, line := range lines {
		if strings.Contains(line, want) {
			return true
		}
	}
	return false
}
