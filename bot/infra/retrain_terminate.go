package infra

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/integrations/kfp"
)

// terminateTimeout bounds the wait for a terminated run to reach an end
// state, counted from the terminate call or from the action's last
// queueing, whichever is later. KFP reports CANCELED once the run's
// workflow has stopped its pods.
// NOTE: 30 minutes is an estimate of how long pods take to stop, not a
// figure measured on a cluster.
const terminateTimeout = 30 * time.Minute

// kfpTerminate terminates the KFP run of a retraining that a person
// rejected while kfp-retrain waited for it, and waits until the run has
// stopped. It reads the run before it calls terminate and records the call
// in its progress. KFP shows a terminated run as CANCELING at once, so a
// retry, or a step after a crash that lost the progress, sends no second
// call. A run that already ended gets no call.
type kfpTerminate struct{ RetrainDeps }

// Outcomes of kfp-terminate.
const (
	TerminateDone     = "terminated"
	TerminateEnded    = "already-ended"
	TerminateNotFound = "not-found"
	TerminateNoRun    = "no-run"
)

// RetrainTermination is kfp-terminate's progress and result.
type RetrainTermination struct {
	// StopOrder holds who ended the request and why. The engine writes it
	// as the first progress.
	bot.StopOrder
	RunID       string `json:"run_id,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	URL         string `json:"url,omitempty"`
	// StateBefore is the run's state when the action first read it, and
	// State the one it read last.
	StateBefore string `json:"state_before,omitempty"`
	State       string `json:"state,omitempty"`
	// Terminated is set once KFP accepted this action's terminate call.
	Terminated   bool      `json:"terminated"`
	TerminatedAt time.Time `json:"terminated_at,omitzero"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	// Outcome is one of the Terminate constants, set when the action ends.
	Outcome string `json:"outcome,omitempty"`
}

func (a kfpTerminate) Plan(_ context.Context, in bot.ActionInput) (string, error) {
	return fmt.Sprintf("# Kubeflow Pipelines: read the run that kfp-retrain started for %s; if it is still active, terminate it once and wait until it ends\n"+
		"GET /apis/v2beta1/runs/{run_id}\nPOST /apis/v2beta1/runs/{run_id}:terminate\n", retrainKey(in.Request)), nil
}

func (a kfpTerminate) Step(ctx context.Context, in bot.ActionInput) (bot.StepResult, error) {
	var p RetrainTermination
	if err := in.Progress(&p); err != nil {
		return bot.StepResult{}, err
	}
	if p.RunID == "" {
		found, err := a.findRun(ctx, in, &p)
		if err != nil {
			return bot.StepResult{}, err
		}
		if !found {
			p.Outcome = TerminateNoRun
			return a.done(in, p), nil
		}
	}

	run, err := a.KFP.GetRun(ctx, p.RunID)
	if errors.Is(err, kfp.ErrNotFound) {
		p.State, p.Outcome = bot.KFPRunNotFound, TerminateNotFound
		return a.done(in, p), nil
	}
	if err != nil {
		return bot.StepResult{}, retrainErr(err)
	}
	return a.act(ctx, in, p, run)
}

// findRun fills in the run that kfp-retrain waits for or, when its
// progress names none, the run of the attempt it was starting, found by
// display name, as after a crash between the create and the save of its
// progress. It returns false when kfp-retrain has no run going.
func (a kfpTerminate) findRun(ctx context.Context, in bot.ActionInput, p *RetrainTermination) (bool, error) {
	retrainIn := in
	retrainIn.Run = in.Runs[bot.ActionKFPRetrain]
	retrain := kfpRetrain(a)
	next, err := retrain.nextRun(retrainIn)
	if err != nil {
		return false, fmt.Errorf("reading the progress of %s: %w", bot.ActionKFPRetrain, err)
	}
	if next.RunID != "" {
		p.RunID, p.DisplayName, p.URL = next.RunID, next.DisplayName, next.URL
		return true, nil
	}
	_, policy, err := a.modelPolicy(in)
	if err != nil {
		return false, err
	}
	name := retrain.runRequest(retrainIn, policy, next.Attempt).DisplayName
	run, found, err := a.KFP.FindRun(ctx, policy.Pipeline.ExperimentID, name)
	if err != nil || !found {
		return false, retrainErr(err)
	}
	p.RunID, p.DisplayName, p.URL = run.ID, name, a.KFP.RunURL(run.ID)
	return true, nil
}

// act terminates the run if it is active and has had no terminate call
// from this action, waits while it is canceling, and ends the action once
// the run has ended.
func (a kfpTerminate) act(ctx context.Context, in bot.ActionInput, p RetrainTermination, run kfp.Run) (bot.StepResult, error) {
	if p.StateBefore == "" {
		p.StateBefore = run.State
	}
	p.State, p.FinishedAt = run.State, run.FinishedAt
	switch {
	case kfp.Terminal(run.State):
		p.Outcome = TerminateEnded
		if p.Terminated || run.State == kfp.StateCanceled {
			p.Outcome = TerminateDone
		}
		return a.done(in, p), nil
	case run.State == kfp.StateCanceling || p.Terminated:
		return a.wait(in, p), nil
	}

	err := a.KFP.TerminateRun(ctx, p.RunID)
	switch {
	case errors.Is(err, kfp.ErrNotFound):
		p.State, p.Outcome = bot.KFPRunNotFound, TerminateNotFound
		return a.done(in, p), nil
	case err != nil && kfp.IsPermanent(err):
		// KFP rejects the call for a run that stopped being active between
		// the read and the call, so read the run again before giving up.
		again, getErr := a.KFP.GetRun(ctx, p.RunID)
		if getErr == nil && (kfp.Terminal(again.State) || again.State == kfp.StateCanceling) {
			return a.act(ctx, in, p, again)
		}
		return bot.StepResult{}, retrainErr(err)
	case err != nil:
		return bot.StepResult{}, err
	}
	p.Terminated, p.TerminatedAt = true, in.Now
	return bot.StepResult{Wait: a.Poll, Progress: p}, nil
}

// wait polls a canceling run again, or fails once it has been canceling
// for longer than terminateTimeout.
func (a kfpTerminate) wait(in bot.ActionInput, p RetrainTermination) bot.StepResult {
	since := in.Run.QueuedAt
	if p.TerminatedAt.After(since) {
		since = p.TerminatedAt
	}
	if in.Now.Sub(since) <= terminateTimeout {
		return bot.StepResult{Wait: a.Poll, Progress: p}
	}
	return bot.StepResult{
		Failed: fmt.Sprintf("KFP run %s is still %s after %s, the time kfp-terminate waits for the run to stop; "+
			"a retry reads the run again and sends no second terminate call", a.link(p), p.State, terminateTimeout),
		Result: p, Progress: p,
	}
}

// done ends the action with a summary of what happened to the run and of
// who ended the request and why.
func (a kfpTerminate) done(in bot.ActionInput, p RetrainTermination) bot.StepResult {
	var summary string
	switch p.Outcome {
	case TerminateNoRun:
		summary = fmt.Sprintf("`%s` had no KFP run going, so there was nothing to terminate.", bot.ActionKFPRetrain)
	case TerminateNotFound:
		summary = fmt.Sprintf("KFP run %s no longer exists, so there was nothing to terminate.", a.link(p))
	case TerminateEnded:
		summary = fmt.Sprintf("KFP run %s had already ended %s, so sopbot sent no terminate call.", a.link(p), p.State)
	case TerminateDone:
		summary = fmt.Sprintf("Terminated KFP run %s: it was %s and is now **%s**.", a.link(p), p.StateBefore, p.State)
		if !p.Terminated {
			summary = fmt.Sprintf("KFP run %s is **%s**. It stopped before this action recorded a terminate call of its own, "+
				"so an earlier attempt whose response was lost, or someone in Kubeflow Pipelines, terminated it.", a.link(p), p.State)
		}
	}
	if p.By != "" {
		summary += fmt.Sprintf(" @%s %s %s: %s", p.By, p.RequestState, in.Request.Label(), p.Reason)
	}
	return bot.StepResult{Summary: summary, Result: p, Progress: p}
}

func (a kfpTerminate) link(p RetrainTermination) string {
	name := p.DisplayName
	if name == "" {
		name = p.RunID
	}
	return fmt.Sprintf("[%s](%s)", name, p.URL)
}
