package bot

import (
	"context"
	"database/sql"
	"testing"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
)

// countingAction counts its steps and ends at once.
type countingAction struct{ steps *int }

func (countingAction) Plan(context.Context, ActionInput) (string, error) { return "", nil }

func (a countingAction) Step(context.Context, ActionInput) (StepResult, error) {
	*a.steps++
	return StepResult{Summary: "stopped", Result: map[string]string{}}, nil
}

func TestStopActionWaitsForStoppedJob(t *testing.T) {
	h := newScheduleHarness(t, config.Schedules{}, nil, nil)
	var steps int
	h.workers.Actions = map[string]InfraAction{ActionKFPTerminate: countingAction{&steps}}

	// A rejected retraining whose kfp-retrain job is still queued, and the
	// kfp-terminate that the rejection queued.
	var id int64
	err := h.db.InTx(h.ctx, func(tx *sql.Tx) error {
		var err error
		id, err = h.db.InsertRequest(h.ctx, tx, store.Request{SOPID: retrainingSOP, SOPRevision: h.retrainingSOP().Revision,
			Target: "retrain:fraud-detector", State: StateRejected, Params: map[string]string{"model": "fraud-detector"}, RequesterLogin: BotActor})
		if err != nil {
			return err
		}
		for _, action := range []string{ActionKFPRetrain, ActionKFPTerminate} {
			if _, err := h.db.QueueActionRun(h.ctx, tx, id, action, "kfp-retrain:fraud-detector"); err != nil {
				return err
			}
		}
		if err := h.db.StartActionRun(h.ctx, tx, id, ActionKFPRetrain); err != nil {
			return err
		}
		_, err = h.engine.Queue.InsertTx(h.ctx, tx, InfraArgs{RequestID: id, Action: ActionKFPRetrain, Queued: "retrain"}, nil)
		return err
	})
	require.NoError(t, err)
	stop := job(InfraArgs{}.Kind(), InfraArgs{RequestID: id, Action: ActionKFPTerminate, Queued: "stop"})

	err = h.workers.runInfra(h.ctx, stop)

	var snooze *river.JobSnoozeError
	require.ErrorAs(t, err, &snooze, "the stop waits while kfp-retrain has a job")
	assert.Zero(t, steps, "kfp-terminate does not step yet")
	runs, err := h.db.ActionRuns(h.ctx, h.db.SQL, id)
	require.NoError(t, err)
	assert.Equal(t, store.RunQueued, runs[ActionKFPTerminate].State)

	// kfp-retrain's job runs, finds its request ended and completes.
	_, err = h.db.SQL.ExecContext(h.ctx, `UPDATE river_job SET state = 'completed', finalized_at = datetime('now') WHERE kind = 'infra_action'`)
	require.NoError(t, err)
	require.NoError(t, h.workers.runInfra(h.ctx, stop))

	assert.Equal(t, 1, steps, "kfp-terminate steps once the job is gone")
	runs, err = h.db.ActionRuns(h.ctx, h.db.SQL, id)
	require.NoError(t, err)
	assert.Equal(t, store.RunSucceeded, runs[ActionKFPTerminate].State, "a stop action runs on an ended request")
	assert.Equal(t, store.RunFailed, runs[ActionKFPRetrain].State, "kfp-retrain ends with its request")
}
