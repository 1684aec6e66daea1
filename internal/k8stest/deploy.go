package k8stest

import (
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
)

// readManifest decodes one manifest file with client-go's scheme.
func readManifest[T runtime.Object](t testing.TB, path string) T {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(data, nil, nil)
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	typed, ok := obj.(T)
	if !ok {
		t.Fatalf("%s contains a %T", path, obj)
	}
	return typed
}

// BotClient applies the ServiceAccount, ClusterRole and ClusterRoleBinding
// in deployDir (serviceaccount.yaml, clusterrole.yaml,
// clusterrolebinding.yaml) and returns a client that impersonates that
// ServiceAccount, so every call it makes is authorized by those manifests
// alone.
func (c *Cluster) BotClient(t testing.TB, deployDir string) kubernetes.Interface {
	t.Helper()
	ctx := t.Context()
	role := readManifest[*rbacv1.ClusterRole](t, filepath.Join(deployDir, "clusterrole.yaml"))
	binding := readManifest[*rbacv1.ClusterRoleBinding](t, filepath.Join(deployDir, "clusterrolebinding.yaml"))
	account := readManifest[*corev1.ServiceAccount](t, filepath.Join(deployDir, "serviceaccount.yaml"))
	if len(binding.Subjects) != 1 {
		t.Fatalf("clusterrolebinding.yaml has %d subjects, want 1", len(binding.Subjects))
	}
	namespace := binding.Subjects[0].Namespace
	steps := []func() error{
		func() error {
			_, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{})
			return err
		},
		func() error {
			_, err := c.Client.CoreV1().ServiceAccounts(namespace).Create(ctx, account, metav1.CreateOptions{})
			return err
		},
		func() error {
			_, err := c.Client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{})
			return err
		},
		func() error {
			_, err := c.Client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{})
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("applying the bot's manifests from %s: %v", deployDir, err)
		}
	}
	user := "system:serviceaccount:" + namespace + ":" + account.Name
	return c.As(user, "system:serviceaccounts", "system:serviceaccounts:"+namespace)
}
