// Package demo runs the SOPs end to end against in-process fakes of
// GitHub, Slack, MLflow and Kubeflow Pipelines and an in-memory Kubernetes
// cluster: the `sopbot demo` command and the end-to-end tests share it.
package demo

import (
	"database/sql"

	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"sigs.k8s.io/yaml"

	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/integrations/github/githubfake"
	"github.com/sopbot/sopbot/integrations/kfp/kfpfake"
	"github.com/sopbot/sopbot/integrations/mlflow/mlflowfake"
	"github.com/sopbot/sopbot/integrations/slack/slackfake"
)

// The demo's organisation, repository and people.
const (
	Owner          = "acme"
	Repo           = "ml-requests"
	AppID          = 4242
	InstallationID = 99
	BotLogin       = "sopbot[bot]"
	Channel        = "C0MLOPS"
	Model          = "fraud-detector"
)

// Person is one user of the demo.
type Person struct {
	Login string
	Slack string
	Role  string // the role member they hold, "" for none
}

// People are the demo's users. The promotion has a requester, two
// reviewers, two approvers and someone who holds no role. The onboarding
// has its two approvers, the rotation its executor, reviewer and approver,
// and the retraining the ML engineer on call, who reviews it.
var People = struct{ Alice, Bob, Carol, Dana, Erin, Mallory, Frank, Gina, Hank, Ivy, Judy Person }{
	Alice:   Person{"alice", "U0ALICE", ""},
	Bob:     Person{"bob", "U0BOB", "ML platform engineer"},
	Carol:   Person{"carol", "U0CAROL", "senior data scientist"},
	Dana:    Person{"dana", "U0DANA", "ML lead"},
	Erin:    Person{"erin", "U0ERIN", "compliance officer"},
	Mallory: Person{"mallory", "U0MALLORY", ""},
	Frank:   Person{"frank", "U0FRANK", "ML platform lead"},
	Gina:    Person{"gina", "U0GINA", "security officer"},
	Hank:    Person{"hank", "U0HANK", "Platform engineer"},
	Ivy:     Person{"ivy", "U0IVY", "Security engineer"},
	Judy:    Person{"judy", "U0JUDY", "ML engineer on-call"},
}

func everyone() []Person {
	p := People
	return []Person{p.Alice, p.Bob, p.Carol, p.Dana, p.Erin, p.Mallory, p.Frank, p.Gina, p.Hank, p.Ivy, p.Judy}
}

// extraRoles are role members held by someone who already holds another:
// Gina is also the rotation's security lead.
var extraRoles = map[string]Person{"Security lead": People.Gina}

// Fakes are the outside services of the demo, each on a loopback port.
type Fakes struct {
	GitHub *githubfake.Fake
	Slack  *slackfake.Fake
	MLflow *mlflowfake.Fake
	KFP    *kfpfake.Fake
	Kube   *KubeSim
	// Smoke answers the rotation's smoke check.
	Smoke *httptest.Server

	PrivateKeyPEM []byte
	WebhookSecret []byte
	SigningSecret []byte
	BotToken      string
	// DriftToken is the bearer token of the drift endpoint. Config leaves
	// it out, so the caller that wants the endpoint sets
	// retraining.apiToken to it.
	DriftToken string
}

// StartFakes starts the fakes with fresh random secrets.
func StartFakes() (*Fakes, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generating the app key: %w", err)
	}
	f := &Fakes{
		PrivateKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		WebhookSecret: []byte(randomHex(16)),
		SigningSecret: []byte(randomHex(16)),
		BotToken:      "xoxb-demo-" + randomHex(8),
		DriftToken:    "drift-demo-" + randomHex(16),
	}
	f.GitHub, err = githubfake.New(githubfake.Options{
		AppID: AppID, PublicKey: &key.PublicKey, InstallationID: InstallationID,
		Owner: Owner, Repo: Repo, BotLogin: BotLogin, WebhookSecret: f.WebhookSecret,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the GitHub fake: %w", err)
	}
	if err := f.GitHub.Start(); err != nil {
		return nil, fmt.Errorf("starting the GitHub fake: %w", err)
	}
	f.Slack = slackfake.New(slackfake.Options{BotToken: f.BotToken})
	f.Slack.Start()
	f.MLflow = mlflowfake.New()
	f.MLflow.Start()
	f.KFP = kfpfake.New()
	f.KFP.Start()
	f.Kube = StartKubeSim()
	f.Smoke = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"status": "OK"}`)
	}))
	return f, nil
}

// Close stops every fake.
func (f *Fakes) Close() {
	f.GitHub.Close()
	f.Slack.Close()
	f.MLflow.Close()
	f.KFP.Close()
	f.Kube.Close()
	f.Smoke.Close()
}

// Config returns the bot's configuration for the fakes. It has no
// retraining.apiToken, because a Secret encodes as a placeholder, and a
// file written from the configuration with that placeholder fails
// validation. Set it to DriftToken to serve the drift endpoint.
func (f *Fakes) Config(database string) config.Config {
	roles := map[string]config.Holders{}
	var people []config.Person
	for _, p := range everyone() {
		people = append(people, config.Person{GitHub: p.Login, Slack: p.Slack})
		if p.Role != "" {
			roles[p.Role] = config.Holders{GitHub: []string{p.Login}, Slack: []string{p.Slack}}
		}
	}
	for role, p := range extraRoles {
		roles[role] = config.Holders{GitHub: []string{p.Login}, Slack: []string{p.Slack}}
	}
	return config.Config{
		Listen:   "127.0.0.1:0",
		Database: database,
		GitHub: config.GitHub{
			BaseURL: f.GitHub.URL(), AppID: AppID, PrivateKey: config.Secret(f.PrivateKeyPEM),
			InstallationID: InstallationID, WebhookSecret: config.Secret(f.WebhookSecret),
			Repository: Owner + "/" + Repo, BotLogin: BotLogin,
		},
		Slack: config.Slack{
			APIURL: f.Slack.URL(), BotToken: config.Secret(f.BotToken), SigningSecret: config.Secret(f.SigningSecret),
			Channel: Channel, ResponseURLPrefixes: []string{f.Slack.ResponseURLPrefix()},
		},
		MLflow: config.MLflow{BaseURL: f.MLflow.URL(), UIURL: f.MLflow.URL(),
			Models: map[string]config.ModelPolicy{Model: {Metrics: thresholds()}}},
		Evidence: config.Evidence{ParityCheck: ParityCheck},
		Roles:    roles,
		People:   people,
		LogLevel: "warn",
		KFP:      config.KFP{BaseURL: f.KFP.URL()},
		Onboarding: config.Onboarding{
			Feast:      config.Feast{Image: "feastdev/feature-server:0.40.1", Repository: "https://git.example/acme/feature-repo.git", Path: "feature_repo"},
			InitialRun: config.Pipeline{PipelineID: "training-template", PipelineVersionID: "v1", Parameters: map[string]any{"sample_data": true}},
		},
		Retraining: config.Retraining{Models: map[string]config.RetrainingModel{Model: {
			Pipeline: config.Pipeline{PipelineID: RetrainPipeline, PipelineVersionID: "v3", Parameters: map[string]any{"epochs": 5}},
		}}},
		Rotation: config.Rotation{
			// The SOP waits 24 to 48 hours before it deletes the old
			// secret; the demo waits two seconds.
			Wait: "2s",
			Secrets: []config.InventorySecret{{Name: SecretName, Namespace: SecretNamespace, Service: "MLflow tracking server",
				Deployment: SecretDeployment, Kind: "database-password", LastRotated: "2026-05-01", SmokeURL: f.Smoke.URL + "/health"}},
		},
		// SOP-02's monitoring box waits 24 hours after the promotion, and
		// the daily rotation check could open the rotation the demo opens
		// itself, so the demo removes the wait and turns the check off.
		Schedules: config.Schedules{SecretRotation: config.SecretRotationCheck{Enabled: new(false)},
			Windows: config.Windows{Durations: map[string]string{"sop-02-monitoring": "0s"}}},
	}.WithDefaults()
}

// ConfigYAML returns Config as a YAML file, secrets included, for a
// `sopbot serve --config` process.
func (f *Fakes) ConfigYAML(database, listen string) ([]byte, error) {
	cfg := f.Config(database)
	cfg.Listen = listen
	// Secrets encode as a placeholder, so they are put back by hand.
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	github, slack := doc["github"].(map[string]any), doc["slack"].(map[string]any)
	github["privateKey"] = string(f.PrivateKeyPEM)
	github["webhookSecret"] = string(f.WebhookSecret)
	slack["botToken"] = f.BotToken
	slack["signingSecret"] = string(f.SigningSecret)
	return yaml.Marshal(doc)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// OpenReadOnly opens the bot's SQLite database for reading while the bot
// writes to it.
func OpenReadOnly(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return db, nil
}
