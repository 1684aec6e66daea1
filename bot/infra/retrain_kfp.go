package infra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/integrations/kfp"
)

// kfpRetrain starts the model's retraining pipeline on the data window of
// the request and waits until the run ends. The run's display name holds
// the request id and an attempt number, so a retry after a crash finds
// its run, and a retry after a failed run starts the next attempt.
type kfpRetrain struct{ RetrainDeps }

// RetrainRun is kfp-retrain's progress and result.
type RetrainRun struct {
	RunID       string `json:"run_id"`
	DisplayName string `json:"display_name"`
	// Attempt counts the runs this request started: a retry after a run
	// that ended without success starts attempt 2, and so on.
	Attempt           int       `json:"attempt"`
	URL               string    `json:"url"`
	State             string    `json:"state,omitempty"`
	Error             string    `json:"error,omitempty"`
	PipelineID        string    `json:"pipeline_id"`
	PipelineVersionID string    `json:"pipeline_version_id,omitempty"`
	WindowStart       time.Time `json:"window_start"`
	WindowEnd         time.Time `json:"window_end"`
	FinishedAt        time.Time `json:"finished_at,omitzero"`
}

func (a kfpRetrain) runRequest(in bot.ActionInput, policy config.RetrainingModel, attempt int) kfp.RunRequest {
	model := in.Request.Params["model"]
	start, end := retrainWindow(in.Request, policy)
	params := map[string]any{}
	for k, v := range policy.Pipeline.Parameters {
		params[k] = v
	}
	// The bot's parameters win over configured ones of the same name.
	params["model"] = model
	params["request"] = retrainKey(in.Request)
	params["window_start"] = start.Format(time.RFC3339)
	params["window_end"] = end.Format(time.RFC3339)
	name := fmt.Sprintf("sopbot %s retrain %s", retrainKey(in.Request), model)
	if attempt > 1 {
		name += fmt.Sprintf(" attempt %d", attempt)
	}
	description := fmt.Sprintf("Retraining of %s for sopbot request %s", model, retrainKey(in.Request))
	if in.Request.IssueURL != "" {
		description += " (" + in.Request.IssueURL + ")"
	}
	return kfp.RunRequest{
		DisplayName: name, Description: description, ExperimentID: policy.Pipeline.ExperimentID,
		PipelineID: policy.Pipeline.PipelineID, PipelineVersionID: policy.Pipeline.PipelineVersionID,
		Parameters: params, ServiceAccount: policy.Pipeline.ServiceAccount,
	}
}

func (a kfpRetrain) Plan(_ context.Context, in bot.ActionInput) (string, error) {
	_, policy, err := a.modelPolicy(in)
	if err != nil {
		return "", err
	}
	r := a.runRequest(in, policy, 1)
	return fmt.Sprintf("# Kubeflow Pipelines: find a run named %q; create it if missing, then wait until it ends\nPOST /apis/v2beta1/runs display_name=%q pipeline_id=%q pipeline_version_id=%q parameters=%v\n",
		r.DisplayName, r.DisplayName, r.PipelineID, r.PipelineVersionID, r.Parameters), nil
}

func (a kfpRetrain) Step(ctx context.Context, in bot.ActionInput) (bot.StepResult, error) {
	model, policy, err := a.modelPolicy(in)
	if err != nil {
		return bot.StepResult{}, err
	}
	if policy.Pipeline.PipelineID == "" {
		return bot.StepResult{}, bot.Permanent(fmt.Errorf("retraining.models.%s.pipeline.pipelineID is not set, so there is no pipeline to run", model))
	}
	p, err := a.nextRun(in)
	if err != nil {
		return bot.StepResult{}, err
	}
	if p.RunID == "" {
		return a.start(ctx, in, policy, p.Attempt)
	}

	run, err := a.KFP.GetRun(ctx, p.RunID)
	if errors.Is(err, kfp.ErrNotFound) {
		p.State, p.Error = bot.KFPRunNotFound, "the run no longer exists in Kubeflow Pipelines"
		return bot.StepResult{Failed: fmt.Sprintf("KFP run %s of attempt %d no longer exists; a retry starts a new run", p.RunID, p.Attempt), Result: p}, nil
	}
	if err != nil {
		return bot.StepResult{}, retrainErr(err)
	}
	p.State, p.Error, p.FinishedAt = run.State, run.Error, run.FinishedAt
	link := fmt.Sprintf("[%s](%s)", p.DisplayName, p.URL)
	if !kfp.Terminal(run.State) {
		// The wait is timed from the run's creation or from the action's
		// last queueing, whichever is later, so a retry waits again.
		since, timeout := in.Run.QueuedAt, policy.Pipeline.TimeoutDuration()
		if run.CreatedAt.After(since) {
			since = run.CreatedAt
		}
		if in.Now.Sub(since) > timeout {
			return bot.StepResult{Failed: fmt.Sprintf("KFP run %s is still %s after %s (retraining.models.%s.pipeline.timeout); a retry waits for the same run again",
				link, run.State, timeout, model), Result: p}, nil
		}
		return bot.StepResult{Wait: a.Poll, Progress: p}, nil
	}
	if !kfp.Succeeded(run.State) {
		msg := fmt.Sprintf("KFP run %s ended %s", link, run.State)
		if run.Error != "" {
			msg += ": " + run.Error
		}
		return bot.StepResult{Failed: msg + "; a retry starts a new run", Result: p}, nil
	}
	summary := fmt.Sprintf("KFP run %s **succeeded**: pipeline `%s` retrained `%s` on the data from %s to %s (the past %d days), with the pipeline's configured hyperparameters.",
		link, p.PipelineID, model, p.WindowStart.Format(time.RFC3339), p.WindowEnd.Format(time.RFC3339), policy.WindowDays)
	return bot.StepResult{Summary: summary, Result: p}, nil
}

// start finds or creates the run of an attempt and saves it as progress.
func (a kfpRetrain) start(ctx context.Context, in bot.ActionInput, policy config.RetrainingModel, attempt int) (bot.StepResult, error) {
	r := a.runRequest(in, policy, attempt)
	run, created, err := a.KFP.EnsureRun(ctx, r)
	if err != nil {
		return bot.StepResult{}, retrainErr(err)
	}
	start, end := retrainWindow(in.Request, policy)
	p := RetrainRun{RunID: run.ID, DisplayName: r.DisplayName, Attempt: attempt, URL: a.KFP.RunURL(run.ID), State: run.State,
		PipelineID: r.PipelineID, PipelineVersionID: r.PipelineVersionID, WindowStart: start, WindowEnd: end}
	verb := "started"
	if !created {
		verb = "found the earlier"
	}
	notice := fmt.Sprintf("%s KFP run [%s](%s) on the data from %s to %s; the bot reports when it ends.",
		verb, r.DisplayName, p.URL, start.Format(time.RFC3339), end.Format(time.RFC3339))
	return bot.StepResult{Wait: a.Poll, Progress: p, Notice: notice}, nil
}

// nextRun returns the action's progress as its next step reads it: the
// run that the step waits for, or no run and the attempt that the step
// finds or starts. A retry after a run that ended without success moves on
// to the next attempt.
func (a kfpRetrain) nextRun(in bot.ActionInput) (RetrainRun, error) {
	var p RetrainRun
	if err := in.Progress(&p); err != nil {
		return p, err
	}
	if p.RunID != "" && a.endedBefore(in, p.RunID) {
		p = RetrainRun{Attempt: p.Attempt + 1}
	}
	if p.RunID == "" {
		p.Attempt = max(p.Attempt, 1)
	}
	return p, nil
}

// endedBefore reports whether the action's last outcome was this run
// ending without success, which makes the current step a retry.
func (a kfpRetrain) endedBefore(in bot.ActionInput, runID string) bool {
	if in.Run.Result == "" {
		return false
	}
	var last RetrainRun
	if json.Unmarshal([]byte(in.Run.Result), &last) != nil || last.RunID != runID {
		return false
	}
	return last.State == bot.KFPRunNotFound || (kfp.Terminal(last.State) && !kfp.Succeeded(last.State))
}
