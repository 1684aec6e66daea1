package handlers_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/metrics"
	"github.com/sopbot/sopbot/handlers"
	"github.com/sopbot/sopbot/sop"
)

const testDriftToken = "drift detector token for handler tests"

// newDriftHarness serves the drift endpoint with the real engine, the
// real bearer check and a policy for fraud-detector only.
// driftNow is the server clock of the drift harness: shortly after the
// data window of the test reports ends.
var driftNow = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func newDriftHarness(t *testing.T) *harness {
	t.Helper()
	return newHarness(t, func(s *handlers.Server) {
		s.Now = func() time.Time { return driftNow }
		lib, err := sop.Embedded()
		require.NoError(t, err)
		s.Drift = &bot.Engine{DB: s.DB, Library: lib, Grammar: s.Grammar, Directory: bot.NewDirectory(config.Config{}, nil),
			Queue: s.Queue, Log: discardLogger()}
		s.DriftToken = []byte(testDriftToken)
		s.DriftPolicy = func(model string) (bot.RetrainPolicy, bool) {
			return bot.RetrainPolicy{Thresholds: config.DriftThresholds{PSI: 0.2, KSPValue: 0.01}, SOP: "SOP-03"}, model == "fraud-detector"
		}
		s.Metrics = metrics.New(s.DB.SQL)
		s.Metrics.RegisterDrift(s.DB, discardLogger())
	})
}

func (h *harness) driftRequest(t testing.TB, authorization, contentType string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+"/api/v1/drift", bytes.NewReader(body))
	require.NoError(t, err)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

func (h *harness) postDrift(t testing.TB, body string) response {
	t.Helper()
	return h.do(t, h.driftRequest(t, "Bearer "+testDriftToken, "application/json", []byte(body)))
}

func reportBody(psi string) string {
	return `{"model": "fraud-detector", "window": {"start": "2026-11-27T00:00:00Z", "end": "2026-12-04T00:00:00Z"},
		"features": [{"name": "amount", "ks_statistic": 0.02, "ks_pvalue": 0.6, "psi": 0.01, "kl": 0.001},
		             {"name": "tokens", "ks_statistic": 0.3, "ks_pvalue": 0.2, "psi": ` + psi + `}]}`
}

func decision(t *testing.T, r response) bot.DriftDecision {
	t.Helper()
	var d bot.DriftDecision
	require.NoError(t, json.Unmarshal(r.body, &d), "decoding %s", r.body)
	return d
}

func (h *harness) countRows(t *testing.T, query string) int {
	t.Helper()
	var n int
	require.NoError(t, h.db.SQL.QueryRow(query).Scan(&n))
	return n
}

func TestDriftAPIRejectsBadTokens(t *testing.T) {
	h := newDriftHarness(t)
	body := []byte(reportBody("0.31"))
	for _, tc := range []struct {
		name, header, want string
	}{
		{"missing", "", "missing Authorization: Bearer <token> header"},
		{"other scheme", "Basic " + testDriftToken, "missing Authorization: Bearer <token> header"},
		{"empty token", "Bearer ", "missing Authorization: Bearer <token> header"},
		{"wrong token", "Bearer not the token", "invalid bearer token"},
		{"token prefix", "Bearer " + testDriftToken[:10], "invalid bearer token"},
		{"token with suffix", "Bearer " + testDriftToken + "x", "invalid bearer token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(t, h.driftRequest(t, tc.header, "application/json", body))
			assert.Equal(t, http.StatusUnauthorized, r.status)
			assert.Equal(t, `Bearer realm="sopbot"`, r.header.Get("WWW-Authenticate"))
			assert.Equal(t, tc.want, r.json(t)["error"])
		})
	}
	assert.Zero(t, h.countRows(t, `SELECT COUNT(*) FROM drift_scores`), "nothing is stored")

	r := h.do(t, h.driftRequest(t, "bearer "+testDriftToken, "application/json", body))
	assert.Equal(t, http.StatusCreated, r.status, "the scheme is case-insensitive")
}

func TestDriftAPIRejectsMalformedReports(t *testing.T) {
	h := newDriftHarness(t)
	window := `"window": {"start": "2026-11-27T00:00:00Z", "end": "2026-12-04T00:00:00Z"}`
	model := `"model": "fraud-detector"`
	feature := func(f string) string { return `{` + model + `, ` + window + `, "features": [` + f + `]}` }
	for _, tc := range []struct {
		name, body, want string
	}{
		{"empty body", ``, "body is empty: send a JSON report"},
		{"syntax", `{"model": "fraud-detector",}`, "body is not valid JSON: invalid character '}' looking for beginning of object key string at byte offset 28"},
		{"truncated", `{"model": "fraud-detector"`, "body is not valid JSON: it ends in the middle of a value"},
		{"NaN", feature(`{"name": "tokens", "psi": NaN}`), "NaN and Infinity are not JSON numbers, so omit that score or send null"},
		{"trailing data", reportBody("0.3") + ` {}`, "body has data after the JSON object: send one report per request"},
		{"unknown field", `{` + model + `, "severity": "high"}`, `unknown field "severity": the report takes model, window and features`},
		{"unknown feature field", feature(`{"name": "tokens", "chi2": 3}`), `unknown field "chi2"`},
		{"model type", `{"model": 7}`, "model must be a string, not a JSON number"},
		{"features type", `{` + model + `, ` + window + `, "features": {}}`, "features must be an array, not a JSON object"},
		{"missing model", `{` + window + `}`, "model is missing: give the registered model name"},
		{"invalid model", `{"model": "fraud detector!"}`, `model "fraud detector!" is not a model name`},
		{"unconfigured model", `{"model": "churn"}`, `model "churn" is not configured for retraining: add it under retraining.models`},
		{"missing window", `{` + model + `}`, "window is missing: give window.start and window.end as RFC 3339 times"},
		{"missing window end", `{` + model + `, "window": {"start": "2026-11-27T00:00:00Z"}}`, "window.end is missing"},
		{"bad window time", `{` + model + `, "window": {"start": "yesterday", "end": "2026-12-04T00:00:00Z"}}`, `window.start "yesterday" is not an RFC 3339 time`},
		{"window backwards", `{` + model + `, "window": {"start": "2026-12-04T00:00:00Z", "end": "2026-11-27T00:00:00Z"}}`, "window.end is before window.start"},
		{"no features", `{` + model + `, ` + window + `, "features": []}`, "features is missing or empty"},
		{"feature name missing", feature(`{"psi": 0.1}`), "features[0].name is missing"},
		{"feature name control", feature(`{"name": "a\nb", "psi": 0.1}`), `features[0].name "a\nb" contains a control character`},
		{"feature name backtick", feature(`{"name": "a` + "`" + `b", "psi": 0.1}`), "contains a control character or one of ` | < >"},
		{"duplicate feature", feature(`{"name": "tokens", "psi": 0.1}, {"name": "tokens", "psi": 0.2}`), `features[1].name "tokens" repeats features[0]`},
		{"string score", feature(`{"name": "tokens", "psi": "0.3"}`), `features[0].psi must be a number or null, not "0.3"`},
		{"object score", feature(`{"name": "tokens", "kl": {}}`), "features[0].kl must be a number or null, not {}"},
		{"overflowing score", feature(`{"name": "tokens", "psi": 1e999}`), "features[0].psi 1e999 is not a finite number"},
		{"p-value above 1", feature(`{"name": "tokens", "ks_pvalue": 1.5}`), "features[0].ks_pvalue is 1.5; it must be between 0 and 1"},
		{"negative psi", feature(`{"name": "tokens", "psi": -0.1}`), "features[0].psi is -0.1; it must be at least 0"},
		{"no score", feature(`{"name": "tokens", "psi": null}`), "features[0] has no score: give at least one of ks_statistic, ks_pvalue, psi and kl"},
		{"duplicate model", `{"model": "other", ` + model + `, ` + window + `, "features": [{"name": "a", "psi": 0.01}]}`,
			`field "model" appears twice in the body: send each field once`},
		{"duplicate score", feature(`{"name": "tokens", "psi": 0.5, "psi": 0.01}`), `field "psi" appears twice in features[0]: send each field once`},
		{"keys differing in case", `{"model": "other", "Model": "fraud-detector", ` + window + `, "features": [{"name": "a", "psi": 0.01}]}`,
			`fields "model" and "Model" of the body differ only in case: send the field once, as "model"`},
		{"upper-case key", `{"MODEL": "fraud-detector", ` + window + `, "features": [{"name": "a", "psi": 0.01}]}`,
			`field "MODEL" of the body must be written "model": field names are case-sensitive`},
		{"upper-case window key", `{` + model + `, "window": {"START": "2026-11-27T00:00:00Z", "end": "2026-12-04T00:00:00Z"}, "features": [{"name": "a", "psi": 0.01}]}`,
			`field "START" of window must be written "start"`},
		{"upper-case feature key", feature(`{"name": "tokens", "PSI": 0.01}`), `field "PSI" of features[0] must be written "psi"`},
		{"window in the far future", `{` + model + `, "window": {"start": "9999-01-01T00:00:00Z", "end": "9999-12-31T00:00:00Z"}, "features": [{"name": "a", "psi": 0.01}]}`,
			"window.end 9999-12-31T00:00:00Z is more than a day ahead of the server clock (2026-12-04T12:00:00Z): send the window the scores were computed over"},
		{"bidi override in a name", feature(`{"name": "amount\u202egnp", "psi": 0.01}`),
			"contains the bidirectional control character U+202E, which changes how the name displays"},
		{"zero-width name", feature(`{"name": "\u200b\u2060", "psi": 0.01}`), "has no visible character"},
		{"blank name", feature(`{"name": "\u00a0 ", "psi": 0.01}`), "has no visible character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.postDrift(t, tc.body)
			assert.Equal(t, http.StatusBadRequest, r.status, "body %s", r.body)
			assert.Contains(t, r.json(t)["error"], tc.want)
		})
	}
	assert.Zero(t, h.countRows(t, `SELECT COUNT(*) FROM drift_scores`), "nothing is stored")
	assert.Zero(t, h.countRows(t, `SELECT COUNT(*) FROM deliveries`))
}

func TestDriftAPIWindowEndingWithinADay(t *testing.T) {
	h := newDriftHarness(t)
	end := driftNow.Add(23 * time.Hour).Format(time.RFC3339)
	r := h.postDrift(t, `{"model": "fraud-detector", "window": {"start": "2026-11-27T00:00:00Z", "end": "`+end+`"}, "features": [{"name": "a", "psi": 0.01}]}`)
	assert.Equal(t, http.StatusOK, r.status, "a window may end up to a day ahead of the server clock: %s", r.body)
}

func TestDriftAPIReorderedReplayIsDuplicate(t *testing.T) {
	h := newDriftHarness(t)
	window := `"window": {"start": "2026-11-27T00:00:00Z", "end": "2026-12-04T00:00:00Z"}`
	first := h.postDrift(t, `{"model": "fraud-detector", `+window+`, "features": [{"name": "x", "psi": 0.5}, {"name": "y", "psi": 0.01}]}`)
	require.Equal(t, http.StatusCreated, first.status, "body %s", first.body)
	again := h.postDrift(t, `{"model": "fraud-detector", `+window+`, "features": [{"name": "y", "psi": 0.01}, {"name": "x", "psi": 0.5}]}`)
	assert.Equal(t, http.StatusOK, again.status)
	assert.True(t, decision(t, again).Duplicate, "the same report with its features reordered is a replay: %s", again.body)
	assert.Equal(t, 2, h.countRows(t, `SELECT COUNT(*) FROM drift_scores`), "the replay stores no scores")
}

func TestDriftAPIRejectsTooManyFeatures(t *testing.T) {
	h := newDriftHarness(t)
	var features []string
	for i := range 1001 {
		features = append(features, fmt.Sprintf(`{"name": "f%d", "psi": 0.1}`, i))
	}
	body := `{"model": "fraud-detector", "window": {"start": "2026-11-27T00:00:00Z", "end": "2026-12-04T00:00:00Z"}, "features": [` +
		strings.Join(features, ",") + `]}`
	r := h.postDrift(t, body)
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "features has 1001 entries; at most 1000 are accepted in one report", r.json(t)["error"])
}

func TestDriftAPIRejectsOversizedBody(t *testing.T) {
	h := newDriftHarness(t)
	body := `{"model": "fraud-detector", "pad": "` + strings.Repeat("x", handlers.MaxDriftBody) + `"}`
	r := h.postDrift(t, body)
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.status)
	assert.Equal(t, "body exceeds 1 MiB", r.json(t)["error"])
}

func TestDriftAPIRejectsOtherContentTypes(t *testing.T) {
	h := newDriftHarness(t)
	for _, contentType := range []string{"", "text/plain", "application/x-www-form-urlencoded"} {
		r := h.do(t, h.driftRequest(t, "Bearer "+testDriftToken, contentType, []byte(reportBody("0.3"))))
		assert.Equal(t, http.StatusUnsupportedMediaType, r.status, "Content-Type %q", contentType)
	}
	r := h.do(t, h.driftRequest(t, "Bearer "+testDriftToken, "application/json; charset=utf-8", []byte(reportBody("0.05"))))
	assert.Equal(t, http.StatusOK, r.status, "parameters of application/json are accepted")
}

func TestDriftAPIOpensRetraining(t *testing.T) {
	h := newDriftHarness(t)
	r := h.postDrift(t, reportBody("0.31"))
	require.Equal(t, http.StatusCreated, r.status, "body %s", r.body)
	d := decision(t, r)
	assert.Equal(t, bot.DriftRequestOpened, d.Outcome)
	assert.Equal(t, "R-1", d.Request)
	assert.Equal(t, []string{"tokens"}, d.Drifted)
	assert.Equal(t, "Opened retraining request R-1 for fraud-detector: 1 of 2 feature(s) drifted: tokens.", d.Message)

	assert.Equal(t, 2, h.countRows(t, `SELECT COUNT(*) FROM drift_scores WHERE request_id = 1`), "the scores are stored")
	assert.Equal(t, 1, h.countRows(t, `SELECT COUNT(*) FROM requests WHERE sop_id = 'SOP-03' AND requester_login = 'sopbot'`))
	assert.Equal(t, 1, h.countRows(t, `SELECT COUNT(*) FROM river_job WHERE kind = 'open_issue'`), "the issue is queued in the same transaction")
	assert.Equal(t, 1, h.countRows(t, `SELECT COUNT(*) FROM deliveries WHERE source = 'drift' AND processed_at IS NOT NULL`))

	again := h.postDrift(t, reportBody("0.31"))
	assert.Equal(t, http.StatusOK, again.status)
	assert.True(t, decision(t, again).Duplicate, "a resent report is a duplicate")
	assert.Equal(t, "R-1", decision(t, again).Request)
	assert.Equal(t, 1, h.countRows(t, `SELECT COUNT(*) FROM river_job WHERE kind = 'open_issue'`))

	other := h.postDrift(t, reportBody("0.5"))
	assert.Equal(t, http.StatusOK, other.status)
	assert.Equal(t, bot.DriftReportAttached, decision(t, other).Outcome, "one open request per model")
	assert.Equal(t, 4, h.countRows(t, `SELECT COUNT(*) FROM drift_scores WHERE request_id = 1`))
}

func TestDriftAPIRecordsNoDrift(t *testing.T) {
	h := newDriftHarness(t)
	r := h.postDrift(t, reportBody("0.05"))
	require.Equal(t, http.StatusOK, r.status, "body %s", r.body)
	d := decision(t, r)
	assert.Equal(t, bot.DriftNotDetected, d.Outcome)
	assert.Equal(t, "No drift detected for fraud-detector; the scores are recorded and monitoring continues.", d.Message)
	assert.Zero(t, h.countRows(t, `SELECT COUNT(*) FROM requests`))
	assert.Equal(t, 1, h.countRows(t, `SELECT COUNT(*) FROM audit WHERE action = 'no drift detected'`))
}

func TestDriftAPIExportsGauges(t *testing.T) {
	h := newDriftHarness(t)
	require.Equal(t, http.StatusCreated, h.postDrift(t, reportBody("0.31")).status)
	resp, err := h.client.Get(h.url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	text := string(body)
	assert.Contains(t, text, `sopbot_drift_score{feature="tokens",metric="psi",model="fraud-detector"} 0.31`)
	assert.Contains(t, text, `sopbot_drift_score{feature="amount",metric="kl",model="fraud-detector"} 0.001`)
	assert.NotContains(t, text, `sopbot_drift_score{feature="tokens",metric="kl"`, "a score not sent has no series")
	assert.Contains(t, text, `sopbot_drift_detected{feature="tokens",model="fraud-detector"} 1`)
	assert.Contains(t, text, `sopbot_drift_detected{feature="amount",model="fraud-detector"} 0`)
	assert.Contains(t, text, `sopbot_drift_report_timestamp_seconds{model="fraud-detector"}`)
	assert.Contains(t, text, `sopbot_deliveries_total{event="drift_report",outcome="received",source="drift"} 1`)
}

// failingRecorder fails every report, as a database that is down does.
type failingRecorder struct{}

func (failingRecorder) RecordDriftReport(context.Context, *sql.Tx, bot.DriftReport, bot.RetrainPolicy) (bot.DriftDecision, error) {
	return bot.DriftDecision{}, errors.New("database is locked")
}

func TestDriftAPIStorageFailure(t *testing.T) {
	h := newDriftHarness(t)
	h.server.Drift = failingRecorder{}
	r := h.postDrift(t, reportBody("0.31"))
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Equal(t, "could not store the report; retry later", r.json(t)["error"])
}

func TestDriftAPIOffWithoutToken(t *testing.T) {
	h := newHarness(t, nil)
	r := h.do(t, h.driftRequest(t, "Bearer ", "application/json", []byte(reportBody("0.31"))))
	assert.Equal(t, http.StatusNotFound, r.status, "no token configured, no endpoint")
}
