package kube

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestIsPermanent(t *testing.T) {
	group := schema.GroupResource{Resource: "secrets"}
	terminating := apierrors.NewForbidden(group, "x", errors.New("namespace is being terminated"))
	terminating.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause}}

	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"package rejection", permanentf("invalid"), true},
		{"wrapped package rejection", fmt.Errorf("step: %w", permanentf("invalid")), true},
		{"bad request", apierrors.NewBadRequest("bad"), true},
		{"unauthorized", apierrors.NewUnauthorized("no token"), true},
		{"forbidden", apierrors.NewForbidden(group, "x", errors.New("rbac")), true},
		{"namespace terminating", terminating, false},
		{"not found", apierrors.NewNotFound(group, "x"), true},
		{"invalid", apierrors.NewInvalid(schema.GroupKind{Kind: "Secret"}, "x", nil), true},
		{"method not allowed", apierrors.NewMethodNotSupported(group, "patch"), true},
		{"too large", apierrors.NewRequestEntityTooLargeError("big"), true},
		{"conflict", apierrors.NewConflict(group, "x", errors.New("changed")), false},
		{"already exists", apierrors.NewAlreadyExists(group, "x"), false},
		{"timeout", apierrors.NewTimeoutError("slow", 1), false},
		{"server timeout", apierrors.NewServerTimeout(group, "get", 1), false},
		{"too many requests", apierrors.NewTooManyRequests("busy", 1), false},
		{"internal", apierrors.NewInternalError(errors.New("etcd")), false},
		{"unavailable", apierrors.NewServiceUnavailable("down"), false},
		{"network", errors.New("dial tcp 127.0.0.1:6443: connection refused"), false},
		{"quiet wrapper", &quietError{action: "creating", err: apierrors.NewForbidden(group, "x", errors.New("rbac"))}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, IsPermanent(tc.err))
		})
	}
}

func TestPlanStringEmpty(t *testing.T) {
	plan := &Plan{Request: testRequest}

	assert.Equal(t, "# request R-12: no calls\n", plan.String())
}

func TestOutcomeString(t *testing.T) {
	ref := ObjectRef{Resource: "deployments", Namespace: "ml-churn", Name: "app"}

	assert.Equal(t, "updated deployments/app in namespace ml-churn", Outcome{Verb: VerbUpdate, ObjectRef: ref, Changed: true}.String())
	assert.Equal(t, "deployments/app in namespace ml-churn already up to date", Outcome{Verb: VerbUpdate, ObjectRef: ref}.String())
	assert.Equal(t, "created namespaces/ml-churn", Outcome{Verb: VerbCreate, ObjectRef: ObjectRef{Resource: "namespaces", Name: "ml-churn"}, Changed: true}.String())
}

func TestApplyRejectsUnknownCall(t *testing.T) {
	client, kube := newFake()
	plan := &Plan{Request: testRequest, Calls: []Call{{Verb: VerbDelete, ObjectRef: ObjectRef{Resource: "namespaces", Name: "ml-churn"}}}}

	_, err := client.Apply(context.Background(), plan)

	require.Error(t, err)
	assert.True(t, IsPermanent(err))
	assert.Contains(t, err.Error(), "cannot apply delete namespaces/ml-churn")
	assert.Empty(t, kube.Actions())
}

func TestApplyRejectsPlanWithoutRequest(t *testing.T) {
	client, _ := newFake()

	_, err := client.Apply(context.Background(), &Plan{})

	require.Error(t, err)
	assert.True(t, IsPermanent(err))
}

func TestApplyStopsAtFirstError(t *testing.T) {
	client, kube := newFake()
	plan, err := client.PlanOnboard(context.Background(), churnSpec())
	require.NoError(t, err)
	failOnce(kube, "create", "rolebindings", serverError())

	outcomes, err := client.Apply(context.Background(), plan)

	require.Error(t, err)
	assert.Len(t, outcomes, 2)
	assert.Equal(t, []string{"create namespaces", "create serviceaccounts", "create rolebindings"}, writes(kube))
}
