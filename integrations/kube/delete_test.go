package kube

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stesting "k8s.io/client-go/testing"
)

func TestDeleteSecretDeletesUnusedSecret(t *testing.T) {
	ctx := context.Background()
	client, kube := newFake(oldSecret(), newSecret())

	outcome, err := client.DeleteSecret(ctx, "ml-churn", "aws-creds", testRequest)
	require.NoError(t, err)

	assert.True(t, outcome.Changed)
	assert.Equal(t, "deleted secrets/aws-creds in namespace ml-churn", outcome.String())
	_, err = kube.CoreV1().Secrets("ml-churn").Get(ctx, "aws-creds", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err))
	_, err = kube.CoreV1().Secrets("ml-churn").Get(ctx, "aws-creds-r-12", metav1.GetOptions{})
	assert.NoError(t, err)

	var deletes []k8stesting.DeleteAction
	for _, action := range kube.Actions() {
		if d, ok := action.(k8stesting.DeleteAction); ok {
			deletes = append(deletes, d)
		}
	}
	require.Len(t, deletes, 1)
	require.NotNil(t, deletes[0].GetDeleteOptions().Preconditions)
	assert.Equal(t, "old-uid", string(*deletes[0].GetDeleteOptions().Preconditions.UID))
}

func TestDeleteSecretMissingIsDone(t *testing.T) {
	client, kube := newFake()

	outcome, err := client.DeleteSecret(context.Background(), "ml-churn", "aws-creds", testRequest)
	require.NoError(t, err)

	assert.False(t, outcome.Changed)
	assert.Equal(t, "secrets/aws-creds in namespace ml-churn already deleted", outcome.String())
	assert.Empty(t, writes(kube))
}

func TestDeleteSecretRefusesWhileDeploymentReferences(t *testing.T) {
	pullOnly := appDeployment()
	pullOnly.Name = "puller"
	pullOnly.Spec.Template.Spec = corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "aws-creds"}}}
	client, kube := newFake(oldSecret(), appDeployment(), pullOnly)

	_, err := client.DeleteSecret(context.Background(), "ml-churn", "aws-creds", testRequest)

	require.Error(t, err)
	assert.True(t, IsPermanent(err))
	assert.Contains(t, err.Error(), "secrets/aws-creds in namespace ml-churn is still referenced by deployments/app (container app env AWS_KEY, ")
	assert.Contains(t, err.Error(), "deployments/puller (image pull secret)")
	assertNoSecretValue(t, err.Error(), nil)
	assert.Empty(t, writes(kube))
}

func TestDeleteSecretWaitsForRunningPods(t *testing.T) {
	running := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "app-old-1", Namespace: "ml-churn"},
		Spec:       appDeployment().Spec.Template.Spec,
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	finished := running.DeepCopy()
	finished.Name = "job-done"
	finished.Status.Phase = corev1.PodSucceeded
	client, kube := newFake(oldSecret(), running, finished)

	_, err := client.DeleteSecret(context.Background(), "ml-churn", "aws-creds", testRequest)

	require.Error(t, err)
	assert.False(t, IsPermanent(err))
	assert.Contains(t, err.Error(), "is still used by pods/app-old-1 (")
	assert.NotContains(t, err.Error(), "job-done")
	assert.Empty(t, writes(kube))

	require.NoError(t, kube.CoreV1().Pods("ml-churn").Delete(context.Background(), "app-old-1", metav1.DeleteOptions{}))
	outcome, err := client.DeleteSecret(context.Background(), "ml-churn", "aws-creds", testRequest)
	require.NoError(t, err)
	assert.True(t, outcome.Changed)
}

func TestDeleteSecretRefusesOwnNewSecret(t *testing.T) {
	client, kube := newFake(newSecret())

	_, err := client.DeleteSecret(context.Background(), "ml-churn", "aws-creds-r-12", testRequest)

	require.Error(t, err)
	assert.True(t, IsPermanent(err))
	assert.Contains(t, err.Error(), "so it is the new secret of this request")
	assert.Empty(t, writes(kube))
}

func TestDeleteSecretDeletedMeanwhile(t *testing.T) {
	ctx := context.Background()
	client, kube := newFake(oldSecret())
	plan, err := client.PlanDeleteSecret(ctx, "ml-churn", "aws-creds", testRequest)
	require.NoError(t, err)
	failOnce(kube, "delete", "secrets", notFound("secrets", "aws-creds"))

	outcomes, err := client.Apply(ctx, plan)
	require.NoError(t, err)

	assert.False(t, outcomes[0].Changed)
}

func TestDeleteSecretConflictIsTransient(t *testing.T) {
	client, kube := newFake(oldSecret())
	failOnce(kube, "delete", "secrets", conflictError("secrets", "aws-creds"))

	_, err := client.DeleteSecret(context.Background(), "ml-churn", "aws-creds", testRequest)

	require.Error(t, err)
	assert.False(t, IsPermanent(err))
	assert.Contains(t, err.Error(), "deleting secrets/aws-creds in namespace ml-churn: Conflict (HTTP 409")
}

func TestPlanDeleteSecretIsDryRunWithoutValues(t *testing.T) {
	client, kube := newFake(oldSecret())

	plan, err := client.PlanDeleteSecret(context.Background(), "ml-churn", "aws-creds", testRequest)
	require.NoError(t, err)

	requireReadOnly(t, kube)
	out := plan.String()
	assert.True(t, strings.HasPrefix(out, "delete secrets/aws-creds in namespace ml-churn\napiVersion: v1\n"), out)
	assert.Contains(t, out, "data:\n  AWS_ACCESS_KEY_ID: <redacted>\n  AWS_SECRET_ACCESS_KEY: <redacted>\n")
	assertNoSecretValue(t, out, nil)
	for key, value := range plan.Calls[0].Object.(*corev1.Secret).Data {
		assert.Nil(t, value, key)
	}
}
