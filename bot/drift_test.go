package bot_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/evidence/drift"
)

func driftCheck() config.DriftCheck {
	return config.DriftCheck{Model: "fraud-detector", Reference: "../testdata/drift/reference.csv",
		Current: "../testdata/drift/current.csv", Columns: []string{"latency_ms", "tokens"}, PSI: 0.2, KSPValue: 0.01, SOP: "SOP-03"}
}

func TestDriftOutcomeRendersScoresAndCharts(t *testing.T) {
	report, err := drift.CompareFiles("../testdata/drift/reference.csv", "../testdata/drift/current.csv", []string{"latency_ms", "tokens"})
	require.NoError(t, err)

	strict := driftCheck()
	strict.PSI, strict.KSPValue = 0, 1 // every column drifts
	out := bot.DriftOutcome(strict, report)
	assert.True(t, out.Drifted)
	assert.Equal(t, "2 of 2 column(s) drifted: latency_ms, tokens", out.Summary)
	assert.Contains(t, out.Report, "| column | n reference | n current | dropped NaN/Inf | KS D | KS p-value | mode | PSI | KL | drift |")
	assert.Equal(t, 2, strings.Count(out.Report, "```mermaid"), "a chart for each drifted column")

	lax := driftCheck()
	lax.PSI, lax.KSPValue = 1e9, 0
	out = bot.DriftOutcome(lax, report)
	assert.False(t, out.Drifted)
	assert.Equal(t, "no column drifted", out.Summary)
	assert.NotContains(t, out.Report, "```mermaid", "no chart without drift")
}

func TestDriftOpensRetrainingRequest(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	mark := h.queue.mark()
	h.handle(bot.DriftChecked{Model: "fraud-detector", SOP: "SOP-03", Drifted: true, Summary: "1 of 2 column(s) drifted: tokens", Report: "### Drift check"})

	opened := jobsOf[bot.OpenIssueArgs](h.queue, mark)
	require.Len(t, opened, 1, "a retraining request is opened")
	req := h.request(opened[0].RequestID)
	assert.Equal(t, "SOP-03", req.SOPID)
	assert.Equal(t, "retrain:fraud-detector", req.Target)
	assert.Equal(t, bot.BotActor, req.RequesterLogin)
	assert.Equal(t, "### Drift check", req.Origin.Note)
	assert.Empty(t, jobsOf[bot.NotifyArgs](h.queue, mark), "Slack is told once drift-record has recorded the report")

	h.handle(bot.IssueOpened{RequestID: req.ID, Number: 9, URL: "https://github.example/acme/ml-requests/issues/9"})
	assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "### Drift check")

	mark = h.queue.mark()
	h.handle(bot.DriftChecked{Model: "fraud-detector", SOP: "SOP-03", Drifted: true, Summary: "still", Report: "### Drift again"})
	assert.Empty(t, jobsOf[bot.OpenIssueArgs](h.queue, mark), "no second request while one is open")
	assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "Drift is still detected.")
}

func TestNoDriftIsOnlyLogged(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	mark := h.queue.mark()
	h.handle(bot.DriftChecked{Model: "fraud-detector", SOP: "SOP-03", Summary: "no column drifted"})
	assert.Empty(t, jobsOf[bot.OpenIssueArgs](h.queue, mark))
	assert.Equal(t, "no drift detected", h.lastAudit(0).Action)
}
