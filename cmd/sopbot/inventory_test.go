package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
)

func TestActionsPlanChangesNothing(t *testing.T) {
	clientset := fake.NewClientset()
	cmd := &cobra.Command{}
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetContext(context.Background())
	params := []string{"project=churn", "team=risk", "cost-center=cc-42"}
	cfg := config.Config{MLflow: config.MLflow{BaseURL: "http://127.0.0.1:9"}}.WithDefaults()
	require.NoError(t, printPlans(cmd, cfg, "", "SOP-01", params, "R-4", clientset))

	text := out.String()
	assert.Contains(t, text, "### k8s-onboard (after [approval], target namespace:ml-churn)")
	assert.Contains(t, text, "create namespaces/ml-churn")
	assert.Contains(t, text, "sopbot.dev/request: R-4")
	assert.Contains(t, text, "### kfp-initial-run")
	assert.Contains(t, text, "# not available: set kfp.baseURL", "KFP is not configured")
	for _, a := range clientset.Actions() {
		assert.Contains(t, []string{"get", "list"}, a.GetVerb(), "a plan only reads: %s %s", a.GetVerb(), a.GetResource().Resource)
	}
	namespaces, err := clientset.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, namespaces.Items, "the plan created no namespace")
}

func TestActionsPlanRejectsBadInput(t *testing.T) {
	cmd := &cobra.Command{}
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetContext(context.Background())
	cfg := config.Config{}.WithDefaults()
	err := printPlans(cmd, cfg, "", "SOP-09", nil, "R-1", fake.NewClientset())
	assert.ErrorContains(t, err, `no SOP "SOP-09" in the library`)
	err = printPlans(cmd, cfg, "", "SOP-02", nil, "R-1", fake.NewClientset())
	assert.ErrorContains(t, err, "SOP-02 has no planned infra actions: its mlflow-promote runs once the approval is complete")
	err = printPlans(cmd, cfg, "", "SOP-01", []string{"project=Churn!"}, "R-1", fake.NewClientset())
	assert.ErrorContains(t, err, "Pass each as --param NAME=VALUE")
	err = printPlans(cmd, cfg, "", "SOP-01", []string{"project=churn", "team=risk", "cost-center=cc"}, "seven", fake.NewClientset())
	assert.ErrorContains(t, err, `invalid --request "seven"`)
}

func TestInventoryExportCSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	require.NoError(t, err)
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		return db.UpsertProject(ctx, tx, store.Project{Name: "churn", Team: "risk", CostCenter: "cc-42", Namespace: "ml-churn", ExperimentID: "7", RequestID: 3})
	})
	require.NoError(t, err)
	require.NoError(t, db.Close())

	cmd := newInventoryCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"export", "--database", path, "--format", "csv"})
	require.NoError(t, cmd.ExecuteContext(ctx))
	rows, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 2)
	assert.Equal(t, projectColumns, rows[0])
	assert.Equal(t, []string{"churn", "risk", "cc-42", "ml-churn", "7", "", "R-3"}, rows[1][:7])

	cmd = newInventoryCommand()
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetArgs([]string{"export", "--database", path, "--format", "xml"})
	assert.ErrorContains(t, cmd.ExecuteContext(ctx), `invalid --format "xml": use csv or json`)
}
