package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/mlflow"
)

func newInventoryCommand() *cobra.Command {
	var database, format string
	cmd := &cobra.Command{Use: "inventory", Short: "Export the project inventory that SOP-01 fills"}
	export := &cobra.Command{
		Use:   "export",
		Short: "Print every project of the inventory as CSV or JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "csv" && format != "json" {
				return fmt.Errorf("invalid --format %q: use csv or json", format)
			}
			db, err := store.OpenExisting(cmd.Context(), database)
			if err != nil {
				return err
			}
			defer db.Close()
			projects, err := db.Projects(cmd.Context(), db.SQL)
			if err != nil {
				return err
			}
			if format == "json" {
				return writeProjectsJSON(cmd.OutOrStdout(), projects)
			}
			return writeProjectsCSV(cmd.OutOrStdout(), projects)
		},
	}
	export.Flags().StringVar(&database, "database", "sopbot.db", "path of the SQLite database")
	export.Flags().StringVar(&format, "format", "csv", "output format: csv or json")
	cmd.AddCommand(export)
	return cmd
}

var projectColumns = []string{"name", "team", "cost_center", "namespace", "experiment_id", "pipeline_run", "request", "onboarded_at", "last_run_at", "audited_at"}

func projectRow(p store.Project) []string {
	return []string{p.Name, p.Team, p.CostCenter, p.Namespace, p.ExperimentID, p.PipelineRun, "R-" + strconv.FormatInt(p.RequestID, 10),
		timeText(p.OnboardedAt), timeText(p.LastRunAt), timeText(p.AuditedAt)}
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func writeProjectsCSV(w io.Writer, projects []store.Project) error {
	out := csv.NewWriter(w)
	if err := out.Write(projectColumns); err != nil {
		return err
	}
	for _, p := range projects {
		if err := out.Write(projectRow(p)); err != nil {
			return err
		}
	}
	out.Flush()
	return out.Error()
}

func writeProjectsJSON(w io.Writer, projects []store.Project) error {
	rows := make([]map[string]string, 0, len(projects))
	for _, p := range projects {
		row := map[string]string{}
		for i, v := range projectRow(p) {
			row[projectColumns[i]] = v
		}
		rows = append(rows, row)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

func newSecretsCommand() *cobra.Command {
	var database, configPath, format string
	cmd := &cobra.Command{Use: "secrets", Short: "Show the secret inventory that SOP-04 keeps"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the inventory's secrets with their rotation due dates; never a value",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkSecretsFormat(format); err != nil {
				return err
			}
			cfg, err := renderConfig(configPath)
			if err != nil {
				return err
			}
			cfg = cfg.WithDefaults()
			db, err := store.OpenExisting(cmd.Context(), database)
			if err != nil {
				return err
			}
			defer db.Close()
			secrets, err := db.Secrets(cmd.Context(), db.SQL)
			if err != nil {
				return err
			}
			maxAge := func(kind string) int { return cfg.Rotation.Kinds[kind].MaxAgeDays }
			return writeSecrets(cmd.OutOrStdout(), format, secrets, maxAge, time.Now())
		},
	}
	list.Flags().StringVar(&database, "database", "sopbot.db", "path of the SQLite database")
	list.Flags().StringVar(&configPath, "config", "", "config file with the rotation periods (rotation.kinds); the defaults otherwise")
	list.Flags().StringVar(&format, "format", "table", "output format: table (plain-text columns), csv or json")
	cmd.AddCommand(list)
	return cmd
}

func newActionsCommand() *cobra.Command {
	var params []string
	var configPath, request, sopDir string
	var dryRun bool
	cmd := &cobra.Command{Use: "actions", Short: "Show the infra actions an SOP runs"}
	plan := &cobra.Command{
		Use:   "plan SOP-ID",
		Short: "Print the objects and calls each action of an SOP would make now, changing nothing",
		Long: "Print, for each infra action of the SOP in order, the objects and calls it would make\n" +
			"against the configured cluster, MLflow and Kubeflow Pipelines as they are now. Nothing\n" +
			"is created, changed or deleted: the Kubernetes plans only read. --dry-run is accepted\n" +
			"and is the only mode; actions themselves run through approved requests.",
		Example: "  sopbot actions plan SOP-01 --dry-run --config sopbot.yaml --param project=churn --param team=risk --param cost-center=cc-42",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !dryRun {
				return fmt.Errorf("pass --dry-run: this command only prints plans, and actions run through approved requests")
			}
			cfg, err := renderConfig(configPath)
			if err != nil {
				return err
			}
			cfg = cfg.WithDefaults()
			if sopDir == "" {
				sopDir = cfg.SOPDir
			}
			return printPlans(cmd, cfg, sopDir, args[0], params, request, nil)
		},
	}
	plan.Flags().StringArrayVar(&params, "param", nil, "a parameter as name=value; repeat for each")
	plan.Flags().StringVar(&configPath, "config", "", "config file with the cluster, MLflow and KFP settings")
	plan.Flags().StringVar(&request, "request", "R-1", "request id the planned names and labels carry")
	plan.Flags().StringVar(&sopDir, "sop-dir", "", "directory of SOP files to use instead of the embedded library")
	plan.Flags().BoolVar(&dryRun, "dry-run", false, "print the plans and change nothing (required)")
	cmd.AddCommand(plan)
	return cmd
}

// printPlans prints every action's plan for one SOP. kubeAPI replaces the
// configured cluster when it is not nil.
func printPlans(cmd *cobra.Command, cfg config.Config, sopDir, sopID string, params []string, request string, kubeAPI kubernetes.Interface) error {
	lib, err := loadLibrary(sopDir)
	if err != nil {
		return err
	}
	s, ok := lib.Get(sopID)
	if !ok || s.Binding == nil {
		return fmt.Errorf("no SOP %q in the library: use one of %s", sopID, strings.Join(sopIDs(lib), ", "))
	}
	if len(s.Binding.Actions) == 0 {
		if s.Binding.OnApproved != "" {
			return fmt.Errorf("%s has no planned infra actions: its %s runs once the approval is complete and reads the registry before it changes anything", s.ID, s.Binding.OnApproved)
		}
		return fmt.Errorf("%s runs no infra actions", s.ID)
	}
	values, err := parseParamFlags(params)
	if err != nil {
		return err
	}
	checked, err := bot.ValidateParams(s, values)
	if err != nil {
		return fmt.Errorf("%v Pass each as --param NAME=VALUE", err)
	}
	id, err := parseRequestID(request)
	if err != nil || id == 0 {
		return fmt.Errorf("invalid --request %q: use a request id such as R-7", request)
	}
	// The rotation actions look secrets up in the inventory, so the plan
	// runs on a scratch database seeded from the config.
	dir, err := os.MkdirTemp("", "sopbot-plan-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(cmd.Context(), filepath.Join(dir, "plan.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := seedInventory(cmd.Context(), db, cfg.Rotation); err != nil {
		return err
	}
	var c clients
	if cfg.MLflow.BaseURL != "" {
		if c.mlflow, err = mlflow.New(mlflow.Config{BaseURL: cfg.MLflow.BaseURL, UIURL: cfg.MLflow.UIURL, Token: cfg.MLflow.Token.Reveal()}); err != nil {
			return fmt.Errorf("configuring MLflow: %w", err)
		}
	}
	actions, err := newInfraActions(cfg, db, c, appOptions{kube: kubeAPI}, newLogger(io.Discard, "error"))
	if err != nil {
		return err
	}
	if c.mlflow != nil {
		if err := addRetrainActions(actions, cfg, db, c, appOptions{}); err != nil {
			return err
		}
	}
	now := time.Now().UTC()
	in := bot.ActionInput{Request: store.Request{ID: id, SOPID: s.ID, Params: checked, CreatedAt: now}, Now: now, Runs: map[string]store.ActionRun{}}
	out := cmd.OutOrStdout()
	for _, rule := range s.Binding.Actions {
		fmt.Fprintf(out, "### %s (after %v, target %s)\n", rule.Name, rule.After, s.RenderTemplate(rule.Target, checked))
		action, ok := actions[rule.Name]
		if !ok {
			fmt.Fprintf(out, "# not available: set %s in the file given with --config\n\n", actionSettings(rule.Name))
			continue
		}
		text, err := action.Plan(cmd.Context(), in)
		if err != nil {
			fmt.Fprintf(out, "# cannot plan now: %v\n\n", err)
			continue
		}
		fmt.Fprintf(out, "%s\n", text)
	}
	return nil
}

// actionSettings names the settings an action's client needs.
func actionSettings(action string) string {
	switch action {
	case bot.ActionMLflowExperiment, bot.ActionModelCompare, bot.ActionReferenceUpdate, bot.ActionDriftRecord:
		return "mlflow.baseURL"
	case bot.ActionKFPInitialRun, bot.ActionKFPRetrain:
		return "kfp.baseURL (and mlflow.baseURL for SOP-03)"
	}
	return "kubernetes.kubeconfig, or run where the pod's service account reaches the cluster"
}
