package main

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/store"
)

// secretsDatabase returns a database whose inventory has an overdue cloud
// credential and a never-rotated API token.
func secretsDatabase(t *testing.T) string {
	t.Helper()
	path := newDatabase(t)
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	require.NoError(t, err)
	defer db.Close()
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		if err := db.SeedSecret(ctx, tx, store.Secret{Name: "aws-creds", Namespace: "ml-churn", Service: "trainer", Deployment: "churn-trainer",
			Kind: "cloud-credential", LastRotated: time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)}); err != nil {
			return err
		}
		return db.SeedSecret(ctx, tx, store.Secret{Name: "mlflow-token", Namespace: "mlflow", Kind: "api-token"})
	})
	require.NoError(t, err)
	return path
}

func TestSecretsListTable(t *testing.T) {
	out, _, err := runCLI(t, "secrets", "list", "--database", secretsDatabase(t))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4, "header, two rows and the count:\n%s", out)
	assert.Regexp(t, `^NAMESPACE +NAME +KIND +CURRENT +SERVICE +DEPLOYMENT +LAST ROTATED +DUE +STATUS +LAST REQUEST$`, lines[0])
	assert.Regexp(t, `^ml-churn +aws-creds +cloud-credential +aws-creds +trainer +churn-trainer +2020-01-02 +2020-04-01 +overdue +-$`, lines[1])
	assert.Regexp(t, `^mlflow +mlflow-token +api-token +mlflow-token +- +- +- +- +never-rotated +-$`, lines[2])
	assert.Equal(t, "2 secrets, 1 overdue", lines[3])
	assert.NotContains(t, out, "*", "no Slack markup")
	assert.NotContains(t, out, "`", "no Slack markup")
}

func TestSecretsListCSV(t *testing.T) {
	out, _, err := runCLI(t, "secrets", "list", "--database", secretsDatabase(t), "--format", "csv")
	require.NoError(t, err)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 3)
	assert.Equal(t, secretColumns, rows[0])
	assert.Equal(t, []string{"ml-churn", "aws-creds", "cloud-credential", "aws-creds", "trainer", "churn-trainer", "2020-01-02", "2020-04-01", "overdue", ""}, rows[1])
}

func TestSecretsListJSON(t *testing.T) {
	out, _, err := runCLI(t, "secrets", "list", "--database", secretsDatabase(t), "--format", "json")
	require.NoError(t, err)
	var rows []map[string]string
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	require.Len(t, rows, 2)
	assert.Equal(t, "mlflow-token", rows[1]["name"])
	assert.Equal(t, "never-rotated", rows[1]["status"])
	assert.Equal(t, "", rows[1]["due"])

	out, _, err = runCLI(t, "secrets", "list", "--database", newDatabase(t), "--format", "json")
	require.NoError(t, err)
	assert.Equal(t, "[]\n", out)
}

func TestSecretsListRejectsUnknownFormat(t *testing.T) {
	_, _, err := runCLI(t, "secrets", "list", "--database", "absent.db", "--format", "yaml")
	assert.EqualError(t, err, `invalid --format "yaml": use table, csv or json`)
}

func TestSecretRowStates(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	maxAge := func(kind string) int { return map[string]int{"cloud-credential": 90}[kind] }
	rotated := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	row := secretRow(store.Secret{Kind: "cloud-credential", LastRotated: rotated, LastRequest: 7}, maxAge, now)
	assert.Equal(t, []string{"2026-02-01", "2026-05-02", "ok", "R-7"}, row[6:])
	row = secretRow(store.Secret{Kind: "api-token", LastRotated: rotated}, maxAge, now)
	assert.Equal(t, []string{"2026-02-01", "", "no-period", ""}, row[6:])
}

func TestInventoryTextPlurals(t *testing.T) {
	oneSecret := []store.Secret{{Name: "aws-creds", Namespace: "ml-churn", Kind: "api-token"}}
	assert.True(t, strings.HasPrefix(bot.SecretsText(oneSecret, nil, time.Now()), "*Secret inventory* (1 secret)\n"))
	twoSecrets := append(oneSecret, store.Secret{Name: "db", Namespace: "ml-churn", Kind: "api-token"})
	assert.True(t, strings.HasPrefix(bot.SecretsText(twoSecrets, nil, time.Now()), "*Secret inventory* (2 secrets)\n"))

	projects := []store.Project{{Name: "churn", Team: "risk", CostCenter: "cc-42", Namespace: "ml-churn", RequestID: 3}}
	assert.True(t, strings.HasPrefix(bot.InventoryText(projects), "*Project inventory* (1 project)\n"))
	projects = append(projects, store.Project{Name: "fraud", Team: "risk", CostCenter: "cc-42", Namespace: "ml-fraud", RequestID: 4})
	assert.True(t, strings.HasPrefix(bot.InventoryText(projects), "*Project inventory* (2 projects)\n"))
}
