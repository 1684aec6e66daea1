package kube

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const testRequest = "R-12"

// newFake returns a Client on a fake clientset that holds objects, and the
// clientset for inspecting its recorded actions.
func newFake(objects ...runtime.Object) (*Client, *fake.Clientset) {
	kube := fake.NewClientset(objects...)
	return New(kube), kube
}

// writes returns the recorded actions that are not reads, as
// "verb resource" strings.
func writes(kube *fake.Clientset) []string {
	var out []string
	for _, action := range kube.Actions() {
		switch action.GetVerb() {
		case "get", "list", "watch":
			continue
		}
		out = append(out, action.GetVerb()+" "+action.GetResource().Resource)
	}
	return out
}

// requireReadOnly fails the test when kube recorded any write.
func requireReadOnly(t *testing.T, kube *fake.Clientset) {
	t.Helper()
	require.NotEmpty(t, kube.Actions(), "the plan read nothing")
	assert.Empty(t, writes(kube))
}

// failOnce makes the first call of verb on resource fail with err.
func failOnce(kube *fake.Clientset, verb, resource string, err error) {
	failed := false
	kube.PrependReactor(verb, resource, func(k8stesting.Action) (bool, runtime.Object, error) {
		if failed {
			return false, nil, nil
		}
		failed = true
		return true, nil, err
	})
}

func serverError() error {
	return apierrors.NewInternalError(assert.AnError)
}

func conflictError(resource, name string) error {
	return apierrors.NewConflict(schema.GroupResource{Resource: resource}, name, assert.AnError)
}

func forbiddenError(resource, name string) error {
	return apierrors.NewForbidden(schema.GroupResource{Resource: resource}, name, assert.AnError)
}

func notFound(resource, name string) error {
	return apierrors.NewNotFound(schema.GroupResource{Resource: resource}, name)
}
