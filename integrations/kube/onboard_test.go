package kube

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

func churnSpec() OnboardSpec {
	return OnboardSpec{Project: "churn", Team: "growth", CostCenter: "cc-1042", Request: testRequest}
}

func TestOnboardCreatesObjects(t *testing.T) {
	ctx := context.Background()
	client, kube := newFake()

	result, err := client.Onboard(ctx, churnSpec())
	require.NoError(t, err)

	assert.Equal(t, "ml-churn", result.Namespace)
	assert.True(t, result.DefaultQuota)
	require.Len(t, result.Objects, 4)
	wantRefs := []ObjectRef{
		{Resource: "namespaces", Name: "ml-churn"},
		{Resource: "serviceaccounts", Namespace: "ml-churn", Name: "churn-sa"},
		{Resource: "rolebindings", Namespace: "ml-churn", Name: "churn-edit"},
		{Resource: "resourcequotas", Namespace: "ml-churn", Name: "churn-quota"},
	}
	for i, want := range wantRefs {
		assert.Equal(t, want, result.Objects[i].ObjectRef)
		assert.True(t, result.Objects[i].Changed, "object %d", i)
	}
	assert.Contains(t, result.String(), "created namespaces/ml-churn")

	ns, err := kube.CoreV1().Namespaces().Get(ctx, "ml-churn", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		LabelManagedBy:  ManagedBy,
		LabelRequest:    testRequest,
		LabelTeam:       "growth",
		LabelCostCenter: "cc-1042",
	}, ns.Labels)

	sa, err := kube.CoreV1().ServiceAccounts("ml-churn").Get(ctx, "churn-sa", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, testRequest, sa.Labels[LabelRequest])

	binding, err := kube.RbacV1().RoleBindings("ml-churn").Get(ctx, "churn-edit", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"}, binding.RoleRef)
	assert.Equal(t, []rbacv1.Subject{
		{Kind: rbacv1.ServiceAccountKind, Name: "churn-sa", Namespace: "ml-churn"},
		{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "growth"},
	}, binding.Subjects)
	assert.Equal(t, testRequest, binding.Labels[LabelRequest])

	quota, err := kube.CoreV1().ResourceQuotas("ml-churn").Get(ctx, "churn-quota", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "true", quota.Annotations[AnnotationDefaultQuota])
	for name, value := range DefaultQuota() {
		want := resource.MustParse(value)
		got := quota.Spec.Hard[corev1.ResourceName(name)]
		assert.Zero(t, want.Cmp(got), "quota %s is %s", name, got.String())
	}
	assert.Len(t, quota.Spec.Hard, len(DefaultQuota()))
}

func TestOnboardRetryIsIdempotent(t *testing.T) {
	ctx := context.Background()
	client, kube := newFake()
	_, err := client.Onboard(ctx, churnSpec())
	require.NoError(t, err)
	kube.ClearActions()

	result, err := client.Onboard(ctx, churnSpec())
	require.NoError(t, err)

	require.Len(t, result.Objects, 4)
	for _, o := range result.Objects {
		assert.False(t, o.Changed, "%s", o.ObjectRef)
	}
	assert.Contains(t, result.String(), "namespaces/ml-churn already present")
	assert.Empty(t, writes(kube))
}

func TestOnboardResumesPartialRun(t *testing.T) {
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ml-churn", Labels: requestLabels(testRequest)}}
	client, kube := newFake(ns)

	result, err := client.Onboard(ctx, churnSpec())
	require.NoError(t, err)

	require.Len(t, result.Objects, 4)
	assert.False(t, result.Objects[0].Changed)
	for _, o := range result.Objects[1:] {
		assert.True(t, o.Changed, "%s", o.ObjectRef)
	}
	assert.Equal(t, []string{"create serviceaccounts", "create rolebindings", "create resourcequotas"}, writes(kube))
}

func TestOnboardRejectsForeignObjects(t *testing.T) {
	cases := []struct {
		name   string
		object runtime.Object
		want   string
	}{
		{
			name:   "namespace without labels",
			object: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ml-churn"}},
			want:   "namespaces/ml-churn already exists and has no label sopbot.dev/request",
		},
		{
			name:   "namespace of another request",
			object: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ml-churn", Labels: requestLabels("R-9")}},
			want:   `namespaces/ml-churn already exists and has label sopbot.dev/request="R-9"`,
		},
		{
			name: "service account with the request label but another manager",
			object: &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
				Name: "churn-sa", Namespace: "ml-churn",
				Labels: map[string]string{LabelRequest: testRequest, LabelManagedBy: "helm"},
			}},
			want: `serviceaccounts/churn-sa in namespace ml-churn already exists and has label sopbot.dev/request="R-12" but label app.kubernetes.io/managed-by="helm"`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client, kube := newFake(tc.object)

			_, err := client.Onboard(context.Background(), churnSpec())

			require.Error(t, err)
			assert.True(t, IsPermanent(err))
			assert.Contains(t, err.Error(), tc.want)
			assert.Empty(t, writes(kube))
		})
	}
}

func TestOnboardRejectsInvalidSpec(t *testing.T) {
	cases := []struct {
		name   string
		change func(*OnboardSpec)
		want   string
	}{
		{"empty request", func(s *OnboardSpec) { s.Request = "" }, "request id is empty"},
		{"request not a label value", func(s *OnboardSpec) { s.Request = "R 12" }, `request id "R 12" is not a valid label value`},
		{"uppercase project", func(s *OnboardSpec) { s.Project = "Churn" }, `project "Churn" gives namespace "ml-Churn"`},
		{"project too long", func(s *OnboardSpec) { s.Project = strings.Repeat("a", 61) }, "must be no more than 63"},
		{"empty team", func(s *OnboardSpec) { s.Team = "" }, "team is empty"},
		{"team not a label value", func(s *OnboardSpec) { s.Team = "growth/ml" }, `team "growth/ml" is not a valid label value`},
		{"cost center not a label value", func(s *OnboardSpec) { s.CostCenter = "Finance & Ops" }, `cost center "Finance & Ops" is not a valid label value`},
		{"cost center too long", func(s *OnboardSpec) { s.CostCenter = strings.Repeat("c", 64) }, "is not a valid label value"},
		{"bad quantity", func(s *OnboardSpec) { s.Quota = map[string]string{"requests.cpu": "four"} }, `quota requests.cpu: "four" is not a valid quantity`},
		{"negative quantity", func(s *OnboardSpec) { s.Quota = map[string]string{"pods": "-1"} }, `quota pods: "-1" is negative`},
		{"bad quota name", func(s *OnboardSpec) { s.Quota = map[string]string{"requests cpu": "1"} }, `quota resource name "requests cpu" is not valid`},
		{"both roles", func(s *OnboardSpec) {
			s.RoleBinding = RoleBindingTemplate{ClusterRole: "edit", Role: "dev", Subjects: []rbacv1.Subject{{Kind: "Group", Name: "g"}}}
		}, "sets both ClusterRole"},
		{"no role", func(s *OnboardSpec) {
			s.RoleBinding = RoleBindingTemplate{Subjects: []rbacv1.Subject{{Kind: "Group", Name: "g"}}}
		}, "sets neither ClusterRole nor Role"},
		{"no subjects", func(s *OnboardSpec) { s.RoleBinding = RoleBindingTemplate{ClusterRole: "view"} }, "has no subjects"},
		{"bad subject kind", func(s *OnboardSpec) {
			s.RoleBinding = RoleBindingTemplate{ClusterRole: "view", Subjects: []rbacv1.Subject{{Kind: "Robot", Name: "r"}}}
		}, `subject 0 has kind "Robot"`},
		{"group with namespace", func(s *OnboardSpec) {
			s.RoleBinding = RoleBindingTemplate{ClusterRole: "view", Subjects: []rbacv1.Subject{{Kind: "Group", Name: "g", Namespace: "x"}}}
		}, "only a ServiceAccount subject has one"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := churnSpec()
			tc.change(&spec)
			client, kube := newFake()

			_, err := client.Onboard(context.Background(), spec)

			require.Error(t, err)
			assert.True(t, IsPermanent(err))
			assert.Contains(t, err.Error(), tc.want)
			assert.Empty(t, kube.Actions())
		})
	}
}

func TestOnboardCustomTemplateAndQuota(t *testing.T) {
	ctx := context.Background()
	spec := churnSpec()
	spec.RoleBinding = RoleBindingTemplate{
		Role: "{project}-developer",
		Subjects: []rbacv1.Subject{
			{Kind: rbacv1.ServiceAccountKind, Name: "{project}-sa"},
			{Kind: rbacv1.UserKind, Name: "lead@{team}.example"},
		},
	}
	spec.Quota = map[string]string{"requests.nvidia.com/gpu": "2", "pods": "5"}
	client, kube := newFake()

	result, err := client.Onboard(ctx, spec)
	require.NoError(t, err)

	assert.False(t, result.DefaultQuota)
	binding, err := kube.RbacV1().RoleBindings("ml-churn").Get(ctx, "churn-churn-developer", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "churn-developer"}, binding.RoleRef)
	assert.Equal(t, []rbacv1.Subject{
		{Kind: rbacv1.ServiceAccountKind, Name: "churn-sa", Namespace: "ml-churn"},
		{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "lead@growth.example"},
	}, binding.Subjects)

	quota, err := kube.CoreV1().ResourceQuotas("ml-churn").Get(ctx, "churn-quota", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Empty(t, quota.Annotations)
	gpu := quota.Spec.Hard["requests.nvidia.com/gpu"]
	assert.Equal(t, "2", gpu.String())
	assert.Len(t, quota.Spec.Hard, 2)
}

func TestPlanOnboardIsDryRun(t *testing.T) {
	client, kube := newFake()

	plan, err := client.PlanOnboard(context.Background(), churnSpec())
	require.NoError(t, err)

	requireReadOnly(t, kube)
	require.Len(t, plan.Calls, 4)
	assert.Len(t, plan.Pending(), 4)
	out := plan.String()
	assert.True(t, strings.HasPrefix(out, "create namespaces/ml-churn\n"), out)
	for _, header := range []string{
		"create serviceaccounts/churn-sa in namespace ml-churn\n",
		"create rolebindings/churn-edit in namespace ml-churn\n",
		"create resourcequotas/churn-quota in namespace ml-churn\n",
	} {
		assert.Contains(t, out, header)
	}
	for _, line := range []string{"apiVersion: v1\n", "kind: Namespace\n", "    sopbot.dev/cost-center: cc-1042\n", "    requests.memory: 16Gi\n", "kind: RoleBinding\n", "  name: edit\n"} {
		assert.Contains(t, out, line)
	}
	assert.NotContains(t, out, "creationTimestamp")
	assert.NotContains(t, out, "status")
}

func TestPlanOnboardMarksPresentObjects(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ml-churn", Labels: requestLabels(testRequest)}}
	client, kube := newFake(ns)

	plan, err := client.PlanOnboard(context.Background(), churnSpec())
	require.NoError(t, err)

	requireReadOnly(t, kube)
	assert.True(t, plan.Calls[0].InPlace)
	assert.Len(t, plan.Pending(), 3)
	assert.Contains(t, plan.String(), "# create namespaces/ml-churn: no call, already present with label sopbot.dev/request=R-12\n")
}

func TestOnboardCreateRaceAcceptsOwnObject(t *testing.T) {
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ml-churn", Labels: requestLabels(testRequest)}}
	client, kube := newFake(ns)
	// The first two reads miss the namespace, as if another run created it
	// between this run's read and its create.
	misses := 0
	kube.PrependReactor("get", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		if misses < 2 {
			misses++
			return true, nil, notFound("namespaces", "ml-churn")
		}
		return false, nil, nil
	})

	result, err := client.Onboard(ctx, churnSpec())
	require.NoError(t, err)

	assert.False(t, result.Objects[0].Changed)
	assert.Contains(t, writes(kube), "create namespaces")
}

func TestOnboardErrorsClassify(t *testing.T) {
	cases := []struct {
		name      string
		err       error
		permanent bool
	}{
		{"server error", serverError(), false},
		{"forbidden", forbiddenError("serviceaccounts", "churn-sa"), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client, kube := newFake()
			failOnce(kube, "create", "serviceaccounts", tc.err)

			result, err := client.Onboard(context.Background(), churnSpec())

			require.Error(t, err)
			assert.Equal(t, tc.permanent, IsPermanent(err))
			assert.Contains(t, err.Error(), "creating serviceaccounts/churn-sa in namespace ml-churn")
			assert.Len(t, result.Objects, 1, "the namespace was created before the failure")

			result, err = client.Onboard(context.Background(), churnSpec())
			require.NoError(t, err)
			assert.False(t, result.Objects[0].Changed)
			assert.True(t, result.Objects[1].Changed)
		})
	}
}
