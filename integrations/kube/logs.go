package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// DefaultLogLines is the tail length LogTail uses when lines is not
// positive.
const DefaultLogLines = 50

// maxLogBytes bounds the log read from one container, so that a chat
// message stays readable whatever the lines are.
const maxLogBytes = 64 << 10

// LogTail returns the last lines of each container of the Job's newest pod,
// init containers first, each under a header line. The pods are found by the
// label batch.kubernetes.io/job-name, or the legacy job-name. A container
// without a log, because it has not started or the node serves none, gets a
// line "no log available: …" instead of failing the call. An error is
// returned only when the job name is invalid or the pods cannot be listed.
func (c *Client) LogTail(ctx context.Context, namespace, jobName string, lines int64) (string, error) {
	if lines <= 0 {
		lines = DefaultLogLines
	}
	pods, err := c.jobPods(ctx, namespace, jobName)
	if err != nil {
		return "", err
	}
	if len(pods) == 0 {
		return fmt.Sprintf("no log available: job %s in namespace %s has no pods\n", jobName, namespace), nil
	}
	// Newest first; the name breaks ties of pods created in the same second.
	sort.Slice(pods, func(i, j int) bool {
		ti, tj := pods[i].CreationTimestamp, pods[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return tj.Before(&ti)
		}
		return pods[i].Name > pods[j].Name
	})
	pod := pods[0]

	var b strings.Builder
	if len(pods) > 1 {
		fmt.Fprintf(&b, "pod %s is the newest of %d pods of job %s\n", pod.Name, len(pods), jobName)
	}
	started := startedContainers(&pod)
	containers := append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, container := range containers {
		fmt.Fprintf(&b, "== pod %s container %s (last %d lines) ==\n", pod.Name, container.Name, lines)
		if !started[container.Name] {
			fmt.Fprintf(&b, "no log available: container %s has not started\n", container.Name)
			continue
		}
		options := &corev1.PodLogOptions{Container: container.Name, TailLines: &lines, LimitBytes: new(int64(maxLogBytes))}
		body, err := c.kube.CoreV1().Pods(namespace).GetLogs(pod.Name, options).DoRaw(ctx)
		if err != nil {
			fmt.Fprintf(&b, "no log available: %v\n", err)
			continue
		}
		b.Write(body)
		if len(body) > 0 && body[len(body)-1] != '\n' {
			b.WriteString("\n")
		}
	}
	return b.String(), nil
}

// jobPods lists the Job's pods by the current job-name label and, when that
// finds none, by the legacy one.
func (c *Client) jobPods(ctx context.Context, namespace, jobName string) ([]corev1.Pod, error) {
	for _, label := range []string{labelJobName, labelJobNameLegacy} {
		selector, err := labels.ValidatedSelectorFromSet(labels.Set{label: jobName})
		if err != nil {
			return nil, permanentf("job name %q cannot select pods: %v", jobName, err)
		}
		list, err := c.kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
		if err != nil {
			return nil, fmt.Errorf("listing pods of job %s in namespace %s: %w", jobName, namespace, err)
		}
		if len(list.Items) > 0 {
			return list.Items, nil
		}
	}
	return nil, nil
}

// startedContainers returns the names of the pod's containers that are
// running or have terminated, the ones that can have a log.
func startedContainers(pod *corev1.Pod) map[string]bool {
	started := map[string]bool{}
	statuses := append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, s := range statuses {
		if s.State.Running != nil || s.State.Terminated != nil || s.LastTerminationState.Terminated != nil {
			started[s.Name] = true
		}
	}
	return started
}
