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
// opened gets the newest report on its model instead. It changes nothing
// outside the bot.
type driftRecord struct{ RetrainDeps }

// DriftRecordResult is drift-record's result.
type DriftRecordResult struct {
	// Trigger is the reason the request opened, in one line.
	Trigger    string    `json:"trigger"`
	ReportedAt time.Time `json:"reported_at"`
	Features   int       `json:"features"`
	Drifted    []string  `json:"drifted"`
	// Source is "request" for the report that opened the request, or
	// "latest" for the newest report on the model.
	Source string `json:"source"`
	// Reports counts the reports attached to the request.
	Reports int `json:"reports"`
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
	source := "request"
	if len(scores) == 0 {
		source = "latest"
		if scores, err = a.Scores.LatestModelDriftScores(ctx, model); err != nil {
			return bot.StepResult{}, err
		}
	}
	if len(scores) == 0 {
		return bot.StepResult{Failed: fmt.Sprintf("no drift report on `%s` is stored, so steps 1 and 2 have no evidence. "+
			"Have the drift detector send its scores to `POST /api/v1/drift`, or add a `drift[]` check of `%s` to the config.", model, model)}, nil
	}
	reports := splitReports(scores)
	first := reports[0]
	result := DriftRecordResult{ReportedAt: first[0].ReportedAt, Features: len(first), Source: source, Reports: len(reports)}
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
	case r.Source == "latest":
		// A request the bot opened with no report attached comes from the
		// retraining check, since a report that opens one is attached to it.
		return fmt.Sprintf("sopbot's retraining check opened it because the scheduled retraining date had passed, without drift; the newest drift report, of %s, is below", at)
	case len(r.Drifted) > 0:
		return fmt.Sprintf("the drift report of %s found %d of %d feature(s) drifted: %s", at, len(r.Drifted), r.Features, strings.Join(r.Drifted, ", "))
	}
	return fmt.Sprintf("the scheduled retraining date had passed when the drift report of %s arrived, without drift", at)
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
