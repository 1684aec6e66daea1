package bot

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/sopbot/sopbot/bot/store"
)

// Infra action names.
const (
	ActionK8sOnboard       = "k8s-onboard"
	ActionMLflowExperiment = "mlflow-experiment"
	ActionFeastApply       = "feast-apply"
	ActionKFPInitialRun    = "kfp-initial-run"
	ActionInventoryAdd     = "inventory-add"
	ActionSecretPrepare    = "secret-prepare"
	ActionSecretRepoint    = "secret-repoint"
	ActionRolloutVerify    = "rollout-verify"
	ActionSecretRetire     = "secret-retire"
	ActionSecretInventory  = "secret-inventory"
	ActionDriftRecord      = "drift-record"
	ActionKFPRetrain       = "kfp-retrain"
	ActionModelCompare     = "model-compare"
	ActionReferenceUpdate  = "reference-update"
	// ActionKFPTerminate terminates the KFP run of a retraining that was
	// rejected while kfp-retrain waited for it. No SOP binding names it:
	// the rejection queues it.
	ActionKFPTerminate = "kfp-terminate"
)

// stopActions maps each action that runs after its request ended to the
// action whose work it stops. Such a stop action waits until no job of the
// action it stops is left, and then reads that action's progress. The
// rejection of a retraining queues kfp-terminate.
var stopActions = map[string]string{ActionKFPTerminate: ActionKFPRetrain}

// StopOrder is the progress a stop action starts with: who ended the
// request and why. The action keeps these fields in its own progress, so a
// retry still has them.
type StopOrder struct {
	// By is the GitHub login of the person who ended the request.
	By     string `json:"stopped_by"`
	Reason string `json:"stop_reason"`
	// RequestState is the request's end state, such as "rejected".
	RequestState string `json:"request_state"`
}

var knownInfraActions = map[string]bool{
	ActionK8sOnboard: true, ActionMLflowExperiment: true, ActionFeastApply: true, ActionKFPInitialRun: true,
	ActionInventoryAdd: true, ActionSecretPrepare: true, ActionSecretRepoint: true, ActionRolloutVerify: true,
	ActionSecretRetire: true, ActionSecretInventory: true, ActionDriftRecord: true, ActionKFPRetrain: true,
	ActionModelCompare: true, ActionReferenceUpdate: true,
}

// InfraAction is one infra action the bot performs. Step is called again
// after every Wait until it reports Done or Failed, possibly in another
// process after a crash: it must read the current state before it
// changes anything, and find its own earlier work by the request id that
// it writes into every name, label or tag.
type InfraAction interface {
	// Plan returns the calls and objects the action would make now, as
	// text, reading state only.
	Plan(ctx context.Context, in ActionInput) (string, error)
	// Step performs the action or its next part.
	Step(ctx context.Context, in ActionInput) (StepResult, error)
}

// ActionInput is what an action gets on each step.
type ActionInput struct {
	Request store.Request
	Run     store.ActionRun
	// Runs holds the request's other actions, for results such as an
	// experiment id that a later action needs.
	Runs map[string]store.ActionRun
	Now  time.Time
}

// Progress decodes the progress the action saved on an earlier step into v.
func (in ActionInput) Progress(v any) error {
	if in.Run.Progress == "" {
		return nil
	}
	return json.Unmarshal([]byte(in.Run.Progress), v)
}

// ResultOf decodes the result of another action of the request into v.
func (in ActionInput) ResultOf(action string, v any) error {
	run, ok := in.Runs[action]
	if !ok || run.Result == "" {
		return fmt.Errorf("action %s has no result yet", action)
	}
	return json.Unmarshal([]byte(run.Result), v)
}

// StepResult is the outcome of one step.
type StepResult struct {
	// Wait, when positive, asks for another step after it; Progress is
	// saved for that step. Progress given with the end of the action is
	// saved too, for the first step of a retry.
	Wait     time.Duration
	Progress any
	// Notice, when set with a Wait, is posted on the issue in the same
	// transaction that saves Progress, so an action that records in its
	// progress that it gave the notice gives it once.
	Notice string
	// Failed ends the action without success, with this message; Result
	// and Summary may describe what was undone.
	Failed string
	// Summary is the Markdown posted on the issue when the action ends.
	Summary string
	// Result is stored as JSON with the action and in the audit trail.
	Result any
	// Ticks lists the items to tick on success; nil ticks every item the
	// action's rule names.
	Ticks []string
}

// actionLockWait is how long an action waits before it asks again for a
// target that another action holds.
const actionLockWait = 2 * time.Second

func (w *Workers) runInfra(ctx context.Context, job *river.Job[InfraArgs]) error {
	attrs := []any{"request_id", job.Args.RequestID, "action", job.Args.Action}
	req, _, _, err := w.loadRequest(ctx, job.Args.RequestID)
	if err != nil {
		return w.outcome(job.Kind, attrs, err)
	}
	attrs = append(attrs, "sop", req.SOPID)
	stopped, isStop := stopActions[job.Args.Action]
	if isStop {
		// A step of the stopped action that was under way when the request
		// ended may still start work, such as a KFP run, and record it.
		live, err := w.Engine.DB.LiveInfraJob(ctx, req.ID, stopped, time.Now().Add(-HeartbeatTimeout))
		if err != nil {
			return w.outcome(job.Kind, attrs, err)
		}
		if live {
			w.Log.Info("waiting for the stopped action's job to end", append(attrs, "stopped_action", stopped)...)
			return river.JobSnooze(actionLockWait)
		}
	}
	var run store.ActionRun
	var runs map[string]store.ActionRun
	var holder store.LockHolder
	err = w.Engine.DB.InTx(ctx, func(tx *sql.Tx) error {
		// The request is read again in the transaction that takes the lock,
		// so a cancel that commits first is seen and a lock is never taken
		// for an ended request.
		current, err := w.Engine.DB.GetRequest(ctx, tx, req.ID)
		if err != nil {
			return err
		}
		if current.Terminal() && !isStop {
			return nil
		}
		if runs, err = w.Engine.DB.ActionRuns(ctx, tx, req.ID); err != nil {
			return err
		}
		run = runs[job.Args.Action]
		if run.State != store.RunQueued && run.State != store.RunRunning {
			return nil
		}
		if holder, err = w.Engine.DB.AcquireTarget(ctx, tx, run.Target, req.ID, run.Action); err != nil {
			return err
		}
		// A stop action runs without the lock when a later request holds
		// it: it acts only on this request's own work, and waiting could
		// take as long as that request's action runs.
		if !isStop && (holder.RequestID != req.ID || holder.Action != run.Action) {
			return nil
		}
		return w.Engine.DB.StartActionRun(ctx, tx, req.ID, run.Action)
	})
	if err != nil {
		return w.outcome(job.Kind, attrs, err)
	}
	if run.State != store.RunQueued && run.State != store.RunRunning {
		return nil // finished already, or never queued
	}
	if !isStop && (holder.RequestID != req.ID || holder.Action != run.Action) {
		w.Log.Info("target busy; waiting", append(attrs, "target", run.Target, "holder_request_id", holder.RequestID, "holder_action", holder.Action)...)
		return river.JobSnooze(actionLockWait)
	}
	action, ok := w.Actions[run.Action]
	if !ok {
		return w.finishInfra(ctx, InfraFinished{RequestID: req.ID, Action: run.Action,
			Error: fmt.Sprintf("this bot has no %s action configured; check the config section the README names for it", run.Action)})
	}
	run.Attempts++
	started := time.Now()
	result, err := action.Step(ctx, ActionInput{Request: req, Run: run, Runs: runs, Now: w.Engine.DB.Now()})
	if err != nil {
		w.Metrics.Action(run.Action, "error", time.Since(started))
		if isPermanent(err) || IsPermanentAction(err) || job.Attempt >= job.MaxAttempts {
			w.Log.Error("action failed", append(attrs, "error", err, "attempt", job.Attempt)...)
			return w.finishInfra(ctx, InfraFinished{RequestID: req.ID, Action: run.Action, Error: err.Error()})
		}
		return w.outcome(job.Kind, attrs, err)
	}
	if result.Wait > 0 {
		if result.Progress != nil || result.Notice != "" {
			data, err := json.Marshal(result.Progress)
			if err != nil {
				return err
			}
			if result.Progress == nil {
				data = []byte(run.Progress)
			}
			if err := w.apply(ctx, InfraProgressed{RequestID: req.ID, Action: run.Action, Progress: string(data), Notice: result.Notice}); err != nil {
				return w.outcome(job.Kind, attrs, err)
			}
		}
		return river.JobSnooze(result.Wait)
	}
	data, err := json.Marshal(result.Result)
	if err != nil {
		return err
	}
	outcome := "ok"
	if result.Failed != "" {
		outcome = "failed"
	}
	w.Metrics.Action(run.Action, outcome, time.Since(started))
	w.Log.Info("action finished", append(attrs, "outcome", outcome)...)
	finished := InfraFinished{RequestID: req.ID, Action: run.Action, Succeeded: result.Failed == "",
		Summary: result.Summary, Result: string(data), Error: result.Failed, Ticks: result.Ticks}
	if result.Progress != nil {
		progress, err := json.Marshal(result.Progress)
		if err != nil {
			return err
		}
		finished.Progress = string(progress)
	}
	return w.finishInfra(ctx, finished)
}

func (w *Workers) finishInfra(ctx context.Context, ev InfraFinished) error {
	return w.apply(ctx, ev)
}

// PermanentActionError is a failure that a retry cannot fix, such as an
// object that exists and belongs to someone else.
type PermanentActionError struct{ Err error }

func (e *PermanentActionError) Error() string { return e.Err.Error() }
func (e *PermanentActionError) Unwrap() error { return e.Err }

// Permanent wraps err so the action fails at once instead of retrying.
func Permanent(err error) error { return &PermanentActionError{Err: err} }

// IsPermanentAction reports whether err was marked with Permanent.
func IsPermanentAction(err error) bool {
	var p *PermanentActionError
	return errors.As(err, &p)
}
