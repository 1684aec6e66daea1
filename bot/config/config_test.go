package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const validYAML = `
github:
  appID: 12
  privateKey: "-----BEGIN RSA PRIVATE KEY-----"
  webhookSecret: hook-secret
  repository: acme/ml-requests
  botLogin: sopbot[bot]
slack:
  botToken: xoxb-1
  signingSecret: signing-secret
  channel: C01
mlflow:
  baseURL: http://127.0.0.1:5000
  models:
    fraud-detector: {aliases: {Production: champion}}
roles:
  ML lead: {github: [dana], teams: [acme/ml-leads]}
people:
  - {github: dana, slack: U0DANA}
`

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sopbot.yaml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	return path
}

func noEnv(string) string { return "" }

func TestLoadValidFile(t *testing.T) {
	cfg, err := Load(writeConfig(t, validYAML), noEnv)
	require.NoError(t, err)
	assert.Equal(t, int64(12), cfg.GitHub.AppID)
	assert.Equal(t, ":8080", cfg.Listen)
	assert.Equal(t, "https://api.github.com/", cfg.GitHub.BaseURL)
	assert.Equal(t, "http://127.0.0.1:5000", cfg.MLflow.UIURL, "the UI defaults to the API address")
	assert.Equal(t, []string{"https://hooks.slack.com/"}, cfg.Slack.ResponseURLPrefixes)
	assert.Equal(t, "champion", cfg.MLflow.Models["fraud-detector"].Aliases["Production"])
}

func TestLoadReportsEveryMissingSetting(t *testing.T) {
	_, err := Load("", noEnv)
	require.Error(t, err)
	for _, setting := range []string{"github.appID", "github.privateKey", "github.webhookSecret", "github.repository",
		"github.botLogin", "slack.signingSecret", "slack.botToken", "slack.channel", "mlflow.baseURL"} {
		assert.Contains(t, err.Error(), setting+" is missing")
	}
	assert.Contains(t, err.Error(), "SOPBOT_SLACK_SIGNING_SECRET", "each problem names its environment variable")
}

func TestEnvironmentOverridesFile(t *testing.T) {
	env := map[string]string{"SOPBOT_GITHUB_APP_ID": "99", "SOPBOT_SLACK_CHANNEL": "C99", "SOPBOT_LISTEN": "127.0.0.1:9000"}
	cfg, err := Load(writeConfig(t, validYAML), func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, int64(99), cfg.GitHub.AppID)
	assert.Equal(t, "C99", cfg.Slack.Channel)
	assert.Equal(t, "127.0.0.1:9000", cfg.Listen)
}

func TestEnvironmentAlone(t *testing.T) {
	env := map[string]string{
		"SOPBOT_GITHUB_APP_ID": "5", "SOPBOT_GITHUB_PRIVATE_KEY": "key", "SOPBOT_GITHUB_WEBHOOK_SECRET": "s",
		"SOPBOT_GITHUB_REPOSITORY": "a/b", "SOPBOT_GITHUB_BOT_LOGIN": "bot[bot]", "SOPBOT_SLACK_BOT_TOKEN": "t",
		"SOPBOT_SLACK_SIGNING_SECRET": "s", "SOPBOT_SLACK_CHANNEL": "C1", "SOPBOT_MLFLOW_BASE_URL": "http://127.0.0.1:1",
	}
	_, err := Load("", func(k string) string { return env[k] })
	require.NoError(t, err)
}

func TestLoadRejects(t *testing.T) {
	cases := []struct {
		name string
		text string
		env  map[string]string
		want string
	}{
		{"unknown key", validYAML + "colour: blue\n", nil, `unknown setting "colour"`},
		{"misspelled key", strings.Replace(validYAML, "channel: C01", "chanel: C01", 1), nil, `unknown setting "slack.chanel" (did you mean "slack.channel"?)`},
		{"every misspelled key", strings.Replace(strings.Replace(validYAML, "channel: C01", "chanel: C01", 1), "appID: 12", "appIDs: 12", 1), nil,
			"  - unknown setting \"github.appIDs\" (did you mean \"github.appID\"?)\n  - unknown setting \"slack.chanel\""},
		{"number as text", strings.Replace(validYAML, "appID: 12", "appID: twelve", 1), nil, "github.appID: a string is given, but it takes a number (int64)"},
		{"not YAML", "github: [unclosed\n", nil, "not valid YAML"},
		{"wrong case", strings.Replace(validYAML, "appID", "appId", 1), nil, `unknown setting "github.appId"`},
		{"wrong case in a map value", strings.Replace(validYAML, "{github: [dana]", "{GitHub: [dana]", 1), nil, `unknown setting "roles.ML lead.GitHub"`},
		{"repository without owner", strings.Replace(validYAML, "acme/ml-requests", "ml-requests", 1), nil, `github.repository "ml-requests" is invalid`},
		{"URL without scheme", strings.Replace(validYAML, "http://127.0.0.1:5000", "127.0.0.1:5000", 1), nil, `mlflow.baseURL "127.0.0.1:5000" is not an http(s) URL`},
		{"team without org", strings.Replace(validYAML, "acme/ml-leads", "ml-leads", 1), nil, `"ml-leads" is invalid: use org/team-slug`},
		{"role naming nobody", strings.Replace(validYAML, "roles:\n", "roles:\n  compliance officer: {slack: [U1]}\n", 1), nil, `roles["compliance officer"] names nobody`},
		{"half a person", strings.Replace(validYAML, "{github: dana, slack: U0DANA}", "{github: dana}", 1), nil, "people[0] needs github and either slack or email"},
		{"app id not a number", validYAML, map[string]string{"SOPBOT_GITHUB_APP_ID": "twelve"}, `SOPBOT_GITHUB_APP_ID="twelve" is not an integer`},
		{"negative app id", strings.Replace(validYAML, "appID: 12", "appID: -5", 1), nil, "github.appID -5 is invalid"},
		{"unknown log level", validYAML + "logLevel: verbose\n", nil, `logLevel "verbose" is invalid: use debug, info, warn or error`},
		{"channel name", strings.Replace(validYAML, "channel: C01", `channel: "#mlops"`, 1), nil, `slack.channel "#mlops" is a channel name`},
		{"alias for no stage", strings.Replace(validYAML, "{Production: champion}", "{Prod: champion}", 1), nil, `"Prod" is not a stage`},
		{"drift without files", validYAML + "drift:\n  - {model: fraud-detector}\n", nil, "drift[0] needs model, reference and current"},
		{"drift interval", validYAML + "drift:\n  - {model: m, reference: a.csv, current: b.csv, every: 10s}\n", nil, `drift[0].every "10s" is not a duration of at least 1m`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tc.text), func(k string) string { return tc.env[k] })
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestPrivateKeyFile(t *testing.T) {
	keyPath := filepath.Join(t.TempDir(), "app.pem")
	require.NoError(t, os.WriteFile(keyPath, []byte("PEM BYTES"), 0o600))
	text := strings.Replace(validYAML, `privateKey: "-----BEGIN RSA PRIVATE KEY-----"`, "privateKeyFile: "+keyPath, 1)
	cfg, err := Load(writeConfig(t, text), noEnv)
	require.NoError(t, err)
	assert.Equal(t, "PEM BYTES", cfg.GitHub.PrivateKey.Reveal())

	missing := strings.Replace(validYAML, `privateKey: "-----BEGIN RSA PRIVATE KEY-----"`, "privateKeyFile: /nonexistent/app.pem", 1)
	_, err = Load(writeConfig(t, missing), noEnv)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "reading github.privateKeyFile")
}

func TestSecretNeverPrints(t *testing.T) {
	cfg, err := Load(writeConfig(t, validYAML), noEnv)
	require.NoError(t, err)

	assert.NotContains(t, fmt.Sprintf("%v %+v %s", cfg, cfg, cfg.Slack.SigningSecret), "signing-secret")
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "github", cfg.GitHub, "secret", cfg.GitHub.WebhookSecret)
	assert.NotContains(t, logs.String(), "hook-secret")
	assert.Contains(t, logs.String(), "[redacted]")
	assert.Equal(t, "hook-secret", cfg.GitHub.WebhookSecret.Reveal())
}

func TestEnvNamesListEverySetting(t *testing.T) {
	names := EnvNames()
	assert.Len(t, names, len(envSettings))
	for _, name := range names {
		assert.True(t, strings.HasPrefix(name, "SOPBOT_"), name)
	}
}

func TestListenWithoutPortRejected(t *testing.T) {
	env := map[string]string{"SOPBOT_LISTEN": "8080"}
	_, err := Load(writeConfig(t, validYAML), func(k string) string { return env[k] })
	require.Error(t, err)
	assert.Contains(t, err.Error(), `listen "8080" is invalid: use host:port, such as :8080 or 127.0.0.1:8080`)
}

func TestUnknownKeyAndOtherProblemsInOneMessage(t *testing.T) {
	text := strings.Replace(validYAML, "channel: C01", "chanel: C01", 1) + "logLevel: loud\n"
	_, err := Load(writeConfig(t, text), noEnv)
	require.Error(t, err)
	message := err.Error()
	assert.Contains(t, message, `unknown setting "slack.chanel" (did you mean "slack.channel"?)`)
	assert.Contains(t, message, "slack.channel is missing", "the rest of the file is checked too")
	assert.Contains(t, message, `logLevel "loud"`)
	assert.Equal(t, 1, strings.Count(message, "invalid config"), "one message")
}

func TestUnknownKeyWithPrivateKeyFile(t *testing.T) {
	keyPath := filepath.Join(t.TempDir(), "app.pem")
	require.NoError(t, os.WriteFile(keyPath, []byte("-----BEGIN RSA PRIVATE KEY-----"), 0o600))
	text := strings.Replace(validYAML, `privateKey: "-----BEGIN RSA PRIVATE KEY-----"`, "privateKeyFile: "+keyPath, 1) + "colour: blue\n"
	_, err := Load(writeConfig(t, text), noEnv)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown setting "colour"`)
	assert.NotContains(t, err.Error(), "github.privateKey is missing", "the key file is read as without the unknown key")
}

func TestUnknownKeyWithWrongType(t *testing.T) {
	text := strings.Replace(validYAML, "appID: 12", "appID: twelve", 1) + "colour: blue\n"
	_, err := Load(writeConfig(t, text), noEnv)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown setting "colour"`)
	assert.Contains(t, err.Error(), "github.appID", "the value of the wrong type is listed too")
}
