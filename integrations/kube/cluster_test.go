package kube

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/sopbot/sopbot/internal/k8stest"
)

// clusterWait bounds every poll on the control plane. A Job or a rollout
// took about a second on kwok in this test's runs on a 2-core machine, so
// the limit leaves room for a loaded one.
const clusterWait = 60 * time.Second

// poll calls check until it reports done. It fails the test on an error
// that IsPermanent marks, and after clusterWait with the last transient
// error in the message.
func poll(t *testing.T, what string, check func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), clusterWait)
	defer cancel()
	var last error
	for {
		done, err := check(ctx)
		if err != nil && IsPermanent(err) {
			require.NoError(t, err, "%s: permanent error", what)
		}
		if err == nil && done {
			return
		}
		last = err
		select {
		case <-ctx.Done():
			require.FailNow(t, "timed out", "%s after %s; last error: %v", what, clusterWait, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestActionsOnControlPlane runs every action against kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok as the bot's
// ServiceAccount, bound only to the ClusterRole in deploy/.
func TestActionsOnControlPlane(t *testing.T) {
	cluster := k8stest.Start(t)
	admin := cluster.Client
	bot := New(cluster.BotClient(t, filepath.Join("..", "..", "deploy")))

	t.Run("bot cannot act outside its role", func(t *testing.T) {
		botKube := bot.kube
		_, err := botKube.CoreV1().Secrets("default").List(t.Context(), metav1.ListOptions{})
		assert.True(t, apierrors.IsForbidden(err), "list secrets: %v", err)
		err = botKube.CoreV1().Namespaces().Delete(t.Context(), "default", metav1.DeleteOptions{})
		assert.True(t, apierrors.IsForbidden(err), "delete namespace: %v", err)
		_, err = botKube.RbacV1().ClusterRoleBindings().List(t.Context(), metav1.ListOptions{})
		assert.True(t, apierrors.IsForbidden(err), "list cluster role bindings: %v", err)
	})

	t.Run("onboard", func(t *testing.T) { testOnboardOnCluster(t, admin, bot, cluster) })
	t.Run("feast job", func(t *testing.T) { testFeastJobOnCluster(t, bot) })
	t.Run("secret rotation", func(t *testing.T) { testRotationOnCluster(t, admin, bot) })
}

func testOnboardOnCluster(t *testing.T, admin kubernetes.Interface, bot *Client, cluster *k8stest.Cluster) {
	ctx := t.Context()

	plan, err := bot.PlanOnboard(ctx, churnSpec())
	require.NoError(t, err)
	assert.Len(t, plan.Pending(), 4)
	_, err = admin.CoreV1().Namespaces().Get(ctx, "ml-churn", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "a plan created the namespace: %v", err)

	first, err := bot.Onboard(ctx, churnSpec())
	require.NoError(t, err)
	require.Len(t, first.Objects, 4)
	for _, o := range first.Objects {
		assert.True(t, o.Changed, "%s", o.ObjectRef)
	}

	second, err := bot.Onboard(ctx, churnSpec())
	require.NoError(t, err)
	require.Len(t, second.Objects, 4)
	for _, o := range second.Objects {
		assert.False(t, o.Changed, "%s", o.ObjectRef)
	}

	ns, err := admin.CoreV1().Namespaces().Get(ctx, "ml-churn", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "growth", ns.Labels[LabelTeam])
	assert.Equal(t, "cc-1042", ns.Labels[LabelCostCenter])
	quota, err := admin.CoreV1().ResourceQuotas("ml-churn").Get(ctx, "churn-quota", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "20", quota.Spec.Hard.Pods().String())

	// The binding to edit works: a member of the team's group may create a
	// ConfigMap in the namespace.
	member := cluster.As("alice", "growth")
	configMap := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"}}
	_, err = member.CoreV1().ConfigMaps("ml-churn").Create(ctx, configMap, metav1.CreateOptions{})
	assert.NoError(t, err)

	_, err = admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ml-taken"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	spec := churnSpec()
	spec.Project = "taken"
	_, err = bot.Onboard(ctx, spec)
	require.Error(t, err)
	assert.True(t, IsPermanent(err))
	assert.Contains(t, err.Error(), "namespaces/ml-taken already exists and has no label sopbot.dev/request")
}

func testFeastJobOnCluster(t *testing.T, bot *Client) {
	ctx := t.Context()
	spec := feastSpec()
	require.NoError(t, spec.Validate())
	job := FeastJob(spec, time.Now())

	first, err := bot.RunJob(ctx, job)
	require.NoError(t, err)
	assert.True(t, first.Changed)
	second, err := bot.RunJob(ctx, FeastJob(spec, time.Now()))
	require.NoError(t, err)
	assert.False(t, second.Changed)

	var state JobState
	poll(t, "job "+job.Name+" done", func(ctx context.Context) (bool, error) {
		state, err = bot.JobStatus(ctx, spec.Namespace, job.Name)
		return state.Done, err
	})
	assert.True(t, state.Succeeded, "job state %+v", state)

	// kwok runs no containers and serves no kubelet API, so the API server
	// cannot fetch a log.
	logs, err := bot.LogTail(ctx, spec.Namespace, job.Name, 20)
	require.NoError(t, err)
	assert.Contains(t, logs, "container clone (last 20 lines)")
	assert.Contains(t, logs, "container feast (last 20 lines)")
	assert.Contains(t, logs, "no log available: ")
	t.Logf("log tail of %s:\n%s", job.Name, logs)
}

// appOnCluster is a Deployment of two replicas that reads the Secret
// aws-creds from env and a volume. Its resources fit the onboarded quota.
func appOnCluster() *appsv1.Deployment {
	labels := map[string]string{"app": "app"}
	resources := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "ml-churn"},
		Spec: appsv1.DeploymentSpec{
			Replicas: new(int32(2)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{
						Name:         "app",
						Image:        "registry.example/app:1",
						Env:          []corev1.EnvVar{secretKeyEnv("AWS_KEY", "aws-creds", "AWS_ACCESS_KEY_ID")},
						VolumeMounts: []corev1.VolumeMount{{Name: "creds", MountPath: "/creds"}},
						Resources:    resources,
					}},
					Volumes: []corev1.Volume{{
						Name:         "creds",
						VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "aws-creds"}},
					}},
				},
			},
		},
	}
}

func waitForRollout(t *testing.T, bot *Client, namespace, name string) Rollout {
	t.Helper()
	var rollout Rollout
	poll(t, "rollout of "+name, func(ctx context.Context) (bool, error) {
		var err error
		rollout, err = bot.RolloutStatus(ctx, namespace, name)
		if rollout.Failed {
			return false, permanentf("rollout failed: %s", rollout.Reason)
		}
		return rollout.Done, err
	})
	return rollout
}

func testRotationOnCluster(t *testing.T, admin kubernetes.Interface, bot *Client) {
	ctx := t.Context()
	old := oldSecret()
	old.UID = ""
	_, err := admin.CoreV1().Secrets("ml-churn").Create(ctx, old, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = admin.AppsV1().Deployments("ml-churn").Create(ctx, appOnCluster(), metav1.CreateOptions{})
	require.NoError(t, err)
	waitForRollout(t, bot, "ml-churn", "app")

	from, err := admin.CoreV1().Secrets("ml-churn").Get(ctx, "aws-creds", metav1.GetOptions{})
	require.NoError(t, err)
	oldKeys, err := bot.SecretKeys(ctx, "ml-churn", "aws-creds")
	require.NoError(t, err)
	newName := NewSecretName("aws-creds", testRequest)

	plan, err := bot.PlanGenerateSecret(ctx, "ml-churn", newName, from, hexShape, testRequest)
	require.NoError(t, err)
	assertNoSecretValue(t, plan.String(), nil)
	_, err = admin.CoreV1().Secrets("ml-churn").Get(ctx, newName, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "a plan created the secret: %v", err)

	keys, err := bot.GenerateSecret(ctx, "ml-churn", newName, from, hexShape, testRequest)
	require.NoError(t, err)
	require.NoError(t, CompareKeys(oldKeys, keys))
	again, err := bot.GenerateSecret(ctx, "ml-churn", newName, from, hexShape, testRequest)
	require.NoError(t, err)
	assert.Equal(t, keys, again)
	created, err := admin.CoreV1().Secrets("ml-churn").Get(ctx, newName, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Len(t, created.Data["AWS_SECRET_ACCESS_KEY"], 32)

	_, err = bot.DeleteSecret(ctx, "ml-churn", "aws-creds", testRequest)
	require.Error(t, err)
	assert.True(t, IsPermanent(err))
	assert.Contains(t, err.Error(), "still referenced by deployments/app")

	before, err := admin.AppsV1().Deployments("ml-churn").Get(ctx, "app", metav1.GetOptions{})
	require.NoError(t, err)
	result, err := bot.Repoint(ctx, "ml-churn", "app", "aws-creds", newName, testRequest)
	require.NoError(t, err)
	assert.False(t, result.AlreadyDone)
	assert.Equal(t, []string{"container app env AWS_KEY", "volume creds"}, result.Refs)

	rollout := waitForRollout(t, bot, "ml-churn", "app")
	assert.Greater(t, rollout.Generation, before.Generation)
	assert.Equal(t, int32(2), rollout.Updated)
	assert.Equal(t, int32(2), rollout.Available)

	retry, err := bot.Repoint(ctx, "ml-churn", "app", "aws-creds", newName, testRequest)
	require.NoError(t, err)
	assert.True(t, retry.AlreadyDone)

	// Old pods may still be terminating after the rollout. DeleteSecret
	// then returns a transient error, and the poll retries it.
	poll(t, "delete old secret", func(ctx context.Context) (bool, error) {
		_, err := bot.DeleteSecret(ctx, "ml-churn", "aws-creds", testRequest)
		return err == nil, err
	})
	_, err = admin.CoreV1().Secrets("ml-churn").Get(ctx, "aws-creds", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "old secret still exists: %v", err)
	outcome, err := bot.DeleteSecret(ctx, "ml-churn", "aws-creds", testRequest)
	require.NoError(t, err)
	assert.False(t, outcome.Changed)

	pods, err := admin.CoreV1().Pods("ml-churn").List(ctx, metav1.ListOptions{LabelSelector: "app=app"})
	require.NoError(t, err)
	for _, pod := range pods.Items {
		assert.Empty(t, allSecretRefs(&pod.Spec, "aws-creds"), "pod %s", pod.Name)
	}
}
