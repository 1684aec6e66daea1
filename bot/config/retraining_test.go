package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const retrainingYAML = validYAML + `
kfp:
  baseURL: http://127.0.0.1:8888
drift:
  - {model: churn, reference: ../../testdata/drift/reference.csv, current: ../../testdata/drift/current.csv, psi: 0.3, kl: 0.5}
retraining:
  models:
    fraud-detector:
      pipeline: {pipelineID: pipe-1, parameters: {epochs: 10}}
      every: 720h
      thresholds: {ksPValue: 0.05}
      autoPromote: true
      minImprovement:
        accuracy: {margin: 0.01}
        latency_p95_ms: {margin: 2, lowerIsBetter: true}
    churn:
      pipeline: {pipelineID: pipe-2}
      promoteTo: champion
`

func TestLoadRetraining(t *testing.T) {
	cfg, err := Load(writeConfig(t, retrainingYAML), func(name string) string {
		if name == "SOPBOT_RETRAINING_API_TOKEN" {
			return "a-detector-token-from-the-env"
		}
		return ""
	})
	require.NoError(t, err)
	r := cfg.Retraining
	assert.Equal(t, "a-detector-token-from-the-env", r.APIToken.Reveal())
	assert.Equal(t, "sopbot.reference_dataset", r.ReferenceTag)
	fraud := r.Models["fraud-detector"]
	assert.Equal(t, 30, fraud.WindowDays)
	assert.Equal(t, 30*24*time.Hour, fraud.WindowDuration())
	assert.Equal(t, "Production", fraud.PromoteTo)
	assert.Equal(t, 720*time.Hour, fraud.Schedule())
	assert.Equal(t, time.Hour, fraud.RegistrationTimeoutDuration())
	assert.Equal(t, 6*time.Hour, fraud.Pipeline.TimeoutDuration())
	assert.True(t, fraud.MinImprovement["latency_p95_ms"].LowerIsBetter)
	assert.Equal(t, "champion", r.Models["churn"].PromoteTo)
	assert.Zero(t, r.Models["churn"].Schedule(), "no schedule: drift only")
}

func TestRetrainingThresholdsFallBack(t *testing.T) {
	cfg, err := Load(writeConfig(t, retrainingYAML), noEnv)
	require.NoError(t, err)
	assert.Equal(t, DriftThresholds{PSI: 0.2, KSPValue: 0.05}, cfg.RetrainingThresholds("fraud-detector"),
		"its own p-value, the default PSI and no KL")
	assert.Equal(t, DriftThresholds{PSI: 0.3, KSPValue: 0.01, KL: 0.5}, cfg.RetrainingThresholds("churn"),
		"the drift check of the same model")
	assert.Equal(t, DriftThresholds{PSI: 0.2, KSPValue: 0.01}, cfg.RetrainingThresholds("unknown"))
}

func TestRetrainingThresholdsKeepExplicitZero(t *testing.T) {
	text := validYAML + `
kfp:
  baseURL: http://127.0.0.1:8888
drift:
  - {model: fraud-detector, reference: ../../testdata/drift/reference.csv, current: ../../testdata/drift/current.csv, psi: 0.3, ksPValue: 0.05, kl: 0.5}
retraining:
  models:
    fraud-detector:
      pipeline: {pipelineID: pipe-1}
      thresholds: {ksPValue: 0, kl: 0}
    churn:
      pipeline: {pipelineID: pipe-2}
      thresholds: {psi: 0, ksPValue: null}
`
	cfg, err := Load(writeConfig(t, text), noEnv)
	require.NoError(t, err)
	assert.Equal(t, DriftThresholds{PSI: 0.3}, cfg.RetrainingThresholds("fraud-detector"),
		"ksPValue 0 and kl 0 win over the drift check's, and the psi left out comes from it")
	assert.Equal(t, DriftThresholds{PSI: 0, KSPValue: 0.01}, cfg.RetrainingThresholds("churn"),
		"psi 0 wins over the default, and a null ksPValue takes the default")
}

func TestLoadRetrainingRejects(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"short token", "retraining: {apiToken: short}", "retraining.apiToken is shorter than 16 characters"},
		{"no kfp", "retraining: {models: {m: {pipeline: {pipelineID: p}}}}", "retraining.models needs kfp.baseURL"},
		{"bad model name", "retraining: {models: {'bad name': {pipeline: {pipelineID: p}}}}", `retraining.models["bad name"] is not a model name`},
		{"no pipeline", "retraining: {models: {m: {}}}", `retraining.models["m"].pipeline.pipelineID is missing`},
		{"bad every", "retraining: {models: {m: {pipeline: {pipelineID: p}, every: 10m}}}", `retraining.models["m"].every "10m" is not a duration of at least 1h`},
		{"bad timeout", "retraining: {models: {m: {pipeline: {pipelineID: p, timeout: soon}}}}", `retraining.models["m"].pipeline.timeout "soon" is not a positive Go duration`},
		{"bad registration", "retraining: {models: {m: {pipeline: {pipelineID: p}, registrationTimeout: -1h}}}", `registrationTimeout "-1h" is not a positive Go duration`},
		{"window", "retraining: {models: {m: {pipeline: {pipelineID: p}, windowDays: -3}}}", `retraining.models["m"].windowDays -3 is out of range`},
		{"thresholds", "retraining: {models: {m: {pipeline: {pipelineID: p}, thresholds: {ksPValue: 2}}}}", `retraining.models["m"].thresholds has a negative threshold`},
		{"negative psi", "retraining: {models: {m: {pipeline: {pipelineID: p}, thresholds: {psi: -0.5}}}}", `retraining.models["m"].thresholds has a negative threshold`},
		{"auto without margins", "retraining: {models: {m: {pipeline: {pipelineID: p}, autoPromote: true}}}", `retraining.models["m"].autoPromote needs minImprovement`},
		{"negative margin", "retraining: {models: {m: {pipeline: {pipelineID: p}, minImprovement: {auc: {margin: -1}}}}}", `minImprovement["auc"].margin -1 must be a finite number of at least 0`},
		{"archived target", "retraining: {models: {m: {pipeline: {pipelineID: p}, promoteTo: Archived}}}", `promoteTo "Archived" is not a promotion target`},
		{"bad alias", "retraining: {models: {m: {pipeline: {pipelineID: p}, promoteTo: 'two words'}}}", `promoteTo "two words" is not a stage or an alias`},
		{"unknown key", "retraining: {models: {m: {pipeline: {pipelineID: p}, autopromote: true}}}", `unknown setting "retraining.models.m.autopromote"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, validYAML+"\n"+tc.yaml+"\n"), noEnv)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestRetrainingDirectionMustAgree(t *testing.T) {
	cfg := Config{
		KFP:    KFP{BaseURL: "http://127.0.0.1:8888"},
		MLflow: MLflow{Models: map[string]ModelPolicy{"m": {Metrics: map[string]Threshold{"lat": {LowerIsBetter: true}}}}},
		Retraining: Retraining{Models: map[string]RetrainingModel{"m": {Pipeline: Pipeline{PipelineID: "p"},
			MinImprovement: map[string]Improvement{"lat": {Margin: 1}}}}},
	}
	assert.Equal(t, []string{`retraining.models["m"].minImprovement["lat"].lowerIsBetter is false but mlflow.models["m"].metrics["lat"].lowerIsBetter is true: make them agree`},
		cfg.validateRetraining())
}

func TestRetrainingTokenNeverPrints(t *testing.T) {
	cfg := Config{Retraining: Retraining{APIToken: "a-detector-token-of-some-length"}}
	assert.Equal(t, "[redacted]", cfg.Retraining.APIToken.String())
}
