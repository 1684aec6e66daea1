package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PlanDeleteSecret returns the call that deletes the Secret, the old one of
// a rotation. A missing Secret is in place. It returns a permanent error
// while a Deployment in the namespace references the Secret, or when the
// Secret carries this request's label, because then it is the new Secret of
// the rotation. While only pods that have not finished still reference it,
// as old pods of a rollout do until they stop, the error is not permanent.
func (c *Client) PlanDeleteSecret(ctx context.Context, namespace, name, request string) (*Plan, error) {
	if err := validateRequest(request); err != nil {
		return nil, err
	}
	ref := secretRef(namespace, name)
	call := Call{Verb: VerbDelete, ObjectRef: ref}
	secret, err := c.kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		call.InPlace = true
		call.Note = "not found, so already deleted"
		return &Plan{Request: request, Calls: []Call{call}}, nil
	case err != nil:
		return nil, &quietError{action: "reading " + ref.String(), err: err}
	}
	if err := c.checkDeletable(ctx, secret, request); err != nil {
		return nil, err
	}
	call.Object = withTypeMeta(withoutValues(secret))
	return &Plan{Request: request, Calls: []Call{call}}, nil
}

// DeleteSecret plans and applies the deletion of the old Secret of a
// rotation. A Secret that is already gone counts as deleted.
func (c *Client) DeleteSecret(ctx context.Context, namespace, name, request string) (Outcome, error) {
	plan, err := c.PlanDeleteSecret(ctx, namespace, name, request)
	if err != nil {
		return Outcome{}, err
	}
	outcomes, err := c.Apply(ctx, plan)
	if err != nil {
		return Outcome{}, err
	}
	return outcomes[0], nil
}

// applyDeleteSecret checks the Secret again and deletes it with its UID as
// a precondition, so a Secret recreated under the same name since the check
// is left alone.
func (c *Client) applyDeleteSecret(ctx context.Context, request string, call Call) (Outcome, error) {
	outcome := Outcome{Verb: VerbDelete, ObjectRef: call.ObjectRef}
	secrets := c.kube.CoreV1().Secrets(call.Namespace)
	secret, err := secrets.Get(ctx, call.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return outcome, nil
	case err != nil:
		return outcome, &quietError{action: "reading " + call.ObjectRef.String(), err: err}
	}
	if err := c.checkDeletable(ctx, secret, request); err != nil {
		return outcome, err
	}

	uid := secret.UID
	err = secrets.Delete(ctx, call.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	switch {
	case err == nil:
		outcome.Changed = true
		return outcome, nil
	case apierrors.IsNotFound(err):
		return outcome, nil
	}
	return outcome, &quietError{action: "deleting " + call.ObjectRef.String(), err: err}
}

// checkDeletable returns an error when secret is this request's own Secret
// or when a Deployment or an unfinished pod in its namespace references it.
func (c *Client) checkDeletable(ctx context.Context, secret *corev1.Secret, request string) error {
	ref := secretRef(secret.Namespace, secret.Name)
	if secret.Labels[LabelRequest] == request {
		return permanentf("%s has label %s=%s, so it is the new secret of this request; DeleteSecret removes the old secret only", ref, LabelRequest, request)
	}

	deployments, err := c.kube.AppsV1().Deployments(secret.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing deployments in namespace %s: %w", secret.Namespace, err)
	}
	var users []string
	for _, d := range deployments.Items {
		if refs := allSecretRefs(&d.Spec.Template.Spec, secret.Name); len(refs) > 0 {
			users = append(users, fmt.Sprintf("deployments/%s (%s)", d.Name, strings.Join(refs, ", ")))
		}
	}
	workloads, err := c.workloadsUsing(ctx, secret.Namespace, secret.Name)
	if err != nil {
		return err
	}
	users = append(users, workloads...)
	if len(users) > 0 {
		sort.Strings(users)
		return permanentf("%s is still referenced by %s; repoint them before deleting it", ref, strings.Join(users, "; "))
	}

	pods, err := c.kube.CoreV1().Pods(secret.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing pods in namespace %s: %w", secret.Namespace, err)
	}
	for _, pod := range pods.Items {
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		if refs := allSecretRefs(&pod.Spec, secret.Name); len(refs) > 0 {
			users = append(users, fmt.Sprintf("pods/%s (%s)", pod.Name, strings.Join(refs, ", ")))
		}
	}
	if len(users) > 0 {
		sort.Strings(users)
		return fmt.Errorf("%s is still used by %s; retry once these pods have stopped", ref, strings.Join(users, "; "))
	}
	return nil
}

// withoutValues returns a copy of secret whose data contains its key names
// with nil values.
func withoutValues(secret *corev1.Secret) *corev1.Secret {
	copied := secret.DeepCopy()
	copied.Data = make(map[string][]byte, len(secret.Data)+len(secret.StringData))
	for _, key := range secretKeyNames(secret) {
		copied.Data[key] = nil
	}
	copied.StringData = nil
	return copied
}

// workloadsUsing lists the StatefulSets, DaemonSets, CronJobs and
// unfinished Jobs in namespace whose pod templates reference the secret
// name: a CronJob between runs or a StatefulSet scaled to zero has no pod
// that would show it.
func (c *Client) workloadsUsing(ctx context.Context, namespace, name string) ([]string, error) {
	var users []string
	add := func(kind, object string, spec *corev1.PodSpec) {
		if refs := allSecretRefs(spec, name); len(refs) > 0 {
			users = append(users, fmt.Sprintf("%s/%s (%s)", kind, object, strings.Join(refs, ", ")))
		}
	}
	statefulSets, err := c.kube.AppsV1().StatefulSets(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing statefulsets in namespace %s: %w", namespace, err)
	}
	for _, w := range statefulSets.Items {
		add("statefulsets", w.Name, &w.Spec.Template.Spec)
	}
	daemonSets, err := c.kube.AppsV1().DaemonSets(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing daemonsets in namespace %s: %w", namespace, err)
	}
	for _, w := range daemonSets.Items {
		add("daemonsets", w.Name, &w.Spec.Template.Spec)
	}
	cronJobs, err := c.kube.BatchV1().CronJobs(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing cronjobs in namespace %s: %w", namespace, err)
	}
	for _, w := range cronJobs.Items {
		add("cronjobs", w.Name, &w.Spec.JobTemplate.Spec.Template.Spec)
	}
	jobs, err := c.kube.BatchV1().Jobs(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing jobs in namespace %s: %w", namespace, err)
	}
	for _, w := range jobs.Items {
		if jobState(&w).Done {
			continue
		}
		add("jobs", w.Name, &w.Spec.Template.Spec)
	}
	return users, nil
}
