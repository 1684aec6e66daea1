package bot

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/riverqueue/river"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

// scheduleRetraining is the daily check of the models' retraining dates.
const scheduleRetraining = "retraining-check"

// retrainingSeenPrefix starts the names of the schedules rows that record
// when the scheduler first saw a model of retraining.models. Their NextAt
// is zero, so they never fire.
const retrainingSeenPrefix = "retraining-seen:"

// RetrainingCheckArgs runs the retraining check for one period.
type RetrainingCheckArgs struct {
	ScheduledRun
}

// Kind implements river.JobArgs.
func (RetrainingCheckArgs) Kind() string { return "retraining_check" }

// InsertOpts makes the check of a period one job.
func (RetrainingCheckArgs) InsertOpts() river.InsertOpts { return uniqueRun() }

// retrainingSchedule plans the daily retraining check while it is enabled
// and a model of retraining.models has an every period.
func retrainingSchedule(settings ScheduleSettings) []scheduleDef {
	if !settings.Schedules.Retraining.IsEnabled() || len(scheduledModels(settings)) == 0 {
		return nil
	}
	return []scheduleDef{{name: scheduleRetraining, period: mustPeriod("daily", "daily"),
		job: func(run ScheduledRun) river.JobArgs { return RetrainingCheckArgs{run} }}}
}

// scheduledModels returns the models of retraining.models that have an
// every period, by name.
func scheduledModels(settings ScheduleSettings) []string {
	var names []string
	for name, m := range settings.Retraining {
		if m.Schedule() > 0 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// addRetrainingModels records when the scheduler first saw each model
// with a retraining schedule. Before a model's first retraining request
// its schedule counts from then, or from its first drift report if that
// is older.
func (s *Scheduler) addRetrainingModels(ctx context.Context, tx *sql.Tx, now time.Time) error {
	if _, ok := s.plan.byName(scheduleRetraining); !ok {
		return nil
	}
	for _, model := range scheduledModels(s.settings) {
		added, err := s.Engine.DB.AddSchedule(ctx, tx, store.Schedule{Name: retrainingSeenPrefix + model, LastAt: now})
		if err != nil {
			return err
		}
		if added {
			s.Log.Info("retraining schedule of model starts", "model", model, "every", s.settings.Retraining[model].Every, "since", now)
		}
	}
	return nil
}

func (w *Workers) retrainingCheck(ctx context.Context, job *river.Job[RetrainingCheckArgs]) error {
	def, err := w.scheduled(job.Kind, job.Args.ScheduledRun)
	if err != nil {
		return err
	}
	attrs := []any{"schedule", def.name, "period", job.Args.Period}
	s, ok := w.Engine.Library.Get(retrainingSOP)
	if !ok || s.Binding == nil || !isRetraining(s) {
		w.Log.Error("retraining check failed: the SOP library has no bound "+retrainingSOP+" with model-compare", attrs...)
		return river.JobCancel(fmt.Errorf("retraining check: the SOP library has no bound %s with model-compare", retrainingSOP))
	}
	return w.outcome(job.Kind, attrs, w.Engine.DB.InTx(ctx, func(tx *sql.Tx) error {
		return w.Scheduler.openDueRetrainings(ctx, tx, s, job.Args.ScheduledRun)
	}))
}

// openDueRetrainings opens, as the bot, a retraining request for each
// model whose every period has passed since its last retraining request
// opened, in any state, or before its first one since the scheduler
// first saw it. A model with an active retraining request, queued ones
// included, is skipped. Everything happens in tx, so a retry after a
// crash finds the requests it opened.
//
// The check posts nothing in Slack itself, because drift-record notifies
// the channel once the new request's record is on its issue, and a failed
// action posts its error there.
func (s *Scheduler) openDueRetrainings(ctx context.Context, tx *sql.Tx, retrain *sop.SOP, run ScheduledRun) error {
	now := s.now()
	t := &txn{ctx: ctx, tx: tx, deliveryID: "schedule:" + run.Schedule + ":" + run.Period}
	for _, model := range scheduledModels(s.settings) {
		if err := s.checkRetraining(t, retrain, model, now); err != nil {
			return err
		}
	}
	return nil
}

// checkRetraining opens the retraining request of one model if its date
// has passed and no request for it is active.
func (s *Scheduler) checkRetraining(t *txn, retrain *sop.SOP, model string, now time.Time) error {
	every := s.settings.Retraining[model].Schedule()
	params, err := ValidateParams(retrain, map[string]string{"model": model})
	if err != nil {
		s.Log.Error("model of retraining.models cannot fill a retraining request", "model", model, "error", err)
		return nil
	}
	target := fillTemplate(retrain.Binding.Target, params)
	active, err := s.Engine.DB.ActiveRequestsForTarget(t.ctx, t.tx, target)
	if err != nil {
		return err
	}
	if len(active) > 0 {
		s.Log.Debug("model's retraining is active, so the schedule opens none", "model", model, "request_id", active[0].ID)
		return nil
	}

	since, what, ok, err := s.retrainingSince(t, target, model, now)
	if err != nil || !ok || now.Sub(since) < every {
		return err
	}
	note := retrainingNote(model, every, since, what, now)
	id, err := s.openBotRequest(t, retrain, params, target, note, ScheduledOpening{Every: every, Since: what, SinceAt: since}.AuditDetail())
	if err != nil {
		return err
	}
	s.Log.Info("scheduled retraining request opened", "model", model, "request_id", id, "every", every.String(), "since", what, "since_at", since)
	return nil
}

// retrainingSince returns when the model's retraining schedule counts
// from and what happened then: its last retraining request opening or,
// before its first one, the older of the first drift report and the
// moment the scheduler first saw the model. A model the scheduler has not
// seen yet, as after a restart with a new config between a tick and its
// check, is recorded now and returns false.
func (s *Scheduler) retrainingSince(t *txn, target, model string, now time.Time) (time.Time, string, bool, error) {
	last, ok, err := s.Engine.DB.LastRequestOpened(t.ctx, t.tx, target)
	if err != nil || ok {
		return last, "the last retraining request opened", ok, err
	}
	seen, err := s.Engine.DB.GetSchedule(t.ctx, t.tx, retrainingSeenPrefix+model)
	if errors.Is(err, store.ErrNotFound) {
		_, err = s.Engine.DB.AddSchedule(t.ctx, t.tx, store.Schedule{Name: retrainingSeenPrefix + model, LastAt: now})
		return now, "", false, err
	}
	if err != nil {
		return time.Time{}, "", false, err
	}
	since, what := seen.LastAt, "sopbot first saw the model in retraining.models"
	first, ok, err := s.Engine.DB.FirstDriftReport(t.ctx, t.tx, model)
	if err != nil {
		return time.Time{}, "", false, err
	}
	if ok && first.Before(since) {
		since, what = first, "the first drift report arrived"
	}
	return since, what, true, nil
}

// retrainingNote is the first comment of a request the retraining check
// opened: why the retraining is due.
func retrainingNote(model string, every time.Duration, since time.Time, what string, now time.Time) string {
	return fmt.Sprintf("🔁 Opened by sopbot's retraining check: the **scheduled retraining** of `%s` is due, without drift. "+
		"`retraining.models.%s.every` is %s, and %s on %s, %s.",
		model, model, everyText(every), what, since.UTC().Format(time.DateOnly), daysAgo(now, since))
}

// everyText writes a retraining period in days when it is a whole number
// of days, and as a Go duration otherwise.
func everyText(every time.Duration) string {
	const day = 24 * time.Hour
	if every%day != 0 {
		return every.String()
	}
	if every == day {
		return "1 day"
	}
	return fmt.Sprintf("%d days", every/day)
}
