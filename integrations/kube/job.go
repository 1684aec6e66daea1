package kube

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Defaults of FeastSpec.
const (
	// DefaultGitImage is the image of the container that clones the
	// repository. It needs sh and git.
	DefaultGitImage = "alpine/git:2.45.2"
	// DefaultFeastDeadline is the Job's activeDeadlineSeconds when
	// FeastSpec.ActiveDeadline is zero.
	// NOTE: a guess at an upper bound for one apply and materialization,
	// not a measured run time.
	DefaultFeastDeadline = time.Hour
	// FeastBackoffLimit is the number of retries of a failed pod. Two keep
	// a lost node from failing the run without repeating a broken command
	// for long.
	FeastBackoffLimit = 2
)

// Paths and names inside a Feast Job's pod.
const (
	workspaceVolume = "workspace"
	workspaceDir    = "/workspace"
	repoDir         = "/workspace/repo"
	cloneContainer  = "clone"
	feastContainer  = "feast"
)

// Pod labels that the Job controller sets: the current one and the legacy
// one of Kubernetes before 1.27.
const (
	labelJobName       = "batch.kubernetes.io/job-name"
	labelJobNameLegacy = "job-name"
)

// cloneScript fetches one ref of the repository without its history. The
// repository and ref come from the environment, so no value is parsed by the
// shell. chmod lets the Feast container write its registry even when its
// image runs as another user than the git image.
const cloneScript = `set -eu
git init -q "$REPO_DIR"
cd "$REPO_DIR"
git remote add origin "$GIT_REPOSITORY"
git fetch -q --depth 1 origin "$GIT_REF"
git checkout -q FETCH_HEAD
chmod -R a+rwX "$REPO_DIR"
`

// feastScript registers the repository's features and then loads feature
// values up to the end time into the online store.
const feastScript = `set -eu
feast apply
feast materialize-incremental "$FEAST_END_TIME"
`

// FeastSpec describes one run of `feast apply` followed by
// `feast materialize-incremental` on a feature repository in git.
type FeastSpec struct {
	// Namespace is the namespace of the Job.
	Namespace string
	// Request is the id of the approved request. It names the Job.
	Request string
	// Image is the Feast image. It needs sh and the feast CLI.
	Image string
	// GitImage is the image that clones the repository. Empty means
	// DefaultGitImage.
	GitImage string
	// Repository is the git URL of the feature repository. It must not
	// contain a password, because the URL is visible in the Job's spec.
	Repository string
	// Ref is the branch, tag or commit to check out. Empty means the
	// remote's HEAD.
	Ref string
	// Path is the folder inside the repository that contains
	// feature_store.yaml. Empty means the repository's root.
	Path string
	// ServiceAccount runs the pod. Empty means the namespace's default.
	ServiceAccount string
	// ActiveDeadline bounds the Job's run time. Zero means
	// DefaultFeastDeadline.
	ActiveDeadline time.Duration
	// Resources of the Feast container. Empty means feastResources, which a
	// namespace with a ResourceQuota on CPU and memory requires.
	Resources corev1.ResourceRequirements
}

// Validate checks the fields that FeastJob copies into the Job.
func (s FeastSpec) Validate() error {
	if err := validateRequest(s.Request); err != nil {
		return err
	}
	if problems := content.IsDNS1123Label(s.Namespace); len(problems) > 0 {
		return permanentf("namespace %q is not valid: %s", s.Namespace, strings.Join(problems, "; "))
	}
	if s.Image == "" {
		return permanentf("feast image is empty")
	}
	if s.Repository == "" {
		return permanentf("repository is empty")
	}
	if strings.Contains(s.Repository, "://") {
		u, err := url.Parse(s.Repository)
		if err != nil {
			return permanentf("repository is not a valid URL: %v", err)
		}
		if _, hasPassword := u.User.Password(); hasPassword {
			return permanentf("repository URL contains a password; the Job's spec would show it, so give the credentials another way")
		}
	}
	if strings.HasPrefix(s.Ref, "-") {
		return permanentf("ref %q starts with '-'", s.Ref)
	}
	if s.Path != "" && (path.IsAbs(s.Path) || path.Clean(s.Path) != s.Path || strings.HasPrefix(s.Path, "..")) {
		return permanentf("path %q must be a clean relative path inside the repository, such as feature_repo", s.Path)
	}
	if s.ServiceAccount != "" {
		if problems := content.IsDNS1123Subdomain(s.ServiceAccount); len(problems) > 0 {
			return permanentf("service account %q is not valid: %s", s.ServiceAccount, strings.Join(problems, "; "))
		}
	}
	if s.ActiveDeadline < 0 {
		return permanentf("active deadline %s is negative", s.ActiveDeadline)
	}
	return nil
}

// FeastJobName returns the Job name for a request: feast-<request
// lowercased>, cut to the 63 characters a Job name may have.
func FeastJobName(request string) string {
	return dnsLabel("feast-" + request)
}

// FeastJob builds the Job for spec. An init container clones the repository
// into an emptyDir, and the Feast container runs `feast apply` and then
// `feast materialize-incremental` with now in UTC as the end time, in the
// form 2006-01-02T15:04:05 that the feast CLI parses. FeastJob does not
// validate spec: call Validate first.
func FeastJob(spec FeastSpec, now time.Time) *batchv1.Job {
	gitImage := spec.GitImage
	if gitImage == "" {
		gitImage = DefaultGitImage
	}
	ref := spec.Ref
	if ref == "" {
		ref = "HEAD"
	}
	deadline := spec.ActiveDeadline
	if deadline == 0 {
		deadline = DefaultFeastDeadline
	}
	resources := spec.Resources
	if len(resources.Requests) == 0 && len(resources.Limits) == 0 {
		resources = feastResources()
	}
	// Cleaning the path under "/" keeps the working directory inside the
	// clone even for a spec that was not validated.
	workDir := path.Join(repoDir, path.Clean("/"+spec.Path))
	mounts := []corev1.VolumeMount{{Name: workspaceVolume, MountPath: workspaceDir}}
	labels := requestLabels(spec.Request)
	labels["app.kubernetes.io/name"] = "feast"

	podLabels := make(map[string]string, len(labels))
	for k, v := range labels {
		podLabels[k] = v
	}

	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:      FeastJobName(spec.Request),
			Namespace: spec.Namespace,
			Labels:    labels,
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:          new(int32(FeastBackoffLimit)),
			ActiveDeadlineSeconds: new(int64(deadline / time.Second)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{
					RestartPolicy:      corev1.RestartPolicyNever,
					ServiceAccountName: spec.ServiceAccount,
					Volumes: []corev1.Volume{{
						Name:         workspaceVolume,
						VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
					}},
					InitContainers: []corev1.Container{{
						Name:    cloneContainer,
						Image:   gitImage,
						Command: []string{"sh", "-c", cloneScript},
						Env: []corev1.EnvVar{
							{Name: "REPO_DIR", Value: repoDir},
							{Name: "GIT_REPOSITORY", Value: spec.Repository},
							{Name: "GIT_REF", Value: ref},
						},
						VolumeMounts: mounts,
						Resources:    cloneResources(),
					}},
					Containers: []corev1.Container{{
						Name:         feastContainer,
						Image:        spec.Image,
						Command:      []string{"sh", "-c", feastScript},
						WorkingDir:   workDir,
						Env:          []corev1.EnvVar{{Name: "FEAST_END_TIME", Value: now.UTC().Format("2006-01-02T15:04:05")}},
						VolumeMounts: mounts,
						Resources:    resources,
					}},
				},
			},
		},
	}
	return job
}

// feastResources returns the Feast container's default requests and limits.
// NOTE: estimates for a small feature repository, not measurements.
func feastResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("500m"),
			corev1.ResourceMemory: resource.MustParse("1Gi"),
		},
		Limits: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("2"),
			corev1.ResourceMemory: resource.MustParse("4Gi"),
		},
	}
}

// cloneResources returns the clone container's requests and limits, set so
// that the pod is admitted in a namespace with a CPU and memory quota.
func cloneResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("100m"),
			corev1.ResourceMemory: resource.MustParse("128Mi"),
		},
		Limits: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("500m"),
			corev1.ResourceMemory: resource.MustParse("512Mi"),
		},
	}
}

// PlanRunJob returns the create call for job, in place when the Job exists
// with the request's label. The request is the job's LabelRequest label,
// which FeastJob sets.
func (c *Client) PlanRunJob(ctx context.Context, job *batchv1.Job) (*Plan, error) {
	request := job.Labels[LabelRequest]
	if err := validateRequest(request); err != nil {
		return nil, permanentf("job %s: label %s: %w", job.Name, LabelRequest, err)
	}
	if job.Labels[LabelManagedBy] != ManagedBy {
		return nil, permanentf("job %s lacks label %s=%s", job.Name, LabelManagedBy, ManagedBy)
	}
	call, err := c.planCreate(ctx, request, job.DeepCopy())
	if err != nil {
		return nil, err
	}
	return &Plan{Request: request, Calls: []Call{call}}, nil
}

// RunJob creates job, or finds it when an earlier run of the same request
// created it. It does not wait for the Job: poll JobStatus.
func (c *Client) RunJob(ctx context.Context, job *batchv1.Job) (Outcome, error) {
	plan, err := c.PlanRunJob(ctx, job)
	if err != nil {
		return Outcome{}, err
	}
	outcomes, err := c.Apply(ctx, plan)
	if err != nil {
		return Outcome{}, err
	}
	return outcomes[0], nil
}

// JobState is a Job's progress as its conditions report it.
type JobState struct {
	// Done is true once the outcome is decided: the Job has the condition
	// Complete or Failed, or SuccessCriteriaMet or FailureTarget, which
	// the Job controller sets before the last pods have stopped.
	Done bool
	// Succeeded is true when the Job completed or met its success
	// criteria.
	Succeeded bool
	// Reason is the deciding condition's reason, such as
	// BackoffLimitExceeded or DeadlineExceeded, or Suspended, Pending or
	// Running while the Job runs.
	Reason string
	// Message is the deciding condition's message, or the pod counts.
	Message string
}

// JobStatus reads the Job's conditions. A missing Job is a permanent error.
func (c *Client) JobStatus(ctx context.Context, namespace, name string) (JobState, error) {
	job, err := c.kube.BatchV1().Jobs(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return JobState{}, fmt.Errorf("reading %s: %w", ObjectRef{Resource: resourceJobs, Namespace: namespace, Name: name}, err)
	}
	return jobState(job), nil
}

func jobState(job *batchv1.Job) JobState {
	condition := func(kind batchv1.JobConditionType) *batchv1.JobCondition {
		for i := range job.Status.Conditions {
			c := &job.Status.Conditions[i]
			if c.Type == kind && c.Status == corev1.ConditionTrue {
				return c
			}
		}
		return nil
	}
	decided := func(c *batchv1.JobCondition, succeeded bool) JobState {
		reason := c.Reason
		if reason == "" {
			reason = string(c.Type)
		}
		return JobState{Done: true, Succeeded: succeeded, Reason: reason, Message: c.Message}
	}

	// The final conditions come first, because a Job keeps FailureTarget or
	// SuccessCriteriaMet after it gets Failed or Complete.
	if c := condition(batchv1.JobFailed); c != nil {
		return decided(c, false)
	}
	if c := condition(batchv1.JobComplete); c != nil {
		return decided(c, true)
	}
	if c := condition(batchv1.JobFailureTarget); c != nil {
		return decided(c, false)
	}
	if c := condition(batchv1.JobSuccessCriteriaMet); c != nil {
		return decided(c, true)
	}

	counts := fmt.Sprintf("%d active, %d succeeded, %d failed pods", job.Status.Active, job.Status.Succeeded, job.Status.Failed)
	if c := condition(batchv1.JobSuspended); c != nil {
		return JobState{Reason: "Suspended", Message: c.Message}
	}
	if job.Status.Active == 0 {
		return JobState{Reason: "Pending", Message: counts}
	}
	return JobState{Reason: "Running", Message: counts}
}

// dnsLabel lowercases s, replaces characters a DNS label cannot contain with
// '-', and cuts it to 63 characters without a trailing '-'.
func dnsLabel(s string) string {
	return dnsName(s, 63, false)
}

// dnsName lowercases s, replaces characters a DNS-1123 name cannot contain
// with '-', cuts it to max characters and trims '-' and '.' from both ends.
// Dots are kept when allowDots is true.
func dnsName(s string, max int, allowDots bool) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		case r == '.' && allowDots:
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	name := b.String()
	if len(name) > max {
		name = name[:max]
	}
	return strings.Trim(name, "-.")
}
