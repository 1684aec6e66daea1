package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/slack"
	"github.com/sopbot/sopbot/internal/demo"
)

// servedBot is a `sopbot serve` process against the demo's fakes, with
// its admin listener on and every line it writes kept.
type servedBot struct {
	fakes     *demo.Fakes
	serverURL string
	adminURL  string
	scenario  *demo.Scenario
	process   *exec.Cmd

	mu    sync.Mutex
	lines []string
	// closed is closed once both output streams are read to the end.
	closed chan struct{}
}

// secrets returns every configured secret by name.
func (b *servedBot) secrets(mlflowToken string) map[string]string {
	secrets := map[string]string{
		"webhook secret": string(b.fakes.WebhookSecret), "signing secret": string(b.fakes.SigningSecret),
		"bot token": b.fakes.BotToken, "MLflow token": mlflowToken, "private key header": "PRIVATE KEY",
		// The GitHub fake issues installation tokens with GitHub's prefix.
		"installation token": "ghs_",
	}
	// Each base64 line of the PEM body is a fragment of the private key.
	for i, line := range strings.Split(string(b.fakes.PrivateKeyPEM), "\n") {
		if len(line) >= 32 && !strings.HasPrefix(line, "-----") {
			secrets[fmt.Sprintf("private key line %d", i)] = line
		}
	}
	return secrets
}

func (b *servedBot) output() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.lines...)
}

// startServedBot builds the binary and starts `sopbot serve` with the
// extra environment env, and waits for both of its listeners.
func startServedBot(t *testing.T, ctx context.Context, env ...string) *servedBot {
	t.Helper()
	bin := buildBinary(t)
	fakes, err := demo.StartFakes()
	require.NoError(t, err)
	t.Cleanup(fakes.Close)

	dir := t.TempDir()
	database := filepath.Join(dir, "sopbot.db")
	cfg, err := fakes.ConfigYAML(database, "127.0.0.1:0")
	require.NoError(t, err)
	configPath := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(configPath, cfg, 0o600))

	b := &servedBot{fakes: fakes, closed: make(chan struct{})}
	b.process = exec.CommandContext(ctx, bin, "serve", "--config", configPath)
	b.process.Env = append(append(os.Environ(), "SOPBOT_LOG_LEVEL=debug",
		"SOPBOT_ADMIN_LISTEN=127.0.0.1:0", "SOPBOT_ADMIN_PPROF=true"), env...)
	stdout, err := b.process.StdoutPipe()
	require.NoError(t, err)
	stderr, err := b.process.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, b.process.Start())
	t.Cleanup(func() { _ = b.process.Process.Kill(); _ = b.process.Wait() })

	addresses := make(chan [2]string, 2)
	var readers sync.WaitGroup
	for _, stream := range []io.Reader{stdout, stderr} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			b.read(stream, addresses)
		}()
	}
	go func() { readers.Wait(); close(b.closed) }()

	for b.serverURL == "" || b.adminURL == "" {
		select {
		case address := <-addresses:
			switch address[0] {
			case "sopbot serving":
				b.serverURL = "http://" + address[1]
			case "admin listener serving":
				b.adminURL = "http://" + address[1]
			}
		case <-ctx.Done():
			t.Fatalf("serve did not start both listeners:\n%s", strings.Join(b.output(), "\n"))
		}
	}
	require.NoError(t, fakes.GitHub.SetWebhookURL(b.serverURL+"/github/webhook"))

	db, err := demo.OpenReadOnly(database)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	b.scenario = &demo.Scenario{Fakes: fakes, ServerURL: b.serverURL, DB: db, Out: io.Discard, Timeout: 30 * time.Second}
	return b
}

// read keeps every line of stream and sends the address of each listener
// that reports it is serving.
func (b *servedBot) read(stream io.Reader, addresses chan<- [2]string) {
	scanner := bufio.NewScanner(stream)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		line := scanner.Text()
		b.mu.Lock()
		b.lines = append(b.lines, line)
		b.mu.Unlock()
		var entry struct {
			Msg     string `json:"msg"`
			Address string `json:"address"`
		}
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Address != "" {
			addresses <- [2]string{entry.Msg, entry.Address}
		}
	}
}

// stop interrupts serve and waits for it to exit.
func (b *servedBot) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, b.process.Process.Signal(os.Interrupt))
	<-b.closed
	require.NoError(t, b.process.Wait())
}

// postForgedSlackCommand posts a slash command signed with the wrong
// secret, which the bot must reject without logging its text.
func postForgedSlackCommand(t *testing.T, serverURL, text string) {
	t.Helper()
	body := []byte(url.Values{"command": {"/mlops"}, "text": {text}, "user_id": {"U0MALLORY"},
		"response_url": {"https://hooks.slack.com/commands/T0/1/x"}, "trigger_id": {"forged.1"}}.Encode())
	ts := time.Now().Unix()
	req, err := http.NewRequest(http.MethodPost, serverURL+"/slack/commands", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Slack-Signature", slack.Sign([]byte("not the signing secret"), ts, body))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestServeLogsMetricsAndPprof(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	mlflowToken := "mlflow-token-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	b := startServedBot(t, ctx, "SOPBOT_MLFLOW_TOKEN="+mlflowToken)
	b.fakes.MLflow.RequireAuthorization("Bearer " + mlflowToken)
	// The first attempt to open the issue fails with a conflict, which
	// the bot retries, so the log holds a failed job.
	b.fakes.GitHub.FailNext(http.MethodPost, "/repos/"+demo.Owner+"/"+demo.Repo+"/issues", http.StatusConflict, 1)

	require.NoError(t, b.scenario.Run(ctx), "the promotion runs")
	// User text the log must never carry: a GitHub comment with a command
	// and a private paragraph, and a forged Slack command.
	commentText := "Heads-up for reviewers: the canary dashboard lives behind the ops-vault login."
	before := len(b.fakes.GitHub.Comments(b.scenario.Issue()))
	_, err := b.fakes.GitHub.UserComment(demo.People.Alice.Login, b.scenario.Issue(),
		fmt.Sprintf("/mlops status #%d\n\n%s", b.scenario.Issue(), commentText))
	require.NoError(t, err)
	forgedText := "promote model forged-model 99"
	postForgedSlackCommand(t, b.serverURL, forgedText)
	require.NoError(t, b.scenario.Settle(ctx))
	require.Greater(t, len(b.fakes.GitHub.Comments(b.scenario.Issue())), before+1, "the bot answers the status comment")

	t.Run("metrics", func(t *testing.T) { checkMetrics(t, b.serverURL+"/metrics") })
	t.Run("admin metrics", func(t *testing.T) { checkMetrics(t, b.adminURL+"/metrics") })
	t.Run("pprof", func(t *testing.T) {
		status, body := getBody(t, b.adminURL+"/debug/pprof/")
		assert.Equal(t, http.StatusOK, status)
		assert.Contains(t, body, "goroutine")
		status, _ = getBody(t, b.adminURL+"/debug/pprof/heap")
		assert.Equal(t, http.StatusOK, status)
		status, _ = getBody(t, b.serverURL+"/debug/pprof/")
		assert.Equal(t, http.StatusNotFound, status, "the public listener serves no pprof")
	})

	b.stop(t)
	lines := b.output()
	t.Run("logs", func(t *testing.T) { checkLogs(t, lines) })
	t.Run("failed job", func(t *testing.T) {
		var failures []map[string]any
		for _, line := range lines {
			var entry map[string]any
			if json.Unmarshal([]byte(line), &entry) == nil && entry["msg"] == "job failed; retrying" && entry["job_kind"] == "open_issue" {
				failures = append(failures, entry)
			}
		}
		require.Len(t, failures, 1, "the failed attempt to open the issue is logged once")
		assert.Equal(t, "WARN", failures[0]["level"])
		assert.Equal(t, 1.0, failures[0]["attempt"])
		assert.Contains(t, failures[0], "request_id", "the line names the request")
	})
	t.Run("no secrets or user text", func(t *testing.T) {
		all := strings.Join(lines, "\n")
		for name, secret := range b.secrets(mlflowToken) {
			assert.NotContains(t, all, secret, "the log contains the %s", name)
		}
		userTexts := map[string]string{
			"slash command": "promote model " + demo.Model + " 3", "forged slash command": forgedText,
			"comment paragraph": commentText, "review body": "LGTM",
		}
		for name, text := range userTexts {
			assert.NotContains(t, all, text, "the log contains the %s", name)
		}
	})
}

// checkMetrics scrapes url and checks that every family the bot exports
// is present with its labels.
func checkMetrics(t *testing.T, url string) {
	status, text := getBody(t, url)
	require.Equal(t, http.StatusOK, status)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	require.NoError(t, err)

	want := map[string][]string{
		"sopbot_deliveries_total":               {"source", "event", "outcome"},
		"sopbot_deliveries_rejected_total":      {"source", "reason"},
		"sopbot_jobs_total":                     {"kind", "outcome"},
		"sopbot_effect_errors_total":            {"target", "outcome"},
		"sopbot_action_duration_seconds":        {"action", "result"},
		"sopbot_queue_jobs":                     {"kind", "state"},
		"sopbot_queue_oldest_available_seconds": nil,
		"sopbot_requests":                       {"sop", "state"},
	}
	for name, labels := range want {
		family, ok := families[name]
		if !assert.True(t, ok, "family %s is missing", name) {
			continue
		}
		require.NotEmpty(t, family.GetMetric(), "family %s has no series", name)
		assert.ElementsMatch(t, labels, labelNames(family.GetMetric()[0]), "labels of %s", name)
	}

	has := func(name string, labels map[string]string) bool {
		for _, m := range families[name].GetMetric() {
			if labelsInclude(m, labels) {
				return true
			}
		}
		return false
	}
	assert.True(t, has("sopbot_deliveries_total", map[string]string{"source": "github", "event": "issue_comment", "outcome": "processed"}))
	assert.True(t, has("sopbot_deliveries_total", map[string]string{"source": "slack", "event": "slash_command", "outcome": "received"}))
	assert.True(t, has("sopbot_deliveries_rejected_total", map[string]string{"source": "slack", "reason": "signature"}))
	assert.True(t, has("sopbot_action_duration_seconds", map[string]string{"action": "mlflow-promote", "result": "ok"}))
	assert.True(t, has("sopbot_requests", map[string]string{"sop": "SOP-02", "state": "done"}))
	for _, target := range []string{"github", "slack", "mlflow", "kubernetes", "kfp"} {
		assert.True(t, has("sopbot_effect_errors_total", map[string]string{"target": target, "outcome": "retried"}), "target %s", target)
		assert.True(t, has("sopbot_effect_errors_total", map[string]string{"target": target, "outcome": "failed"}), "target %s", target)
	}
	assert.True(t, has("sopbot_queue_jobs", map[string]string{"kind": "open_issue", "state": "available"}),
		"a kind that ran stays in the queue gauge at 0")
}

func labelNames(m *dto.Metric) []string {
	var names []string
	for _, pair := range m.GetLabel() {
		names = append(names, pair.GetName())
	}
	return names
}

func labelsInclude(m *dto.Metric, labels map[string]string) bool {
	found := 0
	for _, pair := range m.GetLabel() {
		if want, ok := labels[pair.GetName()]; ok && want == pair.GetValue() {
			found++
		}
	}
	return found == len(labels)
}

// linesWithoutSOP are log messages that may name a request without its
// SOP, with the file that logs them; none at present.
var linesWithoutSOP = map[string]string{}

// deliveryMessages are the log messages about one stored or processed
// delivery.
var deliveryMessages = map[string]bool{
	"webhook stored": true, "webhook ignored": true, "storing webhook failed": true,
	"storing slack command failed": true, "storing slack interaction failed": true,
	"slack interaction already stored": true, "delivery ignored": true,
}

// jobFailureLevels are the levels of the workers' messages about a failed
// job.
var jobFailureLevels = map[string]string{
	"job failed; retrying": "WARN", "rate limited; retrying later": "WARN", "job panicked; retrying": "WARN",
	"job failed; discarded": "ERROR", "job failed; cancelled": "ERROR", "job panicked; discarded": "ERROR",
}

// riverFailureMessages end River's own messages about a failed job, which
// the bot drops because its workers log each failure.
var riverFailureMessages = []string{": Job errored", ": Job errored; retrying", ": Job panicked", ": Job cancelled explicitly"}

// checkLogs checks that every line is a JSON object and carries the ids
// of what it is about, and that a failed job is logged by the workers
// alone, at WARN or ERROR.
func checkLogs(t *testing.T, lines []string) {
	require.NotEmpty(t, lines)
	githubDeliveries := 0
	for i, line := range lines {
		var entry map[string]any
		if !assert.NoError(t, json.Unmarshal([]byte(line), &entry), "line %d is not JSON: %s", i+1, line) {
			continue
		}
		for _, key := range []string{"time", "level", "msg"} {
			assert.Contains(t, entry, key, "line %d: %s", i+1, line)
		}
		msg, _ := entry["msg"].(string)
		if _, ok := entry["request_id"]; ok && linesWithoutSOP[msg] == "" {
			assert.Contains(t, entry, "sop", "line %d names a request but not its SOP: %s", i+1, line)
		}
		if deliveryMessages[msg] {
			assert.Contains(t, entry, "delivery_id", "line %d is about a delivery: %s", i+1, line)
		}
		if level, ok := jobFailureLevels[msg]; ok {
			assert.Equal(t, level, entry["level"], "line %d: %s", i+1, line)
			for _, key := range []string{"job_kind", "job_id", "attempt", "max_attempts"} {
				assert.Contains(t, entry, key, "line %d is about a failed job: %s", i+1, line)
			}
		}
		for _, suffix := range riverFailureMessages {
			assert.False(t, strings.HasSuffix(msg, suffix), "line %d is River's report of a failed job: %s", i+1, line)
		}
		if id, _ := entry["delivery_id"].(string); strings.HasPrefix(id, "github:") {
			githubDeliveries++
			assert.Contains(t, entry, "installation_id", "line %d is about a GitHub delivery: %s", i+1, line)
		}
	}
	assert.Positive(t, githubDeliveries, "some lines are about GitHub deliveries")
}
