package kube

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels and annotations that the package sets.
const (
	// LabelManagedBy is the standard label naming the tool that manages an
	// object. Its value on sopbot's objects is ManagedBy.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedBy is the value of LabelManagedBy on sopbot's objects.
	ManagedBy = "sopbot"
	// LabelRequest contains the id of the request that created an object,
	// such as R-12.
	LabelRequest = "sopbot.dev/request"
	// LabelTeam contains the team of an onboarded namespace.
	LabelTeam = "sopbot.dev/team"
	// LabelCostCenter contains the cost center of an onboarded namespace.
	LabelCostCenter = "sopbot.dev/cost-center"
	// AnnotationRotationRequest contains the id of the request that last
	// repointed a Deployment to another Secret.
	AnnotationRotationRequest = "sopbot.dev/rotation-request"
	// AnnotationPreviousSecret contains the name of the Secret that a
	// Deployment referenced before its last repoint.
	AnnotationPreviousSecret = "sopbot.dev/previous-secret"
	// AnnotationRotatedFrom contains, on a generated Secret, the name of the
	// Secret whose keys and type it copies.
	AnnotationRotatedFrom = "sopbot.dev/rotated-from"
)

// requestLabels returns the labels that mark an object as created by sopbot
// for request.
func requestLabels(request string) map[string]string {
	return map[string]string{
		LabelManagedBy: ManagedBy,
		LabelRequest:   request,
	}
}

// validateRequest checks that a request id can be a label value, because
// every object the package creates carries it in LabelRequest.
func validateRequest(request string) error {
	if request == "" {
		return permanentf("request id is empty; it labels every object sopbot creates")
	}
	return validateLabelValue("request id", request)
}

// validateLabelValue checks value against the API server's rules for label
// values.
func validateLabelValue(field, value string) error {
	if problems := content.IsLabelValue(value); len(problems) > 0 {
		return permanentf("%s %q is not a valid label value: %s", field, value, strings.Join(problems, "; "))
	}
	return nil
}

// checkOwner returns nil when obj carries the labels that request gives its
// objects, and a permanent error naming the object and the labels found
// otherwise.
func checkOwner(ref ObjectRef, obj metav1.Object, request string) error {
	labels := obj.GetLabels()
	got, hasRequest := labels[LabelRequest]
	if hasRequest && got == request && labels[LabelManagedBy] == ManagedBy {
		return nil
	}

	var found string
	switch {
	case !hasRequest:
		found = "has no label " + LabelRequest
	case got != request:
		found = fmt.Sprintf("has label %s=%q", LabelRequest, got)
	default:
		found = fmt.Sprintf("has label %s=%q but label %s=%q", LabelRequest, got, LabelManagedBy, labels[LabelManagedBy])
	}
	return permanentf("%s already exists and %s, so sopbot did not create it for request %s and will not take it over; delete or rename it, or change the request", ref, found, request)
}
