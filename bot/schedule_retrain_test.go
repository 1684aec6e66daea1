package bot

import (
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

// newRetrainingHarness is a schedule harness whose scheduler has these
// retraining policies.
func newRetrainingHarness(t *testing.T, cfg config.Schedules, models map[string]config.RetrainingModel) *scheduleHarness {
	t.Helper()
	h := newScheduleHarness(t, cfg, nil, nil)
	settings := h.sched.settings
	settings.Retraining = models
	h.sched = NewScheduler(h.engine, settings, nil, nil, h.sched.Log)
	h.workers.Scheduler = h.sched
	return h
}

func (h *scheduleHarness) retrainingSOP() *sop.SOP {
	h.t.Helper()
	s, ok := h.engine.Library.Get(retrainingSOP)
	require.True(h.t, ok)
	return s
}

// openRetraining opens a retraining request of model at the given time
// and leaves it in state.
func (h *scheduleHarness) openRetraining(model string, at time.Time, state string) {
	h.t.Helper()
	now := h.now
	h.now = at
	defer func() { h.now = now }()
	err := h.db.InTx(h.ctx, func(tx *sql.Tx) error {
		t := &txn{ctx: h.ctx, tx: tx, deliveryID: "test"}
		id, err := h.sched.openBotRequest(t, h.retrainingSOP(), map[string]string{"model": model}, "retrain:"+model, "", map[string]any{})
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(h.ctx, `UPDATE requests SET state = ? WHERE id = ?`, state, id)
		return err
	})
	require.NoError(h.t, err)
}

// runRetrainingCheck ticks at now and runs the check queued for the day
// of now twice, as a retry would.
func (h *scheduleHarness) runRetrainingCheck(now time.Time) {
	h.t.Helper()
	h.now = now
	h.tick()
	var run ScheduledRun
	for _, job := range h.jobs() {
		if job.Kind == (RetrainingCheckArgs{}).Kind() && job.Run.Period == now.Format(time.DateOnly) {
			run = job.Run
		}
	}
	require.NotEmpty(h.t, run.Schedule, "a retraining check is queued for %s", now.Format(time.DateOnly))
	args := RetrainingCheckArgs{run}
	require.NoError(h.t, h.workers.retrainingCheck(h.ctx, job(args.Kind(), args)))
	require.NoError(h.t, h.workers.retrainingCheck(h.ctx, job(args.Kind(), args)), "a retry")
}

// retrainings returns the retraining requests by model, newest last.
func (h *scheduleHarness) retrainings() map[string][]store.Request {
	h.t.Helper()
	rows, err := h.db.SQL.QueryContext(h.ctx, `SELECT id FROM requests WHERE sop_id = ? ORDER BY id`, retrainingSOP)
	require.NoError(h.t, err)
	var ids []int64
	for rows.Next() {
		var id int64
		require.NoError(h.t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(h.t, rows.Err())
	require.NoError(h.t, rows.Close())
	out := map[string][]store.Request{}
	err = h.db.InTx(h.ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			req, err := h.db.GetRequest(h.ctx, tx, id)
			if err != nil {
				return err
			}
			out[req.Params["model"]] = append(out[req.Params["model"]], req)
		}
		return nil
	})
	require.NoError(h.t, err)
	return out
}

func everyDays(days int) config.RetrainingModel {
	return config.RetrainingModel{Every: (time.Duration(days) * 24 * time.Hour).String()}
}

func TestRetrainingCheckOpensDueModels(t *testing.T) {
	h := newRetrainingHarness(t, config.Schedules{}, map[string]config.RetrainingModel{
		"fraud-detector": everyDays(30), // no history: due 30 days after the first tick
		"churn":          everyDays(7),  // no history: due 7 days after the first tick
		"pricing":        everyDays(30), // last retraining opened on 1 November and is done
		"legacy":         everyDays(30), // first drift report on 1 October, no request
		"search":         everyDays(30), // a retraining opened on 1 November is still open
		"ranker":         {},            // retrains on drift only
	})
	h.openRetraining("pricing", utc(2026, 11, 1, 0), StateDone)
	h.openRetraining("search", utc(2026, 11, 1, 0), StateOpening)
	err := h.db.InTx(h.ctx, func(tx *sql.Tx) error {
		return h.db.InsertDriftScores(h.ctx, tx, utc(2026, 10, 1, 0), []store.DriftScore{{Model: "legacy", Feature: "age", PSI: new(0.01)}})
	})
	require.NoError(t, err)

	h.tick()
	assert.Equal(t, utc(2026, 12, 16, 0), h.schedule(scheduleRetraining).NextAt, "daily check")
	assert.Equal(t, scheduleStart, h.schedule(retrainingSeenPrefix+"fraud-detector").LastAt, "first seen")
	assert.True(t, h.schedule(retrainingSeenPrefix+"fraud-detector").NextAt.IsZero(), "a seen row never fires")
	_, err = h.db.GetSchedule(h.ctx, h.db.SQL, retrainingSeenPrefix+"ranker")
	assert.ErrorIs(t, err, store.ErrNotFound, "a model without a schedule is not tracked")
	assert.Empty(t, h.runsOf(), "nothing fires at the first tick")

	h.runRetrainingCheck(utc(2026, 12, 16, 0))
	opened := h.retrainings()
	require.Equal(t, 2, len(opened["pricing"]), "pricing is due again")
	require.Equal(t, 1, len(opened["legacy"]), "legacy is due since its first report")
	assert.Equal(t, 1, len(opened["search"]), "search has an open request")
	assert.Zero(t, len(opened["churn"]), "churn is not due yet")
	assert.Zero(t, len(opened["fraud-detector"]), "fraud-detector is not due yet")
	assert.Zero(t, len(opened["ranker"]), "ranker retrains on drift only")

	pricing := opened["pricing"][1]
	assert.Equal(t, BotActor, pricing.RequesterLogin, "requester")
	assert.Equal(t, OriginSchedule, pricing.Origin.Source, "origin")
	assert.Equal(t, "retrain:pricing", pricing.Target, "target")
	assert.Equal(t, map[string]string{"model": "pricing"}, pricing.Params, "params")
	assert.Equal(t, "🔁 Opened by sopbot's retraining check: the **scheduled retraining** of `pricing` is due, without drift. "+
		"`retraining.models.pricing.every` is 30 days, and the last retraining request opened on 2026-11-01, 45 days ago.", pricing.Origin.Note, "note")
	assert.Contains(t, opened["legacy"][0].Origin.Note, "and the first drift report arrived on 2026-10-01, 76 days ago.", "legacy note")
	entries, err := h.db.AuditByAction(h.ctx, h.db.SQL, pricing.ID, "request opened")
	require.NoError(t, err)
	require.Len(t, entries, 1, "one audit row")
	assert.Contains(t, entries[0].Detail, `"trigger":"scheduled retraining"`, "audit detail")
	assert.Contains(t, entries[0].Detail, `"via":"retraining schedule"`, "audit detail")

	h.runRetrainingCheck(utc(2026, 12, 23, 0))
	opened = h.retrainings()
	require.Equal(t, 1, len(opened["churn"]), "churn is due 7 days after it was first seen")
	assert.Contains(t, opened["churn"][0].Origin.Note, "and sopbot first saw the model in retraining.models on 2026-12-15, 7 days ago.", "churn note")
	assert.Zero(t, len(opened["fraud-detector"]), "fraud-detector is still not due")

	h.runRetrainingCheck(utc(2027, 1, 15, 0))
	opened = h.retrainings()
	assert.Equal(t, 1, len(opened["fraud-detector"]), "fraud-detector is due 30 days after it was first seen")
	assert.Equal(t, 2, len(opened["pricing"]), "pricing's scheduled request is still open")
	assert.Equal(t, 1, len(opened["legacy"]), "legacy's scheduled request is still open")
	assert.Equal(t, 1, len(opened["search"]), "search's request is still open")

	var opens int
	for _, job := range h.jobs() {
		if job.Kind == (OpenIssueArgs{}).Kind() {
			opens++
		}
	}
	assert.Equal(t, 6, opens, "an issue opens for each request, the two opened by the test included")
}

func TestRetrainingCheckCountsFromLastRequest(t *testing.T) {
	h := newRetrainingHarness(t, config.Schedules{}, map[string]config.RetrainingModel{"fraud-detector": everyDays(30)})
	h.tick()
	h.openRetraining("fraud-detector", utc(2026, 12, 20, 12), StateRejected)

	h.runRetrainingCheck(utc(2027, 1, 15, 0))
	assert.Equal(t, 1, len(h.retrainings()["fraud-detector"]), "30 days since the first tick, but not since the last request")

	h.runRetrainingCheck(utc(2027, 1, 19, 0))
	assert.Equal(t, 1, len(h.retrainings()["fraud-detector"]), "29.5 days since the last request")

	h.runRetrainingCheck(utc(2027, 1, 20, 0))
	opened := h.retrainings()["fraud-detector"]
	require.Equal(t, 2, len(opened), "30.5 days since the last request")
	assert.Contains(t, opened[1].Origin.Note, "the last retraining request opened on 2026-12-20, 30 days ago.")
}

func TestRetrainingCheckRecordsModelSeenLate(t *testing.T) {
	h := newRetrainingHarness(t, config.Schedules{}, map[string]config.RetrainingModel{"fraud-detector": everyDays(30)})
	def, ok := h.sched.plan.byName(scheduleRetraining)
	require.True(t, ok, "planned")
	start := def.period.start(h.now)
	args := RetrainingCheckArgs{ScheduledRun{Schedule: def.name, Period: def.period.key(start), Start: start}}
	require.NoError(t, h.workers.retrainingCheck(h.ctx, job(args.Kind(), args)))
	assert.Zero(t, len(h.retrainings()), "a model not seen before is not due")
	assert.Equal(t, scheduleStart, h.schedule(retrainingSeenPrefix+"fraud-detector").LastAt, "the check records it")
}

func TestRetrainingCheckPlannedOnlyWhenNeeded(t *testing.T) {
	off := false
	cases := []struct {
		name    string
		cfg     config.Schedules
		models  map[string]config.RetrainingModel
		planned bool
	}{
		{"a model with a schedule", config.Schedules{}, map[string]config.RetrainingModel{"fraud-detector": everyDays(30)}, true},
		{"no model with a schedule", config.Schedules{}, map[string]config.RetrainingModel{"fraud-detector": {}}, false},
		{"no retraining models", config.Schedules{}, nil, false},
		{"switched off", config.Schedules{Retraining: config.Switch{Enabled: &off}}, map[string]config.RetrainingModel{"fraud-detector": everyDays(30)}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newRetrainingHarness(t, tc.cfg, tc.models)
			_, ok := h.sched.plan.byName(scheduleRetraining)
			assert.Equal(t, tc.planned, ok, "planned")
			h.tick()
			_, err := h.db.GetSchedule(h.ctx, h.db.SQL, retrainingSeenPrefix+"fraud-detector")
			assert.Equal(t, tc.planned, err == nil, "first sight recorded")
		})
	}
}

func TestRetrainingCheckOfUnplannedScheduleCancelled(t *testing.T) {
	off := false
	h := newRetrainingHarness(t, config.Schedules{Retraining: config.Switch{Enabled: &off}},
		map[string]config.RetrainingModel{"fraud-detector": everyDays(30)})
	args := RetrainingCheckArgs{ScheduledRun{Schedule: scheduleRetraining, Period: "2026-12-16"}}
	err := h.workers.retrainingCheck(h.ctx, job(args.Kind(), args))
	assert.Error(t, err, "cancelled")
	assert.Zero(t, len(h.retrainings()), "nothing opened")
}

func TestEveryText(t *testing.T) {
	assert.Equal(t, "30 days", everyText(720*time.Hour))
	assert.Equal(t, "1 day", everyText(24*time.Hour))
	assert.Equal(t, "36h0m0s", everyText(36*time.Hour))
}
