package infra_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/kube"
)

// requeue sets an action back to queued, keeping its progress, as
// /mlops retry does.
func (e *env) requeue(action string) {
	run := e.runs[action]
	run.State = store.RunQueued
	e.runs[action] = run
}

func TestRolloutRetryAfterRollbackRepoints(t *testing.T) {
	e := newEnv(t, rotateParams)
	e.seedRotation("database-password")
	healthy := false
	smoke := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !healthy {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	t.Cleanup(smoke.Close)
	e.deps.Rotation.Secrets = []config.InventorySecret{{Name: "mlflow-secrets", Namespace: "mlops", Kind: "database-password", SmokeURL: smoke.URL}}
	e.finish(bot.ActionSecretPrepare, nil)
	e.finish(bot.ActionSecretRepoint, nil)
	failed := e.finish(bot.ActionRolloutVerify, func(int) { e.rollOut() })
	require.Contains(t, failed.Failed, "the smoke check failed")
	require.Equal(t, "mlflow-secrets", e.deploymentSecret(), "rolled back")
	inv, err := e.db.GetSecret(e.ctx, e.db.SQL, "mlops", "mlflow-secrets")
	require.NoError(t, err)
	assert.Equal(t, "mlflow-secrets", inv.Current, "the inventory follows the rollback")

	healthy = true
	e.requeue(bot.ActionRolloutVerify)
	res := e.finish(bot.ActionRolloutVerify, func(int) { e.rollOut() })
	newName := kube.NewSecretName("mlflow-secrets", "R-7")
	require.Empty(t, res.Failed)
	assert.Equal(t, newName, e.deploymentSecret(), "the retry points the deployment at the new secret again")
	assert.Contains(t, res.Summary, "rolled out on `"+newName+"`")
}

func TestRolloutRerunAfterCrashWithStaleProgress(t *testing.T) {
	e := newEnv(t, rotateParams)
	e.seedRotation("database-password")
	e.finish(bot.ActionSecretPrepare, nil)
	e.finish(bot.ActionSecretRepoint, nil)
	e.step(bot.ActionRolloutVerify) // the watch starts

	// Someone, or a rollback whose result was lost, points it back.
	_, err := e.deps.Kube.Repoint(e.ctx, "mlops", "mlflow-server", kube.NewSecretName("mlflow-secrets", "R-7"), "mlflow-secrets", "R-7")
	require.NoError(t, err)
	res := e.finish(bot.ActionRolloutVerify, func(int) { e.rollOut() })
	require.Empty(t, res.Failed)
	assert.Equal(t, kube.NewSecretName("mlflow-secrets", "R-7"), e.deploymentSecret(), "success is reported only while the deployment reads the new secret")
}

func TestFeastRetryStartsNextJob(t *testing.T) {
	e := newEnv(t, onboardParams)
	e.step(bot.ActionFeastApply)
	e.completeJob(kube.FeastJobName("R-7"), batchv1.JobFailed, "BackoffLimitExceeded")
	require.NotEmpty(t, e.step(bot.ActionFeastApply).Failed)

	e.requeue(bot.ActionFeastApply)
	e.now = e.now.Add(time.Hour)
	retried := e.step(bot.ActionFeastApply)
	require.Empty(t, retried.Failed)
	require.Positive(t, retried.Wait)
	_, err := e.kube.BatchV1().Jobs("ml-churn").Get(e.ctx, kube.FeastJobName("R-7")+"-2", metav1.GetOptions{})
	require.NoError(t, err, "the retry creates attempt 2's Job")
	e.completeJob(kube.FeastJobName("R-7")+"-2", batchv1.JobComplete, "Completed")
	res := e.step(bot.ActionFeastApply)
	assert.Empty(t, res.Failed)
	assert.Contains(t, res.Summary, "**succeeded**")
}

func TestInitialRunRetryStartsNextRun(t *testing.T) {
	e := newEnv(t, onboardParams)
	e.kfp.SetOutcome("sopbot R-7 initial training of churn", "FAILED")
	require.Contains(t, e.finish(bot.ActionKFPInitialRun, nil).Failed, "ended FAILED")

	e.kfp.SetOutcome("sopbot R-7 initial training of churn", "SUCCEEDED")
	e.requeue(bot.ActionKFPInitialRun)
	res := e.finish(bot.ActionKFPInitialRun, nil)
	require.Empty(t, res.Failed)
	created := e.kfp.Created()
	require.Len(t, created, 2)
	assert.Equal(t, "sopbot R-7 initial training of churn attempt 2", created[1].DisplayName)
}

func TestRotationAfterCancelledRotation(t *testing.T) {
	e := newEnv(t, rotateParams)
	e.seedRotation("database-password")
	e.deps.Rotation.Secrets = []config.InventorySecret{{Name: "mlflow-secrets", Namespace: "mlops", Kind: "database-password"}}
	e.finish(bot.ActionSecretPrepare, nil)
	e.finish(bot.ActionSecretRepoint, nil)
	e.finish(bot.ActionRolloutVerify, func(int) { e.rollOut() })
	e.step(bot.ActionSecretRetire) // the wait starts; then the request is cancelled

	e.req = store.Request{ID: 8, Params: rotateParams}
	e.runs = map[string]store.ActionRun{}
	prepared := e.finish(bot.ActionSecretPrepare, nil)
	require.Empty(t, prepared.Failed)
	assert.Contains(t, prepared.Summary, "for the keys of `"+kube.NewSecretName("mlflow-secrets", "R-7")+"`", "the next rotation starts from the secret the deployment reads")
	repointed := e.finish(bot.ActionSecretRepoint, nil)
	require.Empty(t, repointed.Failed)
	assert.Equal(t, kube.NewSecretName("mlflow-secrets", "R-8"), e.deploymentSecret())
}

func TestRetireKeepsSecretUsedByCronJob(t *testing.T) {
	e := newEnv(t, rotateParams)
	e.seedRotation("database-password")
	_, err := e.kube.BatchV1().CronJobs("mlops").Create(e.ctx, &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly-export", Namespace: "mlops"},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "export",
				EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "mlflow-secrets"}}}}}}},
		}}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	e.finish(bot.ActionSecretPrepare, nil)
	e.finish(bot.ActionSecretRepoint, nil)
	e.finish(bot.ActionRolloutVerify, func(int) { e.rollOut() })
	e.step(bot.ActionSecretRetire)
	e.now = e.now.Add(25 * time.Hour)
	_, err = e.action(bot.ActionSecretRetire).Step(e.ctx, bot.ActionInput{Request: e.req, Run: e.runs[bot.ActionSecretRetire], Runs: e.runs, Now: e.now})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cronjobs/nightly-export")
	_, err = e.kube.CoreV1().Secrets("mlops").Get(e.ctx, "mlflow-secrets", metav1.GetOptions{})
	assert.NoError(t, err, "the old secret stays while a CronJob references it")
}
