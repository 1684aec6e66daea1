package bot

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/mlflow"
)

// ActionMLflowPromote is the action that promotes a model version.
const ActionMLflowPromote = "mlflow-promote"

// Tag keys the promotion sets on the model version.
const (
	TagApprovedBy = "sopbot.approved_by"
	TagApprovedAt = "sopbot.approved_at"
	TagTicket     = "sopbot.ticket"
	TagRequest    = "sopbot.request"
)

func (w *Workers) runCheck(ctx context.Context, job *river.Job[CheckArgs]) error {
	attrs := []any{"request_id", job.Args.RequestID, "check", job.Args.Check}
	req, _, _, err := w.loadRequest(ctx, job.Args.RequestID)
	if err != nil {
		return w.outcome(job.Kind, attrs, err)
	}
	var result CheckFinished
	switch job.Args.Check {
	case CheckMLflowVersionStage:
		result.Passed, result.Evidence, err = w.checkVersionStage(ctx, req.Params["model"], req.Params["version"])
	case CheckMLflowMetrics:
		result, err = w.checkMetrics(ctx, req)
	case CheckArtifactScan:
		result, err = w.checkArtifacts(ctx, req)
	default:
		return river.JobCancel(fmt.Errorf("unknown check %q", job.Args.Check))
	}
	if err != nil {
		return w.outcome(job.Kind, attrs, err)
	}
	result.RequestID, result.Key, result.Params = req.ID, job.Args.Key, job.Args.Params
	return w.apply(ctx, result)
}

// checkVersionStage checks that the version is registered and in stage
// None or Staging, so it has not been promoted or archived already.
func (w *Workers) checkVersionStage(ctx context.Context, model, version string) (bool, string, error) {
	mv, err := w.Registry.GetModelVersion(ctx, model, version)
	if errors.Is(err, mlflow.ErrNotFound) {
		return false, fmt.Sprintf("version %s of model `%s` is not registered in MLflow.", version, model), nil
	}
	if err != nil {
		return false, "", err
	}
	link := w.Registry.ModelURL(model, version)
	switch mv.CurrentStage {
	case "None", "Staging", "":
		return true, fmt.Sprintf("[%s version %s](%s) is registered, stage `%s`, status `%s`, run `%s`.",
			model, version, link, stageName(mv.CurrentStage), mv.Status, mv.RunID), nil
	}
	return false, fmt.Sprintf("[%s version %s](%s) is in stage `%s`; only versions in None or Staging can be promoted.",
		model, version, link, mv.CurrentStage), nil
}

func stageName(stage string) string {
	if stage == "" {
		return "None"
	}
	return stage
}

// PromotionResult is the record of a finished promotion.
type PromotionResult struct {
	Model           string            `json:"model"`
	Version         string            `json:"version"`
	Mode            string            `json:"mode"` // stage | alias
	Target          string            `json:"target"`
	StageBefore     string            `json:"stage_before,omitempty"`
	PreviousVersion string            `json:"previous_version,omitempty"`
	AlreadyDone     bool              `json:"already_done,omitempty"`
	RunID           string            `json:"run_id,omitempty"`
	Tags            map[string]string `json:"tags"`
	VerifiedAt      time.Time         `json:"verified_at"`
}

func (w *Workers) runAction(ctx context.Context, job *river.Job[ActionArgs]) error {
	attrs := []any{"request_id", job.Args.RequestID, "action", job.Args.Action}
	req, _, _, err := w.loadRequest(ctx, job.Args.RequestID)
	if err != nil {
		return w.outcome(job.Kind, attrs, err)
	}
	if req.State != StateActing {
		return nil
	}
	if job.Args.Action != ActionMLflowPromote {
		return w.fail(ctx, req, fmt.Sprintf("unknown action %q", job.Args.Action))
	}
	signoffs, err := w.signoffs(ctx, req.ID)
	if err != nil {
		return w.outcome(job.Kind, attrs, err)
	}
	started := time.Now()
	result, err := w.promote(ctx, req, signoffs)
	w.Metrics.Action(job.Args.Action, resultLabel(err), time.Since(started))
	if err != nil {
		if mlflow.IsPermanent(err) || job.Attempt >= job.MaxAttempts {
			w.Log.Error("promotion failed", append(attrs, "error", err)...)
			return w.fail(ctx, req, err.Error())
		}
		return w.outcome(job.Kind, attrs, err)
	}
	data, err := json.Marshal(result)
	if err != nil {
		return err
	}
	w.Log.Info("promotion verified", "request_id", req.ID, "sop", req.SOPID, "model", result.Model, "version", result.Version, "target", result.Target)
	return w.apply(ctx, ActionFinished{RequestID: req.ID, Succeeded: true, Summary: promotionSummary(result, req), Result: string(data)})
}

func (w *Workers) fail(ctx context.Context, req store.Request, message string) error {
	return w.apply(ctx, ActionFinished{RequestID: req.ID, Error: message})
}

func (w *Workers) signoffs(ctx context.Context, requestID int64) ([]store.Signoff, error) {
	var out []store.Signoff
	err := w.Engine.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = w.Engine.DB.ActiveSignoffs(ctx, tx, requestID)
		return err
	})
	return out, err
}

// promote moves the version to its target, checking the registry first so
// a retry after a crash does not transition twice, then tags the version
// with its approvals and reads it back.
func (w *Workers) promote(ctx context.Context, req store.Request, signoffs []store.Signoff) (PromotionResult, error) {
	model, version, target := req.Params["model"], req.Params["version"], req.Params["to"]
	result := PromotionResult{Model: model, Version: version, Target: target, Mode: "stage", Tags: approvalTags(req, signoffs)}
	if _, isStage := mlflow.CanonicalStage(target); !isStage {
		result.Mode = "alias"
	} else if alias, ok := w.policyAlias(model, target); ok {
		result.Mode, result.Target = "alias", alias
	}

	mv, err := w.Registry.GetModelVersion(ctx, model, version)
	if err != nil {
		return result, fmt.Errorf("reading %s version %s: %w", model, version, err)
	}
	result.StageBefore = stageName(mv.CurrentStage)
	result.RunID = mv.RunID
	if result.Mode == "stage" {
		err = w.transition(ctx, &result, mv)
	} else {
		err = w.setAlias(ctx, &result)
	}
	if err != nil {
		return result, err
	}
	for _, key := range sortedKeys(result.Tags) {
		if err := w.Registry.SetModelVersionTag(ctx, model, version, key, result.Tags[key]); err != nil {
			return result, fmt.Errorf("tagging %s version %s: %w", model, version, err)
		}
	}
	return result, w.verify(ctx, &result)
}

func (w *Workers) policyAlias(model, stage string) (string, bool) {
	if w.ModelPolicy == nil {
		return "", false
	}
	return w.ModelPolicy(model, stage)
}

func (w *Workers) transition(ctx context.Context, result *PromotionResult, mv mlflow.ModelVersion) error {
	if mv.CurrentStage == result.Target {
		result.AlreadyDone = true
		return nil
	}
	versions, err := w.Registry.SearchModelVersions(ctx, result.Model)
	if err != nil {
		return fmt.Errorf("listing versions of %s: %w", result.Model, err)
	}
	for _, other := range versions {
		if other.CurrentStage == result.Target && other.Version != result.Version {
			result.PreviousVersion = other.Version
		}
	}
	if _, err := w.Registry.TransitionStage(ctx, result.Model, result.Version, result.Target, true); err != nil {
		return fmt.Errorf("transitioning %s version %s to %s: %w", result.Model, result.Version, result.Target, err)
	}
	return nil
}

func (w *Workers) setAlias(ctx context.Context, result *PromotionResult) error {
	current, err := w.Registry.GetModelVersionByAlias(ctx, result.Model, result.Target)
	switch {
	case err == nil && current.Version == result.Version:
		result.AlreadyDone = true
		return nil
	case err == nil:
		result.PreviousVersion = current.Version
	case !errors.Is(err, mlflow.ErrNotFound):
		return fmt.Errorf("reading alias %s of %s: %w", result.Target, result.Model, err)
	}
	if err := w.Registry.SetAlias(ctx, result.Model, result.Target, result.Version); err != nil {
		return fmt.Errorf("setting alias %s of %s to version %s: %w", result.Target, result.Model, result.Version, err)
	}
	return nil
}

// verify reads the version back and checks the target and every tag.
func (w *Workers) verify(ctx context.Context, result *PromotionResult) error {
	mv, err := w.Registry.GetModelVersion(ctx, result.Model, result.Version)
	if err != nil {
		return fmt.Errorf("reading back %s version %s: %w", result.Model, result.Version, err)
	}
	if result.Mode == "stage" && mv.CurrentStage != result.Target {
		return fmt.Errorf("read back %s version %s in stage %s, expected %s", result.Model, result.Version, mv.CurrentStage, result.Target)
	}
	if result.Mode == "alias" && !contains(mv.Aliases, result.Target) {
		return fmt.Errorf("read back %s version %s without alias %s", result.Model, result.Version, result.Target)
	}
	for key, want := range result.Tags {
		if got := mv.Tags[key]; got != want {
			return fmt.Errorf("read back tag %s=%q on %s version %s, expected %q", key, got, result.Model, result.Version, want)
		}
	}
	result.VerifiedAt = time.Now().UTC()
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// approvalTags are the tags that record who approved the promotion.
func approvalTags(req store.Request, signoffs []store.Signoff) map[string]string {
	var approvers []string
	var last time.Time
	for _, so := range signoffs {
		approvers = append(approvers, fmt.Sprintf("%s (%s)", so.Login, so.Member))
		if so.At.After(last) {
			last = so.At
		}
	}
	sort.Strings(approvers)
	return map[string]string{
		TagApprovedBy: strings.Join(approvers, ", "),
		TagApprovedAt: last.UTC().Format(time.RFC3339),
		TagTicket:     req.IssueURL,
		TagRequest:    fmt.Sprintf("R-%d", req.ID),
	}
}

func promotionSummary(r PromotionResult, req store.Request) string {
	var b strings.Builder
	switch {
	case r.Mode == "stage" && r.AlreadyDone:
		fmt.Fprintf(&b, "**%s v%s** was already in stage **%s**; no transition was needed.", r.Model, r.Version, r.Target)
	case r.Mode == "stage":
		fmt.Fprintf(&b, "**%s v%s** moved from **%s** to **%s** in MLflow.", r.Model, r.Version, r.StageBefore, r.Target)
	case r.AlreadyDone:
		fmt.Fprintf(&b, "Alias **%s** of **%s** already pointed at v%s.", r.Target, r.Model, r.Version)
	default:
		fmt.Fprintf(&b, "Alias **%s** of **%s** now points at v%s.", r.Target, r.Model, r.Version)
	}
	if r.PreviousVersion != "" {
		if r.Mode == "stage" {
			fmt.Fprintf(&b, " v%s, previously in %s, was archived.", r.PreviousVersion, r.Target)
		} else {
			fmt.Fprintf(&b, " It pointed at v%s before.", r.PreviousVersion)
		}
	}
	b.WriteString("\n\n| tag | value |\n| --- | --- |\n")
	for _, key := range sortedKeys(r.Tags) {
		fmt.Fprintf(&b, "| `%s` | %s |\n", key, r.Tags[key])
	}
	fmt.Fprintf(&b, "\nRead back and verified at %s. Step 5 (deployment) is next; @%s, tick its boxes as you go.", r.VerifiedAt.Format(time.RFC3339), req.RequesterLogin)
	return b.String()
}

func resultLabel(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}
