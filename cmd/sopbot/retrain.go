package main

import (
	"fmt"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/infra"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/kfp"
)

// addRetrainActions adds the retraining actions of SOP-03 to actions.
// Without kfp.baseURL, kfp-retrain is left out and fails with a message
// that names it.
func addRetrainActions(actions map[string]bot.InfraAction, cfg config.Config, db *store.DB, c clients, opts appOptions) error {
	deps := infra.RetrainDeps{
		Scores: infra.StoredDriftScores(db), Registry: c.mlflow, Retraining: cfg.Retraining,
		Thresholds: cfg.RetrainingThresholds,
		Metrics:    func(model string) map[string]config.Threshold { return cfg.MLflow.Models[model].Metrics },
		Alias:      modelPolicy(cfg.MLflow), Poll: opts.actionPoll,
	}
	if cfg.KFP.BaseURL != "" {
		client, err := kfp.New(kfp.Config{BaseURL: cfg.KFP.BaseURL, UIURL: cfg.KFP.UIURL, Token: cfg.KFP.Token.Reveal(), Namespace: cfg.KFP.Namespace})
		if err != nil {
			return fmt.Errorf("configuring Kubeflow Pipelines: %w", err)
		}
		deps.KFP = client
	}
	for name, action := range infra.RetrainActions(deps) {
		actions[name] = action
	}
	return nil
}
