package deploy

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/sopbot/sopbot/bot/config"
)

// decode reads one manifest and decodes it strictly, so an unknown or
// duplicate field fails the test.
func decode(t *testing.T, file string) runtime.Object {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	codecs := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict)
	obj, _, err := codecs.UniversalDeserializer().Decode(data, nil, nil)
	require.NoError(t, err, "decoding %s", file)
	return obj
}

func decodeAs[T runtime.Object](t *testing.T, file string) T {
	t.Helper()
	obj, ok := decode(t, file).(T)
	require.True(t, ok, "%s holds a %T", file, obj)
	return obj
}

func deployment(t *testing.T) *appsv1.Deployment {
	return decodeAs[*appsv1.Deployment](t, "deployment.yaml")
}

func container(t *testing.T) corev1.Container {
	containers := deployment(t).Spec.Template.Spec.Containers
	require.Len(t, containers, 1)
	return containers[0]
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	data, err := os.ReadFile("kustomization.yaml")
	require.NoError(t, err)
	var kustomization struct {
		Resources []string `json:"resources"`
	}
	require.NoError(t, yaml.Unmarshal(data, &kustomization))

	files, err := filepath.Glob("*.yaml")
	require.NoError(t, err)
	var manifests []string
	for _, f := range files {
		if f != "kustomization.yaml" {
			manifests = append(manifests, f)
		}
	}
	assert.ElementsMatch(t, manifests, kustomization.Resources)
	for _, f := range kustomization.Resources {
		decode(t, f)
	}
}

func TestDeploymentReplicasAndStrategy(t *testing.T) {
	d := deployment(t)

	require.NotNil(t, d.Spec.Replicas)
	assert.Equal(t, int32(2), *d.Spec.Replicas)
	assert.Equal(t, appsv1.RecreateDeploymentStrategyType, d.Spec.Strategy.Type)
	assert.Equal(t, d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
	assert.Equal(t, "sopbot", d.Spec.Template.Spec.ServiceAccountName)

	affinity := d.Spec.Template.Spec.Affinity
	require.NotNil(t, affinity)
	require.NotNil(t, affinity.PodAffinity)
	terms := affinity.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	require.Len(t, terms, 1)
	assert.Equal(t, "kubernetes.io/hostname", terms[0].TopologyKey)
	assert.Equal(t, d.Spec.Template.Labels, terms[0].LabelSelector.MatchLabels)
}

func TestDeploymentSecurityContext(t *testing.T) {
	pod := deployment(t).Spec.Template.Spec.SecurityContext
	require.NotNil(t, pod)
	require.NotNil(t, pod.RunAsNonRoot)
	assert.True(t, *pod.RunAsNonRoot)
	require.NotNil(t, pod.RunAsUser)
	assert.Equal(t, int64(65532), *pod.RunAsUser)
	require.NotNil(t, pod.SeccompProfile)
	assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, pod.SeccompProfile.Type)

	sc := container(t).SecurityContext
	require.NotNil(t, sc)
	require.NotNil(t, sc.RunAsNonRoot)
	assert.True(t, *sc.RunAsNonRoot)
	require.NotNil(t, sc.RunAsUser)
	assert.Equal(t, int64(65532), *sc.RunAsUser)
	require.NotNil(t, sc.ReadOnlyRootFilesystem)
	assert.True(t, *sc.ReadOnlyRootFilesystem)
	require.NotNil(t, sc.AllowPrivilegeEscalation)
	assert.False(t, *sc.AllowPrivilegeEscalation)
	require.NotNil(t, sc.Capabilities)
	assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
	assert.Empty(t, sc.Capabilities.Add)
	require.NotNil(t, sc.SeccompProfile)
	assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, sc.SeccompProfile.Type)
}

func TestDeploymentProbesAndResources(t *testing.T) {
	c := container(t)

	require.NotNil(t, c.LivenessProbe)
	require.NotNil(t, c.LivenessProbe.HTTPGet)
	assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	assert.Equal(t, "http", c.LivenessProbe.HTTPGet.Port.String())
	require.NotNil(t, c.ReadinessProbe)
	require.NotNil(t, c.ReadinessProbe.HTTPGet)
	assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
	assert.Equal(t, "http", c.ReadinessProbe.HTTPGet.Port.String())
	require.Len(t, c.Ports, 1)
	assert.Equal(t, "http", c.Ports[0].Name)
	assert.Equal(t, int32(8080), c.Ports[0].ContainerPort)

	for _, resource := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		assert.Contains(t, c.Resources.Requests, resource)
		assert.Contains(t, c.Resources.Limits, resource)
	}
	assert.Equal(t, []string{"serve", "--config", "/etc/sopbot/config/config.yaml"}, c.Args)
}

func TestDeploymentEnvSources(t *testing.T) {
	env := map[string]corev1.EnvVar{}
	for _, e := range container(t).Env {
		env[e.Name] = e
	}
	secrets := map[string]string{
		"SOPBOT_GITHUB_WEBHOOK_SECRET": "github-webhook-secret",
		"SOPBOT_SLACK_SIGNING_SECRET":  "slack-signing-secret",
		"SOPBOT_SLACK_BOT_TOKEN":       "slack-bot-token",
	}
	for name, key := range secrets {
		t.Run(name, func(t *testing.T) {
			require.Contains(t, env, name)
			require.NotNil(t, env[name].ValueFrom)
			ref := env[name].ValueFrom.SecretKeyRef
			require.NotNil(t, ref)
			assert.Equal(t, "sopbot-secrets", ref.Name)
			assert.Equal(t, key, ref.Key)
		})
	}
	fields := map[string]string{
		"SOPBOT_LEADER_IDENTITY":  "metadata.name",
		"SOPBOT_LEADER_NAMESPACE": "metadata.namespace",
	}
	for name, fieldPath := range fields {
		t.Run(name, func(t *testing.T) {
			require.Contains(t, env, name)
			require.NotNil(t, env[name].ValueFrom)
			require.NotNil(t, env[name].ValueFrom.FieldRef)
			assert.Equal(t, fieldPath, env[name].ValueFrom.FieldRef.FieldPath)
		})
	}
}

// mountOf returns the mount whose directory contains file, and the volume
// behind it.
func mountOf(t *testing.T, file string) (corev1.VolumeMount, corev1.Volume) {
	t.Helper()
	spec := deployment(t).Spec.Template.Spec
	for _, m := range container(t).VolumeMounts {
		if path.Dir(file) != m.MountPath {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name == m.Name {
				return m, v
			}
		}
		require.FailNow(t, "no volume", "mount %s names volume %s, which the pod lacks", m.MountPath, m.Name)
	}
	require.FailNow(t, "not mounted", "no volume is mounted at %s", path.Dir(file))
	return corev1.VolumeMount{}, corev1.Volume{}
}

func TestDeploymentMountsFiles(t *testing.T) {
	env := map[string]string{}
	for _, e := range container(t).Env {
		env[e.Name] = e.Value
	}

	_, data := mountOf(t, env["SOPBOT_DATABASE"])
	require.NotNil(t, data.PersistentVolumeClaim)
	pvc := decodeAs[*corev1.PersistentVolumeClaim](t, "persistentvolumeclaim.yaml")
	assert.Equal(t, pvc.Name, data.PersistentVolumeClaim.ClaimName)

	keyFile := env["SOPBOT_GITHUB_PRIVATE_KEY_FILE"]
	_, key := mountOf(t, keyFile)
	require.NotNil(t, key.Secret)
	assert.Equal(t, "sopbot-secrets", key.Secret.SecretName)
	require.Len(t, key.Secret.Items, 1)
	assert.Equal(t, "github-private-key", key.Secret.Items[0].Key)
	assert.Equal(t, path.Base(keyFile), key.Secret.Items[0].Path)

	configFile := container(t).Args[2]
	_, cfg := mountOf(t, configFile)
	require.NotNil(t, cfg.ConfigMap)
	assert.Equal(t, "sopbot-config", cfg.ConfigMap.Name)
	configMap := decodeAs[*corev1.ConfigMap](t, "configmap.yaml")
	assert.Contains(t, configMap.Data, path.Base(configFile))

	tmp, _ := mountOf(t, "/tmp/x")
	assert.False(t, tmp.ReadOnly)
}

func TestPersistentVolumeClaimIsReadWriteOnce(t *testing.T) {
	pvc := decodeAs[*corev1.PersistentVolumeClaim](t, "persistentvolumeclaim.yaml")

	assert.Equal(t, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, pvc.Spec.AccessModes)
	assert.Contains(t, pvc.Spec.Resources.Requests, corev1.ResourceStorage)
}

func TestServiceTargetsPods(t *testing.T) {
	svc := decodeAs[*corev1.Service](t, "service.yaml")

	assert.Equal(t, deployment(t).Spec.Template.Labels, svc.Spec.Selector)
	require.Len(t, svc.Spec.Ports, 1)
	assert.Equal(t, int32(80), svc.Spec.Ports[0].Port)
	assert.Equal(t, container(t).Ports[0].Name, svc.Spec.Ports[0].TargetPort.String())
}

func TestRoleGrantsOnlyTheLease(t *testing.T) {
	role := decodeAs[*rbacv1.Role](t, "role.yaml")
	allowed := map[string]bool{"get": true, "create": true, "update": true}

	require.NotEmpty(t, role.Rules)
	granted := map[string]bool{}
	for i, rule := range role.Rules {
		assert.Equal(t, []string{"coordination.k8s.io"}, rule.APIGroups, "rule %d", i)
		assert.Equal(t, []string{"leases"}, rule.Resources, "rule %d", i)
		assert.Empty(t, rule.NonResourceURLs, "rule %d", i)
		for _, verb := range rule.Verbs {
			assert.True(t, allowed[verb], "rule %d grants %q", i, verb)
			granted[verb] = true
			// RBAC cannot limit create to a name; every other verb must be.
			if verb != "create" {
				assert.Equal(t, []string{"sopbot-leader"}, rule.ResourceNames, "rule %d grants %q", i, verb)
			}
		}
	}
	assert.Equal(t, allowed, granted)
}

func TestRoleBindingGrantsServiceAccount(t *testing.T) {
	binding := decodeAs[*rbacv1.RoleBinding](t, "rolebinding.yaml")
	role := decodeAs[*rbacv1.Role](t, "role.yaml")
	account := decodeAs[*corev1.ServiceAccount](t, "serviceaccount.yaml")

	assert.Equal(t, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name}, binding.RoleRef)
	require.Len(t, binding.Subjects, 1)
	assert.Equal(t, rbacv1.ServiceAccountKind, binding.Subjects[0].Kind)
	assert.Equal(t, account.Name, binding.Subjects[0].Name)
}

// TestClusterRoleGrantsOnlyInfraActions compares every grant of the
// ClusterRole with the list that the infrastructure actions in
// integrations/kube need, so a rule can neither go missing nor grow.
func TestClusterRoleGrantsOnlyInfraActions(t *testing.T) {
	role := decodeAs[*rbacv1.ClusterRole](t, "clusterrole.yaml")
	want := []string{
		"namespaces get", "namespaces create",
		"serviceaccounts get", "serviceaccounts create",
		"resourcequotas get", "resourcequotas create",
		"rbac.authorization.k8s.io/rolebindings get", "rbac.authorization.k8s.io/rolebindings create",
		"rbac.authorization.k8s.io/clusterroles bind edit",
		"batch/jobs get", "batch/jobs create", "batch/jobs list", "batch/cronjobs list",
		"apps/statefulsets list", "apps/daemonsets list",
		"pods list",
		"pods/log get",
		"secrets get", "secrets create", "secrets delete",
		"apps/deployments get", "apps/deployments list", "apps/deployments update",
	}

	require.NotEmpty(t, role.Rules)
	var granted []string
	for i, rule := range role.Rules {
		assert.Empty(t, rule.NonResourceURLs, "rule %d", i)
		for _, group := range rule.APIGroups {
			for _, resource := range rule.Resources {
				name := resource
				if group != "" {
					name = group + "/" + resource
				}
				for _, verb := range rule.Verbs {
					if len(rule.ResourceNames) == 0 {
						granted = append(granted, name+" "+verb)
					}
					for _, resourceName := range rule.ResourceNames {
						granted = append(granted, name+" "+verb+" "+resourceName)
					}
				}
			}
		}
	}
	assert.ElementsMatch(t, want, granted)
}

func TestClusterRoleBindingGrantsServiceAccount(t *testing.T) {
	binding := decodeAs[*rbacv1.ClusterRoleBinding](t, "clusterrolebinding.yaml")
	role := decodeAs[*rbacv1.ClusterRole](t, "clusterrole.yaml")
	account := decodeAs[*corev1.ServiceAccount](t, "serviceaccount.yaml")

	assert.Equal(t, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name}, binding.RoleRef)
	require.Len(t, binding.Subjects, 1)
	assert.Equal(t, rbacv1.ServiceAccountKind, binding.Subjects[0].Kind)
	assert.Equal(t, account.Name, binding.Subjects[0].Name)
	// The API server rejects a ClusterRoleBinding's ServiceAccount subject
	// without a namespace.
	assert.NotEmpty(t, binding.Subjects[0].Namespace)
	// The control plane tests create the bot's ServiceAccount there, and
	// deploy/README.md tells operators to change it with the namespace.
	assert.Equal(t, "sopbot", binding.Subjects[0].Namespace)
}

// TestConfigMapLoads loads the ConfigMap's config file with the environment
// the Deployment gives the container, secrets and downward API values
// replaced by test values.
func TestConfigMapLoads(t *testing.T) {
	dir := t.TempDir()
	configMap := decodeAs[*corev1.ConfigMap](t, "configmap.yaml")
	configFile := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(configFile, []byte(configMap.Data["config.yaml"]), 0o600))
	keyFile := filepath.Join(dir, "private-key.pem")
	require.NoError(t, os.WriteFile(keyFile, []byte("test key"), 0o600))

	env := map[string]string{}
	for _, e := range container(t).Env {
		switch {
		case e.Name == "SOPBOT_GITHUB_PRIVATE_KEY_FILE":
			env[e.Name] = keyFile
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			env[e.Name] = "test-" + strings.ReplaceAll(e.ValueFrom.FieldRef.FieldPath, ".", "-")
		case e.ValueFrom != nil:
			env[e.Name] = "test-secret"
		default:
			env[e.Name] = e.Value
		}
	}

	cfg, err := config.Load(configFile, func(name string) string { return env[name] })
	require.NoError(t, err)
	assert.True(t, cfg.Leader.Enabled)
	assert.Equal(t, "test-metadata-namespace", cfg.Leader.Namespace)
	assert.Equal(t, "test-metadata-name", cfg.Leader.Identity)
	assert.Equal(t, "/var/lib/sopbot/sopbot.db", cfg.Database)
	role := decodeAs[*rbacv1.Role](t, "role.yaml")
	for _, rule := range role.Rules {
		if len(rule.ResourceNames) > 0 {
			assert.Equal(t, []string{cfg.Leader.Lease}, rule.ResourceNames)
		}
	}
}
