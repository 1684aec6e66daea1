package infra_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/infra"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/kfp"
	"github.com/sopbot/sopbot/integrations/kfp/kfpfake"
	"github.com/sopbot/sopbot/integrations/mlflow"
	"github.com/sopbot/sopbot/integrations/mlflow/mlflowfake"
)

// retrainOpened is when the test's retraining request opened.
var retrainOpened = time.Date(2026, 12, 4, 9, 30, 0, 0, time.UTC)

// retrainEnv runs the retraining actions of one SOP-03 request against
// kfpfake and mlflowfake on loopback, keeping progress and results between
// steps as the worker does.
type retrainEnv struct {
	t       *testing.T
	ctx     context.Context
	db      *store.DB
	kfp     *kfpfake.Fake
	mlflow  *mlflowfake.Fake
	client  *mlflow.Client
	deps    infra.RetrainDeps
	req     store.Request
	runs    map[string]store.ActionRun
	now     time.Time
	queued  time.Time
	actions map[string]bot.InfraAction
}

func newRetrainEnv(t *testing.T, requester string) *retrainEnv {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "bot.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	db.SetClock(func() time.Time { return retrainOpened })

	pipelines := kfpfake.New()
	// Runs are created at the step's time, not the wall clock's, so the
	// pipeline timeout is measured on one clock.
	pipelines.SetClock(func() time.Time { return retrainOpened.Add(time.Minute) })
	pipelines.Start()
	t.Cleanup(pipelines.Close)
	kfpClient, err := kfp.New(kfp.Config{BaseURL: pipelines.URL(), UIURL: "https://kfp.example/pipeline"})
	require.NoError(t, err)

	registry := mlflowfake.New()
	registry.Start()
	t.Cleanup(registry.Close)
	mlflowClient, err := mlflow.New(mlflow.Config{BaseURL: registry.URL()})
	require.NoError(t, err)

	req := store.Request{SOPID: "SOP-03", Target: "retrain:fraud-detector", State: "in-progress",
		Params: map[string]string{"model": "fraud-detector"}, RequesterLogin: requester}
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		id, err := db.InsertRequest(ctx, tx, req)
		if err != nil {
			return err
		}
		if err := db.SetIssue(ctx, tx, id, 1, "https://github.example/acme/ml-requests/issues/1"); err != nil {
			return err
		}
		req, err = db.GetRequest(ctx, tx, id)
		return err
	})
	require.NoError(t, err)

	e := &retrainEnv{t: t, ctx: ctx, db: db, kfp: pipelines, mlflow: registry, client: mlflowClient, req: req,
		runs: map[string]store.ActionRun{}, now: retrainOpened.Add(time.Minute), queued: retrainOpened}
	e.deps = infra.RetrainDeps{
		Scores: infra.StoredDriftScores(db), KFP: kfpClient, Registry: mlflowClient,
		Retraining: config.Retraining{ReferenceTag: "sopbot.reference_dataset", Models: map[string]config.RetrainingModel{
			"fraud-detector": {
				Pipeline:   config.Pipeline{PipelineID: "pipe-1", PipelineVersionID: "ver-3", Parameters: map[string]any{"epochs": 10, "request": "overridden"}},
				WindowDays: 30, PromoteTo: "Production", RegistrationTimeout: "1h",
			},
		}},
		Thresholds: func(string) config.DriftThresholds { return config.DriftThresholds{PSI: 0.2, KSPValue: 0.01} },
		Metrics: func(string) map[string]config.Threshold {
			return map[string]config.Threshold{"accuracy": {Min: ptr(0.9), MaxRegression: ptr(0.01)}}
		},
		Alias: func(string, string) (string, bool) { return "", false },
		Poll:  time.Millisecond,
	}
	e.build()
	return e
}

func ptr(v float64) *float64 { return &v }

func (e *retrainEnv) build() { e.actions = infra.RetrainActions(e.deps) }

// policy edits the model's retraining policy.
func (e *retrainEnv) policy(edit func(*config.RetrainingModel)) {
	m := e.deps.Retraining.Models["fraud-detector"]
	edit(&m)
	e.deps.Retraining.Models["fraud-detector"] = m
	e.build()
}

// step runs one step of an action and saves its progress, or its result
// once it ends, as the worker does.
func (e *retrainEnv) step(name string) (bot.StepResult, error) {
	e.t.Helper()
	action, ok := e.actions[name]
	require.True(e.t, ok, "action %s is configured", name)
	run := e.runs[name]
	run.Action, run.RequestID, run.QueuedAt = name, e.req.ID, e.queued
	result, err := action.Step(e.ctx, bot.ActionInput{Request: e.req, Run: run, Runs: e.runs, Now: e.now})
	if err != nil {
		return result, err
	}
	if result.Wait > 0 {
		if result.Progress != nil {
			data, err := json.Marshal(result.Progress)
			require.NoError(e.t, err)
			run.Progress = string(data)
		}
	} else {
		data, err := json.Marshal(result.Result)
		require.NoError(e.t, err)
		run.Result = string(data)
		run.State = store.RunSucceeded
		if result.Failed != "" {
			run.State = store.RunFailed
		}
	}
	e.runs[name] = run
	return result, nil
}

// finish steps an action until it ends.
func (e *retrainEnv) finish(name string) bot.StepResult {
	e.t.Helper()
	for range 20 {
		result, err := e.step(name)
		require.NoError(e.t, err, "step of %s", name)
		if result.Wait == 0 {
			return result
		}
	}
	e.t.Fatalf("%s did not end in 20 steps", name)
	return bot.StepResult{}
}

// storeScores stores one report of scores at the given time.
func (e *retrainEnv) storeScores(at time.Time, requestID int64, scores ...store.DriftScore) {
	e.t.Helper()
	for i := range scores {
		scores[i].Model, scores[i].RequestID = "fraud-detector", requestID
	}
	err := e.db.InTx(e.ctx, func(tx *sql.Tx) error { return e.db.InsertDriftScores(e.ctx, tx, at, scores) })
	require.NoError(e.t, err)
}

func driftedScores() []store.DriftScore {
	return []store.DriftScore{
		{Feature: "amount", KS: ptr(0.02), KSPValue: ptr(0.6), PSI: ptr(0.01)},
		{Feature: "tokens", KS: ptr(0.3), KSPValue: ptr(0.001), PSI: ptr(0.31), Drifted: true},
	}
}

func (e *retrainEnv) recordResult(name string, result any) {
	e.t.Helper()
	data, err := json.Marshal(result)
	require.NoError(e.t, err)
	e.runs[name] = store.ActionRun{Action: name, State: store.RunSucceeded, Result: string(data)}
}

func TestDriftRecordPostsOpeningReport(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.storeScores(retrainOpened, e.req.ID, driftedScores()...)
	e.storeScores(retrainOpened.Add(time.Hour), e.req.ID, driftedScores()...)

	result := e.finish(bot.ActionDriftRecord)
	assert.Empty(t, result.Failed)
	assert.Nil(t, result.Ticks, "every item of the rule is ticked")
	assert.Contains(t, result.Summary, "the drift report of 2026-12-04T09:30:00Z found 1 of 2 feature(s) drifted: tokens")
	assert.Contains(t, result.Summary, "| `tokens` | 0.3 | 0.001 | 0.31 | — | **yes** |")
	assert.Contains(t, result.Summary, "| `amount` | 0.02 | 0.6 | 0.01 | — | no |")
	assert.Contains(t, result.Summary, "1 later report(s) were added")
	assert.Contains(t, result.Summary, "`sopbot_drift_score`")
	got := result.Result.(infra.DriftRecordResult)
	assert.Equal(t, "request", got.Source)
	assert.Equal(t, 2, got.Reports)
	assert.Equal(t, []string{"tokens"}, got.Drifted)
}

func TestDriftRecordForCommandUsesLatestReport(t *testing.T) {
	e := newRetrainEnv(t, "alice")
	e.storeScores(retrainOpened.Add(-48*time.Hour), 0, store.DriftScore{Feature: "tokens", PSI: ptr(0.05)})
	e.storeScores(retrainOpened.Add(-24*time.Hour), 0, store.DriftScore{Feature: "tokens", PSI: ptr(0.07)})

	result := e.finish(bot.ActionDriftRecord)
	assert.Empty(t, result.Failed)
	assert.Contains(t, result.Summary, "@alice opened it with `/mlops retrain`; the newest drift report, of 2026-12-03T09:30:00Z, is below")
	assert.Contains(t, result.Summary, "| `tokens` | — | — | 0.07 | — | no |")
	assert.Equal(t, "latest", result.Result.(infra.DriftRecordResult).Source)
}

func TestDriftRecordForScheduleSaysSo(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.storeScores(retrainOpened, e.req.ID, store.DriftScore{Feature: "tokens", PSI: ptr(0.05)})
	result := e.finish(bot.ActionDriftRecord)
	assert.Contains(t, result.Summary, "the scheduled retraining date had passed")
}

func TestDriftRecordForRetrainingCheckUsesLatestReport(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.storeScores(retrainOpened.Add(-24*time.Hour), 0, store.DriftScore{Feature: "tokens", PSI: ptr(0.07)})

	result := e.finish(bot.ActionDriftRecord)
	assert.Empty(t, result.Failed)
	assert.Contains(t, result.Summary, "sopbot's retraining check opened it because the scheduled retraining date had passed, without drift; "+
		"the newest drift report, of 2026-12-03T09:30:00Z, is below")
	assert.Contains(t, result.Summary, "| `tokens` | — | — | 0.07 | — | no |")
	assert.Equal(t, "latest", result.Result.(infra.DriftRecordResult).Source)
}

func TestDriftRecordWithoutScoresFails(t *testing.T) {
	e := newRetrainEnv(t, "alice")
	result := e.finish(bot.ActionDriftRecord)
	assert.Contains(t, result.Failed, "no drift report on `fraud-detector` is stored")
	assert.Contains(t, result.Failed, "POST /api/v1/drift")
}

func TestKFPRetrainStartsOnceAndWaits(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	first, err := e.step(bot.ActionKFPRetrain)
	require.NoError(t, err)
	assert.Positive(t, first.Wait, "the action waits for the run")
	assert.Contains(t, first.Notice, "started KFP run [sopbot R-1 retrain fraud-detector](https://kfp.example/pipeline/#/runs/details/run-0001)")
	assert.Contains(t, first.Notice, "from 2026-11-04T09:30:00Z to 2026-12-04T09:30:00Z")

	created := e.kfp.Created()
	require.Len(t, created, 1)
	run := created[0]
	assert.Equal(t, "sopbot R-1 retrain fraud-detector", run.DisplayName)
	assert.Equal(t, "pipe-1", run.PipelineID)
	assert.Equal(t, "ver-3", run.PipelineVersionID)
	assert.Equal(t, "R-1", run.Parameters["request"], "the bot's parameter wins over the configured one")
	assert.Equal(t, "fraud-detector", run.Parameters["model"])
	assert.Equal(t, "2026-11-04T09:30:00Z", run.Parameters["window_start"])
	assert.Equal(t, "2026-12-04T09:30:00Z", run.Parameters["window_end"])
	assert.Equal(t, float64(10), run.Parameters["epochs"], "configured parameters are passed")

	result := e.finish(bot.ActionKFPRetrain)
	assert.Empty(t, result.Failed)
	assert.Contains(t, result.Summary, "**succeeded**")
	assert.Contains(t, result.Summary, "the past 30 days")
	got := result.Result.(infra.RetrainRun)
	assert.Equal(t, kfp.StateSucceeded, got.State)
	assert.Equal(t, "run-0001", got.RunID)
	assert.Len(t, e.kfp.Created(), 1, "polling creates nothing")
}

func TestKFPRetrainFindsRunAfterCrash(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	_, err := e.step(bot.ActionKFPRetrain)
	require.NoError(t, err)
	delete(e.runs, bot.ActionKFPRetrain) // the progress was never saved

	again, err := e.step(bot.ActionKFPRetrain)
	require.NoError(t, err)
	assert.Contains(t, again.Notice, "found the earlier KFP run")
	assert.Len(t, e.kfp.Created(), 1, "the run is created once")
}

func TestKFPRetrainFailureThenRetryStartsNewRun(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.kfp.SetOutcome("sopbot R-1 retrain fraud-detector", kfp.StateFailed)
	e.kfp.SetOutcome("sopbot R-1 retrain fraud-detector attempt 2", kfp.StateSucceeded)

	failed := e.finish(bot.ActionKFPRetrain)
	assert.Contains(t, failed.Failed, "ended FAILED")
	assert.Contains(t, failed.Failed, "a retry starts a new run")

	retried := e.finish(bot.ActionKFPRetrain)
	assert.Empty(t, retried.Failed)
	assert.Equal(t, 2, retried.Result.(infra.RetrainRun).Attempt)
	created := e.kfp.Created()
	require.Len(t, created, 2)
	assert.Equal(t, "sopbot R-1 retrain fraud-detector attempt 2", created[1].DisplayName)
}

func TestKFPRetrainTimeoutKeepsRunOnRetry(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.kfp.SetOutcome("", kfp.StateRunning)
	e.policy(func(m *config.RetrainingModel) { m.Pipeline.Timeout = "2h" })
	_, err := e.step(bot.ActionKFPRetrain)
	require.NoError(t, err)

	e.now = e.now.Add(3 * time.Hour)
	timedOut := e.finish(bot.ActionKFPRetrain)
	assert.Contains(t, timedOut.Failed, "is still RUNNING after 2h0m0s")

	e.queued = e.now // the retry queues the action again
	waiting, err := e.step(bot.ActionKFPRetrain)
	require.NoError(t, err)
	assert.Positive(t, waiting.Wait, "the retry waits for the same run")
	assert.Len(t, e.kfp.Created(), 1)
}

func TestKFPRetrainMissingRunStartsAgain(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.runs[bot.ActionKFPRetrain] = store.ActionRun{Progress: `{"run_id":"run-gone","attempt":1}`}
	gone := e.finish(bot.ActionKFPRetrain)
	assert.Contains(t, gone.Failed, "no longer exists")

	restarted, err := e.step(bot.ActionKFPRetrain)
	require.NoError(t, err)
	assert.Contains(t, restarted.Notice, "attempt 2")
}

func TestKFPRetrainNeedsPolicy(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.policy(func(m *config.RetrainingModel) { m.Pipeline.PipelineID = "" })
	_, err := e.step(bot.ActionKFPRetrain)
	require.Error(t, err)
	assert.True(t, bot.IsPermanentAction(err))
	assert.ErrorContains(t, err, "retraining.models.fraud-detector.pipeline.pipelineID is not set")

	delete(e.deps.Retraining.Models, "fraud-detector")
	e.build()
	_, err = e.step(bot.ActionKFPRetrain)
	assert.True(t, bot.IsPermanentAction(err))
	assert.ErrorContains(t, err, "add it under retraining.models")
}

func TestKFPRetrainAPIErrors(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.kfp.FailNext("POST runs", http.StatusBadRequest, 1)
	_, err := e.step(bot.ActionKFPRetrain)
	require.Error(t, err)
	assert.True(t, bot.IsPermanentAction(err), "a rejected create cannot succeed on a retry")

	e.kfp.FailNext("GET runs", http.StatusServiceUnavailable, 10)
	_, err = e.step(bot.ActionKFPRetrain)
	require.Error(t, err)
	assert.False(t, bot.IsPermanentAction(err), "a server error is retried")
}

// registerCandidate adds version 7 of fraud-detector with a run that
// logged the given metrics; tagged puts sopbot.request on the version.
func (e *retrainEnv) registerCandidate(metrics map[string]float64, tagged bool) {
	tags := map[string]string{}
	if tagged {
		tags[bot.TagRequest] = "R-1"
	}
	e.mlflow.AddVersion("fraud-detector", "7", "None", tags)
	e.mlflow.SetVersionRun("fraud-detector", "7", "run-7", "")
	e.mlflow.AddRun(mlflow.Run{ID: "run-7", Metrics: metrics, Params: map[string]string{}, Tags: map[string]string{},
		Datasets: []mlflow.DatasetInput{{Name: "fraud-train", Source: "s3://data/fraud/2026-12-04.parquet", Context: "training"}}})
}

func (e *retrainEnv) registerProduction(metrics map[string]float64) {
	e.mlflow.AddVersion("fraud-detector", "5", "Production", nil)
	e.mlflow.SetVersionRun("fraud-detector", "5", "run-5", "")
	e.mlflow.AddRun(mlflow.Run{ID: "run-5", Metrics: metrics})
}

func (e *retrainEnv) trained() {
	e.recordResult(bot.ActionKFPRetrain, infra.RetrainRun{RunID: "run-0001", DisplayName: "sopbot R-1 retrain fraud-detector",
		URL: "https://kfp.example/run-0001", State: kfp.StateSucceeded, WindowStart: retrainOpened.Add(-30 * 24 * time.Hour), WindowEnd: retrainOpened})
}

func TestModelCompareFindsTaggedCandidate(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.trained()
	e.registerProduction(map[string]float64{"accuracy": 0.92})
	e.registerCandidate(map[string]float64{"accuracy": 0.95}, true)

	result := e.finish(bot.ActionModelCompare)
	require.Empty(t, result.Failed)
	cmp := result.Result.(bot.ModelComparison)
	assert.Equal(t, "7", cmp.Candidate)
	assert.Equal(t, "5", cmp.Production)
	assert.Equal(t, "run-7", cmp.CandidateRunID)
	assert.Equal(t, "Production", cmp.To)
	assert.True(t, cmp.ThresholdsHold)
	assert.False(t, cmp.AutoPromote, "autoPromote is off")
	assert.Contains(t, result.Summary, "found by its version tag `sopbot.request=R-1`")
	assert.Contains(t, result.Summary, "| metric | candidate v7 | production v5 |")
	assert.Contains(t, result.Summary, "`/mlops promote #1` opens the SOP-02 promotion of v7")
	assert.Contains(t, result.Summary, "`/mlops reject #1 <reason>`")
}

func TestModelCompareFindsCandidateByRun(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  mlflow.Run
		how  string
	}{
		{"run tag", mlflow.Run{ID: "run-7", Metrics: map[string]float64{"accuracy": 0.95}, Tags: map[string]string{bot.TagRequest: "R-1"}}, "the tag `sopbot.request=R-1` of its run"},
		{"run parameter", mlflow.Run{ID: "run-7", Metrics: map[string]float64{"accuracy": 0.95}, Params: map[string]string{"request": "R-1"}}, "the parameter `request=R-1` of its run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRetrainEnv(t, bot.BotActor)
			e.req.CreatedAt = time.Now().Add(-time.Hour) // the fake stamps versions with the real clock
			e.trained()
			e.mlflow.AddVersion("fraud-detector", "6", "None", nil)
			e.mlflow.AddVersion("fraud-detector", "7", "None", nil)
			e.mlflow.SetVersionRun("fraud-detector", "7", "run-7", "")
			e.mlflow.AddRun(tc.run)
			result := e.finish(bot.ActionModelCompare)
			require.Empty(t, result.Failed)
			assert.Equal(t, "7", result.Result.(bot.ModelComparison).Candidate)
			assert.Contains(t, result.Summary, tc.how)
			assert.Contains(t, result.Summary, "production (none)")
		})
	}
}

func TestModelCompareWaitsForRegistration(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.trained()
	first, err := e.step(bot.ActionModelCompare)
	require.NoError(t, err)
	assert.Positive(t, first.Wait)
	assert.Contains(t, first.Notice, "waiting for the retrained version in MLflow: no version of `fraud-detector` is tagged `sopbot.request=R-1`")
	second, err := e.step(bot.ActionModelCompare)
	require.NoError(t, err)
	assert.Empty(t, second.Notice, "the wait is announced once")

	e.now = e.queued.Add(2 * time.Hour)
	timedOut := e.finish(bot.ActionModelCompare)
	assert.Contains(t, timedOut.Failed, "after 1h0m0s (retraining.models.fraud-detector.registrationTimeout)")
	assert.Contains(t, timedOut.Failed, "tag the version with `sopbot.request=R-1`")
}

// statusRegistry reports every version with one registration status,
// which mlflowfake does not model.
type statusRegistry struct {
	infra.RetrainRegistry
	status string
}

func (r statusRegistry) SearchModelVersions(ctx context.Context, name string) ([]mlflow.ModelVersion, error) {
	versions, err := r.RetrainRegistry.SearchModelVersions(ctx, name)
	for i := range versions {
		versions[i].Status = r.status
	}
	return versions, err
}

func TestModelCompareRegistrationStatus(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.trained()
	e.registerCandidate(map[string]float64{"accuracy": 0.95}, true)

	e.deps.Registry = statusRegistry{e.client, "PENDING_REGISTRATION"}
	e.build()
	pending, err := e.step(bot.ActionModelCompare)
	require.NoError(t, err)
	assert.Contains(t, pending.Notice, "version 7 of `fraud-detector` is still pending registration")

	e.deps.Registry = statusRegistry{e.client, "FAILED_REGISTRATION"}
	e.build()
	failed := e.finish(bot.ActionModelCompare)
	assert.Contains(t, failed.Failed, "version 7 of `fraud-detector` failed its registration")
}

func TestModelCompareCandidateProblems(t *testing.T) {
	t.Run("no metrics", func(t *testing.T) {
		e := newRetrainEnv(t, bot.BotActor)
		e.trained()
		e.registerCandidate(nil, true)
		assert.Contains(t, e.finish(bot.ActionModelCompare).Failed, "logged no metrics to MLflow")
	})
	t.Run("no run", func(t *testing.T) {
		e := newRetrainEnv(t, bot.BotActor)
		e.trained()
		e.mlflow.AddVersion("fraud-detector", "7", "None", map[string]string{bot.TagRequest: "R-1"})
		e.mlflow.SetVersionRun("fraud-detector", "7", "", "s3://models/7")
		assert.Contains(t, e.finish(bot.ActionModelCompare).Failed, "names no run")
	})
	t.Run("run missing", func(t *testing.T) {
		e := newRetrainEnv(t, bot.BotActor)
		e.trained()
		e.mlflow.AddVersion("fraud-detector", "7", "None", map[string]string{bot.TagRequest: "R-1"})
		assert.Contains(t, e.finish(bot.ActionModelCompare).Failed, "is not in MLflow")
	})
	t.Run("no kfp result", func(t *testing.T) {
		e := newRetrainEnv(t, bot.BotActor)
		_, err := e.step(bot.ActionModelCompare)
		assert.True(t, bot.IsPermanentAction(err))
	})
	t.Run("mlflow down", func(t *testing.T) {
		e := newRetrainEnv(t, bot.BotActor)
		e.trained()
		e.mlflow.FailNext("model-versions/search", http.StatusServiceUnavailable, 100)
		_, err := e.step(bot.ActionModelCompare)
		require.Error(t, err)
		assert.False(t, bot.IsPermanentAction(err))
	})
}

func TestModelCompareAutoPromotion(t *testing.T) {
	margins := map[string]config.Improvement{"accuracy": {Margin: 0.01}, "latency_ms": {Margin: 2, LowerIsBetter: true}}
	for _, tc := range []struct {
		name      string
		candidate map[string]float64
		auto      bool
		why       string
	}{
		{"every margin met", map[string]float64{"accuracy": 0.95, "latency_ms": 40}, true, "sopbot opens the SOP-02 promotion now"},
		{"latency margin missed", map[string]float64{"accuracy": 0.95, "latency_ms": 44}, false, "a metric did not improve by its margin"},
		{"threshold missed", map[string]float64{"accuracy": 0.85, "latency_ms": 40}, false, "a threshold is missed"},
		{"metric missing", map[string]float64{"accuracy": 0.95}, false, "a metric did not improve by its margin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRetrainEnv(t, bot.BotActor)
			e.policy(func(m *config.RetrainingModel) { m.AutoPromote, m.MinImprovement = true, margins })
			e.deps.Metrics = func(string) map[string]config.Threshold {
				return map[string]config.Threshold{"accuracy": {Min: ptr(0.9)}}
			}
			e.build()
			e.trained()
			e.registerProduction(map[string]float64{"accuracy": 0.92, "latency_ms": 45})
			e.registerCandidate(tc.candidate, true)
			result := e.finish(bot.ActionModelCompare)
			require.Empty(t, result.Failed)
			cmp := result.Result.(bot.ModelComparison)
			assert.Equal(t, tc.auto, cmp.AutoPromote)
			assert.Contains(t, result.Summary, tc.why)
			assert.Contains(t, result.Summary, "| metric | candidate | production | gain | required | met |")
		})
	}
}

func TestModelCompareWithoutProductionNeverAutoPromotes(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.policy(func(m *config.RetrainingModel) {
		m.AutoPromote, m.MinImprovement = true, map[string]config.Improvement{"accuracy": {Margin: 0.01}}
	})
	e.trained()
	e.registerCandidate(map[string]float64{"accuracy": 0.95}, true)
	result := e.finish(bot.ActionModelCompare)
	cmp := result.Result.(bot.ModelComparison)
	assert.False(t, cmp.AutoPromote)
	assert.Empty(t, cmp.Production)
	assert.Contains(t, result.Summary, "no version holds the target to improve on")
}

func TestModelCompareUsesPolicyAlias(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.deps.Alias = func(_, stage string) (string, bool) { return "champion", stage == "Production" }
	e.build()
	e.trained()
	e.mlflow.AddVersion("fraud-detector", "4", "None", nil)
	e.mlflow.SetVersionRun("fraud-detector", "4", "run-4", "")
	e.mlflow.AddRun(mlflow.Run{ID: "run-4", Metrics: map[string]float64{"accuracy": 0.93}})
	e.registerProduction(map[string]float64{"accuracy": 0.80}) // in the stage, but not the champion
	require.NoError(t, e.client.SetAlias(e.ctx, "fraud-detector", "champion", "4"))
	e.registerCandidate(map[string]float64{"accuracy": 0.95}, true)

	cmp := e.finish(bot.ActionModelCompare).Result.(bot.ModelComparison)
	assert.Equal(t, "4", cmp.Production, "the alias holder is production")
}

func (e *retrainEnv) compared() {
	e.trained()
	e.recordResult(bot.ActionModelCompare, bot.ModelComparison{Model: "fraud-detector", Candidate: "7", CandidateRunID: "run-7", To: "Production"})
}

func TestReferenceUpdateFromDatasetInput(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.registerCandidate(map[string]float64{"accuracy": 0.95}, true)
	e.compared()
	require.NoError(t, e.client.SetRegisteredModelTag(e.ctx, "fraud-detector", "sopbot.reference_dataset", "s3://data/fraud/old.parquet"))

	result := e.finish(bot.ActionReferenceUpdate)
	require.Empty(t, result.Failed)
	tags, ok := e.mlflow.ModelTags("fraud-detector")
	require.True(t, ok)
	assert.Equal(t, "s3://data/fraud/2026-12-04.parquet", tags["sopbot.reference_dataset"])
	assert.Equal(t, "R-1", tags[infra.TagReferenceRequest])
	got := result.Result.(infra.ReferenceResult)
	assert.Equal(t, "s3://data/fraud/old.parquet", got.Previous)
	assert.Equal(t, "dataset input", got.Source)
	assert.Contains(t, result.Summary, "it was `s3://data/fraud/old.parquet`")

	again := e.finish(bot.ActionReferenceUpdate)
	assert.True(t, again.Result.(infra.ReferenceResult).AlreadyDone, "a retry finds its earlier work")
}

func TestReferenceUpdateFromConfigOrWindow(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.mlflow.AddVersion("fraud-detector", "7", "None", nil)
	e.mlflow.AddRun(mlflow.Run{ID: "run-7"})
	e.compared()

	window := e.finish(bot.ActionReferenceUpdate).Result.(infra.ReferenceResult)
	assert.Equal(t, "window", window.Source)
	assert.Equal(t, "window:2026-11-04T09:30:00Z/2026-12-04T09:30:00Z", window.Value)

	e.policy(func(m *config.RetrainingModel) {
		m.ReferenceDataset = "s3://data/{model}/{window_start}_{window_end}/{request}"
	})
	configured := e.finish(bot.ActionReferenceUpdate).Result.(infra.ReferenceResult)
	assert.Equal(t, "config", configured.Source)
	assert.Equal(t, "s3://data/fraud-detector/2026-11-04T09:30:00Z_2026-12-04T09:30:00Z/R-1", configured.Value)
}

func TestReferenceUpdateErrors(t *testing.T) {
	t.Run("model missing", func(t *testing.T) {
		e := newRetrainEnv(t, bot.BotActor)
		e.compared()
		e.policy(func(m *config.RetrainingModel) { m.ReferenceDataset = "s3://x" })
		_, err := e.step(bot.ActionReferenceUpdate)
		require.Error(t, err)
		assert.True(t, bot.IsPermanentAction(err), "a registered model that does not exist is not retried")
	})
	t.Run("set-tag fails", func(t *testing.T) {
		e := newRetrainEnv(t, bot.BotActor)
		e.registerCandidate(map[string]float64{"accuracy": 0.95}, true)
		e.compared()
		e.mlflow.FailNext("registered-models/set-tag", http.StatusInternalServerError, 100)
		_, err := e.step(bot.ActionReferenceUpdate)
		require.Error(t, err)
		assert.False(t, bot.IsPermanentAction(err))
	})
	t.Run("no comparison", func(t *testing.T) {
		e := newRetrainEnv(t, bot.BotActor)
		_, err := e.step(bot.ActionReferenceUpdate)
		assert.True(t, bot.IsPermanentAction(err))
	})
}

func TestRetrainActionsNeedTheirClients(t *testing.T) {
	actions := infra.RetrainActions(infra.RetrainDeps{})
	assert.Empty(t, actions, "no client, no action")
	e := newRetrainEnv(t, bot.BotActor)
	for _, name := range []string{bot.ActionDriftRecord, bot.ActionKFPRetrain, bot.ActionModelCompare, bot.ActionReferenceUpdate} {
		plan, err := e.actions[name].Plan(e.ctx, bot.ActionInput{Request: e.req, Runs: e.runs})
		if name == bot.ActionReferenceUpdate {
			assert.ErrorContains(t, err, "has no result yet", "the plan needs the comparison")
			continue
		}
		require.NoError(t, err, name)
		assert.NotEmpty(t, plan, name)
	}
}
