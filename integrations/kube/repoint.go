package kube

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// repointArgs are the Secrets of a Repoint call.
type repointArgs struct {
	from, to string
}

// RepointResult is the outcome of Repoint.
type RepointResult struct {
	// Refs describes each reference that now points at the new Secret,
	// such as "container app env AWS_KEY" or "volume creds".
	Refs []string
	// AlreadyDone is true when an earlier run of the same request had
	// repointed the Deployment, so Repoint changed nothing.
	AlreadyDone bool
}

// PlanRepoint returns the update that points the Deployment's references to
// the Secret from at the Secret to and records the request and from in the
// Deployment's annotations AnnotationRotationRequest and
// AnnotationPreviousSecret. The update changes the pod template, so the
// Deployment rolls out new pods.
//
// When the Deployment no longer references from and its annotations record
// this request and from, the call is in place. When it references from
// nowhere else, PlanRepoint returns a permanent error, as it does when the
// Secret to does not exist.
func (c *Client) PlanRepoint(ctx context.Context, namespace, deployment, from, to, request string) (*Plan, error) {
	if err := validateRepoint(namespace, deployment, from, to, request); err != nil {
		return nil, err
	}
	ref := ObjectRef{Resource: resourceDeployments, Namespace: namespace, Name: deployment}
	current, err := c.kube.AppsV1().Deployments(namespace).Get(ctx, deployment, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}

	call := Call{Verb: VerbUpdate, ObjectRef: ref, repoint: &repointArgs{from: from, to: to}}
	updated, refs, done, err := repointDeployment(current, from, to, request)
	if err != nil {
		return nil, err
	}
	call.Object = withTypeMeta(updated)
	if done {
		call.InPlace = true
		call.Note = fmt.Sprintf("already points at secret %s (%s) for request %s", to, strings.Join(refs, ", "), request)
	} else if err := c.checkSecretExists(ctx, namespace, to); err != nil {
		return nil, err
	}
	return &Plan{Request: request, Calls: []Call{call}}, nil
}

// Repoint plans and applies the repoint of the Deployment from the Secret
// from to the Secret to. Conflicting updates are retried with a fresh read.
// It does not wait for the rollout: poll RolloutStatus.
func (c *Client) Repoint(ctx context.Context, namespace, deployment, from, to, request string) (RepointResult, error) {
	plan, err := c.PlanRepoint(ctx, namespace, deployment, from, to, request)
	if err != nil {
		return RepointResult{}, err
	}
	outcomes, err := c.Apply(ctx, plan)
	if err != nil {
		return RepointResult{}, err
	}
	return RepointResult{Refs: outcomes[0].Details, AlreadyDone: !outcomes[0].Changed}, nil
}

func validateRepoint(namespace, deployment, from, to, request string) error {
	if err := validateRequest(request); err != nil {
		return err
	}
	names := []struct{ what, value string }{
		{"namespace", namespace}, {"deployment", deployment}, {"old secret", from}, {"new secret", to},
	}
	for _, n := range names {
		if problems := content.IsDNS1123Subdomain(n.value); len(problems) > 0 {
			return permanentf("%s name %q is not valid: %s", n.what, n.value, strings.Join(problems, "; "))
		}
	}
	if from == to {
		return permanentf("old and new secret are both %q", from)
	}
	return nil
}

// repointDeployment returns a copy of d with its references to from pointed
// at to and the rotation annotations set, with the descriptions of those
// references. When d references from nowhere but its annotations record
// this request and from, it returns d itself, the references to to and
// done true.
func repointDeployment(d *appsv1.Deployment, from, to, request string) (updated *appsv1.Deployment, refs []string, done bool, err error) {
	updated = d.DeepCopy()
	refs = rewriteSecretRefs(&updated.Spec.Template.Spec, from, to)
	if len(refs) > 0 {
		if updated.Annotations == nil {
			updated.Annotations = map[string]string{}
		}
		updated.Annotations[AnnotationRotationRequest] = request
		updated.Annotations[AnnotationPreviousSecret] = from
		return updated, refs, false, nil
	}

	ref := ObjectRef{Resource: resourceDeployments, Namespace: d.Namespace, Name: d.Name}
	if d.Annotations[AnnotationRotationRequest] == request && d.Annotations[AnnotationPreviousSecret] == from {
		return updated, rewriteSecretRefs(d.Spec.Template.Spec.DeepCopy(), to, ""), true, nil
	}
	return nil, nil, false, permanentf("%s references secret %s nowhere: no env, envFrom, secret volume or projected volume of a container or init container names it", ref, from)
}

// applyRepoint repoints the Deployment with a fresh read on every attempt,
// retrying conflicts with client-go's default backoff.
func (c *Client) applyRepoint(ctx context.Context, request string, call Call) (Outcome, error) {
	outcome := Outcome{Verb: VerbUpdate, ObjectRef: call.ObjectRef}
	args := call.repoint
	deployments := c.kube.AppsV1().Deployments(call.Namespace)
	checked := false

	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		current, err := deployments.Get(ctx, call.Name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("reading %s: %w", call.ObjectRef, err)
		}
		updated, refs, done, err := repointDeployment(current, args.from, args.to, request)
		if err != nil {
			return err
		}
		outcome.Details = refs
		if done {
			return nil
		}
		if !checked {
			if err := c.checkSecretExists(ctx, call.Namespace, args.to); err != nil {
				return err
			}
			checked = true
		}
		if _, err := deployments.Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("updating %s: %w", call.ObjectRef, err)
		}
		outcome.Changed = true
		return nil
	})
	return outcome, err
}

// checkSecretExists returns a permanent error when the Secret is missing,
// because pods that reference a missing Secret cannot start.
func (c *Client) checkSecretExists(ctx context.Context, namespace, name string) error {
	_, err := c.kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return permanentf("%s not found; create it, for example with GenerateSecret, before repointing to it", secretRef(namespace, name))
	}
	if err != nil {
		return &quietError{action: "reading " + secretRef(namespace, name).String(), err: err}
	}
	return nil
}
