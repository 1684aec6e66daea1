package bot_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/store"
)

// openRotation opens SOP-04 as hank for a secret of the inventory,
// records issue 1, ticks the preconditions and has gina (Security lead)
// approve.
func (h *harness) openRotation() int64 {
	h.t.Helper()
	err := h.db.InTx(h.ctx, func(tx *sql.Tx) error {
		return h.db.SeedSecret(h.ctx, tx, store.Secret{Name: "mlflow-secrets", Namespace: "mlops", Deployment: "mlflow-server", Kind: "database-password"})
	})
	require.NoError(h.t, err)
	mark := h.queue.mark()
	h.command("hank", "rotate secret mlflow-secrets -n mlops --deployment mlflow-server")
	opened := jobsOf[bot.OpenIssueArgs](h.queue, mark)
	require.Len(h.t, opened, 1)
	id := opened[0].RequestID
	h.handle(bot.IssueOpened{RequestID: id, Number: 1, URL: issueURL})
	h.tick("hank", "pre-1", "pre-2", "pre-3")
	require.Equal(h.t, bot.StateAwaitingApproval, h.request(id).State)
	h.command("gina", "approve R-1")
	require.Equal(h.t, bot.StateInProgress, h.request(id).State)
	return id
}

func (h *harness) finishRotationAction(id int64, action string, ticks []string) {
	h.t.Helper()
	h.startRun(id, action)
	h.handle(bot.InfraFinished{RequestID: id, Action: action, Succeeded: true, Summary: action + " done", Result: `{}`, Ticks: ticks})
}

func TestUntickedActionItemGoesToPeople(t *testing.T) {
	h := newHarness(t)
	id := h.openRotation()
	h.finishRotationAction(id, bot.ActionSecretPrepare, nil)
	h.finishRotationAction(id, bot.ActionSecretRepoint, nil)
	// No smoke check is configured, so the rollout check ticks s3-1 only.
	h.finishRotationAction(id, bot.ActionRolloutVerify, []string{"s3-1"})
	mark := h.queue.mark()
	h.tick("ivy", "s3-2", "s3-3", "s3-4")
	items := h.items(id)
	assert.True(t, items["s3-3"].Checked, "the smoke test the bot did not run is ticked by people")
	assert.Equal(t, "ivy", items["s3-3"].ByLogin)
	assert.Contains(t, infraActions(jobsOf[bot.InfraArgs](h.queue, mark)), bot.ActionSecretRetire, "step 4's action starts once step 3 is complete")

	// The item the action did tick stays the bot's.
	h.untick("ivy", "s3-1")
	assert.True(t, h.items(id)["s3-1"].Checked)
}

func TestBotRequestHasNoHumanRequester(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.openRetraining()
	require.Equal(t, bot.BotActor, h.request(id).RequesterLogin)
	h.command("sopbot", "cancel R-1")
	assert.NotEqual(t, bot.StateCancelled, h.request(id).State, "a person whose login is the bot's audit name is not the requester")
}

func TestSweepFailsActionWithoutJob(t *testing.T) {
	h := newHarness(t)
	id := h.openOnboarding()
	h.command("frank", "approve R-1")
	h.command("gina", "approve R-1")
	h.startRun(id, bot.ActionK8sOnboard)
	reply := h.commandReply("alice", "retry R-1")
	assert.Contains(t, reply, "has no failed action", "a running action is not retried while it may still be running")

	// An hour later the run has no step and no job: the sweep fails it.
	h.db.SetClock(func() time.Time { return time.Now().Add(time.Hour) })
	w := &bot.Workers{Engine: h.engine, Log: h.engine.Log}
	require.NoError(t, w.SweepStaleActions(h.ctx))
	run := h.runs(id)[bot.ActionK8sOnboard]
	assert.Equal(t, store.RunFailed, run.State)
	assert.Contains(t, run.Error, "no job is left to finish it")

	mark := h.queue.mark()
	h.command("alice", "retry R-1")
	assert.Equal(t, []string{bot.ActionK8sOnboard}, infraActions(jobsOf[bot.InfraArgs](h.queue, mark)))
}
