package bot_test

import (
	"database/sql"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/store"
)

const retrainRunProgress = `{"run_id":"run-0001","display_name":"sopbot R-1 retrain fraud-detector","attempt":1,` +
	`"url":"https://kfp.example/#/runs/details/run-0001","state":"RUNNING"}`

// pipelineRunning takes the retraining through drift-record and leaves
// kfp-retrain polling its KFP run, with the lock on its target as the
// worker holds it.
func (h *harness) pipelineRunning() int64 {
	h.t.Helper()
	id := h.openRetraining()
	h.finishAction(id, bot.ActionDriftRecord, "drift recorded", map[string]string{"trigger": "tokens drifted"})
	err := h.db.InTx(h.ctx, func(tx *sql.Tx) error {
		if _, err := h.db.AcquireTarget(h.ctx, tx, "kfp-retrain:fraud-detector", id, bot.ActionKFPRetrain); err != nil {
			return err
		}
		if err := h.db.StartActionRun(h.ctx, tx, id, bot.ActionKFPRetrain); err != nil {
			return err
		}
		return h.db.SaveActionProgress(h.ctx, tx, id, bot.ActionKFPRetrain, retrainRunProgress)
	})
	require.NoError(h.t, err)
	return id
}

// lockHolder returns the request and action that hold a target, and
// false when it is free.
func (h *harness) lockHolder(target string) (int64, string, bool) {
	h.t.Helper()
	var id int64
	var action string
	err := h.db.SQL.QueryRowContext(h.ctx, `SELECT request_id, action FROM target_locks WHERE target = ?`, target).Scan(&id, &action)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", false
	}
	require.NoError(h.t, err)
	return id, action, true
}

// auditDetail returns the detail of the newest audit row of a request
// with the given action and detail action, decoded.
func (h *harness) auditDetail(id int64, action, detailAction string) map[string]any {
	h.t.Helper()
	entries := h.audit(id)
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Action != action {
			continue
		}
		var detail map[string]any
		if json.Unmarshal([]byte(entries[i].Detail), &detail) == nil && detail["action"] == detailAction {
			return detail
		}
	}
	h.t.Fatalf("request %d has no %q audit row for %s", id, action, detailAction)
	return nil
}

// requireStopQueued checks that kfp-terminate alone was queued after mark,
// with order as its progress, and that it holds kfp-retrain's target.
func (h *harness) requireStopQueued(id int64, mark int, order bot.StopOrder) {
	h.t.Helper()
	assert.Equal(h.t, []string{bot.ActionKFPTerminate}, infraActions(jobsOf[bot.InfraArgs](h.queue, mark)))
	run := h.runs(id)[bot.ActionKFPTerminate]
	assert.Equal(h.t, store.RunQueued, run.State)
	assert.Equal(h.t, "kfp-retrain:fraud-detector", run.Target, "the stop works on kfp-retrain's target")
	var got bot.StopOrder
	require.NoError(h.t, json.Unmarshal([]byte(run.Progress), &got))
	assert.Equal(h.t, order, got)
	holder, action, locked := h.lockHolder("kfp-retrain:fraud-detector")
	require.True(h.t, locked, "the target stays locked until the run has stopped")
	assert.Equal(h.t, id, holder)
	assert.Equal(h.t, bot.ActionKFPTerminate, action)
}

func TestRejectQueuesPipelineTermination(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.pipelineRunning()

	mark := h.queue.mark()
	reply := h.commandReply("olga", "reject #1 data issues found")

	req := h.request(id)
	assert.Equal(t, bot.StateRejected, req.State)
	assert.Contains(t, req.Reason, "rejected in the review by @olga: data issues found")
	assert.Contains(t, req.Reason, "sopbot terminates its Kubeflow Pipelines run [sopbot R-1 retrain fraud-detector](https://kfp.example/#/runs/details/run-0001)")
	assert.NotContains(t, req.Reason, "stop it in Kubeflow Pipelines")
	assert.Contains(t, reply, "Rejected #1: data issues found")
	assert.Contains(t, reply, "terminates the retraining's Kubeflow Pipelines run")

	h.requireStopQueued(id, mark, bot.StopOrder{By: "olga", Reason: "data issues found", RequestState: bot.StateRejected})
	_, _, locked := h.lockHolder("retrain:fraud-detector")
	assert.False(t, locked, "the request's other targets are free")
	assert.Equal(t, "kfp-retrain", h.auditDetail(id, "action queued", bot.ActionKFPTerminate)["stops"])
}

func TestRejectTwiceQueuesOneTermination(t *testing.T) {
	h := newRetrainHarness(t)
	h.pipelineRunning()
	h.command("olga", "reject #1 data issues found")

	mark := h.queue.mark()
	reply := h.commandReply("oscar", "reject #1 again")

	assert.Contains(t, reply, "#1 is already rejected.")
	assert.Empty(t, jobsOf[bot.InfraArgs](h.queue, mark))
}

func TestRejectAfterPipelineEndedStopsNothing(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.compared(false)

	mark := h.queue.mark()
	h.command("olga", "reject #1 metrics are worse")

	assert.Equal(t, bot.StateRejected, h.request(id).State)
	assert.Empty(t, jobsOf[bot.InfraArgs](h.queue, mark), "a run that succeeded needs no terminate")
	_, queued := h.runs(id)[bot.ActionKFPTerminate]
	assert.False(t, queued)
	assert.NotContains(t, h.request(id).Reason, "terminates")
}

func TestRejectAfterPipelineTimeoutStopsRun(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.pipelineRunning()
	h.handle(bot.InfraFinished{RequestID: id, Action: bot.ActionKFPRetrain, Error: "KFP run is still RUNNING after 6h0m0s",
		Result: retrainRunProgress})
	require.Equal(t, store.RunFailed, h.runs(id)[bot.ActionKFPRetrain].State)

	mark := h.queue.mark()
	h.command("olga", "reject #1 took too long")

	assert.Equal(t, []string{bot.ActionKFPTerminate}, infraActions(jobsOf[bot.InfraArgs](h.queue, mark)),
		"a run left RUNNING by a timed-out kfp-retrain is terminated")
}

func TestRejectAfterFailedRunStopsNothing(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.pipelineRunning()
	failed := `{"run_id":"run-0001","display_name":"sopbot R-1 retrain fraud-detector","attempt":1,"state":"FAILED"}`
	h.handle(bot.InfraFinished{RequestID: id, Action: bot.ActionKFPRetrain, Error: "KFP run ended FAILED", Result: failed})

	mark := h.queue.mark()
	h.command("olga", "reject #1 pipeline broken")

	assert.Empty(t, jobsOf[bot.InfraArgs](h.queue, mark), "a run that ended needs no terminate")
}

func TestCancelTerminatesRunningPipeline(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.pipelineRunning()

	mark := h.queue.mark()
	h.command("olga", "cancel #1")

	req := h.request(id)
	assert.Equal(t, bot.StateCancelled, req.State)
	assert.Contains(t, req.Reason, "cancelled by @olga")
	assert.Contains(t, req.Reason, "sopbot terminates its Kubeflow Pipelines run [sopbot R-1 retrain fraud-detector](https://kfp.example/#/runs/details/run-0001)")
	h.requireStopQueued(id, mark, bot.StopOrder{By: "olga", Reason: "the request was cancelled", RequestState: bot.StateCancelled})
}

func TestCancelAfterPipelineEndedStopsNothing(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.compared(false)

	mark := h.queue.mark()
	h.command("olga", "cancel #1")

	assert.Equal(t, bot.StateCancelled, h.request(id).State)
	assert.Empty(t, jobsOf[bot.InfraArgs](h.queue, mark), "a run that succeeded needs no terminate")
	assert.NotContains(t, h.request(id).Reason, "terminates")
}

// rejectRunning rejects a retraining whose pipeline runs and marks its
// kfp-terminate running, as the worker does before the step.
func (h *harness) rejectRunning() int64 {
	h.t.Helper()
	id := h.pipelineRunning()
	h.command("olga", "reject #1 data issues found")
	h.startRun(id, bot.ActionKFPTerminate)
	return id
}

func TestTerminationRecordedOnIssue(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.rejectRunning()

	mark := h.queue.mark()
	summary := "Terminated KFP run [sopbot R-1 retrain fraud-detector](https://kfp.example/#/runs/details/run-0001): it was RUNNING and is now **CANCELED**. @olga rejected #1: data issues found"
	h.handle(bot.InfraFinished{RequestID: id, Action: bot.ActionKFPTerminate, Succeeded: true, Summary: summary,
		Result: `{"run_id":"run-0001","state":"CANCELED","terminated":true,"stopped_by":"olga","stop_reason":"data issues found"}`})

	assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "✅ "+summary)
	runs := h.runs(id)
	assert.Equal(t, store.RunSucceeded, runs[bot.ActionKFPTerminate].State)
	assert.Equal(t, store.RunFailed, runs[bot.ActionKFPRetrain].State, "kfp-retrain ends with its request")
	assert.Contains(t, runs[bot.ActionKFPRetrain].Error, "stopped because #1 was rejected")
	result := h.auditDetail(id, "action succeeded", bot.ActionKFPTerminate)["result"].(map[string]any)
	assert.Equal(t, "run-0001", result["run_id"])
	assert.Equal(t, "olga", result["stopped_by"])
	assert.Equal(t, "data issues found", result["stop_reason"])
	assert.Equal(t, bot.StateRejected, h.auditDetail(id, "action stopped", bot.ActionKFPRetrain)["request_state"])
	_, _, locked := h.lockHolder("kfp-retrain:fraud-detector")
	assert.False(t, locked, "the lock is released once the run has stopped")
	assert.Equal(t, bot.StateRejected, h.request(id).State)
	assert.Empty(t, jobsOf[bot.InfraArgs](h.queue, mark), "nothing else starts on the rejected request")

	// A duplicate result, as from a retried job, records nothing twice.
	mark = h.queue.mark()
	h.handle(bot.InfraFinished{RequestID: id, Action: bot.ActionKFPTerminate, Succeeded: true, Summary: summary})
	assert.Empty(t, jobsOf[bot.CommentArgs](h.queue, mark))
}

func TestFailedTerminationHintsRetry(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.rejectRunning()

	mark := h.queue.mark()
	h.handle(bot.InfraFinished{RequestID: id, Action: bot.ActionKFPTerminate, Error: "terminating run run-0001: kfp: HTTP 403 PERMISSION_DENIED: no"})

	comments := jobsOf[bot.CommentArgs](h.queue, mark)
	assertHasComment(t, comments, "❌ `kfp-terminate` failed: terminating run run-0001: kfp: HTTP 403 PERMISSION_DENIED: no")
	assertHasComment(t, comments, "`/mlops retry #1` runs it again")
	notices := jobsOf[bot.NotifyArgs](h.queue, mark)
	require.Len(t, notices, 1, "the channel is told")
	assert.Contains(t, notices[0].Text, "`kfp-terminate` failed for #1")
	assert.Equal(t, store.RunFailed, h.runs(id)[bot.ActionKFPTerminate].State)
	_, _, locked := h.lockHolder("kfp-retrain:fraud-detector")
	assert.False(t, locked, "a failed stop releases the lock")

	mark = h.queue.mark()
	reply := h.commandReply("oscar", "retry #1")
	assert.Contains(t, reply, "Retrying `kfp-terminate` for #1.")
	assert.Equal(t, []string{bot.ActionKFPTerminate}, infraActions(jobsOf[bot.InfraArgs](h.queue, mark)))
	run := h.runs(id)[bot.ActionKFPTerminate]
	assert.Equal(t, store.RunQueued, run.State)
	assert.Contains(t, run.Progress, `"stopped_by":"olga"`, "the retry keeps who rejected and why")
	holder, action, locked := h.lockHolder("kfp-retrain:fraud-detector")
	require.True(t, locked, "the retry takes the lock again")
	assert.Equal(t, id, holder)
	assert.Equal(t, bot.ActionKFPTerminate, action)
}

func TestRetryEndedRequestWithoutFailedStop(t *testing.T) {
	h := newRetrainHarness(t)
	h.compared(false)
	h.command("olga", "reject #1 metrics are worse")

	reply := h.commandReply("oscar", "retry #1")

	assert.Contains(t, reply, "#1 is rejected; nothing runs for it any more.")
}

func TestTerminationProgressAfterEnd(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.pipelineRunning()
	h.command("olga", "reject #1 data issues found")

	// A kfp-retrain step under way at the rejection still records the run
	// it found, which kfp-terminate then reads.
	mark := h.queue.mark()
	later := `{"run_id":"run-0002","display_name":"sopbot R-1 retrain fraud-detector","attempt":1}`
	h.handle(bot.InfraProgressed{RequestID: id, Action: bot.ActionKFPRetrain, Progress: later, Notice: "started KFP run"})

	assert.JSONEq(t, later, h.runs(id)[bot.ActionKFPRetrain].Progress)
	assert.Empty(t, jobsOf[bot.CommentArgs](h.queue, mark), "no notice on an ended request")
}

func TestIssueCloseTerminatesRunningPipeline(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.pipelineRunning()

	mark := h.queue.mark()
	h.handle(bot.IssueClosed{DeliveryID: h.deliveryID(), Actor: h.actor("olga"), Issue: 1})

	req := h.request(id)
	assert.Equal(t, bot.StateCancelled, req.State)
	assert.Contains(t, req.Reason, "issue closed by @olga")
	assert.Contains(t, req.Reason, "sopbot terminates its Kubeflow Pipelines run [sopbot R-1 retrain fraud-detector](https://kfp.example/#/runs/details/run-0001)")
	// Closing the issue stops the run as /mlops cancel does.
	h.requireStopQueued(id, mark, bot.StopOrder{By: "olga", Reason: "the issue was closed", RequestState: bot.StateCancelled})
}

func TestIssueCloseAfterPipelineEndedStopsNothing(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.compared(false)

	mark := h.queue.mark()
	h.handle(bot.IssueClosed{DeliveryID: h.deliveryID(), Actor: h.actor("olga"), Issue: 1})

	assert.Equal(t, bot.StateCancelled, h.request(id).State)
	assert.Empty(t, jobsOf[bot.InfraArgs](h.queue, mark), "a run that succeeded needs no terminate")
	assert.NotContains(t, h.request(id).Reason, "terminates")
}
