package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/internal/demo"
)

// buildBinary compiles the sopbot command once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sopbot")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

func TestServeBinaryRunsPromotion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	fakes, err := demo.StartFakes()
	require.NoError(t, err)
	defer fakes.Close()

	dir := t.TempDir()
	database := filepath.Join(dir, "sopbot.db")
	cfg, err := fakes.ConfigYAML(database, "127.0.0.1:0")
	require.NoError(t, err)
	configPath := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(configPath, cfg, 0o600))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	serve := exec.CommandContext(ctx, bin, "serve", "--config", configPath)
	serve.Env = append(os.Environ(), "SOPBOT_LOG_LEVEL=debug")
	stderr, err := serve.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, serve.Start())
	defer func() { _ = serve.Process.Kill(); _ = serve.Wait() }()

	logs := &bytes.Buffer{}
	address := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		scanner := bufio.NewScanner(stderr)
		scanner.Buffer(make([]byte, 1<<20), 1<<20)
		for scanner.Scan() {
			line := scanner.Text()
			logs.WriteString(line + "\n")
			var entry struct {
				Msg     string `json:"msg"`
				Address string `json:"address"`
			}
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "sopbot serving" {
				address <- entry.Address
			}
		}
	}()

	var serverURL string
	select {
	case addr := <-address:
		serverURL = "http://" + addr
	case <-ctx.Done():
		t.Fatalf("server did not start: %s", logs.String())
	}
	require.NoError(t, fakes.GitHub.SetWebhookURL(serverURL+"/github/webhook"))

	second, err := exec.CommandContext(ctx, bin, "serve", "--config", configPath).CombinedOutput()
	require.Error(t, err, "a second serve on the same database exits: %s", second)
	assert.Contains(t, string(second), "database "+database+" is in use by another sopbot process")

	db, err := demo.OpenReadOnly(database)
	require.NoError(t, err)
	defer db.Close()
	var out bytes.Buffer
	scenario := &demo.Scenario{Fakes: fakes, ServerURL: serverURL, DB: db, Out: &out, Timeout: 30 * time.Second}
	require.NoError(t, scenario.Run(ctx), "scenario output:\n%s", out.String())

	require.NoError(t, serve.Process.Signal(os.Interrupt))
	<-done
	require.NoError(t, serve.Wait())

	assert.Contains(t, out.String(), "ok   request state is done")
	assert.Contains(t, logs.String(), `"msg":"sopbot stopped"`)
	for name, secret := range map[string]string{
		"webhook secret": string(fakes.WebhookSecret), "signing secret": string(fakes.SigningSecret),
		"bot token": fakes.BotToken, "private key": "PRIVATE KEY",
	} {
		assert.NotContains(t, logs.String(), secret, "the server log contains the %s", name)
	}
}

func TestDemoBinaryPasses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	out, err := exec.Command(bin, "demo").CombinedOutput()
	require.NoError(t, err, "demo output:\n%s", out)
	assert.Contains(t, string(out), "PASSED")
	assert.Contains(t, string(out), "was set back")
	assert.Contains(t, string(out), "already open")
	assert.Contains(t, string(out), "onboard (SOP-01): the project has its namespace")
	assert.Contains(t, string(out), "promote (SOP-02): the model was promoted")
	assert.Contains(t, string(out), "drift (SOP-03): drift opened the retraining")
	assert.Contains(t, string(out), "ok   the registered model's reference tag is")
	assert.Less(t, strings.Index(string(out), "######## promote"), strings.Index(string(out), "######## drift"), "drift runs after promote")
	assert.Less(t, strings.Index(string(out), "######## drift"), strings.Index(string(out), "######## rotate"), "drift runs before rotate")
	assert.Contains(t, string(out), "rotate (SOP-04): the secret was rotated")
	assert.Contains(t, string(out), "ok   the old value appears in no issue, comment, Slack message, audit row or log line")

	out, err = exec.Command(bin, "demo", "promote", "nosuch").CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), `unknown scenario "nosuch": use one of onboard, promote, drift, rotate`)
}

func TestServeReportsEveryMissingSetting(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{"HOME=" + t.TempDir(), "SOPBOT_GITHUB_APP_ID=12"}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "serve without secrets must fail, got %v", err)
	for _, setting := range []string{"github.privateKey", "github.webhookSecret", "github.repository",
		"github.botLogin", "slack.signingSecret", "slack.botToken", "slack.channel", "mlflow.baseURL"} {
		assert.Contains(t, string(out), setting)
	}
	assert.NotContains(t, string(out), "github.appID is missing")
	assert.Equal(t, 1, strings.Count(string(out), "invalid configuration"), "one message lists every problem")
}

func TestSOPsLintBinary(t *testing.T) {
	bin := buildBinary(t)
	out, err := exec.Command(bin, "sops", "lint", "../../testdata/sop/mlops-sops.md").CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "lint must fail on the user's document")
	assert.Equal(t, 1, exit.ExitCode())
	assert.Equal(t, 4, strings.Count(string(out), `missing field "Revision History"`), "output:\n%s", out)
	for _, id := range []string{"SOP-01", "SOP-02", "SOP-03", "SOP-04"} {
		assert.Contains(t, string(out), id)
	}
}

func TestSOPsRenderBinary(t *testing.T) {
	bin := buildBinary(t)
	out, err := exec.Command(bin, "sops", "render", "SOP-02", "--param", "model=fraud-detector", "--param", "version=3").CombinedOutput()
	require.NoError(t, err, "%s", out)
	first, body, _ := strings.Cut(string(out), "\n\n")
	assert.Equal(t, "[SOP-02] Promote fraud-detector v3 to Production", first)
	assert.True(t, strings.HasPrefix(body, "<!-- sopbot:request=R-1 sop=SOP-02 "), "body starts with the request marker:\n%s", body)
	assert.Contains(t, body, "<!-- sopbot:item=approve-ml-lead -->")

	out, err = exec.Command(bin, "sops", "render", "SOP-02", "--param", "model=../x", "--param", "version=3").CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "Invalid model name")
}

func TestSOPsLintRejectsBrokenLibraryFile(t *testing.T) {
	bin := buildBinary(t)
	src, err := os.ReadFile("../../sop/library/sop-01-onboarding.md")
	require.NoError(t, err)
	broken := filepath.Join(t.TempDir(), "sop-01.md")
	require.NoError(t, os.WriteFile(broken, []byte(strings.Replace(string(src), "sop: SOP-01\n", "sop: SOP-01\nbogus: 1\n", 1)), 0o600))

	out, err := exec.Command(bin, "sops", "lint", broken).CombinedOutput()
	require.Error(t, err, "a front matter that sopDir rejects fails lint")
	assert.Contains(t, string(out), broken+`:3: invalid front matter: unknown key "bogus"`)

	out, err = exec.Command(bin, "sops", "lint", "../../README.md").CombinedOutput()
	require.Error(t, err, "a file without an SOP fails lint")
	assert.Contains(t, string(out), "no SOP found")
}

func TestSOPsDiffBinaryHelpExample(t *testing.T) {
	bin := buildBinary(t)
	out, err := exec.Command(bin, "sops", "diff", "embedded", "../../sop/library/sop-02-model-promotion.md").CombinedOutput()
	require.NoError(t, err, "output:\n%s", out)
	assert.Equal(t, "no changes\n", string(out))
}

func TestSOPsLintBinaryLintsEveryArgument(t *testing.T) {
	bin := buildBinary(t)
	out, err := exec.Command(bin, "sops", "lint", "../../README.md", "../../sop/library/sop-02-model-promotion.md", "../../testdata/sop/mlops-sops.md").CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "lint must fail: %v", err)
	assert.Equal(t, 1, exit.ExitCode())
	assert.Contains(t, string(out), "../../README.md: no SOP found")
	assert.Equal(t, 4, strings.Count(string(out), `missing field "Revision History"`), "the files after the README are linted:\n%s", out)
	assert.Contains(t, string(out), "4 missing field(s) and 1 other problem(s) in 3 file(s)")
}

func TestAuditCommandsNeedAnExistingDatabase(t *testing.T) {
	bin := buildBinary(t)
	missing := filepath.Join(t.TempDir(), "nope.db")
	out, err := exec.Command(bin, "audit", "verify", "--database", missing).CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "no such file")
	_, statErr := os.Stat(missing)
	assert.True(t, os.IsNotExist(statErr), "verify must not create a database")
}
