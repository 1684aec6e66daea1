package infra_test

import (
	"database/sql"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/infra"
	"github.com/sopbot/sopbot/bot/store"
)

// openedBy records the "request opened" audit row of the test's request
// with the given detail, as the code that opened it does.
func (e *retrainEnv) openedBy(detail map[string]any) {
	e.t.Helper()
	data, err := json.Marshal(detail)
	require.NoError(e.t, err)
	err = e.db.InTx(e.ctx, func(tx *sql.Tx) error {
		return e.db.AppendAudit(e.ctx, tx, store.AuditEntry{RequestID: e.req.ID, Actor: bot.BotActor, Action: "request opened", Detail: string(data)})
	})
	require.NoError(e.t, err)
}

// openedBySchedule records that the retraining check opened the request,
// 30 days after the last retraining request opened.
func (e *retrainEnv) openedBySchedule() {
	e.t.Helper()
	e.openedBy(bot.ScheduledOpening{Every: 720 * time.Hour, Since: "the last retraining request opened",
		SinceAt: retrainOpened.Add(-720*time.Hour - 6*time.Hour)}.AuditDetail())
}

func TestDriftRecordScheduledWithoutReport(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.openedBySchedule()

	result := e.finish(bot.ActionDriftRecord)

	assert.Empty(t, result.Failed, "a scheduled retraining needs no drift report")
	assert.Nil(t, result.Ticks, "every item of the rule is ticked")
	assert.Contains(t, result.Summary, "sopbot's retraining check opened it without drift: the scheduled retraining came due on 2026-12-04, "+
		"30 days after the last retraining request opened on 2026-11-04, as `retraining.models.fraud-detector.every` sets, "+
		"and no drift report on the model is stored")
	assert.Contains(t, result.Summary, "there are no scores to record")
	assert.Contains(t, result.Summary, "`kfp-retrain` trains on the data from 2026-11-04T09:30:00Z to 2026-12-04T09:30:00Z")
	assert.NotContains(t, result.Summary, "| feature |", "no scores table")
	got := result.Result.(infra.DriftRecordResult)
	assert.Equal(t, infra.DriftSourceNone, got.Source)
	assert.Zero(t, got.Reports)
	assert.Empty(t, got.Drifted)
	require.NotNil(t, got.Schedule)
	assert.Equal(t, "720h0m0s", got.Schedule.Every)
	assert.Equal(t, "30 days", got.Schedule.Period)
	assert.True(t, got.Schedule.DueAt.Equal(retrainOpened.Add(-6*time.Hour)), "due %s", got.Schedule.DueAt)
	assert.True(t, got.Schedule.WindowEnd.Equal(retrainOpened), "window end %s", got.Schedule.WindowEnd)

	encoded, err := json.Marshal(got)
	require.NoError(t, err)
	assert.NotContains(t, string(encoded), "reported_at", "a record without a report has no report time")
}

func TestScheduledRetrainingRunsWithoutReport(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.openedBySchedule()
	e.finish(bot.ActionDriftRecord)
	e.policy(func(m *config.RetrainingModel) { m.WindowDays = 14 })

	result := e.finish(bot.ActionKFPRetrain)

	assert.Empty(t, result.Failed)
	created := e.kfp.Created()
	require.Len(t, created, 1)
	assert.Equal(t, "2026-11-20T09:30:00Z", created[0].Parameters["window_start"], "windowDays of the model's policy")
	assert.Equal(t, "2026-12-04T09:30:00Z", created[0].Parameters["window_end"], "up to the moment the request opened")
	assert.Contains(t, result.Summary, "the past 14 days")
}

func TestDriftRecordScheduledWithLatestReport(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.openedBySchedule()
	e.storeScores(retrainOpened.Add(-24*time.Hour), 0, store.DriftScore{Feature: "tokens", PSI: ptr(0.07)})

	result := e.finish(bot.ActionDriftRecord)

	assert.Empty(t, result.Failed)
	assert.Contains(t, result.Summary, "the scheduled retraining came due on 2026-12-04")
	assert.Contains(t, result.Summary, "and the newest drift report, of 2026-12-03T09:30:00Z, is below")
	assert.Contains(t, result.Summary, "| `tokens` | — | — | 0.07 | — | no |")
	got := result.Result.(infra.DriftRecordResult)
	assert.Equal(t, infra.DriftSourceLatest, got.Source)
	require.NotNil(t, got.Schedule)
}

func TestDriftRecordDriftOpenedKeepsScores(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.openedBy(map[string]any{"via": "drift report", "summary": "1 of 2 feature(s) drifted: tokens"})
	e.storeScores(retrainOpened, e.req.ID, driftedScores()...)

	result := e.finish(bot.ActionDriftRecord)

	assert.Empty(t, result.Failed)
	assert.Contains(t, result.Summary, "the drift report of 2026-12-04T09:30:00Z found 1 of 2 feature(s) drifted: tokens")
	assert.Contains(t, result.Summary, "| `tokens` | 0.3 | 0.001 | 0.31 | — | **yes** |")
	assert.NotContains(t, result.Summary, "retraining check")
	got := result.Result.(infra.DriftRecordResult)
	assert.Equal(t, infra.DriftSourceRequest, got.Source)
	assert.Nil(t, got.Schedule)
}

func TestDriftRecordBotRequestWithoutScheduleFails(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.openedBy(map[string]any{"via": "drift check"})

	result := e.finish(bot.ActionDriftRecord)

	assert.Contains(t, result.Failed, "no drift report on `fraud-detector` is stored", "only the retraining check's requests go without a report")
}
