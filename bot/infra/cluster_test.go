package infra_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/integrations/kube"
	"github.com/sopbot/sopbot/internal/k8stest"
)

// finishOnCluster steps an action until it ends, sleeping its waits up to
// a bound, because the control plane's controllers run on real time.
func (e *env) finishOnCluster(name string) bot.StepResult {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		res := e.step(name)
		if res.Wait == 0 {
			return res
		}
		wait := min(res.Wait, 200*time.Millisecond)
		time.Sleep(wait)
		e.now = e.now.Add(wait)
	}
	e.t.Fatalf("action %s did not finish within 60s on the control plane", name)
	return bot.StepResult{}
}

// TestActionsOnControlPlane runs the onboarding's Kubernetes actions and a
// whole rotation against kube-apiserver, the controller manager, the
// scheduler and kwok, as the bot's ServiceAccount.
func TestActionsOnControlPlane(t *testing.T) {
	cluster := k8stest.Start(t)
	client := cluster.BotClient(t, filepath.Join("..", "..", "deploy"))
	ctx := t.Context()

	t.Run("onboarding", func(t *testing.T) {
		e := newEnv(t, onboardParams)
		e.deps.Kube, e.deps.KubeAPI = kube.New(client), client
		e.now = time.Now().UTC()
		res := e.finishOnCluster(bot.ActionK8sOnboard)
		require.Empty(t, res.Failed)
		assert.Contains(t, res.Summary, "created namespaces/ml-churn")
		ns, err := cluster.Client.CoreV1().Namespaces().Get(ctx, "ml-churn", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, "cc-42", ns.Labels["sopbot.dev/cost-center"])

		again := e.finishOnCluster(bot.ActionK8sOnboard)
		assert.NotContains(t, again.Summary, "created ", "a retry creates nothing")

		feast := e.finishOnCluster(bot.ActionFeastApply)
		require.Empty(t, feast.Failed, feast.Summary)
		assert.Contains(t, feast.Summary, "**succeeded**")
	})

	t.Run("rotation", func(t *testing.T) {
		admin := cluster.Client
		_, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "mlops"}}, metav1.CreateOptions{})
		require.NoError(t, err)
		_, err = admin.CoreV1().Secrets("mlops").Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "mlflow-secrets", Namespace: "mlops"},
			StringData: map[string]string{"DB_PASSWORD": secretValue},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		replicas := int32(2)
		labels := map[string]string{"app": "mlflow-server"}
		_, err = admin.AppsV1().Deployments("mlops").Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "mlflow-server", Namespace: "mlops"},
			Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"kubernetes.io/hostname": k8stest.NodeName},
					Containers: []corev1.Container{{Name: "server", Image: "mlflow:test", Env: []corev1.EnvVar{{Name: "DB_PASSWORD",
						ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
							LocalObjectReference: corev1.LocalObjectReference{Name: "mlflow-secrets"}, Key: "DB_PASSWORD"}}}}}}}}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)

		e := newEnv(t, rotateParams)
		e.deps.Kube, e.deps.KubeAPI = kube.New(client), client
		e.deps.Rotation.Secrets = []config.InventorySecret{{Name: "mlflow-secrets", Namespace: "mlops", Kind: "database-password"}}
		e.now = time.Now().UTC()
		e.seedInventory("database-password")

		for _, action := range []string{bot.ActionSecretPrepare, bot.ActionSecretRepoint, bot.ActionRolloutVerify} {
			res := e.finishOnCluster(action)
			require.Empty(t, res.Failed, "%s: %s", action, res.Summary)
			assert.NotContains(t, written(res), secretValue)
		}
		d, err := admin.AppsV1().Deployments("mlops").Get(ctx, "mlflow-server", metav1.GetOptions{})
		require.NoError(t, err)
		newName := kube.NewSecretName("mlflow-secrets", "R-7")
		assert.Equal(t, newName, d.Spec.Template.Spec.Containers[0].Env[0].ValueFrom.SecretKeyRef.Name)
		assert.Equal(t, d.Generation, d.Status.ObservedGeneration)

		first := e.step(bot.ActionSecretRetire)
		require.Equal(t, 24*time.Hour, first.Wait)
		e.now = e.now.Add(24 * time.Hour)
		retired := e.finishOnCluster(bot.ActionSecretRetire)
		require.Empty(t, retired.Failed, retired.Summary)
		_, err = admin.CoreV1().Secrets("mlops").Get(ctx, "mlflow-secrets", metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "the old secret is deleted: %v", err)
	})
}
