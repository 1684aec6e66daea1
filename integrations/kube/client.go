package kube

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
)

// Client runs the package's actions with one Kubernetes client. Its methods
// are safe for concurrent use when the underlying client is.
type Client struct {
	kube kubernetes.Interface
}

// New returns a Client that makes its calls with kube.
func New(kube kubernetes.Interface) *Client {
	return &Client{kube: kube}
}

// Resource names, as in the API paths and in RBAC rules.
const (
	resourceNamespaces      = "namespaces"
	resourceServiceAccounts = "serviceaccounts"
	resourceRoleBindings    = "rolebindings"
	resourceResourceQuotas  = "resourcequotas"
	resourceJobs            = "jobs"
	resourceSecrets         = "secrets"
	resourceDeployments     = "deployments"
)

// get reads the object that ref names.
func (c *Client) get(ctx context.Context, ref ObjectRef) (metav1.Object, error) {
	opts := metav1.GetOptions{}
	switch ref.Resource {
	case resourceNamespaces:
		return c.kube.CoreV1().Namespaces().Get(ctx, ref.Name, opts)
	case resourceServiceAccounts:
		return c.kube.CoreV1().ServiceAccounts(ref.Namespace).Get(ctx, ref.Name, opts)
	case resourceRoleBindings:
		return c.kube.RbacV1().RoleBindings(ref.Namespace).Get(ctx, ref.Name, opts)
	case resourceResourceQuotas:
		return c.kube.CoreV1().ResourceQuotas(ref.Namespace).Get(ctx, ref.Name, opts)
	case resourceJobs:
		return c.kube.BatchV1().Jobs(ref.Namespace).Get(ctx, ref.Name, opts)
	case resourceSecrets:
		return c.kube.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, opts)
	case resourceDeployments:
		return c.kube.AppsV1().Deployments(ref.Namespace).Get(ctx, ref.Name, opts)
	}
	return nil, permanentf("cannot read %s: resource %q is not one the package manages", ref, ref.Resource)
}

// create sends obj to the API server.
func (c *Client) create(ctx context.Context, obj runtime.Object) error {
	opts := metav1.CreateOptions{}
	var err error
	switch o := obj.(type) {
	case *corev1.Namespace:
		_, err = c.kube.CoreV1().Namespaces().Create(ctx, o, opts)
	case *corev1.ServiceAccount:
		_, err = c.kube.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, opts)
	case *rbacv1.RoleBinding:
		_, err = c.kube.RbacV1().RoleBindings(o.Namespace).Create(ctx, o, opts)
	case *corev1.ResourceQuota:
		_, err = c.kube.CoreV1().ResourceQuotas(o.Namespace).Create(ctx, o, opts)
	case *batchv1.Job:
		_, err = c.kube.BatchV1().Jobs(o.Namespace).Create(ctx, o, opts)
	case *corev1.Secret:
		_, err = c.kube.CoreV1().Secrets(o.Namespace).Create(ctx, o, opts)
	default:
		return permanentf("cannot create a %T: the package does not manage that kind", obj)
	}
	return err
}

// refOf returns the reference of an object that the package creates.
func refOf(obj runtime.Object) ObjectRef {
	meta, ok := obj.(metav1.Object)
	if !ok {
		return ObjectRef{Resource: fmt.Sprintf("%T", obj)}
	}
	var resource string
	switch obj.(type) {
	case *corev1.Namespace:
		resource = resourceNamespaces
	case *corev1.ServiceAccount:
		resource = resourceServiceAccounts
	case *rbacv1.RoleBinding:
		resource = resourceRoleBindings
	case *corev1.ResourceQuota:
		resource = resourceResourceQuotas
	case *batchv1.Job:
		resource = resourceJobs
	case *corev1.Secret:
		resource = resourceSecrets
	case *appsv1.Deployment:
		resource = resourceDeployments
	default:
		resource = fmt.Sprintf("%T", obj)
	}
	return ObjectRef{Resource: resource, Namespace: meta.GetNamespace(), Name: meta.GetName()}
}

// withTypeMeta sets obj's apiVersion and kind from client-go's scheme, since
// typed clients return objects without them and a printed plan needs them.
func withTypeMeta(obj runtime.Object) runtime.Object {
	kinds, _, err := scheme.Scheme.ObjectKinds(obj)
	if err == nil && len(kinds) > 0 {
		obj.GetObjectKind().SetGroupVersionKind(kinds[0])
	}
	return obj
}
