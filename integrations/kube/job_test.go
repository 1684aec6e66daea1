package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

func feastSpec() FeastSpec {
	return FeastSpec{
		Namespace:      "ml-churn",
		Request:        testRequest,
		Image:          "feastdev/feature-server:0.40.0",
		Repository:     "https://github.com/example/features.git",
		Ref:            "main",
		Path:           "feature_repo",
		ServiceAccount: "churn-sa",
	}
}

var feastNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))

func TestFeastJobSpec(t *testing.T) {
	job := FeastJob(feastSpec(), feastNow)

	assert.Equal(t, "feast-r-12", job.Name)
	assert.Equal(t, "ml-churn", job.Namespace)
	assert.Equal(t, testRequest, job.Labels[LabelRequest])
	assert.Equal(t, ManagedBy, job.Labels[LabelManagedBy])
	assert.Equal(t, testRequest, job.Spec.Template.Labels[LabelRequest])
	require.NotNil(t, job.Spec.BackoffLimit)
	assert.Equal(t, int32(FeastBackoffLimit), *job.Spec.BackoffLimit)
	require.NotNil(t, job.Spec.ActiveDeadlineSeconds)
	assert.Equal(t, int64(3600), *job.Spec.ActiveDeadlineSeconds)
	assert.Nil(t, job.Spec.TTLSecondsAfterFinished)

	pod := job.Spec.Template.Spec
	assert.Equal(t, corev1.RestartPolicyNever, pod.RestartPolicy)
	assert.Equal(t, "churn-sa", pod.ServiceAccountName)
	require.Len(t, pod.Volumes, 1)
	require.NotNil(t, pod.Volumes[0].EmptyDir)

	require.Len(t, pod.InitContainers, 1)
	clone := pod.InitContainers[0]
	assert.Equal(t, DefaultGitImage, clone.Image)
	assert.Equal(t, []corev1.EnvVar{
		{Name: "REPO_DIR", Value: "/workspace/repo"},
		{Name: "GIT_REPOSITORY", Value: "https://github.com/example/features.git"},
		{Name: "GIT_REF", Value: "main"},
	}, clone.Env)
	assert.Equal(t, []string{"sh", "-c", cloneScript}, clone.Command)
	assert.NotEmpty(t, clone.Resources.Limits)

	require.Len(t, pod.Containers, 1)
	feast := pod.Containers[0]
	assert.Equal(t, "feastdev/feature-server:0.40.0", feast.Image)
	assert.Equal(t, "/workspace/repo/feature_repo", feast.WorkingDir)
	assert.Equal(t, []corev1.EnvVar{{Name: "FEAST_END_TIME", Value: "2026-03-04T04:06:07"}}, feast.Env)
	assert.Contains(t, feast.Command[2], "feast apply\n")
	assert.Contains(t, feast.Command[2], `feast materialize-incremental "$FEAST_END_TIME"`)
	assert.Equal(t, clone.VolumeMounts, feast.VolumeMounts)
	assert.NotEmpty(t, feast.Resources.Requests)
}

func TestFeastJobDefaults(t *testing.T) {
	spec := feastSpec()
	spec.Ref = ""
	spec.Path = ""
	spec.GitImage = "registry.example/git:1"
	spec.ActiveDeadline = 90 * time.Second

	job := FeastJob(spec, feastNow)

	pod := job.Spec.Template.Spec
	assert.Equal(t, "registry.example/git:1", pod.InitContainers[0].Image)
	assert.Contains(t, pod.InitContainers[0].Env, corev1.EnvVar{Name: "GIT_REF", Value: "HEAD"})
	assert.Equal(t, "/workspace/repo", pod.Containers[0].WorkingDir)
	assert.Equal(t, int64(90), *job.Spec.ActiveDeadlineSeconds)
}

func TestFeastJobKeepsPathInsideClone(t *testing.T) {
	spec := feastSpec()
	spec.Path = "../../etc"

	job := FeastJob(spec, feastNow)

	assert.Equal(t, "/workspace/repo/etc", job.Spec.Template.Spec.Containers[0].WorkingDir)
	assert.Error(t, spec.Validate())
}

func TestFeastJobNameIsValidForLongRequest(t *testing.T) {
	name := FeastJobName("R-" + strings.Repeat("9", 70) + "_x")

	assert.LessOrEqual(t, len(name), 63)
	assert.Empty(t, content.IsDNS1123Label(name))
	assert.True(t, strings.HasPrefix(name, "feast-r-999"))
}

func TestFeastSpecValidate(t *testing.T) {
	assert.NoError(t, feastSpec().Validate())

	cases := []struct {
		name   string
		change func(*FeastSpec)
		want   string
	}{
		{"no request", func(s *FeastSpec) { s.Request = "" }, "request id is empty"},
		{"bad namespace", func(s *FeastSpec) { s.Namespace = "ML" }, `namespace "ML" is not valid`},
		{"no image", func(s *FeastSpec) { s.Image = "" }, "feast image is empty"},
		{"no repository", func(s *FeastSpec) { s.Repository = "" }, "repository is empty"},
		{"password in URL", func(s *FeastSpec) { s.Repository = "https://bot:hunter2@github.com/x/y.git" }, "repository URL contains a password"},
		{"ref like a flag", func(s *FeastSpec) { s.Ref = "--upload-pack=x" }, "starts with '-'"},
		{"absolute path", func(s *FeastSpec) { s.Path = "/features" }, "clean relative path"},
		{"path leaves repository", func(s *FeastSpec) { s.Path = "../x" }, "clean relative path"},
		{"bad service account", func(s *FeastSpec) { s.ServiceAccount = "Bad_SA" }, `service account "Bad_SA" is not valid`},
		{"negative deadline", func(s *FeastSpec) { s.ActiveDeadline = -time.Second }, "negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := feastSpec()
			tc.change(&spec)

			err := spec.Validate()

			require.Error(t, err)
			assert.True(t, IsPermanent(err))
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
}

func TestRunJobCreatesThenFinds(t *testing.T) {
	ctx := context.Background()
	client, kube := newFake()
	job := FeastJob(feastSpec(), feastNow)

	first, err := client.RunJob(ctx, job)
	require.NoError(t, err)
	assert.True(t, first.Changed)
	assert.Equal(t, ObjectRef{Resource: "jobs", Namespace: "ml-churn", Name: "feast-r-12"}, first.ObjectRef)
	kube.ClearActions()

	// A retry after a crash builds the Job again with a later time.
	second, err := client.RunJob(ctx, FeastJob(feastSpec(), feastNow.Add(time.Minute)))
	require.NoError(t, err)
	assert.False(t, second.Changed)
	assert.Empty(t, writes(kube))

	stored, err := kube.BatchV1().Jobs("ml-churn").Get(ctx, "feast-r-12", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "2026-03-04T04:06:07", stored.Spec.Template.Spec.Containers[0].Env[0].Value)
}

func TestRunJobRejectsForeignJob(t *testing.T) {
	foreign := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "feast-r-12", Namespace: "ml-churn", Labels: map[string]string{"team": "x"}}}
	client, kube := newFake(foreign)

	_, err := client.RunJob(context.Background(), FeastJob(feastSpec(), feastNow))

	require.Error(t, err)
	assert.True(t, IsPermanent(err))
	assert.Contains(t, err.Error(), "jobs/feast-r-12 in namespace ml-churn already exists and has no label sopbot.dev/request")
	assert.Empty(t, writes(kube))
}

func TestRunJobRequiresRequestLabels(t *testing.T) {
	client, kube := newFake()
	job := FeastJob(feastSpec(), feastNow)
	delete(job.Labels, LabelManagedBy)

	_, err := client.RunJob(context.Background(), job)
	require.Error(t, err)
	assert.True(t, IsPermanent(err))
	assert.Contains(t, err.Error(), "lacks label app.kubernetes.io/managed-by=sopbot")

	delete(job.Labels, LabelRequest)
	_, err = client.RunJob(context.Background(), job)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "request id is empty")
	assert.Empty(t, kube.Actions())
}

func TestPlanRunJobIsDryRun(t *testing.T) {
	client, kube := newFake()

	plan, err := client.PlanRunJob(context.Background(), FeastJob(feastSpec(), feastNow))
	require.NoError(t, err)

	requireReadOnly(t, kube)
	out := plan.String()
	assert.True(t, strings.HasPrefix(out, "create jobs/feast-r-12 in namespace ml-churn\napiVersion: batch/v1\nkind: Job\n"), out)
	assert.Contains(t, out, "activeDeadlineSeconds: 3600")
	assert.Contains(t, out, "value: 2026-03-04T04:06:07\n")
}

func TestJobStatus(t *testing.T) {
	condition := func(kind batchv1.JobConditionType, reason, message string) batchv1.JobCondition {
		return batchv1.JobCondition{Type: kind, Status: corev1.ConditionTrue, Reason: reason, Message: message}
	}
	cases := []struct {
		name   string
		status batchv1.JobStatus
		want   JobState
	}{
		{"pending", batchv1.JobStatus{}, JobState{Reason: "Pending", Message: "0 active, 0 succeeded, 0 failed pods"}},
		{"running", batchv1.JobStatus{Active: 1, Failed: 1}, JobState{Reason: "Running", Message: "1 active, 0 succeeded, 1 failed pods"}},
		{"suspended", batchv1.JobStatus{Conditions: []batchv1.JobCondition{condition(batchv1.JobSuspended, "JobSuspended", "Job suspended")}},
			JobState{Reason: "Suspended", Message: "Job suspended"}},
		{"complete", batchv1.JobStatus{Succeeded: 1, Conditions: []batchv1.JobCondition{
			condition(batchv1.JobSuccessCriteriaMet, "CompletionsReached", "Reached expected number of succeeded pods"),
			condition(batchv1.JobComplete, "CompletionsReached", "Reached expected number of succeeded pods"),
		}}, JobState{Done: true, Succeeded: true, Reason: "CompletionsReached", Message: "Reached expected number of succeeded pods"}},
		{"complete without reason", batchv1.JobStatus{Conditions: []batchv1.JobCondition{condition(batchv1.JobComplete, "", "")}},
			JobState{Done: true, Succeeded: true, Reason: "Complete"}},
		{"success criteria met", batchv1.JobStatus{Active: 1, Conditions: []batchv1.JobCondition{
			condition(batchv1.JobSuccessCriteriaMet, "SuccessPolicy", "Matched rules at index 0"),
		}}, JobState{Done: true, Succeeded: true, Reason: "SuccessPolicy", Message: "Matched rules at index 0"}},
		{"failure target", batchv1.JobStatus{Active: 1, Conditions: []batchv1.JobCondition{
			condition(batchv1.JobFailureTarget, "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
		}}, JobState{Done: true, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"}},
		{"failed", batchv1.JobStatus{Failed: 3, Conditions: []batchv1.JobCondition{
			condition(batchv1.JobFailureTarget, "DeadlineExceeded", "Job was active longer than specified deadline"),
			condition(batchv1.JobFailed, "DeadlineExceeded", "Job was active longer than specified deadline"),
		}}, JobState{Done: true, Reason: "DeadlineExceeded", Message: "Job was active longer than specified deadline"}},
		{"false condition ignored", batchv1.JobStatus{Active: 1, Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobFailed, Status: corev1.ConditionFalse},
		}}, JobState{Reason: "Running", Message: "1 active, 0 succeeded, 0 failed pods"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "feast-r-12", Namespace: "ml-churn"}, Status: tc.status}
			client, _ := newFake(job)

			state, err := client.JobStatus(context.Background(), "ml-churn", "feast-r-12")

			require.NoError(t, err)
			assert.Equal(t, tc.want, state)
		})
	}
}

func TestJobStatusMissingJobIsPermanent(t *testing.T) {
	client, _ := newFake()

	_, err := client.JobStatus(context.Background(), "ml-churn", "feast-r-12")

	require.Error(t, err)
	assert.True(t, IsPermanent(err))
	assert.Contains(t, err.Error(), "reading jobs/feast-r-12 in namespace ml-churn")
}

// jobPod returns a pod of the Feast Job labelled with label, whose init
// container has terminated and whose main container runs.
func jobPod(name, label string, created time.Time) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "ml-churn",
			Labels:            map[string]string{label: "feast-r-12"},
			CreationTimestamp: metav1.NewTime(created),
		},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "clone"}},
			Containers:     []corev1.Container{{Name: "feast"}},
		},
		Status: corev1.PodStatus{
			InitContainerStatuses: []corev1.ContainerStatus{{Name: "clone", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}}},
			ContainerStatuses:     []corev1.ContainerStatus{{Name: "feast", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}},
		},
	}
}

// serveLogs returns "<container> log" for each log read and records the
// container of each read.
func serveLogs(kube interface {
	PrependReactor(string, string, k8stesting.ReactionFunc)
}, seen *[]string) {
	kube.PrependReactor("get", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.GetSubresource() != "log" {
			return false, nil, nil
		}
		options := action.(k8stesting.GenericAction).GetValue().(*corev1.PodLogOptions)
		*seen = append(*seen, options.Container)
		if *options.TailLines != 5 || *options.LimitBytes != maxLogBytes {
			return true, nil, errors.New("unexpected log options")
		}
		return true, &runtime.Unknown{Raw: []byte(options.Container + " log")}, nil
	})
}

func TestLogTailReadsNewestPod(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	older := jobPod("feast-r-12-old", labelJobName, start)
	newer := jobPod("feast-r-12-new", labelJobName, start.Add(time.Minute))
	other := jobPod("other", labelJobName, start.Add(time.Hour))
	other.Labels[labelJobName] = "feast-r-13"
	client, kube := newFake(older, newer, other)
	var seen []string
	serveLogs(kube, &seen)

	out, err := client.LogTail(context.Background(), "ml-churn", "feast-r-12", 5)

	require.NoError(t, err)
	assert.Equal(t, "pod feast-r-12-new is the newest of 2 pods of job feast-r-12\n"+
		"== pod feast-r-12-new container clone (last 5 lines) ==\nclone log\n"+
		"== pod feast-r-12-new container feast (last 5 lines) ==\nfeast log\n", out)
	assert.Equal(t, []string{"clone", "feast"}, seen)
}

func TestLogTailFindsLegacyLabel(t *testing.T) {
	pod := jobPod("feast-r-12-abc", labelJobNameLegacy, time.Now())
	client, kube := newFake(pod)
	var seen []string
	serveLogs(kube, &seen)

	out, err := client.LogTail(context.Background(), "ml-churn", "feast-r-12", 5)

	require.NoError(t, err)
	assert.Contains(t, out, "feast log\n")
}

func TestLogTailWithoutLogs(t *testing.T) {
	t.Run("no pods", func(t *testing.T) {
		client, _ := newFake()

		out, err := client.LogTail(context.Background(), "ml-churn", "feast-r-12", 0)

		require.NoError(t, err)
		assert.Equal(t, "no log available: job feast-r-12 in namespace ml-churn has no pods\n", out)
	})
	t.Run("container not started", func(t *testing.T) {
		pod := jobPod("feast-r-12-abc", labelJobName, time.Now())
		pod.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}
		client, _ := newFake(pod)

		out, err := client.LogTail(context.Background(), "ml-churn", "feast-r-12", 0)

		require.NoError(t, err)
		assert.Contains(t, out, "== pod feast-r-12-abc container clone (last 50 lines) ==\nfake logs\n")
		assert.Contains(t, out, "no log available: container feast has not started\n")
	})
	t.Run("log read fails", func(t *testing.T) {
		pod := jobPod("feast-r-12-abc", labelJobName, time.Now())
		client, kube := newFake(pod)
		kube.PrependReactor("get", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
			return action.GetSubresource() == "log", nil, errors.New("the kubelet serves no logs")
		})

		out, err := client.LogTail(context.Background(), "ml-churn", "feast-r-12", 10)

		require.NoError(t, err)
		assert.Contains(t, out, "no log available: ")
		assert.Contains(t, out, "the kubelet serves no logs")
	})
}

func TestLogTailListFailureIsError(t *testing.T) {
	client, kube := newFake()
	failOnce(kube, "list", "pods", serverError())

	_, err := client.LogTail(context.Background(), "ml-churn", "feast-r-12", 10)

	require.Error(t, err)
	assert.False(t, IsPermanent(err))
	assert.Contains(t, err.Error(), "listing pods of job feast-r-12 in namespace ml-churn")
}
