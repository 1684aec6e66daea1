package bot_test

import (
	"database/sql"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/store"
)

const onboardLine = "onboard project churn --team risk --cost-center cc-42"

// openOnboarding opens the SOP-01 request as alice, records issue 1 and
// ticks the preconditions, leaving it awaiting approval.
func (h *harness) openOnboarding() int64 {
	h.t.Helper()
	mark := h.queue.mark()
	h.command("alice", onboardLine)
	opened := jobsOf[bot.OpenIssueArgs](h.queue, mark)
	require.Len(h.t, opened, 1, "one issue is opened")
	id := opened[0].RequestID
	h.handle(bot.IssueOpened{RequestID: id, Number: 1, URL: issueURL})
	require.Equal(h.t, bot.StateAwaitingReview, h.request(id).State)
	h.tick("alice", "pre-1", "pre-2", "pre-3", "pre-4")
	require.Equal(h.t, bot.StateAwaitingApproval, h.request(id).State)
	return id
}

// startRun marks an action running, as the worker does before its step.
func (h *harness) startRun(id int64, action string) {
	h.t.Helper()
	err := h.db.InTx(h.ctx, func(tx *sql.Tx) error { return h.db.StartActionRun(h.ctx, tx, id, action) })
	require.NoError(h.t, err)
}

func (h *harness) runs(id int64) map[string]store.ActionRun {
	h.t.Helper()
	var runs map[string]store.ActionRun
	err := h.db.InTx(h.ctx, func(tx *sql.Tx) error {
		var err error
		runs, err = h.db.ActionRuns(h.ctx, tx, id)
		return err
	})
	require.NoError(h.t, err)
	return runs
}

func infraActions(jobs []bot.InfraArgs) []string {
	var names []string
	for _, j := range jobs {
		names = append(names, j.Action)
	}
	return names
}

func TestOnboardingCommandFlags(t *testing.T) {
	h := newHarness(t)
	reply := h.commandReply("alice", "onboard project churn --team risk")
	assert.Contains(t, reply, "Missing --cost-center <cost-center>.")
	reply = h.commandReply("alice", "onboard project churn risk cc-42")
	assert.Contains(t, reply, "Missing --team <team>.", "positional values do not stand in for required flags")
	reply = h.commandReply("alice", "onboard project churn --team risk --cost-center cc-42 --quota 4")
	assert.Contains(t, reply, "Unknown flag `--quota`.")
	reply = h.commandReply("alice", "onboard project churn --team=Risk! --cost-center cc-42")
	assert.Contains(t, reply, "Invalid name `Risk!` for <team>")
}

func TestRotationCommandShortFlag(t *testing.T) {
	h := newHarness(t)
	h.seedSecret("mlops", "mlflow-secrets", "mlflow-server")
	mark := h.queue.mark()
	h.command("hank", "rotate secret mlflow-secrets -n mlops --deployment mlflow-server")
	opened := jobsOf[bot.OpenIssueArgs](h.queue, mark)
	require.Len(t, opened, 1)
	req := h.request(opened[0].RequestID)
	assert.Equal(t, map[string]string{"secret": "mlflow-secrets", "namespace": "mlops", "deployment": "mlflow-server"}, req.Params)
	assert.Equal(t, "secret:mlops:mlflow-secrets", req.Target)
}

func TestOnboardingActionsWaitForApproval(t *testing.T) {
	h := newHarness(t)
	id := h.openOnboarding()

	mark := h.queue.mark()
	h.command("frank", "approve R-1")
	assert.Empty(t, jobsOf[bot.InfraArgs](h.queue, mark), "one approver of two starts nothing")
	assert.Equal(t, bot.StateAwaitingApproval, h.request(id).State)

	h.command("gina", "approve R-1")
	assert.Equal(t, bot.StateInProgress, h.request(id).State)
	assert.ElementsMatch(t, []string{bot.ActionK8sOnboard, bot.ActionMLflowExperiment}, infraActions(jobsOf[bot.InfraArgs](h.queue, mark)),
		"the actions that wait only for the approval start")
	runs := h.runs(id)
	assert.Equal(t, store.RunQueued, runs[bot.ActionK8sOnboard].State)
	assert.Equal(t, "namespace:ml-churn", runs[bot.ActionK8sOnboard].Target)
}

func TestOnboardingActionSuccessTicksAndChains(t *testing.T) {
	h := newHarness(t)
	id := h.openOnboarding()
	h.command("frank", "approve R-1")
	h.command("gina", "approve R-1")

	h.startRun(id, bot.ActionK8sOnboard)
	mark := h.queue.mark()
	h.handle(bot.InfraFinished{RequestID: id, Action: bot.ActionK8sOnboard, Succeeded: true,
		Summary: "Namespace `ml-churn` created.", Result: `{"namespace":"ml-churn"}`})
	assert.True(t, h.items(id)["s1-1"].Checked, "the action's item is ticked")
	assert.Equal(t, bot.BotActor, h.items(id)["s1-1"].ByLogin)
	assert.Equal(t, []string{bot.ActionFeastApply}, infraActions(jobsOf[bot.InfraArgs](h.queue, mark)),
		"feast-apply waits for k8s-onboard only; the inventory also waits for the experiment")
	assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "✅ Namespace `ml-churn` created.")
	assert.Contains(t, h.auditActions(id), "sopbot action succeeded")

	// A duplicate result, as from a retried job, changes nothing.
	mark = h.queue.mark()
	h.handle(bot.InfraFinished{RequestID: id, Action: bot.ActionK8sOnboard, Succeeded: true, Summary: "again"})
	assert.Empty(t, h.queue.kindsSince(mark))

	// People cannot tick the bot's items.
	h.tick("bob", "s3-1")
	assert.False(t, h.items(id)["s3-1"].Checked)
}

func TestOnboardingActionFailureAndRetry(t *testing.T) {
	h := newHarness(t)
	id := h.openOnboarding()
	h.command("frank", "approve R-1")
	h.command("gina", "approve R-1")
	h.startRun(id, bot.ActionK8sOnboard)
	h.handle(bot.InfraFinished{RequestID: id, Action: bot.ActionK8sOnboard, Succeeded: true, Summary: "ok"})
	h.startRun(id, bot.ActionFeastApply)

	mark := h.queue.mark()
	h.handle(bot.InfraFinished{RequestID: id, Action: bot.ActionFeastApply, Error: "job feast-r-1 failed: BackoffLimitExceeded"})
	assert.False(t, h.items(id)["s3-1"].Checked, "a failed action leaves its step unticked")
	assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "`/mlops retry #1`")
	assert.Equal(t, store.RunFailed, h.runs(id)[bot.ActionFeastApply].State)
	assert.Equal(t, bot.StateInProgress, h.request(id).State, "the request stays open for the retry")

	reply := h.commandReply("mallory", "retry R-1")
	assert.Contains(t, reply, "Only the requester")

	mark = h.queue.mark()
	h.command("alice", "retry R-1")
	assert.Equal(t, []string{bot.ActionFeastApply}, infraActions(jobsOf[bot.InfraArgs](h.queue, mark)))
	assert.Equal(t, store.RunQueued, h.runs(id)[bot.ActionFeastApply].State)

	reply = h.commandReply("alice", "retry R-1")
	assert.Contains(t, reply, "has no failed action")
}

func TestOnboardingDoneAfterEveryStepAndAction(t *testing.T) {
	h := newHarness(t)
	id := h.openOnboarding()
	h.command("frank", "approve R-1")
	h.command("gina", "approve R-1")
	finish := func(action string) {
		h.startRun(id, action)
		h.handle(bot.InfraFinished{RequestID: id, Action: action, Succeeded: true, Summary: action + " done"})
	}
	finish(bot.ActionK8sOnboard)
	finish(bot.ActionMLflowExperiment)
	finish(bot.ActionFeastApply)
	finish(bot.ActionKFPInitialRun)
	finish(bot.ActionInventoryAdd)
	assert.Equal(t, bot.StateInProgress, h.request(id).State, "people's steps are still open")

	h.tick("bob", "s2-4", "s4-1", "s4-2", "s4-3", "s5-1", "s5-2", "s5-3", "s6-3", "s7-1", "s7-3")
	assert.Equal(t, bot.StateDone, h.request(id).State)
}

func TestInventoryAndSecretsCommands(t *testing.T) {
	h := newHarness(t)
	reply := h.commandReply("alice", "inventory")
	assert.Contains(t, reply, "The project inventory is empty.")
	reply = h.commandReply("alice", "inventory churn")
	assert.Contains(t, reply, "`inventory` takes no arguments.")

	err := h.db.InTx(h.ctx, func(tx *sql.Tx) error {
		if err := h.db.UpsertProject(h.ctx, tx, store.Project{Name: "churn", Team: "risk", CostCenter: "cc-42", Namespace: "ml-churn", ExperimentID: "100", RequestID: 1}); err != nil {
			return err
		}
		return h.db.SeedSecret(h.ctx, tx, store.Secret{Name: "mlflow-secrets", Namespace: "mlops", Kind: "cloud-credential",
			Deployment: "mlflow-server", LastRotated: h.db.Now().AddDate(0, 0, -100)})
	})
	require.NoError(t, err)
	reply = h.commandReply("alice", "inventory")
	assert.Contains(t, reply, "• `churn`: team `risk`, cost center `cc-42`, namespace `ml-churn`, experiment 100")

	h.engine.Settings.SecretMaxAge = func(kind string) int { return map[string]int{"cloud-credential": 90}[kind] }
	reply = h.commandReply("alice", "secrets")
	assert.Contains(t, reply, "`mlops/mlflow-secrets` (cloud-credential)")
	assert.Contains(t, reply, "*overdue since")
}

func TestStatusListsActions(t *testing.T) {
	h := newHarness(t)
	id := h.openOnboarding()
	h.command("frank", "approve R-1")
	h.command("gina", "approve R-1")
	h.startRun(id, bot.ActionK8sOnboard)
	h.handle(bot.InfraFinished{RequestID: id, Action: bot.ActionK8sOnboard, Error: "namespaces \"ml-churn\" is forbidden"})
	reply := h.commandReply("alice", "status #1")
	assert.Contains(t, reply, "• `k8s-onboard`: failed after 1 attempts: namespaces \"ml-churn\" is forbidden")
	assert.Contains(t, reply, "• `mlflow-experiment`: queued")
	assert.Contains(t, reply, "• `feast-apply`: waiting for k8s-onboard")
}
