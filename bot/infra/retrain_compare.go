package infra

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/integrations/mlflow"
)

// modelCompare finds the model version that the retraining pipeline
// registered and compares its run's metrics with the version that holds
// the promotion target, on the thresholds of mlflow.models and on the
// improvement margins of an automatic promotion. It only reads MLflow.
type modelCompare struct{ RetrainDeps }

// candidateScanWindow is how long before the request opened a version may
// have been created and still be looked at, for clock differences between
// the bot and MLflow.
const candidateScanWindow = 10 * time.Minute

// maxCandidateRuns bounds the runs read to find an untagged candidate.
const maxCandidateRuns = 20

type compareProgress struct {
	// Noticed is set once the wait for the registration was announced.
	Noticed bool `json:"noticed"`
}

func (a modelCompare) Plan(_ context.Context, in bot.ActionInput) (string, error) {
	model := in.Request.Params["model"]
	return fmt.Sprintf("# MLflow: search the versions of %s for tag %s=%s, read the candidate's and production's runs, compare their metrics\n",
		model, bot.TagRequest, retrainKey(in.Request)), nil
}

func (a modelCompare) Step(ctx context.Context, in bot.ActionInput) (bot.StepResult, error) {
	model, policy, err := a.modelPolicy(in)
	if err != nil {
		return bot.StepResult{}, err
	}
	var trained RetrainRun
	if err := in.ResultOf(bot.ActionKFPRetrain, &trained); err != nil {
		return bot.StepResult{}, bot.Permanent(err)
	}
	var p compareProgress
	if err := in.Progress(&p); err != nil {
		return bot.StepResult{}, err
	}

	versions, err := a.Registry.SearchModelVersions(ctx, model)
	if err != nil {
		return bot.StepResult{}, retrainErr(err)
	}
	candidate, found, how, err := a.findCandidate(ctx, in, versions)
	if err != nil {
		return bot.StepResult{}, retrainErr(err)
	}
	if !found || candidate.Status == "PENDING_REGISTRATION" {
		return a.waitForVersion(in, policy, p, found, candidate)
	}
	if candidate.Status == "FAILED_REGISTRATION" {
		return bot.StepResult{Failed: fmt.Sprintf("version %s of `%s` failed its registration in MLflow", candidate.Version, model)}, nil
	}
	if candidate.RunID == "" {
		return bot.StepResult{Failed: fmt.Sprintf("version %s of `%s` names no run, so there are no metrics to compare", candidate.Version, model)}, nil
	}

	run, err := a.Registry.GetRun(ctx, candidate.RunID)
	if errors.Is(err, mlflow.ErrNotFound) {
		return bot.StepResult{Failed: fmt.Sprintf("run %s of version %s of `%s` is not in MLflow", candidate.RunID, candidate.Version, model)}, nil
	}
	if err != nil {
		return bot.StepResult{}, retrainErr(err)
	}
	if len(run.Metrics) == 0 {
		return bot.StepResult{Failed: fmt.Sprintf("run %s of version %s of `%s` logged no metrics to MLflow, so the evaluation cannot be compared", run.ID, candidate.Version, model)}, nil
	}

	production, productionMetrics, err := a.production(ctx, model, policy.PromoteTo, candidate.Version, versions)
	if err != nil {
		return bot.StepResult{}, retrainErr(err)
	}
	return a.compare(in, policy, candidate, how, run, production, productionMetrics, trained), nil
}

// findCandidate returns the version registered for the request: the
// newest version tagged sopbot.request=<request>, else the newest recent
// version whose run carries that tag or a parameter request=<request>. The
// string describes how it was found.
func (a modelCompare) findCandidate(ctx context.Context, in bot.ActionInput, versions []mlflow.ModelVersion) (mlflow.ModelVersion, bool, string, error) {
	key := retrainKey(in.Request)
	sort.Slice(versions, func(i, j int) bool { return versionNumber(versions[i]) > versionNumber(versions[j]) })
	for _, v := range versions {
		if v.Tags[bot.TagRequest] == key {
			return v, true, fmt.Sprintf("its version tag `%s=%s`", bot.TagRequest, key), nil
		}
	}
	since := in.Request.CreatedAt.Add(-candidateScanWindow).UnixMilli()
	read := 0
	for _, v := range versions {
		if v.CreationTimestamp < since || v.RunID == "" || read == maxCandidateRuns {
			continue
		}
		read++
		run, err := a.Registry.GetRun(ctx, v.RunID)
		if errors.Is(err, mlflow.ErrNotFound) {
			continue
		}
		if err != nil {
			return v, false, "", err
		}
		switch {
		case run.Tags[bot.TagRequest] == key:
			return v, true, fmt.Sprintf("the tag `%s=%s` of its run", bot.TagRequest, key), nil
		case run.Params["request"] == key:
			return v, true, fmt.Sprintf("the parameter `request=%s` of its run", key), nil
		}
	}
	return mlflow.ModelVersion{}, false, "", nil
}

func versionNumber(v mlflow.ModelVersion) int {
	n, _ := strconv.Atoi(v.Version)
	return n
}

// waitForVersion waits for the pipeline's version to be registered, up to
// the registration timeout after the action was queued.
func (a modelCompare) waitForVersion(in bot.ActionInput, policy config.RetrainingModel, p compareProgress, found bool, v mlflow.ModelVersion) (bot.StepResult, error) {
	model, key := in.Request.Params["model"], retrainKey(in.Request)
	timeout := policy.RegistrationTimeoutDuration()
	what := fmt.Sprintf("no version of `%s` is tagged `%s=%s`, and no version created since the request opened has a run with that tag or the parameter `request=%s`",
		model, bot.TagRequest, key, key)
	if found {
		what = fmt.Sprintf("version %s of `%s` is still pending registration in MLflow", v.Version, model)
	}
	if in.Now.Sub(in.Run.QueuedAt) > timeout {
		return bot.StepResult{Failed: fmt.Sprintf("%s after %s (retraining.models.%s.registrationTimeout). "+
			"The pipeline must register the model and tag the version with `%s=%s`, then `/mlops retry` compares it",
			what, timeout, model, bot.TagRequest, key)}, nil
	}
	result := bot.StepResult{Wait: a.Poll, Progress: compareProgress{Noticed: true}}
	if !p.Noticed {
		result.Notice = "waiting for the retrained version in MLflow: " + what + "."
	}
	return result, nil
}

// production returns the label and run metrics of the version that holds
// the promotion target now: the version the policy's alias points at, or
// the one in the target stage. It returns no metrics when there is none.
func (a modelCompare) production(ctx context.Context, model, to, candidate string, versions []mlflow.ModelVersion) (string, map[string]float64, error) {
	alias := to
	if stage, isStage := mlflow.CanonicalStage(to); isStage {
		alias = ""
		if mapped, ok := a.Alias(model, stage); ok {
			alias = mapped
		}
	}
	var holder mlflow.ModelVersion
	if alias != "" {
		mv, err := a.Registry.GetModelVersionByAlias(ctx, model, alias)
		if errors.Is(err, mlflow.ErrNotFound) {
			return "", nil, nil
		}
		if err != nil {
			return "", nil, err
		}
		holder = mv
	} else {
		for _, v := range versions {
			if v.CurrentStage == to && v.Version != candidate {
				holder = v
				break
			}
		}
	}
	if holder.Version == "" || holder.Version == candidate {
		return "", nil, nil
	}
	if holder.RunID == "" {
		return holder.Version, nil, nil
	}
	run, err := a.Registry.GetRun(ctx, holder.RunID)
	if errors.Is(err, mlflow.ErrNotFound) {
		return holder.Version, nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	return holder.Version, run.Metrics, nil
}

func (a modelCompare) compare(in bot.ActionInput, policy config.RetrainingModel, candidate mlflow.ModelVersion, how string, run mlflow.Run,
	production string, productionMetrics map[string]float64, trained RetrainRun) bot.StepResult {
	model := in.Request.Params["model"]
	productionLabel := "(none)"
	if production != "" {
		productionLabel = "v" + production
	}
	rows, hold, table := bot.CompareMetrics(run.Metrics, productionMetrics, a.Metrics(model), "v"+candidate.Version, productionLabel)
	improvements, improved, improvementTable := bot.CheckImprovements(run.Metrics, productionMetrics, policy.MinImprovement)
	cmp := bot.ModelComparison{Model: model, Candidate: candidate.Version, CandidateRunID: run.ID,
		CandidateURL: a.Registry.ModelURL(model, candidate.Version), Production: production, To: policy.PromoteTo,
		ThresholdsHold: hold, Improved: improved, AutoPromote: policy.AutoPromote && improved && hold,
		Metrics: rows, Improvements: improvements}

	var b strings.Builder
	fmt.Fprintf(&b, "**Retraining results of `%s`**: candidate [v%s](%s) from run `%s` (found by %s), trained by KFP run [%s](%s), against production %s on `%s`.\n\n",
		model, candidate.Version, cmp.CandidateURL, run.ID, how, trained.DisplayName, trained.URL, productionLabel, policy.PromoteTo)
	b.WriteString(table)
	if len(policy.MinImprovement) > 0 {
		fmt.Fprintf(&b, "\nImprovement required for an automatic promotion (`retraining.models.%s.minImprovement`):\n\n%s", model, improvementTable)
	}
	b.WriteString("\n" + decisionText(in, policy, cmp))
	return bot.StepResult{Summary: b.String(), Result: cmp}
}

// decisionText describes the next step: the automatic promotion, or the
// review and the two commands that decide, with the reason the promotion
// is not automatic.
func decisionText(in bot.ActionInput, policy config.RetrainingModel, cmp bot.ModelComparison) string {
	if cmp.AutoPromote {
		return "Every metric improved by its margin, every threshold holds and autoPromote is on: sopbot opens the SOP-02 promotion now."
	}
	label := in.Request.Label()
	text := fmt.Sprintf("Review step 4, then decide: `/mlops promote %s` opens the SOP-02 promotion of v%s, and `/mlops reject %s <reason>` rejects it.",
		label, cmp.Candidate, label)
	if !policy.AutoPromote {
		return text
	}
	switch {
	case cmp.Production == "":
		return text + " No automatic promotion: no version holds the target to improve on."
	case !cmp.ThresholdsHold:
		return text + " No automatic promotion: a threshold is missed."
	}
	return text + " No automatic promotion: a metric did not improve by its margin."
}
