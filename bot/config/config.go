// Package config reads the bot's one typed configuration: a YAML file,
// strictly decoded, overridden by SOPBOT_* environment variables, and
// validated with every problem reported at once.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// Secret is a setting that must never reach a log, an issue or Slack. Its
// String and LogValue print a placeholder; Reveal returns the value.
type Secret string

// String returns a placeholder, so fmt never prints the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON writes a placeholder, so a logged or encoded struct never
// carries the value.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// Config is the whole configuration.
type Config struct {
	// Listen is the HTTP listen address.
	Listen string `json:"listen"`
	// Database is the SQLite file.
	Database string `json:"database"`
	// SOPDir, when set, replaces the embedded SOP library with the *.md
	// files of this directory.
	SOPDir string `json:"sopDir"`
	GitHub GitHub `json:"github"`
	Slack  Slack  `json:"slack"`
	MLflow MLflow `json:"mlflow"`
	// Roles maps a role member named in an SOP ("ML lead") to who holds it.
	Roles map[string]Holders `json:"roles"`
	// People pairs GitHub logins with Slack user ids.
	People []Person `json:"people"`
	// Evidence configures the bot's own checks.
	Evidence Evidence `json:"evidence"`
	// Drift lists the scheduled drift checks; one that finds drift opens
	// a retraining request.
	Drift []DriftCheck `json:"drift"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `json:"logLevel"`
	// Leader configures leader election among replicas on Kubernetes.
	Leader Leader `json:"leader"`
	// Admin configures the admin listener for pprof and metrics.
	Admin Admin `json:"admin"`
	// Kubernetes is the cluster the infra actions act on.
	Kubernetes Kubernetes `json:"kubernetes"`
	// KFP is the Kubeflow Pipelines API.
	KFP KFP `json:"kfp"`
	// Onboarding configures the actions of SOP-01.
	Onboarding Onboarding `json:"onboarding"`
	// Rotation configures SOP-04 and the secret inventory.
	Rotation Rotation `json:"rotation"`
	// Schedules configures the recurring reviews, audits and checks.
	Schedules Schedules `json:"schedules"`
	// Retraining configures SOP-03: the drift report endpoint and each
	// model's retraining pipeline.
	Retraining Retraining `json:"retraining"`
}

// Admin is the configuration of the admin listener, a second HTTP
// listener that serves /metrics and, when enabled, net/http/pprof. It is
// off by default. Give it an address that only operators reach, such as
// loopback or a pod port that no Service exposes.
type Admin struct {
	// Listen is the admin listener's address, such as 127.0.0.1:6060.
	// Empty starts no admin listener.
	Listen string `json:"listen"`
	// PProf enables the net/http/pprof handlers under /debug/pprof/ on
	// the admin listener.
	PProf bool `json:"pprof"`
}

// Leader holds the leader election settings. When enabled, serve opens the
// database and works the queue only while it holds a Kubernetes Lease.
type Leader struct {
	Enabled bool `json:"enabled"`
	// Namespace is the namespace of the Lease, normally the pod's own.
	Namespace string `json:"namespace"`
	// Lease is the name of the Lease object, "sopbot-leader" by default.
	Lease string `json:"lease"`
	// Identity names this replica in the Lease and must be unique among
	// replicas. The pod name is the usual choice.
	Identity string `json:"identity"`
}

// GitHub holds the GitHub App settings.
type GitHub struct {
	// BaseURL is the REST API root: https://api.github.com/ or, for GitHub
	// Enterprise Server, https://HOST/api/v3/.
	BaseURL        string `json:"baseURL"`
	AppID          int64  `json:"appID"`
	PrivateKey     Secret `json:"privateKey"`
	PrivateKeyFile string `json:"privateKeyFile"`
	// InstallationID is optional; without it the bot looks it up for the
	// repository or takes it from each event.
	InstallationID int64  `json:"installationID"`
	WebhookSecret  Secret `json:"webhookSecret"`
	// Repository is the owner/name of the repository request issues open in.
	Repository string `json:"repository"`
	// BotLogin is the app's bot user, such as "sopbot[bot]"; its own
	// events are ignored.
	BotLogin string `json:"botLogin"`
}

// Slack holds the Slack app settings.
type Slack struct {
	APIURL        string `json:"apiURL"`
	BotToken      Secret `json:"botToken"`
	SigningSecret Secret `json:"signingSecret"`
	// Channel receives notifications such as a finished promotion.
	Channel string `json:"channel"`
	// ResponseURLPrefixes lists the allowed response_url prefixes.
	ResponseURLPrefixes []string `json:"responseURLPrefixes"`
}

// MLflow holds the tracking server settings.
type MLflow struct {
	BaseURL string `json:"baseURL"`
	// UIURL is the address people open; defaults to BaseURL.
	UIURL string `json:"uiURL"`
	Token Secret `json:"token"`
	// Models chooses, per model, an alias to set instead of a stage.
	Models map[string]ModelPolicy `json:"models"`
}

// ModelPolicy is how one model is promoted: a stage or an alias.
type ModelPolicy struct {
	// Aliases maps a stage named in a command ("Production") to the alias
	// set instead ("champion"), for registries that use aliases.
	Aliases map[string]string `json:"aliases"`
	// Metrics are the thresholds a candidate version's run metrics must
	// meet, by metric key.
	Metrics map[string]Threshold `json:"metrics"`
}

// Threshold bounds one metric. Every bound given must hold.
type Threshold struct {
	Min *float64 `json:"min"`
	Max *float64 `json:"max"`
	// MaxRegression is how much worse than the current production version
	// the candidate may be, in the metric's own unit.
	MaxRegression *float64 `json:"maxRegression"`
	// LowerIsBetter marks metrics such as latency or error rate, so a
	// regression is an increase.
	LowerIsBetter bool `json:"lowerIsBetter"`
}

// Evidence configures the checks the bot runs to tick items itself.
type Evidence struct {
	// ParityCheck is the check run name or commit status context, on the
	// linked pull request's head, that proves the training/serving parity
	// tests passed. Empty leaves that item to people.
	ParityCheck string `json:"parityCheck"`
	// DatasetVersionKey is the run parameter or tag that names the training
	// dataset version.
	DatasetVersionKey string `json:"datasetVersionKey"`
	// ScanMaxFileBytes is the largest artifact file downloaded for the scan.
	ScanMaxFileBytes int64 `json:"scanMaxFileBytes"`
	// ScanMaxFiles is the most artifact files one scan downloads.
	ScanMaxFiles int `json:"scanMaxFiles"`
}

// Holders lists who holds one role member.
type Holders struct {
	GitHub []string `json:"github"`
	// Teams are GitHub teams as org/slug.
	Teams []string `json:"teams"`
	Slack []string `json:"slack"`
}

// Person pairs a GitHub login with a Slack user id, or with the e-mail of
// the Slack profile, which the bot reads with users.info.
type Person struct {
	GitHub string `json:"github"`
	Slack  string `json:"slack"`
	Email  string `json:"email"`
}

// Load reads the file at path (optional when empty), applies the
// environment and defaults, and validates the result.
func Load(path string, env func(string) string) (Config, error) {
	var cfg Config
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("reading config: %w", err)
		}
		// Unknown keys are listed first, all of them with their paths, so
		// one run shows every typo; the strict decode then reports values
		// of the wrong type.
		unknown, err := unknownKeys(data)
		if err != nil {
			return cfg, fmt.Errorf("invalid config %s: not valid YAML: %w", path, err)
		}
		if len(unknown) > 0 {
			return cfg, unknownKeysError(path, data, unknown, env)
		}
		if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
			return cfg, fmt.Errorf("invalid config %s: %s", path, describeDecodeError(err))
		}
		if err := markGivenThresholds(data, &cfg); err != nil {
			return cfg, fmt.Errorf("invalid config %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, env); err != nil {
		return cfg, err
	}
	cfg = cfg.WithDefaults()
	if err := cfg.readPrivateKeyFile(); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// readPrivateKeyFile sets github.privateKey from github.privateKeyFile
// when only the file is given.
func (c *Config) readPrivateKeyFile() error {
	if c.GitHub.PrivateKey != "" || c.GitHub.PrivateKeyFile == "" {
		return nil
	}
	key, err := os.ReadFile(c.GitHub.PrivateKeyFile)
	if err != nil {
		return fmt.Errorf("reading github.privateKeyFile: %w", err)
	}
	c.GitHub.PrivateKey = Secret(key)
	return nil
}

// WithDefaults returns c with every unset setting at its default.
func (c Config) WithDefaults() Config {
	c.applyDefaults()
	return c
}

func (c *Config) applyDefaults() {
	setDefault(&c.Listen, ":8080")
	setDefault(&c.Database, "sopbot.db")
	setDefault(&c.GitHub.BaseURL, "https://api.github.com/")
	setDefault(&c.Slack.APIURL, "https://slack.com/api/")
	setDefault(&c.LogLevel, "info")
	setDefault(&c.Leader.Lease, "sopbot-leader")
	if len(c.Slack.ResponseURLPrefixes) == 0 {
		c.Slack.ResponseURLPrefixes = []string{"https://hooks.slack.com/"}
	}
	setDefault(&c.MLflow.UIURL, c.MLflow.BaseURL)
	setDefault(&c.Evidence.DatasetVersionKey, "dataset_version")
	if c.Evidence.ScanMaxFileBytes == 0 {
		c.Evidence.ScanMaxFileBytes = 512 << 20
	}
	if c.Evidence.ScanMaxFiles == 0 {
		c.Evidence.ScanMaxFiles = 200
	}
	c.applyInfraDefaults()
	c.applyScheduleDefaults()
	c.applyRetrainingDefaults()
	for i := range c.Drift {
		c.Drift[i] = c.Drift[i].withDefaults()
	}
}

func setDefault(field *string, value string) {
	if *field == "" {
		*field = value
	}
}

// Validate reports every missing or invalid setting in one error. It also
// stats and opens the files of the drift[] checks, to report those that
// cannot be read.
func (c Config) Validate() error {
	if problems := c.problems(); len(problems) > 0 {
		return errors.New("invalid configuration:\n  - " + strings.Join(problems, "\n  - "))
	}
	return nil
}

// unknownKeysError reports the unknown keys of a config file together
// with the problems of the rest of it, decoded without them, so one run
// shows every mistake.
func unknownKeysError(path string, data []byte, unknown []string, env func(string) string) error {
	problems := unknown
	var cfg Config
	// A value of the wrong type stops the decode, so that problem is listed
	// and the validation of the rest is left for the next run.
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		problems = append(problems, describeDecodeError(err))
	} else if err := markGivenThresholds(data, &cfg); err == nil && applyEnv(&cfg, env) == nil {
		cfg = cfg.WithDefaults()
		if err := cfg.readPrivateKeyFile(); err != nil {
			problems = append(problems, err.Error())
		}
		problems = append(problems, cfg.problems()...)
	}
	return fmt.Errorf("invalid config %s:\n  - %s\n(settings are case-sensitive; the README's configuration table lists them)", path, strings.Join(problems, "\n  - "))
}

// problems lists every missing or invalid setting of c.
func (c Config) problems() []string {
	var problems []string
	missing := func(ok bool, setting, env string) {
		if !ok {
			problems = append(problems, fmt.Sprintf("%s is missing (set it in the config or %s)", setting, env))
		}
	}
	if c.GitHub.AppID < 0 {
		problems = append(problems, fmt.Sprintf("github.appID %d is invalid: use the app's positive numeric id", c.GitHub.AppID))
	} else {
		missing(c.GitHub.AppID > 0, "github.appID", "SOPBOT_GITHUB_APP_ID")
	}
	missing(c.GitHub.PrivateKey != "", "github.privateKey", "SOPBOT_GITHUB_PRIVATE_KEY or SOPBOT_GITHUB_PRIVATE_KEY_FILE")
	missing(c.GitHub.WebhookSecret != "", "github.webhookSecret", "SOPBOT_GITHUB_WEBHOOK_SECRET")
	missing(c.GitHub.Repository != "", "github.repository", "SOPBOT_GITHUB_REPOSITORY")
	missing(c.GitHub.BotLogin != "", "github.botLogin", "SOPBOT_GITHUB_BOT_LOGIN")
	missing(c.Slack.SigningSecret != "", "slack.signingSecret", "SOPBOT_SLACK_SIGNING_SECRET")
	missing(c.Slack.BotToken != "", "slack.botToken", "SOPBOT_SLACK_BOT_TOKEN")
	missing(c.Slack.Channel != "", "slack.channel", "SOPBOT_SLACK_CHANNEL")
	missing(c.MLflow.BaseURL != "", "mlflow.baseURL", "SOPBOT_MLFLOW_BASE_URL")

	if c.GitHub.Repository != "" {
		if owner, name, ok := strings.Cut(c.GitHub.Repository, "/"); !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			problems = append(problems, fmt.Sprintf("github.repository %q is invalid: use owner/name", c.GitHub.Repository))
		}
	}
	for setting, value := range map[string]string{"github.baseURL": c.GitHub.BaseURL, "slack.apiURL": c.Slack.APIURL, "mlflow.baseURL": c.MLflow.BaseURL} {
		if value == "" {
			continue
		}
		if u, err := url.Parse(value); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, fmt.Sprintf("%s %q is not an http(s) URL", setting, value))
		}
	}
	if strings.HasPrefix(c.Slack.Channel, "#") {
		problems = append(problems, fmt.Sprintf("slack.channel %q is a channel name: use the channel id, such as C0123ABCD", c.Slack.Channel))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		problems = append(problems, fmt.Sprintf("logLevel %q is invalid: use debug, info, warn or error", c.LogLevel))
	}
	for model, policy := range c.MLflow.Models {
		for stage := range policy.Aliases {
			if stage != "Staging" && stage != "Production" {
				problems = append(problems, fmt.Sprintf("mlflow.models[%q].aliases: %q is not a stage: use Staging or Production", model, stage))
			}
		}
	}
	problems = append(problems, c.validateRoles()...)
	problems = append(problems, c.validateThresholds()...)
	problems = append(problems, c.validateDrift()...)
	problems = append(problems, c.validateLeader()...)
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		problems = append(problems, fmt.Sprintf("listen %q is invalid: use host:port, such as :8080 or 127.0.0.1:8080", c.Listen))
	}
	problems = append(problems, c.validateAdmin()...)
	problems = append(problems, c.validateInfra()...)
	problems = append(problems, c.validateSchedules()...)
	problems = append(problems, c.validateRetraining()...)
	return problems
}

func (c Config) validateRoles() []string {
	var problems []string
	for member, holders := range c.Roles {
		for _, team := range holders.Teams {
			if org, slug, ok := strings.Cut(team, "/"); !ok || org == "" || slug == "" {
				problems = append(problems, fmt.Sprintf("roles[%q].teams: %q is invalid: use org/team-slug", member, team))
			}
		}
		if len(holders.GitHub)+len(holders.Teams) == 0 {
			problems = append(problems, fmt.Sprintf("roles[%q] names nobody: add github logins or teams", member))
		}
	}
	for i, p := range c.People {
		if p.GitHub == "" || (p.Slack == "" && p.Email == "") {
			problems = append(problems, fmt.Sprintf("people[%d] needs github and either slack or email", i))
		}
	}
	return problems
}

func (c Config) validateThresholds() []string {
	var problems []string
	for model, policy := range c.MLflow.Models {
		for metric, th := range policy.Metrics {
			setting := fmt.Sprintf("mlflow.models[%q].metrics[%q]", model, metric)
			if th.Min == nil && th.Max == nil && th.MaxRegression == nil {
				problems = append(problems, setting+" sets no bound: give min, max or maxRegression")
			}
			if th.Min != nil && th.Max != nil && *th.Min > *th.Max {
				problems = append(problems, fmt.Sprintf("%s has min %g above max %g", setting, *th.Min, *th.Max))
			}
			if th.MaxRegression != nil && *th.MaxRegression < 0 {
				problems = append(problems, fmt.Sprintf("%s has a negative maxRegression %g", setting, *th.MaxRegression))
			}
		}
	}
	if c.Evidence.ScanMaxFileBytes < 0 || c.Evidence.ScanMaxFiles < 0 {
		problems = append(problems, "evidence.scanMaxFileBytes and evidence.scanMaxFiles must not be negative")
	}
	return problems
}

// dnsSubdomain matches a Kubernetes object name such as a Lease name.
// validateLeader checks the limit of 253 characters apart.
var dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// dnsLabel matches a Kubernetes namespace name of at most 63 characters.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

func (c Config) validateLeader() []string {
	l := c.Leader
	if !l.Enabled {
		return nil
	}
	var problems []string
	if l.Namespace == "" {
		problems = append(problems, "leader.namespace is missing (set it in the config or SOPBOT_LEADER_NAMESPACE)")
	} else if !dnsLabel.MatchString(l.Namespace) {
		problems = append(problems, fmt.Sprintf("leader.namespace %q is not a valid namespace name", l.Namespace))
	}
	if len(l.Lease) > 253 || !dnsSubdomain.MatchString(l.Lease) {
		problems = append(problems, fmt.Sprintf("leader.lease %q is not a valid Kubernetes object name: use lowercase letters, digits, '-' and '.'", l.Lease))
	}
	if l.Identity == "" {
		problems = append(problems, "leader.identity is missing (set it in the config or SOPBOT_LEADER_IDENTITY, normally to the pod name)")
	}
	return problems
}

func (c Config) validateAdmin() []string {
	a := c.Admin
	if a.Listen == "" {
		if a.PProf {
			return []string{"admin.pprof needs admin.listen (set it in the config or SOPBOT_ADMIN_LISTEN), such as 127.0.0.1:6060"}
		}
		return nil
	}
	var problems []string
	_, port, err := net.SplitHostPort(a.Listen)
	switch {
	case err != nil:
		problems = append(problems, fmt.Sprintf("admin.listen %q is invalid: use host:port, such as 127.0.0.1:6060", a.Listen))
	case a.Listen == c.Listen && port != "0":
		problems = append(problems, fmt.Sprintf("admin.listen %q is also the public listen address: give the admin listener its own port", a.Listen))
	}
	// NOTE: serve starts the admin listener only without leader election,
	// so the combination is rejected rather than ignored.
	if c.Leader.Enabled {
		problems = append(problems, "admin.listen is not supported with leader.enabled: unset one of them")
	}
	return problems
}

// envSetting binds one environment variable to a config field.
type envSetting struct {
	name string
	set  func(*Config, string) error
}

func stringSetting(name string, field func(*Config) *string) envSetting {
	return envSetting{name, func(c *Config, v string) error { *field(c) = v; return nil }}
}

func secretSetting(name string, field func(*Config) *Secret) envSetting {
	return envSetting{name, func(c *Config, v string) error { *field(c) = Secret(v); return nil }}
}

func intSetting(name string, field func(*Config) *int64) envSetting {
	return envSetting{name, func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%s=%q is not an integer", name, v)
		}
		*field(c) = n
		return nil
	}}
}

func boolSetting(name string, field func(*Config) *bool) envSetting {
	return envSetting{name, func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%s=%q is not a boolean: use true or false", name, v)
		}
		*field(c) = b
		return nil
	}}
}

var envSettings = []envSetting{
	stringSetting("SOPBOT_LISTEN", func(c *Config) *string { return &c.Listen }),
	stringSetting("SOPBOT_DATABASE", func(c *Config) *string { return &c.Database }),
	stringSetting("SOPBOT_SOP_DIR", func(c *Config) *string { return &c.SOPDir }),
	stringSetting("SOPBOT_LOG_LEVEL", func(c *Config) *string { return &c.LogLevel }),
	stringSetting("SOPBOT_GITHUB_BASE_URL", func(c *Config) *string { return &c.GitHub.BaseURL }),
	intSetting("SOPBOT_GITHUB_APP_ID", func(c *Config) *int64 { return &c.GitHub.AppID }),
	secretSetting("SOPBOT_GITHUB_PRIVATE_KEY", func(c *Config) *Secret { return &c.GitHub.PrivateKey }),
	stringSetting("SOPBOT_GITHUB_PRIVATE_KEY_FILE", func(c *Config) *string { return &c.GitHub.PrivateKeyFile }),
	intSetting("SOPBOT_GITHUB_INSTALLATION_ID", func(c *Config) *int64 { return &c.GitHub.InstallationID }),
	secretSetting("SOPBOT_GITHUB_WEBHOOK_SECRET", func(c *Config) *Secret { return &c.GitHub.WebhookSecret }),
	stringSetting("SOPBOT_GITHUB_REPOSITORY", func(c *Config) *string { return &c.GitHub.Repository }),
	stringSetting("SOPBOT_GITHUB_BOT_LOGIN", func(c *Config) *string { return &c.GitHub.BotLogin }),
	stringSetting("SOPBOT_SLACK_API_URL", func(c *Config) *string { return &c.Slack.APIURL }),
	secretSetting("SOPBOT_SLACK_BOT_TOKEN", func(c *Config) *Secret { return &c.Slack.BotToken }),
	secretSetting("SOPBOT_SLACK_SIGNING_SECRET", func(c *Config) *Secret { return &c.Slack.SigningSecret }),
	stringSetting("SOPBOT_SLACK_CHANNEL", func(c *Config) *string { return &c.Slack.Channel }),
	stringSetting("SOPBOT_MLFLOW_BASE_URL", func(c *Config) *string { return &c.MLflow.BaseURL }),
	stringSetting("SOPBOT_MLFLOW_UI_URL", func(c *Config) *string { return &c.MLflow.UIURL }),
	secretSetting("SOPBOT_MLFLOW_TOKEN", func(c *Config) *Secret { return &c.MLflow.Token }),
	stringSetting("SOPBOT_EVIDENCE_PARITY_CHECK", func(c *Config) *string { return &c.Evidence.ParityCheck }),
	boolSetting("SOPBOT_LEADER_ENABLED", func(c *Config) *bool { return &c.Leader.Enabled }),
	stringSetting("SOPBOT_LEADER_NAMESPACE", func(c *Config) *string { return &c.Leader.Namespace }),
	stringSetting("SOPBOT_LEADER_LEASE", func(c *Config) *string { return &c.Leader.Lease }),
	stringSetting("SOPBOT_LEADER_IDENTITY", func(c *Config) *string { return &c.Leader.Identity }),
	stringSetting("SOPBOT_ADMIN_LISTEN", func(c *Config) *string { return &c.Admin.Listen }),
	boolSetting("SOPBOT_ADMIN_PPROF", func(c *Config) *bool { return &c.Admin.PProf }),
	stringSetting("SOPBOT_KUBERNETES_KUBECONFIG", func(c *Config) *string { return &c.Kubernetes.Kubeconfig }),
	stringSetting("SOPBOT_KFP_BASE_URL", func(c *Config) *string { return &c.KFP.BaseURL }),
	secretSetting("SOPBOT_KFP_TOKEN", func(c *Config) *Secret { return &c.KFP.Token }),
	secretSetting("SOPBOT_RETRAINING_API_TOKEN", func(c *Config) *Secret { return &c.Retraining.APIToken }),
}

// EnvNames lists every environment variable Load reads.
func EnvNames() []string {
	names := make([]string, len(envSettings))
	for i, s := range envSettings {
		names[i] = s.name
	}
	return names
}

func applyEnv(cfg *Config, env func(string) string) error {
	var problems []error
	for _, s := range envSettings {
		if v := env(s.name); v != "" {
			if err := s.set(cfg, v); err != nil {
				problems = append(problems, err)
			}
		}
	}
	return errors.Join(problems...)
}
