package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// The rotation demo's namespace, secret and deployment.
const (
	SecretNamespace  = "mlops"
	SecretName       = "mlflow-secrets"
	SecretDeployment = "mlflow-server"
)

// KubeSim is an in-memory cluster for the demo: client-go's fake
// clientset, plus a loop that plays the controllers the fake lacks. It
// completes Jobs (with one finished pod each, for the log tail) and rolls
// out Deployments whose pod template changed. Real API behaviour is
// tested against a real control plane elsewhere; this only keeps the
// demo self-contained.
type KubeSim struct {
	*fake.Clientset
	stop chan struct{}
	done sync.WaitGroup

	mu        sync.Mutex
	templates map[string]string // deployment → hash of its pod template
	// SecretValue is the value of every key of the seeded secret, so the
	// demo can check that it appears nowhere the bot writes.
	SecretValue string
}

// StartKubeSim seeds the rotation's secret and deployment and starts the
// controller loop.
func StartKubeSim() *KubeSim {
	k := &KubeSim{Clientset: fake.NewClientset(), stop: make(chan struct{}), templates: map[string]string{},
		SecretValue: "demo-" + randomHex(12)}
	ctx := context.Background()
	_, _ = k.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: SecretNamespace}}, metav1.CreateOptions{})
	_, _ = k.CoreV1().Secrets(SecretNamespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: SecretName, Namespace: SecretNamespace},
		Data:       map[string][]byte{"AWS_ACCESS_KEY_ID": []byte(k.SecretValue), "AWS_SECRET_ACCESS_KEY": []byte(k.SecretValue)},
	}, metav1.CreateOptions{})
	replicas := int32(2)
	labels := map[string]string{"app": SecretDeployment}
	_, _ = k.AppsV1().Deployments(SecretNamespace).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: SecretDeployment, Namespace: SecretNamespace, Generation: 1},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "server", Image: "ghcr.io/mlflow/mlflow:v2.14.1",
				EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: SecretName}}}},
			}}}}},
	}, metav1.CreateOptions{})
	k.done.Add(1)
	go k.loop()
	return k
}

// Close stops the controller loop.
func (k *KubeSim) Close() {
	close(k.stop)
	k.done.Wait()
}

func (k *KubeSim) loop() {
	defer k.done.Done()
	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case <-k.stop:
			return
		case <-ticker.C:
			k.reconcile(context.Background())
		}
	}
}

func (k *KubeSim) reconcile(ctx context.Context) {
	jobs, err := k.BatchV1().Jobs("").List(ctx, metav1.ListOptions{})
	if err == nil {
		for i := range jobs.Items {
			k.completeJob(ctx, &jobs.Items[i])
		}
	}
	deployments, err := k.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
	if err == nil {
		for i := range deployments.Items {
			k.rollOut(ctx, &deployments.Items[i])
		}
	}
}

func (k *KubeSim) completeJob(ctx context.Context, job *batchv1.Job) {
	for _, c := range job.Status.Conditions {
		if c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed {
			return
		}
	}
	_, _ = k.CoreV1().Pods(job.Namespace).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: job.Name + "-demo", Namespace: job.Namespace,
			Labels: map[string]string{"batch.kubernetes.io/job-name": job.Name, "job-name": job.Name}},
		Spec:   job.Spec.Template.Spec,
		Status: corev1.PodStatus{Phase: corev1.PodSucceeded},
	}, metav1.CreateOptions{})
	now := metav1.Now()
	job.Status.Succeeded = 1
	job.Status.Conditions = append(job.Status.Conditions,
		batchv1.JobCondition{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: now},
		batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: now})
	_, _ = k.BatchV1().Jobs(job.Namespace).UpdateStatus(ctx, job, metav1.UpdateOptions{})
}

// rollOut bumps a Deployment's generation when its pod template changed,
// as the API server does, and reports every replica updated and available.
func (k *KubeSim) rollOut(ctx context.Context, d *appsv1.Deployment) {
	data, _ := json.Marshal(d.Spec.Template)
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:8])
	key := d.Namespace + "/" + d.Name
	k.mu.Lock()
	previous, seen := k.templates[key]
	k.templates[key] = hash
	k.mu.Unlock()
	if seen && previous != hash {
		d.Generation++
		if updated, err := k.AppsV1().Deployments(d.Namespace).Update(ctx, d, metav1.UpdateOptions{}); err == nil {
			d = updated
		}
	}
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	st := d.Status
	if st.ObservedGeneration == d.Generation && st.Replicas == replicas && st.UpdatedReplicas == replicas &&
		st.AvailableReplicas == replicas && st.UnavailableReplicas == 0 {
		return
	}
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: replicas, UpdatedReplicas: replicas,
		ReadyReplicas: replicas, AvailableReplicas: replicas}
	_, _ = k.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
}
