package k8stest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sopbot/sopbot/internal/k8stest"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// rolloutTimeout is far above the measured times (a rollout within about
// 0.3 s, a Job within about 1 s) so a loaded machine does not fail the test.
const rolloutTimeout = 30 * time.Second

func TestControlPlane(t *testing.T) {
	cluster := k8stest.Start(t)

	t.Run("kubeconfig reaches server", func(t *testing.T) {
		config, err := clientcmd.BuildConfigFromFlags("", cluster.Kubeconfig)
		if err != nil {
			t.Fatalf("load kubeconfig %s: %v", cluster.Kubeconfig, err)
		}
		client, err := kubernetes.NewForConfig(config)
		if err != nil {
			t.Fatal(err)
		}
		version, err := client.Discovery().ServerVersion()
		if err != nil {
			t.Fatalf("get server version: %v", err)
		}
		if version.GitVersion != "v1.37.2" {
			t.Errorf("server version = %q, want v1.37.2", version.GitVersion)
		}
	})

	t.Run("deployment rolls out twice", func(t *testing.T) {
		ctx := t.Context()
		deployments := cluster.Client.AppsV1().Deployments(metav1.NamespaceDefault)
		created, err := deployments.Create(ctx, newDeployment("web", 2), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create deployment: %v", err)
		}
		waitForRollout(t, cluster.Client, created.Name, 2)

		patch := `{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"GREETING","value":"hello"}]}]}}}}`
		patched, err := deployments.Patch(ctx, created.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
		if err != nil {
			t.Fatalf("patch deployment env: %v", err)
		}
		if patched.Generation <= created.Generation {
			t.Fatalf("generation after patch = %d, want above %d", patched.Generation, created.Generation)
		}
		waitForRollout(t, cluster.Client, created.Name, 2)

		pods, err := cluster.Client.CoreV1().Pods(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			t.Fatalf("list pods: %v", err)
		}
		var current int
		for _, pod := range pods.Items {
			if pod.DeletionTimestamp != nil {
				continue
			}
			current++
			if pod.Spec.NodeName != k8stest.NodeName {
				t.Errorf("pod %s scheduled on %q, want %q", pod.Name, pod.Spec.NodeName, k8stest.NodeName)
			}
			env := pod.Spec.Containers[0].Env
			if len(env) != 1 || env[0].Value != "hello" {
				t.Errorf("pod %s env = %v, want GREETING=hello", pod.Name, env)
			}
		}
		if current != 2 {
			t.Errorf("pods without a deletion timestamp = %d, want 2", current)
		}
	})

	t.Run("job completes", func(t *testing.T) {
		ctx := t.Context()
		jobs := cluster.Client.BatchV1().Jobs(metav1.NamespaceDefault)
		job := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "once"},
			Spec: batchv1.JobSpec{
				Template: corev1.PodTemplateSpec{
					Spec: corev1.PodSpec{
						RestartPolicy: corev1.RestartPolicyNever,
						Containers:    []corev1.Container{{Name: "task", Image: "registry.invalid/task:1"}},
					},
				},
			},
		}
		if _, err := jobs.Create(ctx, job, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create job: %v", err)
		}
		last := &batchv1.Job{}
		err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, rolloutTimeout, true, func(ctx context.Context) (bool, error) {
			got, err := jobs.Get(ctx, job.Name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			last = got
			return hasCondition(got, batchv1.JobComplete), nil
		})
		if err != nil {
			t.Fatalf("wait for job Complete: %v; status %+v", err, last.Status)
		}
		if last.Status.Succeeded != 1 {
			t.Errorf("job succeeded = %d, want 1", last.Status.Succeeded)
		}
	})

	t.Run("rbac enforced under impersonation", func(t *testing.T) {
		ctx := t.Context()
		alice := cluster.As("alice")
		_, err := alice.CoreV1().Pods(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("list pods as alice without a binding: error = %v, want Forbidden", err)
		}

		role := &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "pod-reader"},
			Rules: []rbacv1.PolicyRule{{
				APIGroups: []string{""},
				Resources: []string{"pods"},
				Verbs:     []string{"get", "list"},
			}},
		}
		if _, err := cluster.Client.RbacV1().Roles(metav1.NamespaceDefault).Create(ctx, role, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create role: %v", err)
		}
		binding := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "pod-readers"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "readers"}},
		}
		if _, err := cluster.Client.RbacV1().RoleBindings(metav1.NamespaceDefault).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create role binding: %v", err)
		}

		// The RBAC authorizer reads bindings from an informer cache, so a
		// new binding takes effect after a short delay.
		bob := cluster.As("bob", "readers")
		err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
			_, err := bob.CoreV1().Pods(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{})
			if apierrors.IsForbidden(err) {
				return false, nil
			}
			return err == nil, err
		})
		if err != nil {
			t.Fatalf("list pods as bob in group readers: %v", err)
		}

		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "intruder"},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/app:1"}}},
		}
		_, err = bob.CoreV1().Pods(metav1.NamespaceDefault).Create(ctx, pod, metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("create pod as bob with a read-only role: error = %v, want Forbidden", err)
		}
		_, err = bob.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("list pods in kube-system as bob: error = %v, want Forbidden", err)
		}
		_, err = cluster.As("alice").CoreV1().Pods(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("list pods as alice outside group readers: error = %v, want Forbidden", err)
		}
	})
}

// TestStartLeavesNoProcess starts a cluster in a subtest and checks that
// every control-plane process has gone once the subtest's cleanup has run.
func TestStartLeavesNoProcess(t *testing.T) {
	before := controlPlaneProcesses(t)
	t.Run("cluster", func(t *testing.T) {
		k8stest.Start(t)
		if len(controlPlaneProcesses(t)) <= len(before) {
			t.Errorf("found no new control-plane process while the cluster runs")
		}
	})
	if t.Skipped() {
		return
	}
	if after := controlPlaneProcesses(t); len(after) != len(before) {
		t.Errorf("control-plane processes after cleanup = %v, before start = %v", after, before)
	}
}

// controlPlaneProcesses returns "pid name" for each running child of this
// test binary whose name is one of the control-plane binaries.
func controlPlaneProcesses(t *testing.T) []string {
	t.Helper()
	names := map[string]bool{"etcd": true, "kube-apiserver": true, "kube-controller-manager": true, "kube-scheduler": true, "kwok": true}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("list /proc: %v", err)
	}
	self := fmt.Sprint(os.Getpid())
	var found []string
	for _, entry := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", entry.Name(), "stat"))
		if err != nil {
			continue // not a process, or it exited meanwhile
		}
		// Format of /proc/PID/stat: pid (comm) state ppid ...
		text := string(stat)
		open, end := strings.IndexByte(text, '('), strings.LastIndexByte(text, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(text[end+1:])
		// A zombie is a child that has exited but has not been reaped yet.
		if len(fields) < 2 || fields[1] != self || fields[0] == "Z" {
			continue
		}
		if comm := text[open+1 : end]; names[comm] {
			found = append(found, entry.Name()+" "+comm)
		}
	}
	return found
}

func newDeployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					// kwok never pulls images, so the name need not exist.
					Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/app:1"}},
				},
			},
		},
	}
}

// waitForRollout waits until the Deployment's controller has observed its
// latest generation and every replica runs that generation and is available,
// with no old replica left.
func waitForRollout(t *testing.T, client kubernetes.Interface, name string, replicas int32) {
	t.Helper()
	last := &appsv1.Deployment{}
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, rolloutTimeout, true, func(ctx context.Context) (bool, error) {
		got, err := client.AppsV1().Deployments(metav1.NamespaceDefault).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = got
		status := got.Status
		return status.ObservedGeneration >= got.Generation &&
			status.UpdatedReplicas == replicas &&
			status.AvailableReplicas == replicas &&
			status.Replicas == replicas, nil
	})
	if err != nil {
		t.Fatalf("wait for deployment %s rollout: %v; generation %d, status %+v", name, err, last.Generation, last.Status)
	}
}

func hasCondition(job *batchv1.Job, conditionType batchv1.JobConditionType) bool {
	for _, condition := range job.Status.Conditions {
		if condition.Type == conditionType && condition.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
