package infra_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/infra"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/kfp"
)

// stopOrder is the progress the rejection gives kfp-terminate.
const stopOrder = `{"stopped_by":"olga","stop_reason":"data issues found","request_state":"rejected"}`

// rejectedWhileRunning starts kfp-retrain's run, which stays RUNNING, and
// queues kfp-terminate as the rejection does.
func (e *retrainEnv) rejectedWhileRunning() {
	e.t.Helper()
	e.kfp.SetOutcome("", kfp.StateRunning)
	_, err := e.step(bot.ActionKFPRetrain)
	require.NoError(e.t, err)
	_, err = e.step(bot.ActionKFPRetrain)
	require.NoError(e.t, err)
	e.runs[bot.ActionKFPTerminate] = store.ActionRun{Progress: stopOrder}
}

// terminateCalls counts the terminate calls the fake received, failed
// ones included.
func (e *retrainEnv) terminateCalls() int {
	n := 0
	for _, call := range e.kfp.Calls() {
		if strings.HasPrefix(call, "POST runs/") && strings.Contains(call, ":terminate") {
			n++
		}
	}
	return n
}

func TestKFPTerminateStopsRunOnce(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.rejectedWhileRunning()

	first, err := e.step(bot.ActionKFPTerminate)
	require.NoError(t, err)
	assert.Positive(t, first.Wait, "the action waits for the run to stop")
	stored, _ := e.kfp.Run("run-0001")
	assert.Equal(t, kfp.StateCanceling, stored.State)

	result := e.finish(bot.ActionKFPTerminate)

	assert.Empty(t, result.Failed)
	assert.Equal(t, "Terminated KFP run [sopbot R-1 retrain fraud-detector](https://kfp.example/pipeline/#/runs/details/run-0001): "+
		"it was RUNNING and is now **CANCELED**. @olga rejected #1: data issues found", result.Summary)
	got := result.Result.(infra.RetrainTermination)
	assert.Equal(t, infra.TerminateDone, got.Outcome)
	assert.True(t, got.Terminated)
	assert.Equal(t, "run-0001", got.RunID)
	assert.Equal(t, kfp.StateRunning, got.StateBefore)
	assert.Equal(t, kfp.StateCanceled, got.State)
	assert.Equal(t, "olga", got.By)
	assert.Equal(t, "data issues found", got.Reason)
	assert.Equal(t, 1, e.terminateCalls(), "one terminate call")
	assert.Len(t, e.kfp.Created(), 1, "no run is started")
}

func TestKFPTerminateWaitsWhileCanceling(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.rejectedWhileRunning()
	e.kfp.SetCancelingGets(3)

	var waits int
	for {
		result, err := e.step(bot.ActionKFPTerminate)
		require.NoError(t, err)
		if result.Wait == 0 {
			assert.Equal(t, infra.TerminateDone, result.Result.(infra.RetrainTermination).Outcome)
			break
		}
		waits++
		require.Less(t, waits, 10, "the run reaches CANCELED")
	}

	assert.Equal(t, 4, waits, "one wait after the call, then one per CANCELING read")
	assert.Equal(t, 1, e.terminateCalls(), "a canceling run gets no second call")
}

func TestKFPTerminateAfterLostResponse(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.rejectedWhileRunning()
	e.kfp.DropResponseNext("POST runs/{run_id}:terminate", 1)

	_, err := e.step(bot.ActionKFPTerminate)
	require.Error(t, err, "the call's outcome is unknown")
	assert.False(t, bot.IsPermanentAction(err), "the job retries")

	result := e.finish(bot.ActionKFPTerminate)

	assert.Empty(t, result.Failed)
	assert.Contains(t, result.Summary, "KFP run [sopbot R-1 retrain fraud-detector](https://kfp.example/pipeline/#/runs/details/run-0001) is **CANCELED**")
	assert.Contains(t, result.Summary, "an earlier attempt whose response was lost")
	assert.Equal(t, infra.TerminateDone, result.Result.(infra.RetrainTermination).Outcome)
	assert.Equal(t, 1, e.terminateCalls(), "the retry reads the run and sends no second call")
}

func TestKFPTerminateCrashAfterCall(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.rejectedWhileRunning()
	e.kfp.SetCancelingGets(1)
	_, err := e.step(bot.ActionKFPTerminate)
	require.NoError(t, err)
	// The process died before it saved the progress of that step.
	e.runs[bot.ActionKFPTerminate] = store.ActionRun{Progress: stopOrder}

	result := e.finish(bot.ActionKFPTerminate)

	assert.Empty(t, result.Failed)
	assert.Equal(t, kfp.StateCanceled, result.Result.(infra.RetrainTermination).State)
	assert.Equal(t, 1, e.terminateCalls(), "a CANCELING run is never terminated again")
}

func TestKFPTerminateEndedRunGetsNoCall(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.finish(bot.ActionKFPRetrain) // the run succeeded before the rejection
	e.runs[bot.ActionKFPTerminate] = store.ActionRun{Progress: stopOrder}

	result := e.finish(bot.ActionKFPTerminate)

	assert.Empty(t, result.Failed)
	assert.Equal(t, "KFP run [sopbot R-1 retrain fraud-detector](https://kfp.example/pipeline/#/runs/details/run-0001) had already ended SUCCEEDED, "+
		"so sopbot sent no terminate call. @olga rejected #1: data issues found", result.Summary)
	assert.Equal(t, infra.TerminateEnded, result.Result.(infra.RetrainTermination).Outcome)
	assert.Zero(t, e.terminateCalls())
}

func TestKFPTerminateRunEndsBeforeCall(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	_, err := e.step(bot.ActionKFPRetrain) // the run is PENDING; its next read moves it on
	require.NoError(t, err)
	e.runs[bot.ActionKFPTerminate] = store.ActionRun{Progress: stopOrder}
	// The first read returns RUNNING. The run then ends, so KFP rejects
	// the call, and the read after it returns SUCCEEDED.
	e.kfp.FailNext("POST runs/{run_id}:terminate", http.StatusBadRequest, 1)

	result := e.finish(bot.ActionKFPTerminate)

	assert.Empty(t, result.Failed)
	assert.Equal(t, infra.TerminateEnded, result.Result.(infra.RetrainTermination).Outcome)
	assert.Equal(t, kfp.StateSucceeded, result.Result.(infra.RetrainTermination).State)
}

func TestKFPTerminateRejectedCallFails(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.rejectedWhileRunning()
	e.kfp.FailNext("POST runs/{run_id}:terminate", http.StatusForbidden, 1)

	_, err := e.step(bot.ActionKFPTerminate)

	require.Error(t, err)
	assert.True(t, bot.IsPermanentAction(err), "a 403 fails the action at once")
	assert.Contains(t, err.Error(), "terminating run run-0001")
	stored, _ := e.kfp.Run("run-0001")
	assert.Equal(t, kfp.StateRunning, stored.State)
}

func TestKFPTerminateServerErrorRetries(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.rejectedWhileRunning()
	e.kfp.FailNext("POST runs/{run_id}:terminate", http.StatusServiceUnavailable, 1)

	_, err := e.step(bot.ActionKFPTerminate)
	require.Error(t, err)
	assert.False(t, bot.IsPermanentAction(err), "a 503 is retried")

	result := e.finish(bot.ActionKFPTerminate)
	assert.Equal(t, infra.TerminateDone, result.Result.(infra.RetrainTermination).Outcome)
	assert.True(t, result.Result.(infra.RetrainTermination).Terminated)
	assert.Equal(t, 2, e.terminateCalls(), "the injected failure and the call that took effect")
}

func TestKFPTerminateFindsRunByName(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.rejectedWhileRunning()
	delete(e.runs, bot.ActionKFPRetrain) // kfp-retrain died before it saved the run
	e.runs[bot.ActionKFPRetrain] = store.ActionRun{State: store.RunRunning}

	result := e.finish(bot.ActionKFPTerminate)

	assert.Equal(t, infra.TerminateDone, result.Result.(infra.RetrainTermination).Outcome)
	assert.Equal(t, "run-0001", result.Result.(infra.RetrainTermination).RunID)
	assert.Equal(t, 1, e.terminateCalls())
}

func TestKFPTerminateFindsRetriedAttempt(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.kfp.SetOutcome("sopbot R-1 retrain fraud-detector", kfp.StateFailed)
	e.kfp.SetOutcome("sopbot R-1 retrain fraud-detector attempt 2", kfp.StateRunning)
	e.finish(bot.ActionKFPRetrain) // attempt 1 fails
	_, err := e.step(bot.ActionKFPRetrain)
	require.NoError(t, err, "the retry starts attempt 2")
	// The retry's progress was never saved, so it still names attempt 1.
	retrain := e.runs[bot.ActionKFPRetrain]
	retrain.Progress = `{"run_id":"run-0001","attempt":1}`
	e.runs[bot.ActionKFPRetrain] = retrain
	e.runs[bot.ActionKFPTerminate] = store.ActionRun{Progress: stopOrder}

	result := e.finish(bot.ActionKFPTerminate)

	got := result.Result.(infra.RetrainTermination)
	assert.Equal(t, infra.TerminateDone, got.Outcome)
	assert.Equal(t, "run-0002", got.RunID)
	assert.Equal(t, "sopbot R-1 retrain fraud-detector attempt 2", got.DisplayName)
}

func TestKFPTerminateWithoutRun(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.runs[bot.ActionKFPRetrain] = store.ActionRun{State: store.RunRunning}
	e.runs[bot.ActionKFPTerminate] = store.ActionRun{Progress: stopOrder}

	result := e.finish(bot.ActionKFPTerminate)

	assert.Empty(t, result.Failed)
	assert.Equal(t, "`kfp-retrain` had no KFP run going, so there was nothing to terminate. @olga rejected #1: data issues found", result.Summary)
	assert.Equal(t, infra.TerminateNoRun, result.Result.(infra.RetrainTermination).Outcome)
	assert.Zero(t, e.terminateCalls())
}

func TestKFPTerminateMissingRun(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.runs[bot.ActionKFPRetrain] = store.ActionRun{State: store.RunRunning, Progress: `{"run_id":"run-gone","display_name":"sopbot R-1 retrain fraud-detector","attempt":1}`}
	e.runs[bot.ActionKFPTerminate] = store.ActionRun{Progress: stopOrder}

	result := e.finish(bot.ActionKFPTerminate)

	assert.Empty(t, result.Failed)
	assert.Contains(t, result.Summary, "no longer exists, so there was nothing to terminate")
	assert.Equal(t, infra.TerminateNotFound, result.Result.(infra.RetrainTermination).Outcome)
}

func TestKFPTerminateTimeoutThenRetry(t *testing.T) {
	e := newRetrainEnv(t, bot.BotActor)
	e.rejectedWhileRunning()
	e.kfp.SetCancelingGets(100)
	_, err := e.step(bot.ActionKFPTerminate)
	require.NoError(t, err)

	e.now = e.now.Add(31 * time.Minute)
	timedOut := e.finish(bot.ActionKFPTerminate)
	assert.Contains(t, timedOut.Failed, "is still CANCELING after 30m0s")
	assert.Contains(t, timedOut.Failed, "sends no second terminate call")

	// `/mlops retry` queues it again, and its progress keeps the call.
	e.queued = e.now
	retry := e.runs[bot.ActionKFPTerminate]
	retry.State, retry.Result = store.RunQueued, ""
	e.runs[bot.ActionKFPTerminate] = retry
	waiting, err := e.step(bot.ActionKFPTerminate)
	require.NoError(t, err)
	assert.Positive(t, waiting.Wait)
	assert.Equal(t, 1, e.terminateCalls())
}
