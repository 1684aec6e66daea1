package infra_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/infra"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/kfp"
	"github.com/sopbot/sopbot/integrations/kfp/kfpfake"
	"github.com/sopbot/sopbot/integrations/kube"
)

// fakeExperiments keeps experiments in memory, as MLflow would.
type fakeExperiments struct {
	byName map[string]string
	tags   map[string]map[string]string
	calls  int
}

func (f *fakeExperiments) EnsureExperiment(_ context.Context, name string, tags map[string]string) (string, bool, error) {
	f.calls++
	if id, ok := f.byName[name]; ok {
		if owner := f.tags[id][infra.TagRequest]; owner != tags[infra.TagRequest] {
			return "", false, bot.Permanent(fmt.Errorf("experiment %s belongs to %s", name, owner))
		}
		return id, false, nil
	}
	id := fmt.Sprint(100 + len(f.byName))
	f.byName[name], f.tags[id] = id, tags
	return id, true, nil
}

func (f *fakeExperiments) ExperimentURL(id string) string {
	return "http://mlflow.test/#/experiments/" + id
}

type env struct {
	t     *testing.T
	ctx   context.Context
	db    *store.DB
	kube  *fake.Clientset
	kfp   *kfpfake.Fake
	exp   *fakeExperiments
	deps  infra.Deps
	req   store.Request
	runs  map[string]store.ActionRun
	now   time.Time
	notes []string
}

func newEnv(t *testing.T, params map[string]string) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "bot.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	fk := kfpfake.New()
	fk.Start()
	t.Cleanup(fk.Close)
	kc, err := kfp.New(kfp.Config{BaseURL: fk.URL()})
	require.NoError(t, err)
	clientset := fake.NewClientset()
	e := &env{t: t, ctx: ctx, db: db, kube: clientset, kfp: fk, exp: &fakeExperiments{byName: map[string]string{}, tags: map[string]map[string]string{}},
		req: store.Request{ID: 7, Params: params}, runs: map[string]store.ActionRun{}, now: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
	e.deps = infra.Deps{DB: db, Kube: kube.New(clientset), KubeAPI: clientset, KFP: kc, Experiments: e.exp, Poll: time.Second,
		Onboarding: config.Onboarding{
			Feast:      config.Feast{Image: "feast:test", Repository: "https://git.test/features.git", Path: "repo", Deadline: "30m"},
			InitialRun: config.Pipeline{PipelineID: "pipe-1", PipelineVersionID: "v1", Parameters: map[string]any{"sample": true}},
		},
		Rotation: config.Config{}.WithDefaults().Rotation,
	}
	return e
}

func (e *env) action(name string) bot.InfraAction {
	e.t.Helper()
	a, ok := infra.Actions(e.deps)[name]
	require.True(e.t, ok, "action %s is built", name)
	return a
}

// step runs one step of an action with the progress saved so far.
func (e *env) step(name string) bot.StepResult {
	e.t.Helper()
	run := e.runs[name]
	run.Action = name
	res, err := e.action(name).Step(e.ctx, bot.ActionInput{Request: e.req, Run: run, Runs: e.runs, Now: e.now})
	require.NoError(e.t, err)
	if res.Progress != nil {
		data, err := json.Marshal(res.Progress)
		require.NoError(e.t, err)
		run.Progress = string(data)
	}
	if res.Notice != "" {
		e.notes = append(e.notes, res.Notice)
	}
	if res.Wait == 0 {
		data, err := json.Marshal(res.Result)
		require.NoError(e.t, err)
		run.Result = string(data)
		run.State = store.RunSucceeded
		if res.Failed != "" {
			run.State = store.RunFailed
		}
	}
	e.runs[name] = run
	return res
}

// finish steps an action until it ends, calling between after each wait.
func (e *env) finish(name string, between func(i int)) bot.StepResult {
	e.t.Helper()
	for i := 0; i < 20; i++ {
		res := e.step(name)
		if res.Wait == 0 {
			return res
		}
		e.now = e.now.Add(res.Wait)
		if between != nil {
			between(i)
		}
	}
	e.t.Fatalf("action %s did not finish in 20 steps", name)
	return bot.StepResult{}
}

var onboardParams = map[string]string{"project": "churn", "team": "risk", "cost-center": "cc-42"}

func TestOnboardCreatesNamespaceOnce(t *testing.T) {
	e := newEnv(t, onboardParams)
	res := e.finish(bot.ActionK8sOnboard, nil)
	assert.Empty(t, res.Failed)
	ns, err := e.kube.CoreV1().Namespaces().Get(e.ctx, "ml-churn", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "risk", ns.Labels["sopbot.dev/team"])
	assert.Equal(t, "R-7", ns.Labels["sopbot.dev/request"])
	_, err = e.kube.CoreV1().ServiceAccounts("ml-churn").Get(e.ctx, "churn-sa", metav1.GetOptions{})
	assert.NoError(t, err)
	assert.Contains(t, res.Summary, "Namespace `ml-churn` is ready")

	// A retry after a crash finds every object in place.
	again := e.finish(bot.ActionK8sOnboard, nil)
	assert.Contains(t, again.Summary, "already present")
	assert.NotContains(t, again.Summary, "created ")
}

func TestOnboardDryRunChangesNothing(t *testing.T) {
	e := newEnv(t, onboardParams)
	text, err := e.action(bot.ActionK8sOnboard).Plan(e.ctx, bot.ActionInput{Request: e.req, Now: e.now})
	require.NoError(t, err)
	assert.Contains(t, text, "namespaces/ml-churn")
	for _, a := range e.kube.Actions() {
		assert.Contains(t, []string{"get", "list"}, a.GetVerb(), "a plan only reads")
	}
}

func TestExperimentTaggedAndReused(t *testing.T) {
	e := newEnv(t, onboardParams)
	res := e.finish(bot.ActionMLflowExperiment, nil)
	assert.Contains(t, res.Summary, "Created MLflow experiment")
	assert.Contains(t, res.Summary, "**Experiment ID: `100`**")
	id := e.exp.byName["churn-experiment"]
	assert.Equal(t, map[string]string{"team": "risk", "env": "dev", "cost-center": "cc-42", "sopbot.request": "R-7"}, e.exp.tags[id])
	again := e.finish(bot.ActionMLflowExperiment, nil)
	assert.Contains(t, again.Summary, "Found MLflow experiment")
	assert.Len(t, e.exp.byName, 1)
}

// completeJob marks the Job done, as the Job controller would.
func (e *env) completeJob(name string, condition batchv1.JobConditionType, reason string) {
	e.t.Helper()
	job, err := e.kube.BatchV1().Jobs("ml-churn").Get(e.ctx, name, metav1.GetOptions{})
	require.NoError(e.t, err)
	job.Status.Conditions = append(job.Status.Conditions, batchv1.JobCondition{Type: condition, Status: corev1.ConditionTrue, Reason: reason})
	_, err = e.kube.BatchV1().Jobs("ml-churn").UpdateStatus(e.ctx, job, metav1.UpdateOptions{})
	require.NoError(e.t, err)
}

func TestFeastJobReportsOutcome(t *testing.T) {
	e := newEnv(t, onboardParams)
	first := e.step(bot.ActionFeastApply)
	require.Positive(t, first.Wait, "the job is created and polled")
	jobs, err := e.kube.BatchV1().Jobs("ml-churn").List(e.ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, jobs.Items, 1)
	name := jobs.Items[0].Name
	assert.Equal(t, kube.FeastJobName("R-7"), name)
	assert.Equal(t, "churn-sa", jobs.Items[0].Spec.Template.Spec.ServiceAccountName)

	e.now = e.now.Add(time.Minute)
	assert.Positive(t, e.step(bot.ActionFeastApply).Wait, "a running job is polled again")
	e.completeJob(name, batchv1.JobComplete, "Completed")
	res := e.step(bot.ActionFeastApply)
	assert.Empty(t, res.Failed)
	assert.Contains(t, res.Summary, "**succeeded**")
	assert.Contains(t, res.Summary, "materialize-incremental 2026-12-04T09:00:00", "the end time is the first step's")
	assert.Contains(t, res.Summary, "Last lines of its log")
}

func TestFeastJobFailure(t *testing.T) {
	e := newEnv(t, onboardParams)
	e.step(bot.ActionFeastApply)
	e.completeJob(kube.FeastJobName("R-7"), batchv1.JobFailed, "BackoffLimitExceeded")
	res := e.step(bot.ActionFeastApply)
	assert.Equal(t, "job "+kube.FeastJobName("R-7")+" failed: BackoffLimitExceeded", res.Failed)
}

func TestFeastNeedsConfig(t *testing.T) {
	e := newEnv(t, onboardParams)
	e.deps.Onboarding.Feast = config.Feast{}
	_, err := e.action(bot.ActionFeastApply).Step(e.ctx, bot.ActionInput{Request: e.req, Now: e.now})
	require.Error(t, err)
	assert.True(t, bot.IsPermanentAction(err))
	assert.Contains(t, err.Error(), "onboarding.feast.image")
}

func TestInitialRunSubmittedOnceAndPolled(t *testing.T) {
	e := newEnv(t, onboardParams)
	e.runs[bot.ActionMLflowExperiment] = store.ActionRun{Action: bot.ActionMLflowExperiment, State: store.RunSucceeded,
		Result: `{"name":"churn-experiment","experiment_id":"100"}`}
	first := e.step(bot.ActionKFPInitialRun)
	require.Positive(t, first.Wait)
	assert.Contains(t, first.Notice, "submitted the initial training run")

	// A crash before the progress was saved: the retry finds the run by name.
	e.runs[bot.ActionKFPInitialRun] = store.ActionRun{}
	res := e.finish(bot.ActionKFPInitialRun, nil)
	assert.Empty(t, res.Failed)
	assert.Contains(t, res.Summary, "**succeeded**")
	created := e.kfp.Created()
	require.Len(t, created, 1, "one run is created across the retry")
	assert.Equal(t, "100", fmt.Sprint(created[0].Parameters["mlflow_experiment_id"]))
	e.finish(bot.ActionInventoryAdd, nil)
	projects, err := e.db.Projects(e.ctx, e.db.SQL)
	require.NoError(t, err)
	require.Len(t, projects, 1)
	assert.Equal(t, created[0].ID, projects[0].PipelineRun, "the inventory names the initial training run")
	assert.Equal(t, "churn", created[0].Parameters["project"])
	assert.Equal(t, true, created[0].Parameters["sample"])
}

func TestInitialRunFailure(t *testing.T) {
	e := newEnv(t, onboardParams)
	e.kfp.SetOutcome("sopbot R-7", "FAILED")
	res := e.finish(bot.ActionKFPInitialRun, nil)
	assert.Contains(t, res.Failed, "ended FAILED")
}

func TestInventoryAddStoresProject(t *testing.T) {
	e := newEnv(t, onboardParams)
	e.runs[bot.ActionMLflowExperiment] = store.ActionRun{State: store.RunSucceeded, Result: `{"experiment_id":"100"}`}
	e.finish(bot.ActionInventoryAdd, nil)
	e.finish(bot.ActionInventoryAdd, nil)
	projects, err := e.db.Projects(e.ctx, e.db.SQL)
	require.NoError(t, err)
	require.Len(t, projects, 1)
	assert.Equal(t, store.Project{Name: "churn", Team: "risk", CostCenter: "cc-42", Namespace: "ml-churn", ExperimentID: "100", RequestID: 7,
		OnboardedAt: projects[0].OnboardedAt}, projects[0])
}

const secretValue = "s3cr3t-value-never-shown"

var rotateParams = map[string]string{"secret": "mlflow-secrets", "namespace": "mlops", "deployment": "mlflow-server"}

// seedInventory adds the rotation's secret to the inventory.
func (e *env) seedInventory(kind string) {
	e.t.Helper()
	err := e.db.InTx(e.ctx, func(tx *sql.Tx) error {
		return e.db.SeedSecret(e.ctx, tx, store.Secret{Name: "mlflow-secrets", Namespace: "mlops", Deployment: "mlflow-server", Kind: kind})
	})
	require.NoError(e.t, err)
}

// seedRotation creates the old secret, a deployment that reads it and the
// inventory row.
func (e *env) seedRotation(kind string) {
	e.t.Helper()
	_, err := e.kube.CoreV1().Secrets("mlops").Create(e.ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "mlflow-secrets", Namespace: "mlops"},
		Data:       map[string][]byte{"AWS_ACCESS_KEY_ID": []byte(secretValue), "AWS_SECRET_ACCESS_KEY": []byte(secretValue)},
	}, metav1.CreateOptions{})
	require.NoError(e.t, err)
	replicas := int32(2)
	_, err = e.kube.AppsV1().Deployments("mlops").Create(e.ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "mlflow-server", Namespace: "mlops", Generation: 1},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "server", EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "mlflow-secrets"}}}},
		}}}}},
	}, metav1.CreateOptions{})
	require.NoError(e.t, err)
	e.seedInventory(kind)
}

// rollOut sets the deployment's status to a finished rollout.
func (e *env) rollOut() {
	e.t.Helper()
	d, err := e.kube.AppsV1().Deployments("mlops").Get(e.ctx, "mlflow-server", metav1.GetOptions{})
	require.NoError(e.t, err)
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2, ReadyReplicas: 2}
	_, err = e.kube.AppsV1().Deployments("mlops").UpdateStatus(e.ctx, d, metav1.UpdateOptions{})
	require.NoError(e.t, err)
}

func (e *env) deploymentSecret() string {
	e.t.Helper()
	d, err := e.kube.AppsV1().Deployments("mlops").Get(e.ctx, "mlflow-server", metav1.GetOptions{})
	require.NoError(e.t, err)
	return d.Spec.Template.Spec.Containers[0].EnvFrom[0].SecretRef.Name
}

// written collects everything the actions returned for people to read.
func written(results ...bot.StepResult) string {
	var b strings.Builder
	for _, r := range results {
		data, _ := json.Marshal(r.Result)
		b.WriteString(r.Summary + r.Failed + r.Notice + string(data))
	}
	return b.String()
}

func TestRotationGeneratedSecretEndToEnd(t *testing.T) {
	e := newEnv(t, rotateParams)
	e.seedRotation("database-password")
	smoke := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(smoke.Close)
	e.deps.Rotation.Secrets = []config.InventorySecret{{Name: "mlflow-secrets", Namespace: "mlops", Kind: "database-password", SmokeURL: smoke.URL}}

	prepared := e.finish(bot.ActionSecretPrepare, nil)
	require.Empty(t, prepared.Failed)
	newName := kube.NewSecretName("mlflow-secrets", "R-7")
	created, err := e.kube.CoreV1().Secrets("mlops").Get(e.ctx, newName, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Len(t, created.Data["AWS_ACCESS_KEY_ID"], 32)
	assert.NotEqual(t, secretValue, string(created.Data["AWS_ACCESS_KEY_ID"]))

	repointed := e.finish(bot.ActionSecretRepoint, nil)
	require.Empty(t, repointed.Failed)
	assert.Equal(t, newName, e.deploymentSecret())

	verified := e.finish(bot.ActionRolloutVerify, func(int) { e.rollOut() })
	require.Empty(t, verified.Failed, verified.Summary)
	assert.Equal(t, []string{"s3-1", "s3-3"}, verified.Ticks)

	due := e.now.Add(24 * time.Hour)
	first := e.step(bot.ActionSecretRetire)
	assert.Equal(t, 24*time.Hour, first.Wait)
	assert.Contains(t, first.Notice, "stays until "+due.Format(time.RFC3339))
	e.now = e.now.Add(time.Hour)
	assert.Equal(t, 23*time.Hour, e.step(bot.ActionSecretRetire).Wait, "an early step waits for the rest")
	e.now = e.now.Add(23 * time.Hour)
	retired := e.step(bot.ActionSecretRetire)
	require.Empty(t, retired.Failed)
	_, err = e.kube.CoreV1().Secrets("mlops").Get(e.ctx, "mlflow-secrets", metav1.GetOptions{})
	assert.True(t, err != nil, "the old secret is gone")

	recorded := e.finish(bot.ActionSecretInventory, nil)
	inv, err := e.db.GetSecret(e.ctx, e.db.SQL, "mlops", "mlflow-secrets")
	require.NoError(t, err)
	assert.Equal(t, newName, inv.Current)
	assert.Equal(t, int64(7), inv.LastRequest)
	assert.False(t, inv.LastRotated.IsZero())

	all := written(prepared, repointed, verified, first, retired, recorded) + strings.Join(e.notes, "")
	assert.NotContains(t, all, secretValue)
	assert.NotContains(t, all, string(created.Data["AWS_ACCESS_KEY_ID"]))
}

func TestRotationSmokeFailureRollsBack(t *testing.T) {
	e := newEnv(t, rotateParams)
	e.seedRotation("database-password")
	smoke := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	t.Cleanup(smoke.Close)
	e.deps.Rotation.Secrets = []config.InventorySecret{{Name: "mlflow-secrets", Namespace: "mlops", Kind: "database-password", SmokeURL: smoke.URL}}
	e.finish(bot.ActionSecretPrepare, nil)
	e.finish(bot.ActionSecretRepoint, nil)
	res := e.finish(bot.ActionRolloutVerify, func(int) { e.rollOut() })
	assert.Contains(t, res.Failed, "the smoke check failed")
	assert.Contains(t, res.Failed, "502")
	assert.Equal(t, "mlflow-secrets", e.deploymentSecret(), "the deployment points at the old secret again")
	assert.Contains(t, res.Summary, "points at the old secret `mlflow-secrets` again")
}

func TestRotationWaitsForOutOfBandSecret(t *testing.T) {
	e := newEnv(t, rotateParams)
	e.seedRotation("cloud-credential")
	newName := kube.NewSecretName("mlflow-secrets", "R-7")
	first := e.step(bot.ActionSecretPrepare)
	require.Positive(t, first.Wait)
	assert.Contains(t, first.Notice, "Create `"+newName+"` in namespace `mlops`")
	assert.Contains(t, first.Notice, "`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`")
	assert.Empty(t, e.step(bot.ActionSecretPrepare).Notice, "the notice is given once")

	_, err := e.kube.CoreV1().Secrets("mlops").Create(e.ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: newName, Namespace: "mlops"},
		Data:       map[string][]byte{"AWS_ACCESS_KEY_ID": []byte("x")},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	res := e.step(bot.ActionSecretPrepare)
	assert.Contains(t, res.Failed, "does not have the keys of mlflow-secrets")
	assert.Contains(t, res.Failed, "AWS_SECRET_ACCESS_KEY")
	assert.NotContains(t, written(res), secretValue)
}

func TestRotationOutOfBandTimeout(t *testing.T) {
	e := newEnv(t, rotateParams)
	e.seedRotation("cloud-credential")
	e.step(bot.ActionSecretPrepare)
	e.now = e.now.Add(25 * time.Hour)
	res := e.step(bot.ActionSecretPrepare)
	assert.Contains(t, res.Failed, "did not appear within 24h0m0s")
}
