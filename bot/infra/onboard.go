package infra

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/evidence/scan"
	"github.com/sopbot/sopbot/integrations/kfp"
	"github.com/sopbot/sopbot/integrations/kube"
)

// Tags and labels the onboarding writes.
const (
	TagTeam       = "team"
	TagEnv        = "env"
	TagCostCenter = "cost-center"
	TagRequest    = "sopbot.request"
)

type k8sOnboard struct{ Deps }

func (a k8sOnboard) spec(req store.Request) kube.OnboardSpec {
	spec := kube.OnboardSpec{
		Project: req.Params["project"], Team: req.Params["team"], CostCenter: req.Params["cost-center"],
		Request: requestKey(req), Quota: a.Onboarding.Quota,
	}
	if rb := a.Onboarding.RoleBinding; rb != nil {
		spec.RoleBinding = kube.RoleBindingTemplate{Name: rb.Name, ClusterRole: rb.ClusterRole, Role: rb.Role}
		for _, s := range rb.Subjects {
			subject := rbacv1.Subject{Kind: s.Kind, Name: s.Name, Namespace: s.Namespace}
			if s.Kind == rbacv1.UserKind || s.Kind == rbacv1.GroupKind {
				subject.APIGroup = rbacv1.GroupName
			}
			spec.RoleBinding.Subjects = append(spec.RoleBinding.Subjects, subject)
		}
	}
	return spec
}

func (a k8sOnboard) Plan(ctx context.Context, in bot.ActionInput) (string, error) {
	plan, err := a.Kube.PlanOnboard(ctx, a.spec(in.Request))
	if err != nil {
		return "", err
	}
	return plan.String(), nil
}

func (a k8sOnboard) Step(ctx context.Context, in bot.ActionInput) (bot.StepResult, error) {
	result, err := a.Kube.Onboard(ctx, a.spec(in.Request))
	if err != nil {
		return bot.StepResult{}, kubeErr(err)
	}
	summary := fmt.Sprintf("Namespace `%s` is ready for team `%s` (cost center `%s`):\n%s",
		result.Namespace, in.Request.Params["team"], in.Request.Params["cost-center"], outcomeLines(result.Objects))
	if result.DefaultQuota {
		summary += "\nThe resource quota is the bot's default; set `onboarding.quota` in the config to size it."
	}
	var objects []string
	for _, o := range result.Objects {
		objects = append(objects, o.String())
	}
	return bot.StepResult{Summary: summary, Result: map[string]any{"namespace": result.Namespace, "objects": objects}}, nil
}

type mlflowExperiment struct{ Deps }

// ExperimentResult is the record of the onboarding's experiment.
type ExperimentResult struct {
	Name    string            `json:"name"`
	ID      string            `json:"experiment_id"`
	URL     string            `json:"url"`
	Created bool              `json:"created"`
	Tags    map[string]string `json:"tags"`
}

func experimentOf(req store.Request) (string, map[string]string) {
	return req.Params["project"] + "-experiment", map[string]string{
		TagTeam: req.Params["team"], TagEnv: "dev", TagCostCenter: req.Params["cost-center"], TagRequest: requestKey(req),
	}
}

func (a mlflowExperiment) Plan(_ context.Context, in bot.ActionInput) (string, error) {
	name, tags := experimentOf(in.Request)
	return fmt.Sprintf("# MLflow: get experiment %q by name; create it if missing\nPOST /api/2.0/mlflow/experiments/create name=%q tags=%s\n",
		name, name, formatTags(tags)), nil
}

func (a mlflowExperiment) Step(ctx context.Context, in bot.ActionInput) (bot.StepResult, error) {
	name, tags := experimentOf(in.Request)
	id, created, err := a.Experiments.EnsureExperiment(ctx, name, tags)
	if err != nil {
		return bot.StepResult{}, err
	}
	res := ExperimentResult{Name: name, ID: id, URL: a.Experiments.ExperimentURL(id), Created: created, Tags: tags}
	verb := "Created"
	if !created {
		verb = "Found"
	}
	summary := fmt.Sprintf("%s MLflow experiment [`%s`](%s), tagged %s.\n\n**Experiment ID: `%s`**. Write it into the project README (step 2).",
		verb, name, res.URL, formatTags(tags), id)
	return bot.StepResult{Summary: summary, Result: res}, nil
}

func formatTags(tags map[string]string) string {
	var parts []string
	for _, key := range []string{TagTeam, TagEnv, TagCostCenter, TagRequest} {
		if v, ok := tags[key]; ok {
			parts = append(parts, fmt.Sprintf("`%s=%s`", key, v))
		}
	}
	return strings.Join(parts, ", ")
}

type feastApply struct{ Deps }

type feastProgress struct {
	Job string    `json:"job"`
	End time.Time `json:"end"`
	// Attempt counts the Jobs this action created; Failed marks that the
	// last one failed, so a retry creates the next instead of reading the
	// failed one again.
	Attempt int  `json:"attempt"`
	Failed  bool `json:"failed,omitempty"`
}

// attemptName names the Job or run of an attempt: the first keeps the
// plain name, later ones add "-2", "-3" and so on.
func attemptName(name string, attempt int, sep string) string {
	if attempt <= 1 {
		return name
	}
	return fmt.Sprintf("%s%s%d", name, sep, attempt)
}

func (a feastApply) spec(req store.Request) (kube.FeastSpec, error) {
	f := a.Onboarding.Feast
	if f.Image == "" || f.Repository == "" {
		return kube.FeastSpec{}, permanent("onboarding.feast.image and onboarding.feast.repository must be set in the config for the feast job")
	}
	deadline, _ := time.ParseDuration(f.Deadline)
	return kube.FeastSpec{
		Namespace: "ml-" + req.Params["project"], Request: requestKey(req), Image: f.Image, GitImage: f.GitImage,
		Repository: f.Repository, Ref: f.Ref, Path: f.Path, ServiceAccount: req.Params["project"] + "-sa", ActiveDeadline: deadline,
	}, nil
}

func (a feastApply) Plan(ctx context.Context, in bot.ActionInput) (string, error) {
	spec, err := a.spec(in.Request)
	if err != nil {
		return "", err
	}
	plan, err := a.Kube.PlanRunJob(ctx, kube.FeastJob(spec, in.Now))
	if err != nil {
		return "", err
	}
	return plan.String(), nil
}

func (a feastApply) Step(ctx context.Context, in bot.ActionInput) (bot.StepResult, error) {
	spec, err := a.spec(in.Request)
	if err != nil {
		return bot.StepResult{}, err
	}
	var p feastProgress
	if err := in.Progress(&p); err != nil {
		return bot.StepResult{}, err
	}
	if p.Job == "" || p.Failed {
		// The end time of materialize-incremental is fixed on the first
		// step of an attempt and kept in the progress, so a rerun after a
		// crash creates the same Job.
		attempt := p.Attempt + 1
		job := kube.FeastJob(spec, in.Now)
		job.Name = attemptName(job.Name, attempt, "-")
		if _, err := a.Kube.RunJob(ctx, job); err != nil {
			return bot.StepResult{}, kubeErr(err)
		}
		p = feastProgress{Job: job.Name, End: in.Now.UTC(), Attempt: attempt}
		return bot.StepResult{Wait: a.Poll, Progress: p}, nil
	}
	state, err := a.Kube.JobStatus(ctx, spec.Namespace, p.Job)
	if err != nil {
		return bot.StepResult{}, kubeErr(err)
	}
	if !state.Done {
		return bot.StepResult{Wait: a.Poll}, nil
	}
	tail, err := a.Kube.LogTail(ctx, spec.Namespace, p.Job, 20)
	if err != nil {
		tail = "log unavailable: " + err.Error()
	}
	// The log goes on the issue, so credentials a feature store prints,
	// such as a connection string, are replaced first.
	if redacted, n := scan.RedactSecrets(tail); n > 0 {
		tail = redacted + fmt.Sprintf("\n(sopbot replaced %d credential(s) in this log)", n)
	}
	detail := ""
	if state.Message != "" {
		detail = " (" + state.Message + ")"
	}
	report := fmt.Sprintf("Job `%s/%s` (`feast apply`, then `feast materialize-incremental %s`): **%s**%s.\n\nLast lines of its log:\n%s",
		spec.Namespace, p.Job, p.End.Format("2006-01-02T15:04:05"), jobOutcome(state), detail, codeBlock(tail))
	res := map[string]any{"job": p.Job, "namespace": spec.Namespace, "succeeded": state.Succeeded, "reason": state.Reason}
	if !state.Succeeded {
		p.Failed = true
		return bot.StepResult{Failed: fmt.Sprintf("job %s failed: %s", p.Job, state.Reason), Summary: report, Result: res, Progress: p}, nil
	}
	return bot.StepResult{Summary: report, Result: res}, nil
}

func jobOutcome(s kube.JobState) string {
	if s.Succeeded {
		return "succeeded"
	}
	return "failed: " + s.Reason
}

type kfpInitialRun struct{ Deps }

type runProgress struct {
	RunID   string    `json:"run_id"`
	Started time.Time `json:"started"`
	// Attempt counts the runs this action submitted; Failed marks that the
	// last one ended without success, so a retry submits the next.
	Attempt int  `json:"attempt"`
	Failed  bool `json:"failed,omitempty"`
}

func (a kfpInitialRun) request(in bot.ActionInput) (kfp.RunRequest, error) {
	p := a.Onboarding.InitialRun
	if p.PipelineID == "" {
		return kfp.RunRequest{}, permanent("onboarding.initialRun.pipelineID must be set in the config for the initial training run")
	}
	project := in.Request.Params["project"]
	params := map[string]any{}
	for k, v := range p.Parameters {
		params[k] = v
	}
	params["project"] = project
	params["namespace"] = "ml-" + project
	params["request"] = requestKey(in.Request)
	var exp ExperimentResult
	if err := in.ResultOf(bot.ActionMLflowExperiment, &exp); err == nil {
		params["mlflow_experiment_id"] = exp.ID
		params["mlflow_experiment_name"] = exp.Name
	}
	return kfp.RunRequest{
		DisplayName:  fmt.Sprintf("sopbot %s initial training of %s", requestKey(in.Request), project),
		Description:  "Initial training run of the onboarding " + requestKey(in.Request),
		ExperimentID: p.ExperimentID, PipelineID: p.PipelineID, PipelineVersionID: p.PipelineVersionID,
		Parameters: params, ServiceAccount: p.ServiceAccount,
	}, nil
}

func (a kfpInitialRun) Plan(_ context.Context, in bot.ActionInput) (string, error) {
	r, err := a.request(in)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("# Kubeflow Pipelines: find a run named %q; create it if missing\nPOST /apis/v2beta1/runs display_name=%q pipeline_id=%q pipeline_version_id=%q parameters=%v\n",
		r.DisplayName, r.DisplayName, r.PipelineID, r.PipelineVersionID, r.Parameters), nil
}

func (a kfpInitialRun) Step(ctx context.Context, in bot.ActionInput) (bot.StepResult, error) {
	var p runProgress
	if err := in.Progress(&p); err != nil {
		return bot.StepResult{}, err
	}
	if p.RunID == "" || p.Failed {
		r, err := a.request(in)
		if err != nil {
			return bot.StepResult{}, err
		}
		attempt := p.Attempt + 1
		r.DisplayName = attemptName(r.DisplayName, attempt, " attempt ")
		run, _, err := a.KFP.EnsureRun(ctx, r)
		if err != nil {
			return bot.StepResult{}, kfpErr(err)
		}
		// A run found by its name is adopted only if the bot submitted it
		// for this request.
		if owner, _ := run.Parameters["request"].(string); owner != "" && owner != requestKey(in.Request) {
			return bot.StepResult{}, permanent("KFP run %s named %q was submitted for %s, not %s; rename or archive it, then retry", run.ID, r.DisplayName, owner, requestKey(in.Request))
		}
		p = runProgress{RunID: run.ID, Started: in.Now, Attempt: attempt}
		return bot.StepResult{Wait: a.Poll, Progress: p,
			Notice: fmt.Sprintf("submitted the initial training run [%s](%s); the bot reports when it ends.", run.ID, a.KFP.RunURL(run.ID))}, nil
	}
	run, err := a.KFP.GetRun(ctx, p.RunID)
	if err != nil {
		return bot.StepResult{}, kfpErr(err)
	}
	link := fmt.Sprintf("[%s](%s)", run.ID, a.KFP.RunURL(run.ID))
	res := map[string]any{"run_id": run.ID, "state": run.State, "url": a.KFP.RunURL(run.ID)}
	if !kfp.Terminal(run.State) {
		if timeout := a.Onboarding.InitialRun.TimeoutDuration(); in.Now.Sub(p.Started) > timeout {
			p.Failed = true
			return bot.StepResult{Failed: fmt.Sprintf("run %s is still %s after %s", run.ID, run.State, timeout), Result: res, Progress: p}, nil
		}
		return bot.StepResult{Wait: a.Poll}, nil
	}
	if run.State != "SUCCEEDED" {
		msg := fmt.Sprintf("run %s ended %s", run.ID, run.State)
		if run.Error != "" {
			msg += ": " + run.Error
		}
		p.Failed = true
		return bot.StepResult{Failed: msg, Summary: "Initial training run " + link + " ended **" + run.State + "**.", Result: res, Progress: p}, nil
	}
	if a.DB != nil {
		err := a.DB.InTx(ctx, func(tx *sql.Tx) error { return a.DB.SetProjectRun(ctx, tx, in.Request.Params["project"], run.ID) })
		if err != nil {
			return bot.StepResult{}, err
		}
	}
	return bot.StepResult{Summary: fmt.Sprintf("Initial training run %s **succeeded**; every component ran. Check that its metrics and artifacts appear in MLflow (step 6).", link), Result: res}, nil
}

func kfpErr(err error) error {
	if err != nil && kfp.IsPermanent(err) {
		return bot.Permanent(err)
	}
	return err
}

type inventoryAdd struct{ Deps }

func (a inventoryAdd) project(in bot.ActionInput) store.Project {
	var exp ExperimentResult
	_ = in.ResultOf(bot.ActionMLflowExperiment, &exp)
	var run struct {
		RunID string `json:"run_id"`
	}
	_ = in.ResultOf(bot.ActionKFPInitialRun, &run)
	return store.Project{
		Name: in.Request.Params["project"], Team: in.Request.Params["team"], CostCenter: in.Request.Params["cost-center"],
		Namespace: "ml-" + in.Request.Params["project"], ExperimentID: exp.ID, PipelineRun: run.RunID, RequestID: in.Request.ID,
	}
}

func (a inventoryAdd) Plan(_ context.Context, in bot.ActionInput) (string, error) {
	p := a.project(in)
	return fmt.Sprintf("# sopbot inventory: add or update project %q (team %s, cost center %s, namespace %s, experiment %q)\n",
		p.Name, p.Team, p.CostCenter, p.Namespace, p.ExperimentID), nil
}

func (a inventoryAdd) Step(ctx context.Context, in bot.ActionInput) (bot.StepResult, error) {
	p := a.project(in)
	if err := a.DB.InTx(ctx, func(tx *sql.Tx) error { return a.DB.UpsertProject(ctx, tx, p) }); err != nil {
		return bot.StepResult{}, err
	}
	return bot.StepResult{
		Summary: fmt.Sprintf("Project `%s` is in the ML platform inventory (team `%s`, cost center `%s`, namespace `%s`, experiment `%s`). `/mlops inventory` lists it.",
			p.Name, p.Team, p.CostCenter, p.Namespace, p.ExperimentID),
		Result: map[string]any{"project": p.Name, "experiment_id": p.ExperimentID},
	}, nil
}
