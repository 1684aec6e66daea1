package kube

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func secretKeyEnv(name, secret, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{
		SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key},
	}}
}

// appDeployment references aws-creds in every way Repoint rewrites, and the
// Secret other in a volume that must stay.
func appDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "ml-churn", Generation: 3},
		Spec: appsv1.DeploymentSpec{
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				InitContainers: []corev1.Container{{
					Name: "migrate",
					Env:  []corev1.EnvVar{secretKeyEnv("AWS_KEY", "aws-creds", "AWS_ACCESS_KEY_ID")},
				}},
				Containers: []corev1.Container{{
					Name: "app",
					Env: []corev1.EnvVar{
						{Name: "PLAIN", Value: "x"},
						secretKeyEnv("AWS_KEY", "aws-creds", "AWS_ACCESS_KEY_ID"),
						secretKeyEnv("DB_PASSWORD", "db", "password"),
					},
					EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "aws-creds"}}}},
				}},
				Volumes: []corev1.Volume{
					{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "aws-creds"}}},
					{Name: "other", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "db"}}},
					{Name: "bundle", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
						{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}},
						{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "aws-creds"}}},
					}}}},
				},
			}},
		},
	}
}

func newSecret() *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "aws-creds-r-12", Namespace: "ml-churn", Labels: requestLabels(testRequest)},
		Data:       map[string][]byte{"AWS_ACCESS_KEY_ID": []byte("new-value-do-not-print")},
	}
}

var wantRefs = []string{
	"container app env AWS_KEY",
	"container app envFrom",
	"init container migrate env AWS_KEY",
	"volume creds",
	"volume bundle projected source 1",
}

func TestRepointRewritesEveryReference(t *testing.T) {
	ctx := context.Background()
	client, kube := newFake(appDeployment(), oldSecret(), newSecret())

	result, err := client.Repoint(ctx, "ml-churn", "app", "aws-creds", "aws-creds-r-12", testRequest)
	require.NoError(t, err)

	assert.False(t, result.AlreadyDone)
	assert.Equal(t, wantRefs, result.Refs)
	assert.Equal(t, []string{"update deployments"}, writes(kube))

	d, err := kube.AppsV1().Deployments("ml-churn").Get(ctx, "app", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, testRequest, d.Annotations[AnnotationRotationRequest])
	assert.Equal(t, "aws-creds", d.Annotations[AnnotationPreviousSecret])
	pod := d.Spec.Template.Spec
	assert.Equal(t, "aws-creds-r-12", pod.InitContainers[0].Env[0].ValueFrom.SecretKeyRef.Name)
	assert.Equal(t, "aws-creds-r-12", pod.Containers[0].Env[1].ValueFrom.SecretKeyRef.Name)
	assert.Equal(t, "AWS_ACCESS_KEY_ID", pod.Containers[0].Env[1].ValueFrom.SecretKeyRef.Key)
	assert.Equal(t, "db", pod.Containers[0].Env[2].ValueFrom.SecretKeyRef.Name)
	assert.Equal(t, "aws-creds-r-12", pod.Containers[0].EnvFrom[0].SecretRef.Name)
	assert.Equal(t, "aws-creds-r-12", pod.Volumes[0].Secret.SecretName)
	assert.Equal(t, "db", pod.Volumes[1].Secret.SecretName)
	assert.Equal(t, "aws-creds-r-12", pod.Volumes[2].Projected.Sources[1].Secret.Name)
	assert.Equal(t, "cfg", pod.Volumes[2].Projected.Sources[0].ConfigMap.Name)
	assert.Empty(t, allSecretRefs(&pod, "aws-creds"))
}

func TestRepointRetryIsAlreadyDone(t *testing.T) {
	ctx := context.Background()
	client, kube := newFake(appDeployment(), oldSecret(), newSecret())
	_, err := client.Repoint(ctx, "ml-churn", "app", "aws-creds", "aws-creds-r-12", testRequest)
	require.NoError(t, err)
	kube.ClearActions()

	result, err := client.Repoint(ctx, "ml-churn", "app", "aws-creds", "aws-creds-r-12", testRequest)
	require.NoError(t, err)

	assert.True(t, result.AlreadyDone)
	assert.Equal(t, wantRefs, result.Refs)
	assert.Empty(t, writes(kube))
}

func TestRepointWithoutReferenceFails(t *testing.T) {
	client, kube := newFake(appDeployment(), newSecret())

	_, err := client.Repoint(context.Background(), "ml-churn", "app", "unused", "aws-creds-r-12", testRequest)

	require.Error(t, err)
	assert.True(t, IsPermanent(err))
	assert.Contains(t, err.Error(), "deployments/app in namespace ml-churn references secret unused nowhere")
	assert.Empty(t, writes(kube))
}

func TestRepointWithoutReferenceByOtherRequestFails(t *testing.T) {
	ctx := context.Background()
	client, _ := newFake(appDeployment(), oldSecret(), newSecret())
	_, err := client.Repoint(ctx, "ml-churn", "app", "aws-creds", "aws-creds-r-12", testRequest)
	require.NoError(t, err)

	_, err = client.Repoint(ctx, "ml-churn", "app", "aws-creds", "aws-creds-r-12", "R-13")

	require.Error(t, err)
	assert.True(t, IsPermanent(err))
	assert.Contains(t, err.Error(), "references secret aws-creds nowhere")
}

func TestRepointRequiresNewSecret(t *testing.T) {
	client, kube := newFake(appDeployment(), oldSecret())

	_, err := client.Repoint(context.Background(), "ml-churn", "app", "aws-creds", "aws-creds-r-12", testRequest)

	require.Error(t, err)
	assert.True(t, IsPermanent(err))
	assert.Contains(t, err.Error(), "secrets/aws-creds-r-12 in namespace ml-churn not found")
	assert.Empty(t, writes(kube))
}

func TestRepointMissingDeploymentIsPermanent(t *testing.T) {
	client, _ := newFake(newSecret())

	_, err := client.Repoint(context.Background(), "ml-churn", "app", "aws-creds", "aws-creds-r-12", testRequest)

	require.Error(t, err)
	assert.True(t, IsPermanent(err))
	assert.Contains(t, err.Error(), "reading deployments/app in namespace ml-churn")
}

func TestRepointValidatesNames(t *testing.T) {
	client, kube := newFake()

	_, err := client.Repoint(context.Background(), "ml-churn", "app", "same", "same", testRequest)
	require.Error(t, err)
	assert.True(t, IsPermanent(err))
	assert.Contains(t, err.Error(), `old and new secret are both "same"`)

	_, err = client.Repoint(context.Background(), "ml-churn", "App", "a", "b", testRequest)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `deployment name "App" is not valid`)
	assert.Empty(t, kube.Actions())
}

func TestRepointRetriesConflict(t *testing.T) {
	ctx := context.Background()
	client, kube := newFake(appDeployment(), oldSecret(), newSecret())
	failOnce(kube, "update", "deployments", conflictError("deployments", "app"))

	result, err := client.Repoint(ctx, "ml-churn", "app", "aws-creds", "aws-creds-r-12", testRequest)
	require.NoError(t, err)

	assert.False(t, result.AlreadyDone)
	assert.Equal(t, []string{"update deployments", "update deployments"}, writes(kube))
	d, err := kube.AppsV1().Deployments("ml-churn").Get(ctx, "app", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "aws-creds-r-12", d.Spec.Template.Spec.Volumes[0].Secret.SecretName)
}

func TestRepointServerErrorIsTransient(t *testing.T) {
	client, kube := newFake(appDeployment(), oldSecret(), newSecret())
	failOnce(kube, "update", "deployments", serverError())

	_, err := client.Repoint(context.Background(), "ml-churn", "app", "aws-creds", "aws-creds-r-12", testRequest)

	require.Error(t, err)
	assert.False(t, IsPermanent(err))
	assert.Contains(t, err.Error(), "updating deployments/app in namespace ml-churn")
}

func TestPlanRepointIsDryRun(t *testing.T) {
	client, kube := newFake(appDeployment(), oldSecret(), newSecret())

	plan, err := client.PlanRepoint(context.Background(), "ml-churn", "app", "aws-creds", "aws-creds-r-12", testRequest)
	require.NoError(t, err)

	requireReadOnly(t, kube)
	out := plan.String()
	assert.True(t, strings.HasPrefix(out, "update deployments/app in namespace ml-churn\napiVersion: apps/v1\nkind: Deployment\n"), out)
	assert.Contains(t, out, "sopbot.dev/previous-secret: aws-creds\n")
	assert.Contains(t, out, "secretName: aws-creds-r-12\n")
	assertNoSecretValue(t, out, newSecret())
}

func TestPlanRepointInPlaceAfterApply(t *testing.T) {
	ctx := context.Background()
	client, kube := newFake(appDeployment(), oldSecret(), newSecret())
	_, err := client.Repoint(ctx, "ml-churn", "app", "aws-creds", "aws-creds-r-12", testRequest)
	require.NoError(t, err)
	kube.ClearActions()

	plan, err := client.PlanRepoint(ctx, "ml-churn", "app", "aws-creds", "aws-creds-r-12", testRequest)
	require.NoError(t, err)

	requireReadOnly(t, kube)
	assert.Empty(t, plan.Pending())
	assert.Contains(t, plan.String(), "# update deployments/app in namespace ml-churn: no call, already points at secret aws-creds-r-12 (container app env AWS_KEY, ")
}
