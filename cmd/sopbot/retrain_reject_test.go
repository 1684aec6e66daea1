package main

import (
	"bytes"
	"context"
	"database/sql"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/kfp"
	"github.com/sopbot/sopbot/internal/demo"
)

// driftedReport is a report on the demo model whose tokens feature drifts.
const driftedReport = `{"model": "fraud-detector", "window": {"start": "2026-11-27T00:00:00Z", "end": "2026-12-04T00:00:00Z"},
	"features": [{"name": "amount", "ks_pvalue": 0.4, "psi": 0.02}, {"name": "tokens", "ks_statistic": 0.31, "ks_pvalue": 0.0001, "psi": 0.42}]}`

// retrainingRuns starts the bot, has the detector report drift and waits
// until kfp-retrain polls its KFP run, which stays RUNNING.
func retrainingRuns(t *testing.T) *demo.Scenario {
	t.Helper()
	s, serverURL := startRetrainingBot(t)
	s.Fakes.KFP.SetOutcome("sopbot R-", kfp.StateRunning)
	req, err := http.NewRequest(http.MethodPost, serverURL+"/api/v1/drift", bytes.NewReader([]byte(driftedReport)))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+retrainToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	// kfp-retrain polls until the run ends, so the bot does not settle:
	// wait for its notice instead.
	require.Eventually(t, func() bool {
		return strings.Contains(commentsOf(s, 1), "started KFP run [sopbot R-1 retrain fraud-detector]")
	}, 30*time.Second, 20*time.Millisecond, "kfp-retrain starts the run")
	return s
}

// carolComments has Carol, the ML engineer on call, comment line on the
// retraining issue and waits until the bot is idle.
func carolComments(t *testing.T, s *demo.Scenario, line string) {
	t.Helper()
	_, err := s.Fakes.GitHub.UserComment(demo.People.Carol.Login, 1, line)
	require.NoError(t, err)
	require.NoError(t, s.Settle(context.Background()))
}

func terminateCalls(s *demo.Scenario) []string {
	var calls []string
	for _, call := range s.Fakes.KFP.Calls() {
		if strings.Contains(call, ":terminate") {
			calls = append(calls, call)
		}
	}
	return calls
}

func actionRun(t *testing.T, db *sql.DB, action string) (state, errText string) {
	t.Helper()
	require.NoError(t, db.QueryRow(`SELECT state, error FROM action_runs WHERE request_id = 1 AND action = ?`, action).Scan(&state, &errText))
	return state, errText
}

func TestRejectTerminatesRunningPipeline(t *testing.T) {
	s := retrainingRuns(t)
	s.Fakes.KFP.SetCancelingGets(1)

	carolComments(t, s, "/mlops reject #1 data issues found")

	run, ok := s.Fakes.KFP.Run("run-0001")
	require.True(t, ok)
	assert.Equal(t, kfp.StateCanceled, run.State)
	assert.Equal(t, []string{"POST runs/run-0001:terminate"}, terminateCalls(s), "one terminate call")
	assert.Len(t, s.Fakes.KFP.Created(), 1, "no run is started after the rejection")

	comments := commentsOf(s, 1)
	assert.Contains(t, comments, "This request is **rejected**: rejected in the review by @"+demo.People.Carol.Login+": data issues found.")
	assert.Contains(t, comments, "sopbot terminates its Kubeflow Pipelines run [sopbot R-1 retrain fraud-detector](")
	assert.Contains(t, comments, "✅ Terminated KFP run [sopbot R-1 retrain fraud-detector](")
	assert.Contains(t, comments, "it was RUNNING and is now **CANCELED**. @"+demo.People.Carol.Login+" rejected #1: data issues found")
	issue, _ := s.Fakes.GitHub.Issue(1)
	assert.Equal(t, "closed", issue.State)

	state, _ := actionRun(t, s.DB, "kfp-terminate")
	assert.Equal(t, "succeeded", state)
	state, errText := actionRun(t, s.DB, "kfp-retrain")
	assert.Equal(t, "failed", state)
	assert.Contains(t, errText, "stopped because #1 was rejected")
	var locks int
	require.NoError(t, s.DB.QueryRow(`SELECT COUNT(*) FROM target_locks WHERE request_id = 1`).Scan(&locks))
	assert.Zero(t, locks, "every lock of the request is released")
	var audited int
	require.NoError(t, s.DB.QueryRow(`SELECT COUNT(*) FROM audit WHERE request_id = 1 AND action = 'action succeeded'
		AND json_extract(detail, '$.action') = 'kfp-terminate' AND json_extract(detail, '$.result.stopped_by') = ?
		AND json_extract(detail, '$.result.stop_reason') = 'data issues found'
		AND json_extract(detail, '$.result.run_id') = 'run-0001'`, demo.People.Carol.Login).Scan(&audited))
	assert.Equal(t, 1, audited, "the audit trail records the termination, who rejected and why")
}

func TestRejectTerminatesOnceAfterLostResponse(t *testing.T) {
	s := retrainingRuns(t)
	s.Fakes.KFP.DropResponseNext("POST runs/{run_id}:terminate", 1)

	carolComments(t, s, "/mlops reject #1 data issues found")

	assert.Equal(t, []string{"POST runs/run-0001:terminate (response dropped)"}, terminateCalls(s),
		"the retry reads the run and sends no second call")
	run, _ := s.Fakes.KFP.Run("run-0001")
	assert.Equal(t, kfp.StateCanceled, run.State)
	assert.Contains(t, commentsOf(s, 1), "an earlier attempt whose response was lost")
	state, _ := actionRun(t, s.DB, "kfp-terminate")
	assert.Equal(t, "succeeded", state)
}

func TestFailedTerminateReportedThenRetried(t *testing.T) {
	s := retrainingRuns(t)
	s.Fakes.KFP.FailNext("POST runs/{run_id}:terminate", http.StatusForbidden, 1)

	carolComments(t, s, "/mlops reject #1 data issues found")

	comments := commentsOf(s, 1)
	assert.Contains(t, comments, "❌ `kfp-terminate` failed: terminating run run-0001: kfp: HTTP 403 PERMISSION_DENIED")
	assert.Contains(t, comments, "`/mlops retry #1` runs it again")
	state, _ := actionRun(t, s.DB, "kfp-terminate")
	assert.Equal(t, "failed", state)
	run, _ := s.Fakes.KFP.Run("run-0001")
	assert.Equal(t, kfp.StateRunning, run.State)
	var messages []string
	for _, m := range s.Fakes.Slack.Messages() {
		messages = append(messages, m.Text)
	}
	assert.Contains(t, strings.Join(messages, "\n"), "`kfp-terminate` failed for #1")

	carolComments(t, s, "/mlops retry #1")

	state, _ = actionRun(t, s.DB, "kfp-terminate")
	assert.Equal(t, "succeeded", state)
	run, _ = s.Fakes.KFP.Run("run-0001")
	assert.Equal(t, kfp.StateCanceled, run.State)
	assert.Contains(t, commentsOf(s, 1), "✅ Terminated KFP run [sopbot R-1 retrain fraud-detector](")
	assert.Equal(t, []string{"POST runs/run-0001:terminate (injected) → 403 PERMISSION_DENIED", "POST runs/run-0001:terminate"}, terminateCalls(s))
}
