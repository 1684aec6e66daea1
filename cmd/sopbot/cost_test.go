package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/handlers"
	"github.com/sopbot/sopbot/internal/demo"
	"github.com/sopbot/sopbot/sop"
)

// discardQueue is a bot.Enqueuer that drops every job, so a benchmark
// measures the engine's decision and not the effects it schedules.
type discardQueue struct{}

func (discardQueue) InsertTx(context.Context, *sql.Tx, river.JobArgs, *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return &rivertype.JobInsertResult{Job: &rivertype.JobRow{}}, nil
}

// costFixture is an engine over a database of open SOP-02 requests, with
// the two bodies of issue number 1 that one tick of s2-1 goes between.
type costFixture struct {
	db         *store.DB
	engine     *bot.Engine
	normalizer *handlers.Normalizer
	unticked   string
	ticked     string
}

// BenchmarkEventCost processes one issues.edited delivery (bob ticks or
// unticks s2-1 of issue number 1) the way the worker does: store, load and
// order-check, normalize, engine decision and mark processed. It runs with
// 10 and with 100,000 open requests stored.
func BenchmarkEventCost(b *testing.B) {
	for _, requests := range []int{10, 100_000} {
		fixture := newCostFixture(b, requests)
		b.Run(fmt.Sprintf("requests=%d", requests), func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				oldBody, newBody := fixture.unticked, fixture.ticked
				if i%2 == 1 {
					oldBody, newBody = newBody, oldBody
				}
				fixture.process(b, ctx, fmt.Sprintf("github:cost-%d-%d", requests, i), oldBody, newBody)
			}
		})
	}
}

func newCostFixture(b *testing.B, requests int) *costFixture {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "cost.db"))
	require.NoError(b, err)
	b.Cleanup(func() { _ = db.Close() })
	lib, err := sop.Embedded()
	require.NoError(b, err)
	s, ok := lib.Get("SOP-02")
	require.True(b, ok, "the embedded library has SOP-02")

	dir := bot.NewDirectory(costConfig(), nil)
	engine := &bot.Engine{DB: db, Library: lib, Grammar: bot.NewGrammar(lib), Directory: dir, Queue: discardQueue{},
		Settings: bot.Settings{Channel: demo.Channel, Repository: demo.Owner + "/" + demo.Repo}, Log: slog.New(slog.DiscardHandler)}
	f := &costFixture{db: db, engine: engine, normalizer: &handlers.Normalizer{Directory: dir, BotLogin: demo.BotLogin}}

	id := f.openRequest(b, ctx)
	req, items := f.load(b, ctx, id)
	_, f.unticked = bot.RenderIssue(s, req, fmt.Sprintf("R-%d", id), items, dir, nil)
	var changed bool
	f.ticked, changed = sop.SetChecked(f.unticked, "s2-1", true)
	require.True(b, changed, "s2-1 starts unticked")
	f.cloneRequest(b, ctx, id, requests-1)

	f.process(b, ctx, "github:cost-check-tick", f.unticked, f.ticked)
	_, items = f.load(b, ctx, id)
	require.True(b, items["s2-1"].Checked, "bob's tick of s2-1 is recorded, not set back")
	f.process(b, ctx, "github:cost-check-untick", f.ticked, f.unticked)
	_, items = f.load(b, ctx, id)
	require.False(b, items["s2-1"].Checked, "bob's untick of s2-1 revokes it")
	return f
}

func costConfig() config.Config {
	return config.Config{
		Roles: map[string]config.Holders{
			"ML platform engineer":  {GitHub: []string{"bob"}},
			"senior data scientist": {GitHub: []string{"carol"}},
			"ML lead":               {GitHub: []string{"dana"}},
			"compliance officer":    {GitHub: []string{"erin"}},
		},
		People: []config.Person{{GitHub: "alice", Slack: "U0ALICE"}},
	}
}

// openRequest opens the SOP-02 request of issue number 1 through the engine and
// returns its id.
func (f *costFixture) openRequest(b *testing.B, ctx context.Context) int64 {
	b.Helper()
	origin := store.Origin{Source: "slack", ResponseURL: "https://hooks.slack.com/commands/T0/1/x", Channel: demo.Channel}
	command := bot.CommandIssued{DeliveryID: "slack:cost-open", Actor: f.engine.Directory.Resolve(ctx, 0, "alice"),
		Line: "promote model " + demo.Model + " 3", Origin: origin}
	require.NoError(b, f.db.InTx(ctx, func(tx *sql.Tx) error { return f.engine.Handle(ctx, tx, command) }))
	var id int64
	require.NoError(b, f.db.SQL.QueryRowContext(ctx, `SELECT id FROM requests`).Scan(&id))
	opened := bot.IssueOpened{RequestID: id, Number: 1, URL: "https://github.com/acme/ml-requests/issues/1"}
	require.NoError(b, f.db.InTx(ctx, func(tx *sql.Tx) error { return f.engine.Handle(ctx, tx, opened) }))
	return id
}

func (f *costFixture) load(b *testing.B, ctx context.Context, id int64) (store.Request, map[string]store.Item) {
	b.Helper()
	var req store.Request
	var items map[string]store.Item
	require.NoError(b, f.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if req, err = f.db.GetRequest(ctx, tx, id); err != nil {
			return err
		}
		items, err = f.db.Items(ctx, tx, id)
		return err
	}))
	return req, items
}

// cloneRequest stores n copies of request id and its items in one
// transaction, each for its own target and issue number from 2 on.
func (f *costFixture) cloneRequest(b *testing.B, ctx context.Context, id int64, n int) {
	b.Helper()
	if n <= 0 {
		return
	}
	require.NoError(b, f.db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `WITH RECURSIVE seq(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
			INSERT INTO requests (sop_id, sop_revision, sop_source, target, state, params, requester_login,
				requester_slack, origin, installation_id, issue_number, issue_url, reason, result, revision,
				queued_behind, created_at, updated_at)
			SELECT sop_id, sop_revision, sop_source, target || '#' || seq.i, state, params, requester_login,
				requester_slack, origin, installation_id, seq.i, 'https://github.com/acme/ml-requests/issues/' || seq.i,
				reason, result, revision, queued_behind, created_at, updated_at
			FROM requests, seq WHERE requests.id = ?`, n+1, id)
		if err != nil {
			return fmt.Errorf("cloning request %d: %w", id, err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO items (request_id, key, section, checked, by_login, by_member, at,
				delivery_id, evidence, check_state)
			SELECT r.id, i.key, i.section, i.checked, i.by_login, i.by_member, i.at, i.delivery_id, i.evidence, i.check_state
			FROM requests r JOIN items i ON i.request_id = ? WHERE r.id != ?`, id, id)
		if err != nil {
			return fmt.Errorf("cloning items of request %d: %w", id, err)
		}
		return nil
	}))
	var stored int
	require.NoError(b, f.db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM requests WHERE issue_number IS NOT NULL`).Scan(&stored))
	require.Equal(b, n+1, stored, "open requests with an issue number")
}

// process stores one issues.edited delivery and processes it in the
// worker's three transactions.
func (f *costFixture) process(b *testing.B, ctx context.Context, id, oldBody, newBody string) {
	payload, err := json.Marshal(map[string]any{
		"action":       "edited",
		"issue":        map[string]any{"number": 1, "body": newBody},
		"changes":      map[string]any{"body": map[string]any{"from": oldBody}},
		"sender":       map[string]any{"login": "bob", "type": "User"},
		"installation": map[string]any{"id": demo.InstallationID},
		"repository":   map[string]any{"full_name": demo.Owner + "/" + demo.Repo},
	})
	require.NoError(b, err)
	d := store.Delivery{ID: id, Source: "github", Event: "issues", Action: "edited", Subject: "issue:1",
		InstallationID: demo.InstallationID, Payload: payload}
	require.NoError(b, f.db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := f.db.InsertDelivery(ctx, tx, d)
		return err
	}))

	var stored store.Delivery
	require.NoError(b, f.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		stored, err = f.db.GetDelivery(ctx, tx, id)
		return err
	}))
	_, err = f.db.EarlierPendingIDs(ctx, id, stored.Subject)
	require.NoError(b, err)
	ev, skipped, err := f.normalizer.Normalize(ctx, d)
	require.NoError(b, err)
	require.NotNil(b, ev, "the edit is an event, not skipped: %s", skipped)
	require.NoError(b, f.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := f.engine.Handle(ctx, tx, ev); err != nil {
			return err
		}
		return f.db.MarkProcessed(ctx, tx, id, "handled")
	}))
}
