package infra

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/kfp"
	"github.com/sopbot/sopbot/integrations/mlflow"
)

// Pipelines is the part of the KFP run API that kfp-retrain and
// kfp-terminate call; *kfp.Client implements it.
type Pipelines interface {
	EnsureRun(ctx context.Context, req kfp.RunRequest) (kfp.Run, bool, error)
	FindRun(ctx context.Context, experimentID, displayName string) (kfp.Run, bool, error)
	GetRun(ctx context.Context, runID string) (kfp.Run, error)
	TerminateRun(ctx context.Context, runID string) error
	RunURL(runID string) string
}

// RetrainRegistry is the part of the MLflow registry that model-compare
// and reference-update call; *mlflow.Client implements it.
type RetrainRegistry interface {
	SearchModelVersions(ctx context.Context, name string) ([]mlflow.ModelVersion, error)
	GetModelVersionByAlias(ctx context.Context, name, alias string) (mlflow.ModelVersion, error)
	GetRun(ctx context.Context, runID string) (mlflow.Run, error)
	GetRegisteredModel(ctx context.Context, name string) (mlflow.RegisteredModel, error)
	SetRegisteredModelTag(ctx context.Context, name, key, value string) error
	ModelURL(name, version string) string
}

// DriftScores reads the stored drift reports, and what the retraining
// check recorded when it opened a request without one.
type DriftScores interface {
	// RequestDriftScores returns the reports attached to a request, oldest
	// first.
	RequestDriftScores(ctx context.Context, requestID int64) ([]store.DriftScore, error)
	// LatestModelDriftScores returns the newest report on a model.
	LatestModelDriftScores(ctx context.Context, model string) ([]store.DriftScore, error)
	// ScheduledOpening returns what the retraining check recorded when it
	// opened the request, and false when something else opened it.
	ScheduledOpening(ctx context.Context, requestID int64) (bot.ScheduledOpening, bool, error)
}

// StoredDriftScores reads drift reports from the bot's database.
func StoredDriftScores(db *store.DB) DriftScores { return storedScores{db} }

type storedScores struct{ db *store.DB }

func (s storedScores) RequestDriftScores(ctx context.Context, requestID int64) ([]store.DriftScore, error) {
	return s.db.RequestDriftScores(ctx, s.db.SQL, requestID)
}

func (s storedScores) LatestModelDriftScores(ctx context.Context, model string) ([]store.DriftScore, error) {
	return s.db.LatestModelDriftScores(ctx, s.db.SQL, model)
}

func (s storedScores) ScheduledOpening(ctx context.Context, requestID int64) (bot.ScheduledOpening, bool, error) {
	return bot.ScheduledOpeningOf(ctx, s.db, s.db.SQL, requestID)
}

// RetrainDeps are the clients and settings of the retraining actions of
// SOP-03. A nil client leaves out the actions that need it.
type RetrainDeps struct {
	Scores     DriftScores
	KFP        Pipelines
	Registry   RetrainRegistry
	Retraining config.Retraining
	// Thresholds returns a model's drift thresholds, for the record.
	Thresholds func(model string) config.DriftThresholds
	// Metrics returns a model's metric thresholds (mlflow.models.<model>.metrics).
	Metrics func(model string) map[string]config.Threshold
	// Alias returns the alias set instead of a stage for a model, if any
	// (mlflow.models.<model>.aliases).
	Alias func(model, stage string) (string, bool)
	// Poll is how often a waiting action looks again, 30 seconds when
	// zero.
	Poll time.Duration
}

// RetrainActions returns the retraining actions that deps can run, by
// name.
func RetrainActions(deps RetrainDeps) map[string]bot.InfraAction {
	if deps.Poll == 0 {
		deps.Poll = 30 * time.Second
	}
	if deps.Thresholds == nil {
		deps.Thresholds = func(string) config.DriftThresholds { return config.DriftThresholds{PSI: 0.2, KSPValue: 0.01} }
	}
	if deps.Metrics == nil {
		deps.Metrics = func(string) map[string]config.Threshold { return nil }
	}
	if deps.Alias == nil {
		deps.Alias = func(string, string) (string, bool) { return "", false }
	}
	out := map[string]bot.InfraAction{}
	if deps.Scores != nil {
		out[bot.ActionDriftRecord] = driftRecord{deps}
	}
	if deps.KFP != nil {
		out[bot.ActionKFPRetrain] = kfpRetrain{deps}
		out[bot.ActionKFPTerminate] = kfpTerminate{deps}
	}
	if deps.Registry != nil {
		out[bot.ActionModelCompare] = modelCompare{deps}
		out[bot.ActionReferenceUpdate] = referenceUpdate{deps}
	}
	return out
}

// retrainKey is the request id that the retraining actions write into run
// names, parameters and tags.
func retrainKey(req store.Request) string { return fmt.Sprintf("R-%d", req.ID) }

// modelPolicy returns the retraining policy of the request's model, or a
// permanent error naming the setting to add.
func (d RetrainDeps) modelPolicy(in bot.ActionInput) (string, config.RetrainingModel, error) {
	model := in.Request.Params["model"]
	policy, ok := d.Retraining.Models[model]
	if !ok {
		return model, policy, bot.Permanent(fmt.Errorf("model %s has no retraining policy: add it under retraining.models in the config", model))
	}
	return model, policy, nil
}

// retrainWindow returns the data window of a retraining: the policy's
// number of days up to the moment the request opened, so every retry
// trains on the same window.
func retrainWindow(req store.Request, policy config.RetrainingModel) (time.Time, time.Time) {
	end := req.CreatedAt.UTC().Truncate(time.Second)
	return end.Add(-policy.WindowDuration()), end
}

// retrainErr marks the KFP and MLflow errors that a retry of the same
// call cannot fix.
func retrainErr(err error) error {
	if err != nil && (kfp.IsPermanent(err) || mlflow.IsPermanent(err)) && !errors.Is(err, context.Canceled) {
		return bot.Permanent(err)
	}
	return err
}

// floatCell renders an optional score for a Markdown table.
func floatCell(v *float64) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.4g", *v)
}
