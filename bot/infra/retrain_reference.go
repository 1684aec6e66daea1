package infra

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/integrations/mlflow"
)

// TagReferenceRequest is the registered-model tag naming the request that
// last set the reference dataset.
const TagReferenceRequest = "sopbot.reference_request"

// referenceUpdate points the model's drift reference at the data the
// promoted version was trained on, with a registered-model tag, and reads
// it back.
type referenceUpdate struct{ RetrainDeps }

// ReferenceResult is reference-update's result.
type ReferenceResult struct {
	Model    string `json:"model"`
	Tag      string `json:"tag"`
	Value    string `json:"value"`
	Previous string `json:"previous,omitempty"`
	// Source is where Value came from: "config", "dataset input" or
	// "window".
	Source      string `json:"source"`
	Version     string `json:"version"`
	AlreadyDone bool   `json:"already_done,omitempty"`
}

func (a referenceUpdate) reference(ctx context.Context, in bot.ActionInput) (ReferenceResult, error) {
	model, policy, err := a.modelPolicy(in)
	if err != nil {
		return ReferenceResult{}, err
	}
	var cmp bot.ModelComparison
	if err := in.ResultOf(bot.ActionModelCompare, &cmp); err != nil {
		return ReferenceResult{}, bot.Permanent(err)
	}
	var trained RetrainRun
	if err := in.ResultOf(bot.ActionKFPRetrain, &trained); err != nil {
		return ReferenceResult{}, bot.Permanent(err)
	}

	r := ReferenceResult{Model: model, Tag: a.Retraining.ReferenceTag, Version: cmp.Candidate}
	if r.Tag == "" {
		r.Tag = "sopbot.reference_dataset"
	}
	start, end := trained.WindowStart.Format(time.RFC3339), trained.WindowEnd.Format(time.RFC3339)
	if policy.ReferenceDataset != "" {
		r.Value = strings.NewReplacer("{model}", model, "{request}", retrainKey(in.Request), "{window_start}", start, "{window_end}", end).
			Replace(policy.ReferenceDataset)
		r.Source = "config"
		return r, nil
	}

	run, err := a.Registry.GetRun(ctx, cmp.CandidateRunID)
	if err != nil && !errors.Is(err, mlflow.ErrNotFound) {
		return r, retrainErr(err)
	}
	if source := trainingSource(run); source != "" {
		r.Value, r.Source = source, "dataset input"
		return r, nil
	}
	r.Value, r.Source = fmt.Sprintf("window:%s/%s", start, end), "window"
	return r, nil
}

// trainingSource returns the source of the run's training dataset input,
// or of its only dataset input.
func trainingSource(run mlflow.Run) string {
	for _, d := range run.Datasets {
		if d.Context == "training" && d.Source != "" {
			return d.Source
		}
	}
	if len(run.Datasets) == 1 {
		return run.Datasets[0].Source
	}
	return ""
}

func (a referenceUpdate) Plan(ctx context.Context, in bot.ActionInput) (string, error) {
	r, err := a.reference(ctx, in)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("# MLflow: set the registered-model tags %s=%q and %s=%q on %s, then read them back\n",
		r.Tag, r.Value, TagReferenceRequest, retrainKey(in.Request), r.Model), nil
}

func (a referenceUpdate) Step(ctx context.Context, in bot.ActionInput) (bot.StepResult, error) {
	r, err := a.reference(ctx, in)
	if err != nil {
		return bot.StepResult{}, err
	}
	rm, err := a.Registry.GetRegisteredModel(ctx, r.Model)
	if err != nil {
		return bot.StepResult{}, retrainErr(err)
	}
	key := retrainKey(in.Request)
	r.Previous = rm.Tags[r.Tag]
	if r.Previous == r.Value && rm.Tags[TagReferenceRequest] == key {
		r.AlreadyDone, r.Previous = true, ""
	} else {
		for _, tag := range [][2]string{{r.Tag, r.Value}, {TagReferenceRequest, key}} {
			if err := a.Registry.SetRegisteredModelTag(ctx, r.Model, tag[0], tag[1]); err != nil {
				return bot.StepResult{}, retrainErr(err)
			}
		}
		if rm, err = a.Registry.GetRegisteredModel(ctx, r.Model); err != nil {
			return bot.StepResult{}, retrainErr(err)
		}
		if got := rm.Tags[r.Tag]; got != r.Value {
			return bot.StepResult{}, fmt.Errorf("reading back tag %s of %s: got %q, want %q", r.Tag, r.Model, got, r.Value)
		}
	}
	was := "it was unset"
	switch {
	case r.AlreadyDone:
		was = "it already did, from an earlier attempt"
	case r.Previous != "":
		was = fmt.Sprintf("it was `%s`", r.Previous)
	}
	summary := fmt.Sprintf("The drift reference of `%s` now points at `%s` (%s, from the training data of v%s): registered-model tag `%s`; %s.",
		r.Model, r.Value, r.Source, r.Version, r.Tag, was)
	return bot.StepResult{Summary: summary, Result: r}, nil
}
