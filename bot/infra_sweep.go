package bot

import (
	"context"
	"time"
)

// sweepStaleActions fails each running action that has no job left to
// finish it, as after River discarded its job on the last attempt, so its
// lock is released and `/mlops retry` can run it again.
func (w *Workers) sweepStaleActions(ctx context.Context) error {
	now := w.Engine.DB.Now()
	// A waiting action snoozes its job, so however long it waits it keeps
	// a live job; only a run with neither a recent step nor a job stopped.
	stale, err := w.Engine.DB.StaleActionRuns(ctx, w.Engine.DB.SQL, now.Add(-HeartbeatTimeout))
	if err != nil {
		return err
	}
	for _, run := range stale {
		live, err := w.Engine.DB.LiveInfraJob(ctx, run.RequestID, run.Action, time.Now().Add(-HeartbeatTimeout))
		if err != nil {
			return err
		}
		if live {
			continue
		}
		w.Log.Warn("action stopped without a result", "request_id", run.RequestID, "action", run.Action, "target", run.Target)
		err = w.finishInfra(ctx, InfraFinished{RequestID: run.RequestID, Action: run.Action,
			Error: "the action stopped without a result and no job is left to finish it, as after a crash on its last attempt"})
		if err != nil {
			return err
		}
	}
	return nil
}
