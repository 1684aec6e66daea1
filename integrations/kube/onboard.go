package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// AnnotationDefaultQuota is set to "true" on a ResourceQuota made from
// DefaultQuota, so an operator can find the quotas still at the placeholder
// values.
const AnnotationDefaultQuota = "sopbot.dev/default-quota"

// OnboardSpec describes a project to onboard. Onboarding creates the
// namespace ml-<Project>, the service account <Project>-sa, a RoleBinding
// and the ResourceQuota <Project>-quota.
type OnboardSpec struct {
	// Project is the project's name. ml-<Project> must be a valid namespace
	// name: lowercase letters, digits and '-', at most 63 characters.
	Project string
	// Team is the team that owns the project. It labels the namespace as
	// sopbot.dev/team, so it must be a valid label value.
	Team string
	// CostCenter labels the namespace as sopbot.dev/cost-center, so it
	// must be a valid label value.
	CostCenter string
	// Request is the id of the approved request, such as R-12.
	Request string
	// RoleBinding is the template of the namespace's RoleBinding. The zero
	// value means DefaultRoleBinding.
	RoleBinding RoleBindingTemplate
	// Quota maps resource names, such as requests.cpu, to quantities, such
	// as "4" or "16Gi". Nil or empty means DefaultQuota.
	Quota map[string]string
}

// RoleBindingTemplate describes the RoleBinding of an onboarded namespace.
// The placeholders {project}, {namespace} and {team} in Name, ClusterRole,
// Role and the subjects' Name and Namespace are replaced by the project, the
// namespace and the team.
//
// The bot may create a binding only to a role that it holds itself or may
// bind. The ClusterRole in deploy/ grants bind on the ClusterRole edit alone.
type RoleBindingTemplate struct {
	// Name of the RoleBinding. Empty means "{project}-" followed by the role
	// name.
	Name string
	// ClusterRole is the name of the ClusterRole to bind. Set exactly one of
	// ClusterRole and Role.
	ClusterRole string
	// Role is the name of a Role in the new namespace to bind.
	Role string
	// Subjects are the users, groups and service accounts to bind. A
	// ServiceAccount subject without a namespace gets "{namespace}".
	Subjects []rbacv1.Subject
}

// DefaultRoleBinding returns the template that binds the project's service
// account and the group named like the team to the ClusterRole edit.
func DefaultRoleBinding() RoleBindingTemplate {
	return RoleBindingTemplate{
		Name:        "{project}-edit",
		ClusterRole: "edit",
		Subjects: []rbacv1.Subject{
			{Kind: rbacv1.ServiceAccountKind, Name: "{project}-sa", Namespace: "{namespace}"},
			{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "{team}"},
		},
	}
}

// DefaultQuota returns the quota used when OnboardSpec.Quota is empty.
//
// NOTE: these numbers are placeholders, not sized for any workload. The
// operator should set them, through OnboardSpec.Quota, from the cluster's
// capacity.
func DefaultQuota() map[string]string {
	return map[string]string{
		"requests.cpu":    "4",
		"requests.memory": "16Gi",
		"limits.cpu":      "8",
		"limits.memory":   "32Gi",
		"pods":            "20",
	}
}

// OnboardResult lists each object of an onboarding in the order of creation
// and whether it was created or already present.
type OnboardResult struct {
	Namespace string
	Objects   []Outcome
	// DefaultQuota is true when the ResourceQuota came from DefaultQuota.
	DefaultQuota bool
}

// Onboard plans the onboarding of spec and applies the plan. On a retry it
// creates only what is missing.
func (c *Client) Onboard(ctx context.Context, spec OnboardSpec) (OnboardResult, error) {
	plan, err := c.PlanOnboard(ctx, spec)
	if err != nil {
		return OnboardResult{}, err
	}
	result := OnboardResult{Namespace: namespaceFor(spec.Project), DefaultQuota: len(spec.Quota) == 0}
	result.Objects, err = c.Apply(ctx, plan)
	return result, err
}

// PlanOnboard validates spec and returns the calls that create its
// namespace, service account, RoleBinding and ResourceQuota. Objects that
// exist with the request's label are in place. An object that exists
// without it is a permanent error.
func (c *Client) PlanOnboard(ctx context.Context, spec OnboardSpec) (*Plan, error) {
	objects, err := onboardObjects(spec)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Request: spec.Request}
	for _, obj := range objects {
		call, err := c.planCreate(ctx, spec.Request, obj)
		if err != nil {
			return nil, err
		}
		plan.Calls = append(plan.Calls, call)
	}
	return plan, nil
}

func namespaceFor(project string) string {
	return "ml-" + project
}

// onboardObjects validates spec and builds its objects in the order they
// must be created: the namespace first.
func onboardObjects(spec OnboardSpec) ([]runtime.Object, error) {
	if err := validateOnboardSpec(spec); err != nil {
		return nil, err
	}
	namespace := namespaceFor(spec.Project)

	binding, err := roleBinding(spec, namespace)
	if err != nil {
		return nil, err
	}
	quota, err := resourceQuota(spec, namespace)
	if err != nil {
		return nil, err
	}

	nsLabels := requestLabels(spec.Request)
	nsLabels[LabelTeam] = spec.Team
	nsLabels[LabelCostCenter] = spec.CostCenter
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace, Labels: nsLabels}}
	account := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name:      spec.Project + "-sa",
		Namespace: namespace,
		Labels:    requestLabels(spec.Request),
	}}
	return []runtime.Object{ns, account, binding, quota}, nil
}

func validateOnboardSpec(spec OnboardSpec) error {
	if err := validateRequest(spec.Request); err != nil {
		return err
	}
	if spec.Project == "" {
		return permanentf("project is empty")
	}
	namespace := namespaceFor(spec.Project)
	if problems := content.IsDNS1123Label(namespace); len(problems) > 0 {
		return permanentf("project %q gives namespace %q, which is not a valid namespace name: %s", spec.Project, namespace, strings.Join(problems, "; "))
	}
	if spec.Team == "" {
		return permanentf("team is empty")
	}
	if err := validateLabelValue("team", spec.Team); err != nil {
		return err
	}
	if spec.CostCenter == "" {
		return permanentf("cost center is empty")
	}
	return validateLabelValue("cost center", spec.CostCenter)
}

// roleBinding builds the RoleBinding from the spec's template, or from
// DefaultRoleBinding when the template is the zero value.
func roleBinding(spec OnboardSpec, namespace string) (*rbacv1.RoleBinding, error) {
	template := spec.RoleBinding
	if template.Name == "" && template.ClusterRole == "" && template.Role == "" && len(template.Subjects) == 0 {
		template = DefaultRoleBinding()
	}
	expand := strings.NewReplacer("{project}", spec.Project, "{namespace}", namespace, "{team}", spec.Team).Replace

	var ref rbacv1.RoleRef
	switch {
	case template.ClusterRole != "" && template.Role != "":
		return nil, permanentf("role binding template sets both ClusterRole %q and Role %q; set one", template.ClusterRole, template.Role)
	case template.ClusterRole != "":
		ref = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: expand(template.ClusterRole)}
	case template.Role != "":
		ref = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: expand(template.Role)}
	default:
		return nil, permanentf("role binding template sets neither ClusterRole nor Role")
	}
	name := expand(template.Name)
	if name == "" {
		name = spec.Project + "-" + ref.Name
	}
	if problems := content.IsDNS1123Subdomain(name); len(problems) > 0 {
		return nil, permanentf("role binding name %q is not a valid name: %s", name, strings.Join(problems, "; "))
	}
	if len(template.Subjects) == 0 {
		return nil, permanentf("role binding template %s has no subjects", name)
	}

	subjects := make([]rbacv1.Subject, 0, len(template.Subjects))
	for i, s := range template.Subjects {
		subject := rbacv1.Subject{Kind: s.Kind, APIGroup: s.APIGroup, Name: expand(s.Name), Namespace: expand(s.Namespace)}
		switch subject.Kind {
		case rbacv1.ServiceAccountKind:
			subject.APIGroup = ""
			if subject.Namespace == "" {
				subject.Namespace = namespace
			}
		case rbacv1.UserKind, rbacv1.GroupKind:
			subject.APIGroup = rbacv1.GroupName
			if subject.Namespace != "" {
				return nil, permanentf("role binding subject %d (%s %q) has namespace %q, but only a ServiceAccount subject has one", i, subject.Kind, subject.Name, subject.Namespace)
			}
		default:
			return nil, permanentf("role binding subject %d has kind %q; use ServiceAccount, User or Group", i, s.Kind)
		}
		if subject.Name == "" {
			return nil, permanentf("role binding subject %d (%s) has an empty name", i, subject.Kind)
		}
		subjects = append(subjects, subject)
	}

	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: requestLabels(spec.Request)},
		RoleRef:    ref,
		Subjects:   subjects,
	}, nil
}

// resourceQuota builds the ResourceQuota from the spec's quota, or from
// DefaultQuota when it is empty.
func resourceQuota(spec OnboardSpec, namespace string) (*corev1.ResourceQuota, error) {
	values := spec.Quota
	annotations := map[string]string(nil)
	if len(values) == 0 {
		values = DefaultQuota()
		annotations = map[string]string{AnnotationDefaultQuota: "true"}
	}

	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	sort.Strings(names)

	hard := corev1.ResourceList{}
	for _, name := range names {
		if problems := content.IsLabelKey(name); len(problems) > 0 {
			return nil, permanentf("quota resource name %q is not valid: %s", name, strings.Join(problems, "; "))
		}
		quantity, err := resource.ParseQuantity(values[name])
		if err != nil {
			return nil, permanentf("quota %s: %q is not a valid quantity, such as 4, 500m or 16Gi: %v", name, values[name], err)
		}
		if quantity.Sign() < 0 {
			return nil, permanentf("quota %s: %q is negative", name, values[name])
		}
		hard[corev1.ResourceName(name)] = quantity
	}

	return &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{
			Name:        spec.Project + "-quota",
			Namespace:   namespace,
			Labels:      requestLabels(spec.Request),
			Annotations: annotations,
		},
		Spec: corev1.ResourceQuotaSpec{Hard: hard},
	}, nil
}

// String lists the objects, one a line, such as
// "created namespaces/ml-churn".
func (r OnboardResult) String() string {
	lines := make([]string, 0, len(r.Objects))
	for _, o := range r.Objects {
		lines = append(lines, o.String())
	}
	if r.DefaultQuota {
		lines = append(lines, fmt.Sprintf("note: the quota of %s uses the default values; set them for the project", r.Namespace))
	}
	return strings.Join(lines, "\n")
}
