package kube

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRolloutStatus(t *testing.T) {
	deadline := appsv1.DeploymentCondition{
		Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
		Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "app-7d" has timed out progressing.`,
	}
	cases := []struct {
		name       string
		replicas   *int32
		generation int64
		status     appsv1.DeploymentStatus
		done       bool
		failed     bool
		reason     string
	}{
		{"spec not observed", new(int32(2)), 4, appsv1.DeploymentStatus{ObservedGeneration: 3, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2},
			false, false, "waiting for the deployment spec update to be observed"},
		{"updating", new(int32(3)), 4, appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 4, UpdatedReplicas: 1, AvailableReplicas: 3, UnavailableReplicas: 1},
			false, false, "1 out of 3 new replicas have been updated"},
		{"old replicas left", new(int32(2)), 4, appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 3, UpdatedReplicas: 2, AvailableReplicas: 2},
			false, false, "1 old replicas are pending termination"},
		{"not available", new(int32(2)), 4, appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 1, UnavailableReplicas: 1},
			false, false, "1 of 2 updated replicas are available"},
		{"done", new(int32(2)), 4, appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2},
			true, false, `deployment "app" successfully rolled out`},
		{"replicas unset means one", nil, 1, appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 0, AvailableReplicas: 1},
			false, false, "0 out of 1 new replicas have been updated"},
		{"deadline exceeded", new(int32(2)), 4, appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 3, UpdatedReplicas: 1, AvailableReplicas: 2, Conditions: []appsv1.DeploymentCondition{deadline}},
			false, true, `deployment "app" exceeded its progress deadline: ReplicaSet "app-7d" has timed out progressing.`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "ml-churn", Generation: tc.generation},
				Spec:       appsv1.DeploymentSpec{Replicas: tc.replicas},
				Status:     tc.status,
			}
			client, _ := newFake(d)

			r, err := client.RolloutStatus(context.Background(), "ml-churn", "app")

			require.NoError(t, err)
			assert.Equal(t, tc.done, r.Done)
			assert.Equal(t, tc.failed, r.Failed)
			assert.Equal(t, tc.reason, r.Reason)
			assert.Equal(t, tc.generation, r.Generation)
			assert.Equal(t, tc.status.ObservedGeneration, r.ObservedGeneration)
			assert.Equal(t, tc.status.UpdatedReplicas, r.Updated)
			assert.Equal(t, tc.status.AvailableReplicas, r.Available)
			assert.Equal(t, tc.status.UnavailableReplicas, r.Unavailable)
		})
	}
}

func TestRolloutStatusMissingDeployment(t *testing.T) {
	client, _ := newFake()

	_, err := client.RolloutStatus(context.Background(), "ml-churn", "app")

	require.Error(t, err)
	assert.True(t, IsPermanent(err))
	assert.Contains(t, err.Error(), "reading deployments/app in namespace ml-churn")
}
