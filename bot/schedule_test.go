package bot

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/github"
	"github.com/sopbot/sopbot/integrations/mlflow"
	"github.com/sopbot/sopbot/sop"
)

// fakeTracker keeps created issues in memory. Any GitHub call besides
// creating and finding issues panics on the nil embedded interface.
type fakeTracker struct {
	GitHub
	mu      sync.Mutex
	issues  []github.Issue
	creates int
}

func (f *fakeTracker) CreateIssue(_ context.Context, _ int64, title, body string, labels []string) (github.Issue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.creates++
	number := len(f.issues) + 1
	issue := github.Issue{Number: number, Title: title, Body: body, State: "open", Labels: labels,
		HTMLURL: fmt.Sprintf("https://github.example/acme/ml-requests/issues/%d", number)}
	f.issues = append(f.issues, issue)
	return issue, nil
}

func (f *fakeTracker) FindIssueByMarker(_ context.Context, _ int64, label, marker string) (github.Issue, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.issues) - 1; i >= 0; i-- {
		if slices.Contains(f.issues[i].Labels, label) && strings.Contains(f.issues[i].Body, marker) {
			return f.issues[i], true, nil
		}
	}
	return github.Issue{}, false, nil
}

// scheduleHarness is a scheduler over its own database and a River
// client that inserts jobs but never runs them. Tests call the jobs' work
// functions themselves.
type scheduleHarness struct {
	t       *testing.T
	ctx     context.Context
	db      *store.DB
	engine  *Engine
	sched   *Scheduler
	workers *Workers
	tracker *fakeTracker
	now     time.Time
}

// scheduleStart is the harness's first time: mid-December 2026.
var scheduleStart = time.Date(2026, 12, 15, 10, 30, 0, 0, time.UTC)

func newScheduleHarness(t *testing.T, cfg config.Schedules, runs RunSearcher, models ModelSearcher) *scheduleHarness {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "bot.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	h := &scheduleHarness{t: t, ctx: ctx, db: db, now: scheduleStart, tracker: &fakeTracker{}}
	db.SetClock(func() time.Time { return h.now })

	workers := river.NewWorkers()
	(&Workers{}).Register(workers)
	queue, err := river.NewClient(riversqlite.New(db.SQL), &river.Config{Workers: workers, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	lib, err := sop.Embedded()
	require.NoError(t, err)
	log := slog.New(slog.DiscardHandler)
	h.engine = &Engine{DB: db, Library: lib, Grammar: NewGrammar(lib), Directory: NewDirectory(config.Config{}, nil), Queue: queue,
		Settings: Settings{Channel: "C0MLOPS", Repository: "acme/ml-requests"}, Log: log}
	full := config.Config{Schedules: cfg, GitHub: config.GitHub{BaseURL: "https://api.github.com/", Repository: "acme/ml-requests"},
		MLflow: config.MLflow{UIURL: "http://127.0.0.1:5000"}}.WithDefaults()
	h.sched = NewScheduler(h.engine, ScheduleSettingsOf(full), runs, models, log)
	h.workers = &Workers{Engine: h.engine, GitHub: h.tracker, InstallationID: 1, Scheduler: h.sched, Log: log}
	return h
}

func (h *scheduleHarness) tick() {
	h.t.Helper()
	require.NoError(h.t, h.sched.Tick(h.ctx))
}

// queuedJob is one row of River's job table.
type queuedJob struct {
	Kind string
	Run  ScheduledRun
	Text string // a notify job's text
}

func (h *scheduleHarness) jobs() []queuedJob {
	h.t.Helper()
	rows, err := h.db.SQL.Query(`SELECT kind, json(args) FROM river_job ORDER BY id`)
	require.NoError(h.t, err)
	defer rows.Close()
	var out []queuedJob
	for rows.Next() {
		var job queuedJob
		var args []byte
		require.NoError(h.t, rows.Scan(&job.Kind, &args))
		require.NoError(h.t, json.Unmarshal(args, &job.Run))
		var notify NotifyArgs
		require.NoError(h.t, json.Unmarshal(args, &notify))
		job.Text = notify.Text
		out = append(out, job)
	}
	require.NoError(h.t, rows.Err())
	return out
}

// runsOf lists the scheduled runs queued, as "kind schedule period".
func (h *scheduleHarness) runsOf() []string {
	h.t.Helper()
	var out []string
	for _, job := range h.jobs() {
		if job.Run.Schedule != "" {
			out = append(out, job.Kind+" "+job.Run.Schedule+" "+job.Run.Period)
		}
	}
	slices.Sort(out)
	return out
}

func (h *scheduleHarness) notices() []string {
	h.t.Helper()
	var out []string
	for _, job := range h.jobs() {
		if job.Kind == (NotifyArgs{}).Kind() {
			out = append(out, job.Text)
		}
	}
	return out
}

func (h *scheduleHarness) schedule(name string) store.Schedule {
	h.t.Helper()
	s, err := h.db.GetSchedule(h.ctx, h.db.SQL, name)
	require.NoError(h.t, err)
	return s
}

func (h *scheduleHarness) queued(kind string) ScheduledRun {
	h.t.Helper()
	for _, job := range h.jobs() {
		if job.Kind == kind {
			return job.Run
		}
	}
	h.t.Fatalf("no %s job queued", kind)
	return ScheduledRun{}
}

func job[T river.JobArgs](kind string, args T) *river.Job[T] {
	return &river.Job[T]{JobRow: &rivertype.JobRow{Kind: kind, Attempt: 1, MaxAttempts: 25}, Args: args}
}

// reviewsOnly plans only the review issues.
func reviewsOnly() config.Schedules {
	off := false
	return config.Schedules{
		InventoryAudit: config.InventoryAudit{Enabled: &off}, ModelAudit: config.ModelAudit{Enabled: &off},
		SecretRotation: config.SecretRotationCheck{Enabled: &off},
	}
}

func TestTickAddsSchedulesWithoutFiring(t *testing.T) {
	h := newScheduleHarness(t, config.Schedules{}, nil, nil)
	h.tick()
	assert.Empty(t, h.runsOf(), "nothing fires the first time a schedule is seen")
	assert.Equal(t, utc(2027, 1, 1, 0), h.schedule("review:SOP-02:approval-process").NextAt, "monthly review")
	assert.Equal(t, utc(2027, 1, 1, 0), h.schedule("review:SOP-01:onboarding-process-for-improvements").NextAt, "quarterly review")
	assert.Equal(t, utc(2026, 12, 16, 0), h.schedule(scheduleSecretRotation).NextAt, "daily check")
	assert.True(t, h.schedule(scheduleSecretRotation).LastAt.IsZero(), "never fired")
}

func TestTickFiresDueSchedulesOnce(t *testing.T) {
	h := newScheduleHarness(t, config.Schedules{}, nil, nil)
	h.tick()
	h.now = utc(2027, 1, 1, 0).Add(30 * time.Second)
	h.tick()
	want := []string{
		"review_issue review:SOP-01:onboarding-process-for-improvements 2027-Q1",
		"review_issue review:SOP-01:project-inventory-for-inactive-projects 2027-01",
		"review_issue review:SOP-02:approval-process 2027-01",
		"review_issue review:SOP-02:model-registry-for-orphaned-models 2027-Q1",
		"review_issue review:SOP-03:drift-thresholds-against-false-positive-rate 2027-01",
		"review_issue review:SOP-03:retraining-frequency-for-cost-benefit 2027-Q1",
		"secret_rotation_check secret-rotation 2027-01-01",
	}
	assert.Equal(t, want, h.runsOf(), "every schedule due on 1 January fires")
	s := h.schedule("review:SOP-02:approval-process")
	assert.Equal(t, h.now, s.LastAt, "last fired")
	assert.Equal(t, utc(2027, 2, 1, 0), s.NextAt, "next month")
	assert.Equal(t, utc(2027, 4, 1, 0), h.schedule("review:SOP-02:model-registry-for-orphaned-models").NextAt, "next quarter")

	h.now = h.now.Add(time.Minute)
	h.tick()
	restarted := NewScheduler(h.engine, h.sched.settings, nil, nil, h.sched.Log)
	require.NoError(t, restarted.Tick(h.ctx), "a restarted scheduler")
	assert.Equal(t, want, h.runsOf(), "no schedule fires twice")
}

func TestTickConcurrentSchedulersFireOnce(t *testing.T) {
	h := newScheduleHarness(t, reviewsOnly(), nil, nil)
	h.tick()
	h.now = utc(2027, 1, 1, 1)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		other := NewScheduler(h.engine, h.sched.settings, nil, nil, h.sched.Log)
		wg.Go(func() { errs[i] = other.Tick(h.ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "tick %d", i)
	}
	assert.Len(t, h.runsOf(), 6, "each due review fires once")
}

func TestTickUniqueJobBlocksRefire(t *testing.T) {
	h := newScheduleHarness(t, reviewsOnly(), nil, nil)
	h.tick()
	h.now = utc(2027, 1, 1, 1)
	h.tick()
	before := h.runsOf()
	// A schedules table restored from a backup taken before the firing
	// makes the same period due again; River's unique job keeps it out.
	err := h.db.InTx(h.ctx, func(tx *sql.Tx) error {
		return h.db.SetSchedule(h.ctx, tx, store.Schedule{Name: "review:SOP-02:approval-process", NextAt: utc(2027, 1, 1, 0)})
	})
	require.NoError(t, err)
	h.now = h.now.Add(time.Hour)
	h.tick()
	assert.Equal(t, before, h.runsOf(), "the period's job is not queued twice")
	assert.Equal(t, utc(2027, 2, 1, 0), h.schedule("review:SOP-02:approval-process").NextAt, "the schedule moves on")
}

func TestTickMissedPeriodsFireOnce(t *testing.T) {
	h := newScheduleHarness(t, reviewsOnly(), nil, nil)
	h.tick()
	h.now = utc(2027, 4, 5, 9)
	h.tick()
	var approval []string
	for _, run := range h.runsOf() {
		if strings.Contains(run, "approval-process") {
			approval = append(approval, run)
		}
	}
	assert.Equal(t, []string{"review_issue review:SOP-02:approval-process 2027-04"}, approval, "one review, for the current month")
	assert.Equal(t, utc(2027, 5, 1, 0), h.schedule("review:SOP-02:approval-process").NextAt, "next month")
}

func TestTickIgnoresUnplannedSchedule(t *testing.T) {
	h := newScheduleHarness(t, reviewsOnly(), nil, nil)
	err := h.db.InTx(h.ctx, func(tx *sql.Tx) error {
		return h.db.SetSchedule(h.ctx, tx, store.Schedule{Name: "review:SOP-09:gone", NextAt: utc(2026, 1, 1, 0)})
	})
	require.NoError(t, err)
	h.tick()
	assert.Empty(t, h.runsOf(), "a schedule no longer planned does not fire")
}

func TestReviewIssueOpensOnce(t *testing.T) {
	h := newScheduleHarness(t, reviewsOnly(), nil, nil)
	h.tick()
	h.now = utc(2027, 1, 1, 0)
	h.tick()
	var run ScheduledRun
	for _, job := range h.jobs() {
		if job.Run.Schedule == "review:SOP-02:approval-process" {
			run = job.Run
		}
	}
	require.Equal(t, "2027-01", run.Period)

	args := ReviewIssueArgs{run}
	require.NoError(t, h.workers.reviewIssue(h.ctx, job(args.Kind(), args)))
	require.NoError(t, h.workers.reviewIssue(h.ctx, job(args.Kind(), args)), "a retry")
	require.Len(t, h.tracker.issues, 1, "one issue")
	assert.Equal(t, 1, h.tracker.creates, "created once")
	issue := h.tracker.issues[0]
	assert.Equal(t, "[SOP-02] Monthly review: Review the approval process (January 2027)", issue.Title)
	assert.Equal(t, []string{ReviewLabel, "sop:SOP-02"}, issue.Labels)
	for _, want := range []string{
		"<!-- sopbot:review=SOP-02:approval-process:2027-01 -->",
		`The Review Cadence of **SOP-02: Model Approval and Promotion Workflow** asks: "Review the approval process monthly".`,
		"This is the review for **January 2027**",
		"- [ ] Read SOP-02 (revision `",
		"- [ ] Agree on the changes with the holders of the SOP's roles: Submitter, Reviewer, Approver",
		"[Requests opened under SOP-02 in December 2026](https://github.com/acme/ml-requests/issues?q=is%3Aissue+label%3Asopbot+label%3A%22sop%3ASOP-02%22+created%3A2026-12-01..2026-12-31)",
		"[Earlier reviews of SOP-02](https://github.com/acme/ml-requests/issues?q=is%3Aissue+label%3Asopbot-review+label%3A%22sop%3ASOP-02%22)",
	} {
		assert.Contains(t, issue.Body, want)
	}
	assert.Equal(t, []string{"[SOP-02] Monthly review: Review the approval process (January 2027): https://github.example/acme/ml-requests/issues/1"},
		h.notices(), "the channel is told once")
}

func TestReviewIssueFindsIssueOfSamePeriod(t *testing.T) {
	h := newScheduleHarness(t, reviewsOnly(), nil, nil)
	def, ok := h.sched.plan.byName("review:SOP-02:approval-process")
	require.True(t, ok)
	start := def.period.start(h.now)
	_, err := h.tracker.CreateIssue(h.ctx, 1, "opened before the table was restored", reviewMarker(*def.topic, def.period.key(start)), []string{ReviewLabel})
	require.NoError(t, err)

	args := ReviewIssueArgs{ScheduledRun{Schedule: def.name, Period: def.period.key(start), Start: start}}
	require.NoError(t, h.workers.reviewIssue(h.ctx, job(args.Kind(), args)))
	assert.Equal(t, 1, h.tracker.creates, "no second issue")
	assert.Empty(t, h.notices(), "no second notice")
}

func TestReviewIssueOfUnplannedScheduleCancelled(t *testing.T) {
	h := newScheduleHarness(t, reviewsOnly(), nil, nil)
	args := ReviewIssueArgs{ScheduledRun{Schedule: "review:SOP-09:gone", Period: "2027-01"}}
	err := h.workers.reviewIssue(h.ctx, job(args.Kind(), args))
	var cancel *river.JobCancelError
	assert.ErrorAs(t, err, &cancel)
}

// fakeRuns returns the newest run of each experiment from a table.
type fakeRuns struct {
	newest   map[string]mlflow.Run
	failures map[string]error
	searches []mlflow.SearchRunsRequest
}

func (f *fakeRuns) SearchRuns(_ context.Context, req mlflow.SearchRunsRequest) ([]mlflow.Run, error) {
	f.searches = append(f.searches, req)
	id := req.ExperimentIDs[0]
	if err := f.failures[id]; err != nil {
		return nil, err
	}
	if run, ok := f.newest[id]; ok {
		return []mlflow.Run{run}, nil
	}
	return []mlflow.Run{}, nil
}

func (f *fakeRuns) ExperimentURL(id string) string {
	return "http://127.0.0.1:5000/#/experiments/" + id
}

func (h *scheduleHarness) addProject(name, experiment string) {
	h.t.Helper()
	err := h.db.InTx(h.ctx, func(tx *sql.Tx) error {
		return h.db.UpsertProject(h.ctx, tx, store.Project{Name: name, Team: "risk", CostCenter: "CC-1", Namespace: "ml-" + name, ExperimentID: experiment, RequestID: 1})
	})
	require.NoError(h.t, err)
}

func (h *scheduleHarness) project(name string) store.Project {
	h.t.Helper()
	projects, err := h.db.Projects(h.ctx, h.db.SQL)
	require.NoError(h.t, err)
	for _, p := range projects {
		if p.Name == name {
			return p
		}
	}
	h.t.Fatalf("no project %s", name)
	return store.Project{}
}

func TestInventoryAudit(t *testing.T) {
	runs := &fakeRuns{
		newest: map[string]mlflow.Run{
			"11": {ID: "r1", StartTime: utc(2026, 12, 28, 0).UnixMilli()},
			"12": {ID: "r2", StartTime: utc(2026, 10, 2, 0).UnixMilli(), EndTime: utc(2026, 10, 3, 0).UnixMilli()},
		},
		failures: map[string]error{"14": &mlflow.APIError{StatusCode: 404, Code: "RESOURCE_DOES_NOT_EXIST", Message: "experiment 14 not found"}},
	}
	h := newScheduleHarness(t, config.Schedules{}, runs, nil)
	h.addProject("fraud", "11")
	h.addProject("churn", "12")
	h.addProject("idle", "13")
	h.addProject("gone", "14")
	h.addProject("manual", "")
	h.tick()
	h.now = utc(2027, 1, 1, 0)
	h.tick()
	run := h.queued((InventoryAuditArgs{}).Kind())
	assert.Equal(t, "2027-01", run.Period, "monthly, from SOP-01's line")

	args := InventoryAuditArgs{run}
	require.NoError(t, h.workers.inventoryAudit(h.ctx, job(args.Kind(), args)))
	require.NoError(t, h.workers.inventoryAudit(h.ctx, job(args.Kind(), args)), "a retry")
	require.Len(t, h.tracker.issues, 1, "one issue")
	issue := h.tracker.issues[0]
	assert.Equal(t, "[SOP-01] Monthly review: Audit the project inventory for inactive projects (January 2027)", issue.Title)
	assert.Contains(t, runs.searches, mlflow.SearchRunsRequest{ExperimentIDs: []string{"11"}, MaxResults: 1, OrderBy: []string{"attributes.start_time DESC"}}, "search")
	for _, want := range []string{
		"<!-- sopbot:review=SOP-01:project-inventory-for-inactive-projects:2027-01 -->",
		"**2 of 5 projects are inactive.** 2 could not be checked.",
		"| `churn` | risk | CC-1 | `ml-churn` | [12](http://127.0.0.1:5000/#/experiments/12) | 2026-10-03 (90 days ago) | **inactive** |",
		"| `idle` | risk | CC-1 | `ml-idle` | [13](http://127.0.0.1:5000/#/experiments/13) | no runs | **inactive** |",
		"| `gone` | risk | CC-1 | `ml-gone` | [14](http://127.0.0.1:5000/#/experiments/14) | – | not checked: search failed: ",
		"| `manual` | risk | CC-1 | `ml-manual` | none | – | not checked: no MLflow experiment recorded |",
		"| `fraud` | risk | CC-1 | `ml-fraud` | [11](http://127.0.0.1:5000/#/experiments/11) | 2026-12-28 (4 days ago) | active |",
		"- [ ] Ask the owning team of each inactive project whether it is still in use",
	} {
		assert.Contains(t, issue.Body, want)
	}
	assert.Less(t, strings.Index(issue.Body, "`churn`"), strings.Index(issue.Body, "`gone`"), "inactive projects come first")
	assert.Less(t, strings.Index(issue.Body, "`gone`"), strings.Index(issue.Body, "`fraud`"), "active projects come last")

	assert.Equal(t, utc(2026, 10, 3, 0), h.project("churn").LastRunAt, "newest run recorded")
	assert.Equal(t, h.now, h.project("churn").AuditedAt, "audit time recorded")
	assert.True(t, h.project("idle").LastRunAt.IsZero(), "no run recorded")
	assert.Equal(t, h.now, h.project("idle").AuditedAt, "audited")
	assert.True(t, h.project("gone").AuditedAt.IsZero(), "a project that was not checked is not marked audited")
	assert.Equal(t, []string{"Project inventory audit (January 2027): 2 of 5 projects had no MLflow run in 30 days: churn, idle: https://github.example/acme/ml-requests/issues/1"},
		h.notices(), "the channel is told once")
}

func TestInventoryAuditRetriesTransientFailure(t *testing.T) {
	runs := &fakeRuns{failures: map[string]error{"11": &mlflow.APIError{StatusCode: 503, Code: "TEMPORARILY_UNAVAILABLE", Message: "try again"}}}
	h := newScheduleHarness(t, config.Schedules{}, runs, nil)
	h.addProject("fraud", "11")
	def, ok := h.sched.plan.byName(scheduleInventoryAudit)
	require.True(t, ok)
	start := def.period.start(h.now)
	args := InventoryAuditArgs{ScheduledRun{Schedule: def.name, Period: def.period.key(start), Start: start}}
	err := h.workers.inventoryAudit(h.ctx, job(args.Kind(), args))
	require.Error(t, err, "retried")
	var cancel *river.JobCancelError
	assert.NotErrorAs(t, err, &cancel, "not cancelled")
	assert.Empty(t, h.tracker.issues, "no issue from a partial audit")
}

// fakeModels returns registry search results from a list of models.
type fakeModels struct {
	models   []mlflow.RegisteredModel
	versions map[string][]mlflow.ModelVersion
}

func (f *fakeModels) SearchRegisteredModels(context.Context) ([]mlflow.RegisteredModel, error) {
	return f.models, nil
}

func (f *fakeModels) SearchModelVersions(_ context.Context, name string) ([]mlflow.ModelVersion, error) {
	return f.versions[name], nil
}

func (f *fakeModels) ModelURL(name, version string) string {
	return "http://127.0.0.1:5000/#/models/" + name + "/versions/" + version
}

func version(v, stage string, created time.Time, aliases ...string) mlflow.ModelVersion {
	return mlflow.ModelVersion{Version: v, CurrentStage: stage, CreationTimestamp: created.UnixMilli(), Aliases: aliases}
}

func TestModelAudit(t *testing.T) {
	old := utc(2026, 6, 1, 0)
	recent := utc(2026, 12, 20, 0)
	models := &fakeModels{
		models: []mlflow.RegisteredModel{
			{Name: "fraud-detector", LatestVersions: []mlflow.ModelVersion{version("2", "Production", old), version("3", "Staging", recent)}},
			{Name: "churn", LatestVersions: []mlflow.ModelVersion{version("1", "Archived", old), version("4", "None", old)}},
			{Name: "ranker", LatestVersions: []mlflow.ModelVersion{version("7", "None", old)}, Aliases: map[string]string{"champion": "7"}},
			{Name: "fresh", LatestVersions: []mlflow.ModelVersion{version("1", "None", recent)}},
			{Name: "empty"},
			{Name: "aliased-version"},
		},
		versions: map[string][]mlflow.ModelVersion{"aliased-version": {version("5", "None", old, "challenger")}},
	}
	h := newScheduleHarness(t, config.Schedules{}, nil, models)
	h.tick()
	h.now = utc(2027, 1, 1, 0)
	h.tick()
	run := h.queued((ModelAuditArgs{}).Kind())
	assert.Equal(t, "2027-Q1", run.Period, "quarterly, from SOP-02's line")

	args := ModelAuditArgs{run}
	require.NoError(t, h.workers.modelAudit(h.ctx, job(args.Kind(), args)))
	require.Len(t, h.tracker.issues, 1, "one issue")
	issue := h.tracker.issues[0]
	assert.Equal(t, "[SOP-02] Quarterly review: Audit the model registry for orphaned models (Q1 2027)", issue.Title)
	for _, want := range []string{
		"**2 of 6 registered models look orphaned.**",
		"| `churn` | Archived: v1; None: v4 | [v4](http://127.0.0.1:5000/#/models/churn/versions/4) | 2026-06-01 (214 days ago) |",
		"| `empty` | – | no versions | – |",
		"[MLflow model registry](http://127.0.0.1:5000/#/models)",
	} {
		assert.Contains(t, issue.Body, want)
	}
	for _, kept := range []string{"`fraud-detector`", "`ranker`", "`fresh`", "`aliased-version`"} {
		assert.NotContains(t, issue.Body, kept, "not orphaned")
	}
	assert.Equal(t, []string{"Model registry audit (Q1 2027): 2 of 6 registered models look orphaned: churn, empty: https://github.example/acme/ml-requests/issues/1"}, h.notices())
}

func (h *scheduleHarness) addSecret(name, kind string, lastRotated time.Time, deployment string) {
	h.t.Helper()
	err := h.db.InTx(h.ctx, func(tx *sql.Tx) error {
		return h.db.SeedSecret(h.ctx, tx, store.Secret{Name: name, Namespace: "mlops", Deployment: deployment, Kind: kind, LastRotated: lastRotated})
	})
	require.NoError(h.t, err)
}

func (h *scheduleHarness) requests() []store.Request {
	h.t.Helper()
	requests, err := h.db.ActiveRequests(h.ctx)
	require.NoError(h.t, err)
	return requests
}

func TestSecretRotationCheck(t *testing.T) {
	h := newScheduleHarness(t, config.Schedules{}, nil, nil)
	h.addSecret("mlflow-secrets", "cloud-credential", utc(2026, 9, 1, 0), "mlflow-server")   // 105 days old, policy 90
	h.addSecret("feature-db", "database-password", utc(2026, 9, 1, 0), "feast-server")       // 105 days old, policy 180
	h.addSecret("slack-token", "api-token", utc(2025, 1, 1, 0), "notifier")                  // policy 0: never opened
	h.addSecret("warehouse", "cloud-credential", time.Time{}, "loader")                      // no rotation on record
	h.addSecret("orphan-key", "cloud-credential", utc(2026, 1, 1, 0), "")                    // no deployment to rotate
	h.addSecret("legacy", "unknown", utc(2020, 1, 1, 0), "legacy-app")                       // kind without a policy
	h.addSecret("registry-creds", "cloud-credential", utc(2026, 8, 1, 0), "registry-mirror") // due, with an open request
	rotation, ok := h.engine.Library.Get(RotationSOP)
	require.True(t, ok)
	err := h.db.InTx(h.ctx, func(tx *sql.Tx) error {
		t := &txn{ctx: h.ctx, tx: tx, deliveryID: "test"}
		_, err := h.sched.openBotRequest(t, rotation, map[string]string{"secret": "registry-creds", "namespace": "mlops", "deployment": "registry-mirror"},
			"secret:mlops:registry-creds", "", map[string]any{})
		return err
	})
	require.NoError(t, err)

	h.tick()
	h.now = utc(2026, 12, 16, 0)
	h.tick()
	run := h.queued((SecretRotationArgs{}).Kind())
	args := SecretRotationArgs{run}
	require.NoError(t, h.workers.secretRotationCheck(h.ctx, job(args.Kind(), args)))
	require.NoError(t, h.workers.secretRotationCheck(h.ctx, job(args.Kind(), args)), "a retry")

	var opened []string
	for _, req := range h.requests() {
		opened = append(opened, req.Target)
		if req.Target != "secret:mlops:mlflow-secrets" {
			continue
		}
		assert.Equal(t, RotationSOP, req.SOPID, "SOP")
		assert.Equal(t, BotActor, req.RequesterLogin, "requester")
		assert.Equal(t, OriginSchedule, req.Origin.Source, "origin")
		assert.Equal(t, map[string]string{"secret": "mlflow-secrets", "namespace": "mlops", "deployment": "mlflow-server"}, req.Params, "params")
		assert.Equal(t, "🔁 Opened by sopbot's secret rotation check: `mlops/mlflow-secrets` (kind `cloud-credential`) was last rotated on 2026-09-01, "+
			"106 days ago, and `rotation.kinds.cloud-credential.maxAgeDays` is 90.", req.Origin.Note, "note")
	}
	assert.ElementsMatch(t, []string{"secret:mlops:registry-creds", "secret:mlops:mlflow-secrets"}, opened, "one new request, none twice")
	assert.Equal(t, []string{
		"Secret rotation check (16 December 2026): opened SOP-04 requests for `mlops/mlflow-secrets` (cloud-credential, last rotated on 2026-09-01, 106 days ago).",
		"Secret rotation check (16 December 2026): due but not opened, fix their rotation.secrets entries: `mlops/orphan-key` (Missing <deployment>.).",
	}, h.notices(), "the channel is told once of each")
	var opens int
	for _, job := range h.jobs() {
		if job.Kind == (OpenIssueArgs{}).Kind() {
			opens++
		}
	}
	assert.Equal(t, 2, opens, "an issue opens for each request")
}
