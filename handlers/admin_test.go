package handlers_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot/metrics"
	"github.com/sopbot/sopbot/handlers"
)

// startAdmin serves an admin listener on a loopback port for one test and
// returns its base URL.
func startAdmin(t *testing.T, admin *handlers.AdminServer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- admin.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done, "the admin listener stops cleanly")
	})
	return "http://" + ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestAdminServesPprofApart(t *testing.T) {
	h := newHarness(t, func(s *handlers.Server) { s.Metrics = metrics.New(nil) })
	admin := startAdmin(t, &handlers.AdminServer{Registry: h.server.Metrics.Registry, PProf: true, Log: discardLogger()})

	status, body := get(t, admin+"/debug/pprof/")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "goroutine", "the index lists the profiles")
	status, body = get(t, admin+"/debug/pprof/goroutine?debug=1")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "goroutine profile:")
	status, _ = get(t, admin+"/debug/pprof/cmdline")
	assert.Equal(t, http.StatusOK, status)
	status, body = get(t, admin+"/metrics")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "sopbot_deliveries_rejected_total")

	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/cmdline"} {
		status, _ := get(t, h.url+path)
		assert.Equal(t, http.StatusNotFound, status, "the public listener serves no %s", path)
	}
}

func TestAdminWithoutPprof(t *testing.T) {
	admin := startAdmin(t, &handlers.AdminServer{Registry: metrics.New(nil).Registry, Log: discardLogger()})

	status, _ := get(t, admin+"/debug/pprof/")
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = get(t, admin+"/metrics")
	assert.Equal(t, http.StatusOK, status)
}

func TestRejectionsCountedByReason(t *testing.T) {
	h := newHarness(t, func(s *handlers.Server) { s.Metrics = metrics.New(nil) })
	body := githubFixture(t, "issue_comment.created.json")

	forged := h.githubRequest(t, "issue_comment", "d-forged", body)
	forged.Header.Set("X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64))
	assert.Equal(t, http.StatusUnauthorized, h.do(t, forged).status)
	noDelivery := h.githubRequest(t, "issue_comment", "", body)
	assert.Equal(t, http.StatusBadRequest, h.do(t, noDelivery).status)
	large := h.githubRequest(t, "issue_comment", "d-large", bytes.Repeat([]byte(" "), handlers.MaxGitHubBody+1))
	assert.Equal(t, http.StatusRequestEntityTooLarge, h.do(t, large).status)
	stale := h.slackRequest(t, testSlackSecret, testNow.Unix()-3600, []byte("command=%2Fmlops&text=help"))
	assert.Equal(t, http.StatusUnauthorized, h.do(t, stale).status)
	interaction := h.slackRequest(t, "wrong secret", testNow.Unix(), []byte("payload=%7B%7D"))
	interaction.URL.Path = "/slack/interactions"
	assert.Equal(t, http.StatusUnauthorized, h.do(t, interaction).status)
	accepted := h.postGitHub(t, "issue_comment", "d-good", body)
	require.Equal(t, http.StatusAccepted, accepted.status, "body %s", accepted.body)

	status, text := get(t, h.url+"/metrics")
	require.Equal(t, http.StatusOK, status)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	require.NoError(t, err)
	rejected := map[string]float64{}
	for _, m := range families["sopbot_deliveries_rejected_total"].GetMetric() {
		labels := map[string]string{}
		for _, pair := range m.GetLabel() {
			labels[pair.GetName()] = pair.GetValue()
		}
		rejected[labels["source"]+" "+labels["reason"]] = m.GetCounter().GetValue()
	}
	assert.Equal(t, 1.0, rejected["github signature"])
	assert.Equal(t, 1.0, rejected["github malformed"])
	assert.Equal(t, 1.0, rejected["github body_too_large"])
	assert.Equal(t, 2.0, rejected["slack signature"], "a stale command and a forged interaction")
	assert.Equal(t, 0.0, rejected["github storage_failed"], "an accepted delivery is no rejection")
}
