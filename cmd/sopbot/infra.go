package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/infra"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/kfp"
	"github.com/sopbot/sopbot/integrations/kube"
	"github.com/sopbot/sopbot/integrations/mlflow"
)

// kubeClient connects to the configured cluster: the kubeconfig file when
// one is set, else the pod's service account. Outside a cluster and
// without a kubeconfig it returns nil and the reason, and the Kubernetes
// actions fail with that reason when a request reaches them.
func kubeClient(cfg config.Kubernetes) (kubernetes.Interface, string, error) {
	var restConfig *rest.Config
	var err error
	if cfg.Kubeconfig != "" {
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: cfg.Kubeconfig}
		overrides := &clientcmd.ConfigOverrides{CurrentContext: cfg.Context}
		restConfig, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
		if err != nil {
			return nil, "", fmt.Errorf("reading kubernetes.kubeconfig %s: %w", cfg.Kubeconfig, err)
		}
	} else {
		restConfig, err = rest.InClusterConfig()
		if err != nil {
			return nil, "no cluster: set kubernetes.kubeconfig, or run the bot in a pod (" + err.Error() + ")", nil
		}
	}
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return nil, "", fmt.Errorf("configuring the Kubernetes client: %w", err)
	}
	return client, "", nil
}

// newInfraActions builds the infra actions the config allows. opts.kube
// replaces the configured cluster when it is not nil, as in the demo.
func newInfraActions(cfg config.Config, db *store.DB, c clients, opts appOptions, log *slog.Logger) (map[string]bot.InfraAction, error) {
	deps := infra.Deps{DB: db, Onboarding: cfg.Onboarding, Rotation: cfg.Rotation, Experiments: mlflowExperiments{c.mlflow}, Poll: opts.actionPoll}
	kubeAPI := opts.kube
	if kubeAPI == nil {
		var reason string
		var err error
		kubeAPI, reason, err = kubeClient(cfg.Kubernetes)
		if err != nil {
			return nil, err
		}
		if reason != "" {
			log.Warn("Kubernetes actions are disabled", "reason", reason)
		}
	}
	if kubeAPI != nil {
		deps.KubeAPI, deps.Kube = kubeAPI, kube.New(kubeAPI)
	}
	if cfg.KFP.BaseURL != "" {
		client, err := kfp.New(kfp.Config{BaseURL: cfg.KFP.BaseURL, UIURL: cfg.KFP.UIURL, Token: cfg.KFP.Token.Reveal(), Namespace: cfg.KFP.Namespace})
		if err != nil {
			return nil, fmt.Errorf("configuring Kubeflow Pipelines: %w", err)
		}
		deps.KFP = client
	} else {
		log.Warn("Kubeflow Pipelines actions are disabled", "reason", "kfp.baseURL is not set")
	}
	return infra.Actions(deps), nil
}

// seedInventory adds the configured secrets to the secret inventory,
// keeping what rotations recorded.
func seedInventory(ctx context.Context, db *store.DB, cfg config.Rotation) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		for _, s := range cfg.Secrets {
			row := store.Secret{Name: s.Name, Namespace: s.Namespace, Service: s.Service, Deployment: s.Deployment,
				Kind: s.Kind, LastRotated: s.LastRotatedTime()}
			if err := db.SeedSecret(ctx, tx, row); err != nil {
				return err
			}
		}
		return nil
	})
}

// mlflowExperiments implements infra.Experiments over the MLflow client.
type mlflowExperiments struct{ client *mlflow.Client }

// EnsureExperiment finds the experiment by name or creates it, then sets
// the tags it lacks. A create that races another finds the winner's
// experiment on the next read. An experiment tagged for another request,
// or not tagged by the bot at all, is left alone with a permanent error.
func (m mlflowExperiments) EnsureExperiment(ctx context.Context, name string, tags map[string]string) (string, bool, error) {
	exp, err := m.client.GetExperimentByName(ctx, name)
	created := false
	switch {
	case errors.Is(err, mlflow.ErrNotFound):
		id, err := m.client.CreateExperiment(ctx, name, tags)
		if mlflow.IsAlreadyExists(err) {
			return m.EnsureExperiment(ctx, name, tags)
		}
		if err != nil {
			return "", false, mlflowErr(err)
		}
		return id, true, nil
	case err != nil:
		return "", false, mlflowErr(err)
	}
	if exp.LifecycleStage == "deleted" {
		return "", false, bot.Permanent(fmt.Errorf("MLflow experiment %q exists but is deleted; restore it or delete it for good, then retry", name))
	}
	owner := exp.Tags[infra.TagRequest]
	if owner != tags[infra.TagRequest] {
		if owner == "" {
			owner = "no sopbot request"
		}
		return "", false, bot.Permanent(fmt.Errorf("MLflow experiment %q already exists and belongs to %s; choose another project name or tag it %s=%s",
			name, owner, infra.TagRequest, tags[infra.TagRequest]))
	}
	for key, value := range tags {
		if exp.Tags[key] == value {
			continue
		}
		if err := m.client.SetExperimentTag(ctx, exp.ID, key, value); err != nil {
			return "", false, mlflowErr(err)
		}
	}
	return exp.ID, created, nil
}

func (m mlflowExperiments) ExperimentURL(id string) string { return m.client.ExperimentURL(id) }

func mlflowErr(err error) error {
	if mlflow.IsPermanent(err) {
		return bot.Permanent(err)
	}
	return err
}
