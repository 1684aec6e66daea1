package kube

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// progressDeadlineExceeded is the reason of the Progressing condition once a
// Deployment has made no progress for progressDeadlineSeconds.
const progressDeadlineExceeded = "ProgressDeadlineExceeded"

// Rollout is a Deployment's rollout progress.
type Rollout struct {
	// Done is true when the rollout has finished.
	Done bool
	// Failed is true when the Deployment exceeded its progress deadline.
	Failed bool
	// Reason describes what the rollout waits for, or why it is done or
	// failed, in the words of `kubectl rollout status`.
	Reason             string
	Generation         int64
	ObservedGeneration int64
	// Replicas is the wanted number of pods, spec.replicas (1 when unset).
	Replicas int32
	// Updated, Available and Unavailable are the status's pod counts.
	Updated     int32
	Available   int32
	Unavailable int32
}

// RolloutStatus reads the Deployment once and judges its rollout by the
// rules of `kubectl rollout status` (k8s.io/kubectl v0.37,
// DeploymentStatusViewer): the controller has observed the current
// generation, every wanted replica is updated, no old replica is left, and
// every updated replica is available. It does not wait: the caller polls.
func (c *Client) RolloutStatus(ctx context.Context, namespace, deployment string) (Rollout, error) {
	d, err := c.kube.AppsV1().Deployments(namespace).Get(ctx, deployment, metav1.GetOptions{})
	if err != nil {
		return Rollout{}, fmt.Errorf("reading %s: %w", ObjectRef{Resource: resourceDeployments, Namespace: namespace, Name: deployment}, err)
	}
	return rolloutOf(d), nil
}

func rolloutOf(d *appsv1.Deployment) Rollout {
	r := Rollout{
		Generation:         d.Generation,
		ObservedGeneration: d.Status.ObservedGeneration,
		Replicas:           1,
		Updated:            d.Status.UpdatedReplicas,
		Available:          d.Status.AvailableReplicas,
		Unavailable:        d.Status.UnavailableReplicas,
	}
	if d.Spec.Replicas != nil {
		r.Replicas = *d.Spec.Replicas
	}

	if d.Generation > d.Status.ObservedGeneration {
		r.Reason = "waiting for the deployment spec update to be observed"
		return r
	}
	for _, cond := range d.Status.Conditions {
		if cond.Type == appsv1.DeploymentProgressing && cond.Reason == progressDeadlineExceeded {
			r.Failed = true
			r.Reason = fmt.Sprintf("deployment %q exceeded its progress deadline: %s", d.Name, cond.Message)
			return r
		}
	}
	switch {
	case d.Status.UpdatedReplicas < r.Replicas:
		r.Reason = fmt.Sprintf("%d out of %d new replicas have been updated", d.Status.UpdatedReplicas, r.Replicas)
	case d.Status.Replicas > d.Status.UpdatedReplicas:
		r.Reason = fmt.Sprintf("%d old replicas are pending termination", d.Status.Replicas-d.Status.UpdatedReplicas)
	case d.Status.AvailableReplicas < d.Status.UpdatedReplicas:
		r.Reason = fmt.Sprintf("%d of %d updated replicas are available", d.Status.AvailableReplicas, d.Status.UpdatedReplicas)
	default:
		r.Done = true
		r.Reason = fmt.Sprintf("deployment %q successfully rolled out", d.Name)
	}
	return r
}
