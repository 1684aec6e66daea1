package bot

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
)

// Scheduler fires the bot's recurring work from the schedules table: the
// review issues of the SOPs' Review Cadence lines, the project-inventory
// and orphaned-model audits, the secret rotation check, the retraining
// check, and the reminders of checklist items' waiting windows.
//
// A periodic River job calls Tick. The queue runs only on the leader, so
// one instance ticks. Each firing advances the schedule's next_at in the
// same transaction as the job it enqueues. That job is unique per
// schedule and period, and its work finds an earlier attempt by a marker,
// so a crash or a second tick never does the work twice.
type Scheduler struct {
	Engine *Engine
	// Runs and Models search MLflow for the audits. An audit whose
	// searcher is nil is off.
	Runs   RunSearcher
	Models ModelSearcher
	// Now is the scheduler's clock; nil uses the store's.
	Now func() time.Time
	Log *slog.Logger

	settings ScheduleSettings
	plan     schedulePlan
}

// ScheduleSettings are the parts of the configuration the scheduler uses.
type ScheduleSettings struct {
	Schedules config.Schedules
	// Kinds is the rotation policy of each kind of secret.
	Kinds map[string]config.SecretKind
	// Retraining is the retraining policy of each model, by name.
	Retraining map[string]config.RetrainingModel
	// RepositoryURL is the web address of the repository the issues open
	// in, for links.
	RepositoryURL string
	// MLflowUIURL is the MLflow web UI, for links.
	MLflowUIURL string
}

// NewScheduler plans the schedules of the library and the configuration
// and logs the plan. A nil searcher turns its audit off.
func NewScheduler(engine *Engine, settings ScheduleSettings, runs RunSearcher, models ModelSearcher, log *slog.Logger) *Scheduler {
	s := &Scheduler{Engine: engine, Runs: runs, Models: models, Log: log, settings: settings}
	s.plan = planSchedules(engine.Library.SOPs(), settings.Schedules, runs != nil, models != nil)
	s.plan.schedules = append(s.plan.schedules, retrainingSchedule(settings)...)
	s.LogPlan()
	return s
}

// ScheduleSettingsOf takes the scheduler's settings from the configuration.
func ScheduleSettingsOf(cfg config.Config) ScheduleSettings {
	return ScheduleSettings{
		Schedules: cfg.Schedules, Kinds: cfg.Rotation.Kinds, Retraining: cfg.Retraining.Models,
		RepositoryURL: repositoryWebURL(cfg.GitHub.BaseURL, cfg.GitHub.Repository), MLflowUIURL: cfg.MLflow.UIURL,
	}
}

// ModelSearcherOf returns client as a ModelSearcher, or nil when it cannot
// search registered models.
func ModelSearcherOf(client any) ModelSearcher {
	searcher, _ := client.(ModelSearcher)
	return searcher
}

// repositoryWebURL returns the web address of owner/name for the REST root
// baseURL: github.com for api.github.com, and the server's root for a
// GitHub Enterprise Server root such as https://HOST/api/v3/.
func repositoryWebURL(baseURL, repository string) string {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || repository == "" {
		return ""
	}
	if u.Host == "api.github.com" {
		return "https://github.com/" + repository
	}
	root := strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v3")
	return u.Scheme + "://" + u.Host + root + "/" + repository
}

// TickInterval returns how often the tick job runs.
func (s *Scheduler) TickInterval() time.Duration { return s.settings.Schedules.TickInterval() }

func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return s.Engine.DB.Now()
}

// Tick fires every schedule that is due. A schedule seen for the first
// time fires first at the start of its next period, so a new deployment
// does not open a burst of issues. A schedule that missed several periods
// while the bot was down fires once, for the current period.
func (s *Scheduler) Tick(ctx context.Context) error {
	now := s.now()
	var errs []error
	if s.settings.Schedules.Windows.IsEnabled() {
		if err := s.addWindows(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	var rows []store.Schedule
	err := s.Engine.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.addSchedules(ctx, tx, now); err != nil {
			return err
		}
		if err := s.addRetrainingModels(ctx, tx, now); err != nil {
			return err
		}
		var err error
		rows, err = s.Engine.DB.Schedules(ctx, tx)
		return err
	})
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, row := range rows {
		if row.NextAt.IsZero() || row.NextAt.After(now) {
			continue
		}
		if err := s.fire(ctx, row, now); err != nil {
			// One schedule's failure must not hold up the others.
			s.Log.Error("schedule failed to fire", "schedule", row.Name, "error", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// addSchedules stores each planned schedule that has no row yet, due at
// the start of its next period.
func (s *Scheduler) addSchedules(ctx context.Context, tx *sql.Tx, now time.Time) error {
	for _, def := range s.plan.schedules {
		next := def.period.next(now)
		added, err := s.Engine.DB.AddSchedule(ctx, tx, store.Schedule{Name: def.name, NextAt: next})
		if err != nil {
			return err
		}
		if added {
			s.Log.Info("schedule added", "schedule", def.name, "period", def.period.String(), "next_at", next)
		}
	}
	return nil
}

// fire fires one due schedule: a window's reminder or a recurring schedule.
func (s *Scheduler) fire(ctx context.Context, row store.Schedule, now time.Time) error {
	if strings.HasPrefix(row.Name, windowPrefix) {
		if !s.settings.Schedules.Windows.IsEnabled() {
			return nil
		}
		return s.fireWindow(ctx, row, now)
	}
	def, ok := s.plan.byName(row.Name)
	if !ok {
		// The schedule's line or setting is gone or switched off. Its row
		// stays, and fires again if the schedule comes back.
		s.Log.Debug("stored schedule is not planned", "schedule", row.Name)
		return nil
	}
	return s.fireRecurring(ctx, def, row, now)
}

// fireRecurring enqueues the job of the period that contains now and moves
// the schedule on to the next period, in one transaction. It enqueues
// nothing when another tick advanced the schedule first.
func (s *Scheduler) fireRecurring(ctx context.Context, def scheduleDef, row store.Schedule, now time.Time) error {
	start := def.period.start(now)
	run := ScheduledRun{Schedule: def.name, Period: def.period.key(start), Start: start}
	fired := false
	err := s.Engine.DB.InTx(ctx, func(tx *sql.Tx) error {
		next := store.Schedule{Name: def.name, LastAt: now, NextAt: def.period.next(now)}
		advanced, err := s.Engine.DB.AdvanceSchedule(ctx, tx, row.NextAt, next)
		if err != nil || !advanced {
			return err
		}
		args := def.job(run)
		if _, err := s.Engine.Queue.InsertTx(ctx, tx, args, nil); err != nil {
			return fmt.Errorf("enqueuing %s for schedule %s: %w", args.Kind(), def.name, err)
		}
		fired = true
		return nil
	})
	if err != nil || !fired {
		return err
	}

	attrs := []any{"schedule", def.name, "period", run.Period, "due_at", row.NextAt}
	if row.NextAt.Before(start) {
		s.Log.Warn("schedule missed periods while the bot was down, so it fires once for the current period", attrs...)
		return nil
	}
	s.Log.Info("schedule fired", attrs...)
	return nil
}

// ScheduledRun names one run of a recurring schedule: the schedule, and the
// key and start of the period it runs for.
type ScheduledRun struct {
	Schedule string    `json:"schedule" river:"unique"`
	Period   string    `json:"period" river:"unique"`
	Start    time.Time `json:"start"`
}

// uniqueRun makes a scheduled job unique per schedule and period in every
// state but cancelled and discarded, so a second firing never enqueues it
// again while River keeps the first.
func uniqueRun() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// ScheduleTickArgs runs the scheduler's tick.
type ScheduleTickArgs struct{}

// Kind implements river.JobArgs.
func (ScheduleTickArgs) Kind() string { return "schedule_tick" }

// InsertOpts keeps one tick waiting or running at a time.
func (ScheduleTickArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
		rivertype.JobStateScheduled, rivertype.JobStateRetryable,
	}}}
}

// ReviewIssueArgs opens the review issue of one Review Cadence line for
// one period.
type ReviewIssueArgs struct {
	ScheduledRun
}

// Kind implements river.JobArgs.
func (ReviewIssueArgs) Kind() string { return "review_issue" }

// InsertOpts makes the review issue of a period one job.
func (ReviewIssueArgs) InsertOpts() river.InsertOpts { return uniqueRun() }

// InventoryAuditArgs runs the project-inventory audit for one period.
type InventoryAuditArgs struct {
	ScheduledRun
}

// Kind implements river.JobArgs.
func (InventoryAuditArgs) Kind() string { return "inventory_audit" }

// InsertOpts makes the audit of a period one job.
func (InventoryAuditArgs) InsertOpts() river.InsertOpts { return uniqueRun() }

// ModelAuditArgs runs the orphaned-model audit for one period.
type ModelAuditArgs struct {
	ScheduledRun
}

// Kind implements river.JobArgs.
func (ModelAuditArgs) Kind() string { return "model_audit" }

// InsertOpts makes the audit of a period one job.
func (ModelAuditArgs) InsertOpts() river.InsertOpts { return uniqueRun() }

// SecretRotationArgs runs the secret rotation check for one period.
type SecretRotationArgs struct {
	ScheduledRun
}

// Kind implements river.JobArgs.
func (SecretRotationArgs) Kind() string { return "secret_rotation_check" }

// InsertOpts makes the check of a period one job.
func (SecretRotationArgs) InsertOpts() river.InsertOpts { return uniqueRun() }

// registerScheduleWorkers adds the scheduler's workers. They do nothing
// when w.Scheduler is nil.
func registerScheduleWorkers(w *Workers, workers *river.Workers) {
	river.AddWorker(workers, counted(w, w.scheduleTick))
	river.AddWorker(workers, counted(w, w.reviewIssue))
	river.AddWorker(workers, counted(w, w.inventoryAudit))
	river.AddWorker(workers, counted(w, w.modelAudit))
	river.AddWorker(workers, counted(w, w.secretRotationCheck))
	river.AddWorker(workers, counted(w, w.retrainingCheck))
}

func (w *Workers) scheduleTick(ctx context.Context, _ *river.Job[ScheduleTickArgs]) error {
	if w.Scheduler == nil {
		return nil
	}
	return w.Scheduler.Tick(ctx)
}

// scheduled returns the planned schedule a job runs for, or cancels the
// job when the schedule is no longer planned.
func (w *Workers) scheduled(kind string, run ScheduledRun) (scheduleDef, error) {
	if w.Scheduler == nil {
		return scheduleDef{}, river.JobCancel(fmt.Errorf("%s for schedule %s: the scheduler is not configured", kind, run.Schedule))
	}
	def, ok := w.Scheduler.plan.byName(run.Schedule)
	if !ok {
		cause := fmt.Errorf("%s for schedule %s: the schedule is no longer planned", kind, run.Schedule)
		return def, &jobFailure{err: river.JobCancel(cause), cause: cause, attrs: []any{"schedule", run.Schedule, "period", run.Period}}
	}
	return def, nil
}
