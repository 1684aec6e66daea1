package bot_test

import (
	"database/sql"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/store"
)

// seedSecret adds a row to the secret inventory. An empty deployment
// leaves the row without one.
func (h *harness) seedSecret(namespace, name, deployment string) {
	h.t.Helper()
	err := h.db.InTx(h.ctx, func(tx *sql.Tx) error {
		return h.db.SeedSecret(h.ctx, tx, store.Secret{Name: name, Namespace: namespace, Deployment: deployment, Kind: "cloud-credential"})
	})
	require.NoError(h.t, err)
}

// openRotationIssue opens SOP-04 for mlflow-secrets in mlops as hank,
// records issue 1 and ticks the preconditions, leaving the request
// awaiting approval.
func (h *harness) openRotationIssue(deployment string) int64 {
	h.t.Helper()
	mark := h.queue.mark()
	h.command("hank", "rotate secret mlflow-secrets -n mlops --deployment "+deployment)
	opened := jobsOf[bot.OpenIssueArgs](h.queue, mark)
	require.Len(h.t, opened, 1, "one issue is opened; replies: %v", jobsOf[bot.ReplyArgs](h.queue, mark))
	id := opened[0].RequestID
	h.handle(bot.IssueOpened{RequestID: id, Number: 1, URL: issueURL})
	h.tick("hank", "pre-1", "pre-2", "pre-3")
	require.Equal(h.t, bot.StateAwaitingApproval, h.request(id).State)
	return id
}

func TestRotationOutsideInventoryRejected(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedSecret("mlops", "feast-secrets", "feast-server")
	h.seedSecret("mlops", "registry-token", "")
	h.seedSecret("ml-prod", "mlflow-secrets", "mlflow-server")

	mark := h.queue.mark()
	h.command("hank", "rotate secret mlflow-secrets -n mlops --deployment mlflow-server")
	assert.Empty(t, jobsOf[bot.OpenIssueArgs](h.queue, mark), "no request opens")
	assert.Equal(t, "`mlflow-secrets` is not in the secret inventory of namespace `mlops`, which lists `feast-secrets`, `registry-token`; "+
		"it lists `mlflow-secrets` in namespace `ml-prod`. `/mlops secrets` lists the inventory; "+
		"to rotate `mlflow-secrets`, add it under rotation.secrets in the sopbot config.", h.lastReply(mark))
}

func TestRotationInEmptyNamespaceRejected(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	reply := h.commandReply("hank", "rotate secret mlflow-secrets -n kube-system --deployment coredns")
	assert.Contains(t, reply, "`mlflow-secrets` is not in the secret inventory of namespace `kube-system`, which lists no secret.")
}

func TestRotationOfOtherDeploymentRejected(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedSecret("mlops", "mlflow-secrets", "mlflow-server")
	mark := h.queue.mark()
	h.command("hank", "rotate secret mlflow-secrets -n mlops --deployment payments-api")
	assert.Empty(t, jobsOf[bot.OpenIssueArgs](h.queue, mark), "no request opens")
	assert.Contains(t, h.lastReply(mark), "The secret inventory lists `mlflow-secrets` of namespace `mlops` for deployment `mlflow-server`, not `payments-api`; "+
		"use `--deployment mlflow-server`, or correct the entry under rotation.secrets in the sopbot config.")
}

func TestRotationWithoutInventoryDeployment(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedSecret("mlops", "mlflow-secrets", "")
	id := h.openRotationIssue("payments-api")
	assert.Equal(t, "payments-api", h.request(id).Params["deployment"], "a row without a deployment accepts any")
}

func TestRotationChangeOutsideInventoryRejected(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedSecret("mlops", "mlflow-secrets", "mlflow-server")
	id := h.openRotationIssue("mlflow-server")

	reply := h.commandReply("hank", "rotate secret mlflow-secrets -n mlops --deployment payments-api")
	assert.Contains(t, reply, "for deployment `mlflow-server`, not `payments-api`")
	assert.Equal(t, "mlflow-server", h.request(id).Params["deployment"], "the parameters stay")
}
