package bot

import (
	"encoding/json"
	"fmt"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/kfp"
)

// retrainRunRef is the part of kfp-retrain's progress and result that the
// engine reads: the KFP run it started last and the state it last saw.
type retrainRunRef struct {
	RunID       string `json:"run_id"`
	DisplayName string `json:"display_name"`
	URL         string `json:"url"`
	State       string `json:"state"`
}

// retrainRunMayBeActive returns the KFP run that kfp-retrain may have left
// going, and false when it cannot have. A running kfp-retrain may have
// one, even before its progress names it. A queued or failed one, such as
// one that timed out, may have the run its progress names, unless its
// result shows that this run ended. A queued kfp-retrain starts no new run
// once its request has ended, because its job reads the request first.
func retrainRunMayBeActive(run store.ActionRun) (retrainRunRef, bool) {
	var progress, result retrainRunRef
	_ = json.Unmarshal([]byte(run.Progress), &progress) // an empty or foreign progress names no run
	_ = json.Unmarshal([]byte(run.Result), &result)
	switch run.State {
	case store.RunRunning:
		return progress, true
	case store.RunQueued, store.RunFailed:
		if progress.RunID == "" {
			return progress, false
		}
		ended := result.RunID == progress.RunID && (kfp.Terminal(result.State) || result.State == KFPRunNotFound)
		return progress, !ended
	}
	return progress, false
}

// KFPRunNotFound is the state that kfp-retrain and kfp-terminate record
// for a run that Kubeflow Pipelines no longer has.
const KFPRunNotFound = "NOT_FOUND"

// runLink returns the run as a Markdown link, or a plain name when
// kfp-retrain recorded no link.
func (r retrainRunRef) runLink() string {
	if r.URL == "" {
		return "its Kubeflow Pipelines run"
	}
	return fmt.Sprintf("its Kubeflow Pipelines run [%s](%s)", r.DisplayName, r.URL)
}

// pipelineStop is the KFP run that a retraining request leaves going when
// it ends, as pipelineStopOf finds it before the request ends.
type pipelineStop struct {
	// needed is set when kfp-retrain may have a run going.
	needed bool
	run    retrainRunRef
	// target is kfp-retrain's target, which kfp-terminate holds until the
	// run has stopped.
	target string
}

// pipelineStopOf returns the KFP run that kfp-retrain of req may have left
// going. A request without a kfp-retrain run needs no stop.
func (e *Engine) pipelineStopOf(t *txn, req store.Request) (pipelineStop, error) {
	runs, err := e.DB.ActionRuns(t.ctx, t.tx, req.ID)
	if err != nil {
		return pipelineStop{}, err
	}
	retrain := runs[ActionKFPRetrain]
	run, needed := retrainRunMayBeActive(retrain)
	return pipelineStop{needed: needed, run: run, target: retrain.Target}, nil
}

// reasonSuffix returns the clause that the end reason of the request gets
// when its run is stopped, or "" when no stop is needed.
func (p pipelineStop) reasonSuffix() string {
	if !p.needed {
		return ""
	}
	return fmt.Sprintf(", and sopbot terminates %s with `%s` and reports here when the run has stopped", p.run.runLink(), ActionKFPTerminate)
}

// queuePipelineStop queues kfp-terminate for a request that has just
// ended, if its run needs a stop. It runs after the end, which releases the
// request's targets, so that kfp-terminate takes kfp-retrain's target.
func (e *Engine) queuePipelineStop(t *txn, req store.Request, p pipelineStop, order StopOrder) error {
	if !p.needed {
		return nil
	}
	return e.queueStopAction(t, req, ActionKFPTerminate, p.target, order)
}
