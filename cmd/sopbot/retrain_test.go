package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/integrations/mlflow"
	"github.com/sopbot/sopbot/internal/demo"
	"github.com/sopbot/sopbot/sop"
)

const retrainToken = "detector token of the retraining test"

// startRetrainingBot serves the bot against the demo's fakes with a
// retraining policy for the demo model, in this process. Carol is the ML
// engineer on call.
func startRetrainingBot(t *testing.T) (*demo.Scenario, string) {
	t.Helper()
	fakes, err := demo.StartFakes()
	require.NoError(t, err)
	t.Cleanup(fakes.Close)
	cfg := fakes.Config(filepath.Join(t.TempDir(), "sopbot.db"))
	cfg.Roles["ML engineer on-call"] = config.Holders{GitHub: []string{demo.People.Carol.Login}}
	cfg.Retraining = config.Retraining{APIToken: retrainToken, Models: map[string]config.RetrainingModel{
		demo.Model: {Pipeline: config.Pipeline{PipelineID: "fraud-retraining", Parameters: map[string]any{"epochs": 5}}},
	}}
	cfg = cfg.WithDefaults()
	require.NoError(t, cfg.Validate())

	// The pipeline registers version 7 with its evaluation, tagged with
	// the request it ran for.
	fakes.MLflow.AddVersion(demo.Model, "2", "Production", nil)
	fakes.MLflow.AddRun(mlflow.Run{ID: "run-fd-2", Metrics: map[string]float64{"accuracy": 0.941, "auc": 0.962, "latency_p95_ms": 38}})
	fakes.MLflow.SetVersionRun(demo.Model, "2", "run-fd-2", "")
	fakes.MLflow.AddVersion(demo.Model, "7", "None", map[string]string{bot.TagRequest: "R-1"})
	fakes.MLflow.AddRun(mlflow.Run{ID: "run-fd-7", Metrics: map[string]float64{"accuracy": 0.951, "auc": 0.97, "latency_p95_ms": 36},
		Datasets: []mlflow.DatasetInput{{Name: "transactions-2026-12", Source: "s3://ml-data/fraud/2026-12", Context: "training"}}})
	fakes.MLflow.SetVersionRun(demo.Model, "7", "run-fd-7", "")

	a, err := newAppWith(context.Background(), cfg, newLogger(io.Discard, "error"), appOptions{actionPoll: 20 * time.Millisecond})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	serverURL := "http://" + ln.Addr().String()
	require.NoError(t, fakes.GitHub.SetWebhookURL(serverURL+"/github/webhook"))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.run(ctx, ln) }()
	t.Cleanup(func() { stop(); <-done })

	db, err := demo.OpenReadOnly(cfg.Database)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return &demo.Scenario{Fakes: fakes, ServerURL: serverURL, DB: db, Timeout: 30 * time.Second}, serverURL
}

func commentsOf(s *demo.Scenario, issue int) string {
	var all []string
	for _, c := range s.Fakes.GitHub.Comments(issue) {
		all = append(all, c.Body)
	}
	return strings.Join(all, "\n---\n")
}

func itemChecked(t *testing.T, db *sql.DB, requestID int64, key string) bool {
	t.Helper()
	var checked bool
	require.NoError(t, db.QueryRow(`SELECT checked FROM items WHERE request_id = ? AND key = ?`, requestID, key).Scan(&checked))
	return checked
}

func TestRetrainingFromDriftReportToPromotion(t *testing.T) {
	s, serverURL := startRetrainingBot(t)
	ctx := context.Background()

	report := `{"model": "fraud-detector", "window": {"start": "2026-11-27T00:00:00Z", "end": "2026-12-04T00:00:00Z"},
		"features": [{"name": "amount", "ks_pvalue": 0.4, "psi": 0.02}, {"name": "tokens", "ks_statistic": 0.31, "ks_pvalue": 0.0001, "psi": 0.42}]}`
	req, err := http.NewRequest(http.MethodPost, serverURL+"/api/v1/drift", bytes.NewReader([]byte(report)))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+retrainToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var decision bot.DriftDecision
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&decision))
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Equal(t, "R-1", decision.Request)

	require.NoError(t, s.Settle(ctx))
	issue, ok := s.Fakes.GitHub.Issue(1)
	require.True(t, ok, "the retraining issue is open")
	assert.Equal(t, "[SOP-03] Retrain fraud-detector and review drift", issue.Title)
	comments := commentsOf(s, 1)
	assert.Contains(t, comments, "### Drift report on `fraud-detector`")
	assert.Contains(t, comments, "**Drift record of `fraud-detector`**")
	assert.Contains(t, comments, "| `tokens` | 0.31 | 0.0001 | 0.42 | — | **yes** |")
	assert.Contains(t, comments, "started KFP run [sopbot R-1 retrain fraud-detector]")
	assert.Contains(t, comments, "**succeeded**: pipeline `fraud-retraining` retrained `fraud-detector`")
	assert.Contains(t, comments, "candidate [v7]")
	assert.Contains(t, comments, "`/mlops promote #1`")
	for _, key := range []string{"s1-1", "s1-4", "s2-1", "s2-2", "s2-3", "s3-1", "s3-4"} {
		assert.True(t, itemChecked(t, s.DB, 1, key), "the bot ticked %s", key)
	}
	created := s.Fakes.KFP.Created()
	require.Len(t, created, 1, "one pipeline run")
	assert.Equal(t, "R-1", created[0].Parameters["request"])
	var told []string
	for _, m := range s.Fakes.Slack.Messages() {
		told = append(told, m.Text)
	}
	assert.Contains(t, strings.Join(told, "\n"), "retraining request #1")
	assert.Contains(t, strings.Join(told, "\n"), "v7 is ready for review in #1")

	body := issue.Body
	for _, key := range []string{"s4-1", "s4-2", "s4-3", "s4-4"} {
		var changed bool
		body, changed = sop.SetChecked(body, key, true)
		require.True(t, changed, "box %s", key)
	}
	require.NoError(t, s.Fakes.GitHub.UserEditBody(demo.People.Carol.Login, 1, body))
	require.NoError(t, s.Settle(ctx))
	_, err = s.Fakes.GitHub.UserComment(demo.People.Carol.Login, 1, "/mlops promote #1")
	require.NoError(t, err)
	require.NoError(t, s.Settle(ctx))

	promotion, ok := s.Fakes.GitHub.Issue(2)
	require.True(t, ok, "the SOP-02 promotion issue is open")
	assert.Equal(t, "[SOP-02] Promote fraud-detector v7 to Production", promotion.Title)
	assert.Contains(t, commentsOf(s, 2), "This promotion comes from the retraining request [#1]")
	assert.Contains(t, commentsOf(s, 1), "The promotion of fraud-detector v7 to Production is open: #2")
}
