package config

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"time"
)

// Retraining configures SOP-03: the drift report endpoint, and per model
// the retraining pipeline, its schedule and when a retrained version is
// promoted without a reviewer.
type Retraining struct {
	// APIToken is the bearer token drift detectors send to
	// POST /api/v1/drift. Empty turns the endpoint off.
	APIToken Secret `json:"apiToken"`
	// ReferenceTag is the registered-model tag that points at the model's
	// drift reference dataset, "sopbot.reference_dataset" by default.
	ReferenceTag string `json:"referenceTag"`
	// Models configures each model that detectors report on, by registered
	// model name. A report for a model missing here is rejected.
	Models map[string]RetrainingModel `json:"models"`
}

// RetrainingModel is the retraining policy of one model.
type RetrainingModel struct {
	// Pipeline is the KFP pipeline that retrains the model. The bot adds
	// the parameters model, request, window_start and window_end.
	Pipeline Pipeline `json:"pipeline"`
	// WindowDays is the number of days of data, ending when the request
	// opens, that the pipeline trains on. It is 30 by default.
	WindowDays int `json:"windowDays"`
	// Every is the retraining schedule as a Go duration, such as "720h".
	// A drift report that arrives this long after the model's last
	// retraining request opened one opens a new request without drift.
	// Empty retrains on drift only.
	Every string `json:"every"`
	// Thresholds decide when a reported score is drift. A threshold left
	// out comes from the drift[] check of the same model, else PSI 0.2 and
	// KS p-value 0.01, with KL off.
	Thresholds DriftThresholdSettings `json:"thresholds"`
	// AutoPromote opens the SOP-02 request for the retrained version
	// without a reviewer's decision, when every metric of MinImprovement
	// improved on production by its margin and every threshold under
	// mlflow.models holds.
	AutoPromote bool `json:"autoPromote"`
	// MinImprovement maps a metric key to how much the retrained version
	// must improve on production for an automatic promotion.
	MinImprovement map[string]Improvement `json:"minImprovement"`
	// PromoteTo is the stage or alias that the retrained version is
	// promoted to, "Production" by default.
	PromoteTo string `json:"promoteTo"`
	// ReferenceDataset is the value the reference tag gets once the
	// retrained version is promoted. {model}, {request}, {window_start}
	// and {window_end} are replaced. Empty uses the source of the
	// candidate run's training dataset input, or the data window.
	ReferenceDataset string `json:"referenceDataset"`
	// RegistrationTimeout bounds the wait, after the run succeeded, for
	// the model version that the pipeline registers. It is "1h" by default.
	RegistrationTimeout string `json:"registrationTimeout"`
}

// DriftThresholdSettings are a retraining model's own drift thresholds.
// A nil threshold is one the config leaves out, which
// Config.RetrainingThresholds takes from the model's drift[] check or the
// default. An explicit 0 is kept. So psi 0 makes any PSI above 0 drift,
// ksPValue 0 turns the KS test off and kl 0 turns KL off.
type DriftThresholdSettings struct {
	// PSI is the population stability index above which a feature drifts.
	PSI *float64 `json:"psi"`
	// KSPValue is the Kolmogorov-Smirnov p-value below which a feature
	// drifts.
	KSPValue *float64 `json:"ksPValue"`
	// KL is the KL divergence above which a feature drifts.
	KL *float64 `json:"kl"`
}

// DriftThresholds are the drift thresholds in force for a model, as
// Config.RetrainingThresholds resolves them.
type DriftThresholds struct {
	// PSI is the population stability index above which a feature drifts.
	PSI float64 `json:"psi"`
	// KSPValue is the Kolmogorov-Smirnov p-value below which a feature
	// drifts.
	KSPValue float64 `json:"ksPValue"`
	// KL is the KL divergence above which a feature drifts. 0 ignores it.
	KL float64 `json:"kl"`
}

// Improvement is the margin by which one metric must beat production.
type Improvement struct {
	// Margin is in the metric's own unit. 0 asks for any improvement.
	Margin float64 `json:"margin"`
	// LowerIsBetter marks metrics such as latency, which improve by
	// falling.
	LowerIsBetter bool `json:"lowerIsBetter"`
}

// WindowDuration returns the length of the data window.
func (m RetrainingModel) WindowDuration() time.Duration {
	return time.Duration(m.WindowDays) * 24 * time.Hour
}

// Schedule returns Every as a duration, or 0 when the model retrains on
// drift only.
func (m RetrainingModel) Schedule() time.Duration { return durationOr(m.Every, 0) }

// RegistrationTimeoutDuration returns RegistrationTimeout, or 1 hour.
func (m RetrainingModel) RegistrationTimeoutDuration() time.Duration {
	return durationOr(m.RegistrationTimeout, time.Hour)
}

// Default drift thresholds of a drift[] check, and of a retraining model
// without its own thresholds or a drift[] check.
const (
	defaultPSI      = 0.2
	defaultKSPValue = 0.01
)

// RetrainingThresholds returns the drift thresholds of a model. Each is
// the model's own when its config sets it, 0 included, else that of the
// drift[] check of the same model, else PSI 0.2 and KS p-value 0.01 with
// KL off.
func (c Config) RetrainingThresholds(model string) DriftThresholds {
	th := DriftThresholds{PSI: defaultPSI, KSPValue: defaultKSPValue}
	for _, d := range c.Drift {
		if d.Model == model {
			d = d.withDefaults()
			th = DriftThresholds{PSI: d.PSI, KSPValue: d.KSPValue, KL: d.KL}
			break
		}
	}
	own := c.Retraining.Models[model].Thresholds
	if own.PSI != nil {
		th.PSI = *own.PSI
	}
	if own.KSPValue != nil {
		th.KSPValue = *own.KSPValue
	}
	if own.KL != nil {
		th.KL = *own.KL
	}
	return th
}

func (c *Config) applyRetrainingDefaults() {
	setDefault(&c.Retraining.ReferenceTag, "sopbot.reference_dataset")
	for name, m := range c.Retraining.Models {
		if m.WindowDays == 0 {
			m.WindowDays = 30
		}
		setDefault(&m.PromoteTo, "Production")
		setDefault(&m.RegistrationTimeout, "1h")
		c.Retraining.Models[name] = m
	}
}

// retrainingModelName matches the model names that the SOP parameter kind
// model-name accepts.
var retrainingModelName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// retrainingAlias matches an MLflow alias name, as a promotion target.
var retrainingAlias = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,63}$`)

func (c Config) validateRetraining() []string {
	r := c.Retraining
	var problems []string
	if token := r.APIToken.Reveal(); token != "" && len(token) < 16 {
		problems = append(problems, "retraining.apiToken is shorter than 16 characters: use a long random token (set it in the config or SOPBOT_RETRAINING_API_TOKEN)")
	}
	if len(r.ReferenceTag) > 250 {
		problems = append(problems, "retraining.referenceTag is longer than MLflow's 250-character limit for tag keys")
	}
	if len(r.Models) > 0 && c.KFP.BaseURL == "" {
		problems = append(problems, "retraining.models needs kfp.baseURL (set it in the config or SOPBOT_KFP_BASE_URL) to start the retraining pipelines")
	}
	names := make([]string, 0, len(r.Models))
	for name := range r.Models {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		problems = append(problems, c.validateRetrainingModel(name, r.Models[name])...)
	}
	return problems
}

func (c Config) validateRetrainingModel(name string, m RetrainingModel) []string {
	setting := fmt.Sprintf("retraining.models[%q]", name)
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, setting+fmt.Sprintf(format, args...))
	}
	if !retrainingModelName.MatchString(name) {
		add(" is not a model name: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if m.Pipeline.PipelineID == "" {
		add(".pipeline.pipelineID is missing: give the KFP pipeline that retrains the model")
	}
	for field, value := range map[string]string{"pipeline.timeout": m.Pipeline.Timeout, "registrationTimeout": m.RegistrationTimeout} {
		if value == "" {
			continue
		}
		if d, err := time.ParseDuration(value); err != nil || d <= 0 {
			add(".%s %q is not a positive Go duration such as 6h or 30m", field, value)
		}
	}
	if m.Every != "" {
		if d, err := time.ParseDuration(m.Every); err != nil || d < time.Hour {
			add(".every %q is not a duration of at least 1h, such as 720h", m.Every)
		}
	}
	if m.WindowDays < 0 || m.WindowDays > 3650 {
		add(".windowDays %d is out of range: use 1 to 3650 days", m.WindowDays)
	}
	if th := m.Thresholds; isNegative(th.PSI) || isNegative(th.KL) || isNegative(th.KSPValue) || (th.KSPValue != nil && *th.KSPValue > 1) {
		add(".thresholds has a negative threshold or a ksPValue outside 0..1")
	}
	if m.AutoPromote && len(m.MinImprovement) == 0 {
		add(".autoPromote needs minImprovement: name each metric that must improve and by how much")
	}
	for metric, imp := range m.MinImprovement {
		if imp.Margin < 0 || math.IsNaN(imp.Margin) || math.IsInf(imp.Margin, 0) {
			add(".minImprovement[%q].margin %g must be a finite number of at least 0", metric, imp.Margin)
		}
		if th, ok := c.MLflow.Models[name].Metrics[metric]; ok && th.LowerIsBetter != imp.LowerIsBetter {
			add(".minImprovement[%q].lowerIsBetter is %t but mlflow.models[%q].metrics[%q].lowerIsBetter is %t: make them agree",
				metric, imp.LowerIsBetter, name, metric, th.LowerIsBetter)
		}
	}
	switch {
	case m.PromoteTo == "Staging" || m.PromoteTo == "Production":
	case m.PromoteTo == "None" || m.PromoteTo == "Archived":
		add(".promoteTo %q is not a promotion target: use Staging, Production or an alias", m.PromoteTo)
	case m.PromoteTo != "" && !retrainingAlias.MatchString(m.PromoteTo):
		add(".promoteTo %q is not a stage or an alias: use Staging, Production or letters, digits, '_' and '-'", m.PromoteTo)
	}
	return problems
}

func isNegative(v *float64) bool { return v != nil && *v < 0 }
