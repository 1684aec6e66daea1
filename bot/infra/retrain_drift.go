package infra

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
)

// driftRecord records the drift report behind a retraining request on its
// issue: the scores table of the report that opened it, which ticks the
// drift detection and the trigger decision. A request that a person
// opened, or that the retraining check opened, gets the newest report on
// its model instead. A request of the retraining check with no report
// stored at all records its schedule and due date. It changes nothing
// outside the bot.
type driftRecord struct{ RetrainDeps }

// Sources of the drift record.
const (
	// DriftSourceRequest is the report that opened the request.
	DriftSourceRequest = "request"
	// DriftSourceLatest is the newest report on the model.
	DriftSourceLatest = "latest"
	// DriftSourceNone is no report: the retraining check opened the
	// request and no report on the model is stored.
	DriftSourceNone = "none"
)

// DriftRecordResult is drift-record's result.
type DriftRecordResult struct {
	// Trigger is the reason the request opened, in one line.
	Trigger    string    `json:"trigger"`
	ReportedAt time.Time `json:"reported_at,omitzero"`
	Features   int       `json:"features"`
	Drifted    []string  `json:"drifted"`
	// Source is one of the DriftSource constants.
	Source string `json:"source"`
	// Reports counts the reports attached to the request.
	Reports int `json:"reports"`
	// Schedule is set for a request that the retraining check opened.
	Schedule *ScheduleRecord `json:"schedule,omitempty"`
}

// ScheduleRecord is the schedule of a retraining that the retraining
// check opened.
type ScheduleRecord struct {
	// Every is the retraining period as a Go duration, and Period the same
	// in words, such as "30 days".
	Every  string `json:"every"`
	Period string `json:"period"`
	// Since names what the period counted from, and SinceAt when.
	Since   string    `json:"since"`
	SinceAt time.Time `json:"since_at"`
	DueAt   time.Time `json:"due_at"`
	// WindowStart and WindowEnd are the data window that kfp-retrain
	// trains on, from the model's windowDays.
	WindowStart time.Time `json:"window_start,omitzero"`
	WindowEnd   time.Time `json:"window_end,omitzero"`
}

func (a driftRecord) Plan(_ context.Context, in bot.ActionInput) (string, error) {
	return fmt.Sprintf("# sopbot database: read the drift scores of request %s, or the newest report on %s, and post them as a table\n",
		retrainKey(in.Request), in.Request.Params["model"]), nil
}

func (a driftRecord) Step(ctx context.Context, in bot.ActionInput) (bot.StepResult, error) {
	model := in.Request.Params["model"]
	scores, err := a.Scores.RequestDriftScores(ctx, in.Request.ID)
	if err != nil {
		return bot.StepResult{}, err
	}
	var schedule *ScheduleRecord
	source := DriftSourceRequest
	if len(scores) == 0 {
		// Of the requests the bot opens, only those of the retraining check
		// have no report attached.
		if in.Request.RequesterLogin == bot.BotActor {
			if schedule, err = a.scheduleOf(ctx, in); err != nil {
				return bot.StepResult{}, err
			}
		}
		source = DriftSourceLatest
		if scores, err = a.Scores.LatestModelDriftScores(ctx, model); err != nil {
			return bot.StepResult{}, err
		}
	}
	if len(scores) == 0 && schedule != nil {
		return a.recordSchedule(in, *schedule), nil
	}
	if len(scores) == 0 {
		return bot.StepResult{Failed: fmt.Sprintf("no drift report on `%s` is stored, so steps 1 and 2 have no evidence. "+
			"Have the drift detector send its scores to `POST /api/v1/drift`, or add a `drift[]` check of `%s` to the config.", model, model)}, nil
	}
	reports := splitReports(scores)
	first := reports[0]
	result := DriftRecordResult{ReportedAt: first[0].ReportedAt, Features: len(first), Source: source, Reports: len(reports), Schedule: schedule}
	for _, s := range first {
		if s.Drifted {
			result.Drifted = append(result.Drifted, s.Feature)
		}
	}
	result.Trigger = trigger(in.Request, result)

	var b strings.Builder
	fmt.Fprintf(&b, "**Drift record of `%s`**: %s.\n\n", model, result.Trigger)
	b.WriteString(scoresTable(first, a.Thresholds(model)))
	if len(reports) > 1 {
		fmt.Fprintf(&b, "\n%d later report(s) were added to this request; `sopbot audit export --request R-%d` lists them.\n", len(reports)-1, in.Request.ID)
	}
	b.WriteString("\nThe scores are stored in sopbot's database (`drift_scores`) and exported on `/metrics` as `sopbot_drift_score`. " +
		"This issue is the retraining ticket; the channel is told now, and `kfp-retrain` starts the pipeline.")
	return bot.StepResult{Summary: b.String(), Result: result}, nil
}

// scheduleOf returns the schedule that the retraining check recorded when
// it opened the request, with the data window of the model's policy, or
// nil when the check did not open it.
func (a driftRecord) scheduleOf(ctx context.Context, in bot.ActionInput) (*ScheduleRecord, error) {
	opening, ok, err := a.Scores.ScheduledOpening(ctx, in.Request.ID)
	if err != nil || !ok {
		return nil, err
	}
	record := &ScheduleRecord{Every: opening.Every.String(), Period: opening.EveryText(), Since: opening.Since, SinceAt: opening.SinceAt, DueAt: opening.DueAt()}
	if policy, ok := a.Retraining.Models[in.Request.Params["model"]]; ok {
		record.WindowStart, record.WindowEnd = retrainWindow(in.Request, policy)
	}
	return record, nil
}

// recordSchedule records a scheduled retraining for which no drift report
// is stored. It ticks every item of the action's rule, step 1's drift
// detection items too: the schedule, which step 2 names beside drift,
// triggered the retraining, so no detector report is due for it, and the
// summary states this.
func (a driftRecord) recordSchedule(in bot.ActionInput, schedule ScheduleRecord) bot.StepResult {
	model := in.Request.Params["model"]
	result := DriftRecordResult{Source: DriftSourceNone, Drifted: []string{}, Schedule: &schedule}
	result.Trigger = trigger(in.Request, result)

	var b strings.Builder
	fmt.Fprintf(&b, "**Drift record of `%s`**: %s.\n\n", model, result.Trigger)
	b.WriteString("This is a scheduled retraining, not one after drift, and sopbot stores no drift report on the model, so there are no scores to record. " +
		"sopbot ticks steps 1 and 2 because the schedule, not drift detection, triggered the retraining. " +
		"A drift report that arrives while this request is open is added to it.")
	if !schedule.WindowEnd.IsZero() {
		fmt.Fprintf(&b, "\n\n`kfp-retrain` trains on the data from %s to %s: the `retraining.models.%s.windowDays` days up to the moment this request opened.",
			schedule.WindowStart.Format(time.RFC3339), schedule.WindowEnd.Format(time.RFC3339), model)
	}
	b.WriteString("\n\nThis issue is the retraining ticket; the channel is told now, and `kfp-retrain` starts the pipeline.")
	return bot.StepResult{Summary: b.String(), Result: result}
}

// splitReports groups scores by report, in the order given.
func splitReports(scores []store.DriftScore) [][]store.DriftScore {
	var reports [][]store.DriftScore
	for i, s := range scores {
		if i == 0 || !s.ReportedAt.Equal(scores[i-1].ReportedAt) {
			reports = append(reports, nil)
		}
		reports[len(reports)-1] = append(reports[len(reports)-1], s)
	}
	return reports
}

func trigger(req store.Request, r DriftRecordResult) string {
	at := r.ReportedAt.UTC().Format(time.RFC3339)
	switch {
	case req.RequesterLogin != bot.BotActor:
		return fmt.Sprintf("@%s opened it with `/mlops retrain`; the newest drift report, of %s, is below", req.RequesterLogin, at)
	case r.Schedule != nil && r.Source == DriftSourceNone:
		return scheduleTrigger(req, *r.Schedule) + ", and no drift report on the model is stored"
	case r.Schedule != nil:
		return fmt.Sprintf("%s, and the newest drift report, of %s, is below", scheduleTrigger(req, *r.Schedule), at)
	case r.Source == DriftSourceLatest:
		// A request the bot opened with no report attached comes from the
		// retraining check, since a report that opens one is attached to it.
		return fmt.Sprintf("sopbot's retraining check opened it because the scheduled retraining date had passed, without drift; the newest drift report, of %s, is below", at)
	case len(r.Drifted) > 0:
		return fmt.Sprintf("the drift report of %s found %d of %d feature(s) drifted: %s", at, len(r.Drifted), r.Features, strings.Join(r.Drifted, ", "))
	}
	return fmt.Sprintf("the scheduled retraining date had passed when the drift report of %s arrived, without drift", at)
}

// scheduleTrigger names the schedule and due date of a request that the
// retraining check opened.
func scheduleTrigger(req store.Request, s ScheduleRecord) string {
	return fmt.Sprintf("sopbot's retraining check opened it without drift: the scheduled retraining came due on %s, %s after %s on %s, as `retraining.models.%s.every` sets",
		s.DueAt.UTC().Format(time.DateOnly), s.Period, s.Since, s.SinceAt.UTC().Format(time.DateOnly), req.Params["model"])
}

// scoresTable renders one report's scores with the thresholds in force.
func scoresTable(scores []store.DriftScore, th config.DriftThresholds) string {
	var b strings.Builder
	fmt.Fprintf(&b, "A feature drifts when PSI > %g or the KS p-value < %g", th.PSI, th.KSPValue)
	if th.KL > 0 {
		fmt.Fprintf(&b, " or KL > %g", th.KL)
	}
	b.WriteString("; the drift column is the judgement when the report arrived.\n\n")
	b.WriteString("| feature | KS D | KS p-value | PSI | KL | drift |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, s := range scores {
		mark := "no"
		if s.Drifted {
			mark = "**yes**"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", strings.ReplaceAll(s.Feature, "|", "\\|"),
			floatCell(s.KS), floatCell(s.KSPValue), floatCell(s.PSI), floatCell(s.KL), mark)
	}
	return b.String()
}
