package config

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Kubernetes selects the cluster the infra actions act on.
type Kubernetes struct {
	// Kubeconfig is a kubeconfig file. Empty uses the pod's service
	// account (in-cluster config).
	Kubeconfig string `json:"kubeconfig"`
	// Context picks a context of Kubeconfig; empty uses its current one.
	Context string `json:"context"`
}

// KFP holds the Kubeflow Pipelines API settings.
type KFP struct {
	// BaseURL is the API root that serves /apis/v2beta1/.
	BaseURL string `json:"baseURL"`
	// UIURL is the address people open for run links; defaults to BaseURL.
	UIURL string `json:"uiURL"`
	Token Secret `json:"token"`
	// Namespace is the Kubeflow profile namespace runs belong to, if the
	// deployment is multi-user.
	Namespace string `json:"namespace"`
}

// Pipeline names a KFP pipeline version and its fixed parameters.
type Pipeline struct {
	PipelineID        string `json:"pipelineID"`
	PipelineVersionID string `json:"pipelineVersionID"`
	// ExperimentID is the KFP experiment runs are filed under; empty uses
	// the default experiment.
	ExperimentID string `json:"experimentID"`
	// Parameters are passed to every run; the bot adds its own, such as
	// project, request and, for retraining, the data window.
	Parameters map[string]any `json:"parameters"`
	// ServiceAccount runs the pipeline's pods; empty uses the default.
	ServiceAccount string `json:"serviceAccount"`
	// Timeout bounds how long the bot waits for a run, as a Go duration;
	// "6h" by default.
	Timeout string `json:"timeout"`
}

// TimeoutDuration returns Timeout, or 6 hours.
func (p Pipeline) TimeoutDuration() time.Duration { return durationOr(p.Timeout, 6*time.Hour) }

// Feast is where the onboarding's feast job gets its image and features.
type Feast struct {
	Image string `json:"image"`
	// GitImage clones the repository; empty uses the bot's default.
	GitImage string `json:"gitImage"`
	// Repository is the git URL of the feature repository, without
	// credentials.
	Repository string `json:"repository"`
	Ref        string `json:"ref"`
	// Path is the folder with feature_store.yaml inside the repository.
	Path string `json:"path"`
	// Deadline bounds the job's run time, as a Go duration; "30m" by
	// default.
	Deadline string `json:"deadline"`
}

// Onboarding configures the actions of SOP-01.
type Onboarding struct {
	// RoleBinding is the template of the project namespace's role binding.
	// Empty binds the project's service account and the team's group to
	// the ClusterRole edit.
	RoleBinding *RoleBinding `json:"roleBinding"`
	// Quota maps resource names to quantities for the namespace's
	// ResourceQuota, such as {"requests.cpu": "4"}; empty uses the bot's
	// default quota.
	Quota map[string]string `json:"quota"`
	Feast Feast             `json:"feast"`
	// InitialRun is the training pipeline the onboarding submits.
	InitialRun Pipeline `json:"initialRun"`
}

// RoleBinding is a role binding template. {project}, {namespace} and
// {team} are replaced in every name.
type RoleBinding struct {
	Name        string    `json:"name"`
	ClusterRole string    `json:"clusterRole"`
	Role        string    `json:"role"`
	Subjects    []Subject `json:"subjects"`
}

// Subject is one subject of a role binding.
type Subject struct {
	Kind      string `json:"kind"` // User, Group or ServiceAccount
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

// Rotation configures SOP-04.
type Rotation struct {
	// Kinds sets the policy of each kind of secret. It extends the
	// built-in kinds cloud-credential, database-password and api-token,
	// and a kind of the same name replaces the built-in policy as a whole.
	Kinds map[string]SecretKind `json:"kinds"`
	// Secrets seeds the secret inventory.
	Secrets []InventorySecret `json:"secrets"`
	// Wait is how long the old secret stays after the switch, as a Go
	// duration; "24h" by default. The SOP asks for 24 to 48 hours.
	Wait string `json:"wait"`
	// NewSecretTimeout bounds the wait for a secret created out of band,
	// as a Go duration; "24h" by default.
	NewSecretTimeout string `json:"newSecretTimeout"`
	// RolloutTimeout bounds the wait for the deployment's rollout; "10m"
	// by default.
	RolloutTimeout string `json:"rolloutTimeout"`
}

// WaitDuration returns Wait or 24 hours.
func (r Rotation) WaitDuration() time.Duration { return durationOr(r.Wait, 24*time.Hour) }

// NewSecretTimeoutDuration returns NewSecretTimeout or 24 hours.
func (r Rotation) NewSecretTimeoutDuration() time.Duration {
	return durationOr(r.NewSecretTimeout, 24*time.Hour)
}

// RolloutTimeoutDuration returns RolloutTimeout or 10 minutes.
func (r Rotation) RolloutTimeoutDuration() time.Duration {
	return durationOr(r.RolloutTimeout, 10*time.Minute)
}

// SecretKind is the rotation policy of one kind of secret.
type SecretKind struct {
	// MaxAgeDays is how old a secret of this kind may get before the daily
	// check opens a rotation; 0 never opens one.
	MaxAgeDays int `json:"maxAgeDays"`
	// Generate lets the bot create the new value itself. Otherwise a
	// person creates the new Kubernetes secret out of band and the bot
	// waits for it.
	Generate bool `json:"generate"`
	// Length is the generated value's length in characters; 32 by default.
	Length int `json:"length"`
	// Alphabet is hex, base64url or alnum; alnum by default.
	Alphabet string `json:"alphabet"`
}

// InventorySecret is one secret of the inventory.
type InventorySecret struct {
	Name       string `json:"name"`
	Namespace  string `json:"namespace"`
	Service    string `json:"service"`
	Deployment string `json:"deployment"`
	Kind       string `json:"kind"`
	// LastRotated is the date of the last rotation before the bot, as
	// YYYY-MM-DD.
	LastRotated string `json:"lastRotated"`
	// SmokeURL, when set, is fetched after the rollout; any status but
	// 2xx rolls the deployment back to the old secret.
	SmokeURL string `json:"smokeURL"`
}

// LastRotatedTime parses LastRotated; the zero time when empty.
func (s InventorySecret) LastRotatedTime() time.Time {
	t, _ := time.Parse(time.DateOnly, s.LastRotated)
	return t
}

func durationOr(s string, fallback time.Duration) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return fallback
	}
	return d
}

// defaultSecretKinds are the SOP's rotation periods: cloud credentials
// every 90 days and database passwords every 180. API tokens rotate when
// the provider says, so the daily check opens none for them.
func defaultSecretKinds() map[string]SecretKind {
	return map[string]SecretKind{
		"cloud-credential":  {MaxAgeDays: 90},
		"database-password": {MaxAgeDays: 180, Generate: true},
		"api-token":         {},
	}
}

func (c *Config) applyInfraDefaults() {
	setDefault(&c.KFP.UIURL, c.KFP.BaseURL)
	setDefault(&c.Rotation.Wait, "24h")
	setDefault(&c.Rotation.NewSecretTimeout, "24h")
	setDefault(&c.Rotation.RolloutTimeout, "10m")
	setDefault(&c.Onboarding.Feast.Deadline, "30m")
	// The configured kinds extend the built-in ones, so a config that adds
	// a kind keeps the kinds its secrets may still name. The merge goes
	// into a new map, so the caller's map stays as it was.
	kinds := defaultSecretKinds()
	for name, kind := range c.Rotation.Kinds {
		kinds[name] = kind
	}
	for name, kind := range kinds {
		if kind.Length == 0 {
			kind.Length = 32
		}
		setDefault(&kind.Alphabet, "alnum")
		kinds[name] = kind
	}
	c.Rotation.Kinds = kinds
}

var kindName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

func (c Config) validateInfra() []string {
	var problems []string
	if c.KFP.BaseURL != "" {
		if u, err := url.Parse(c.KFP.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, fmt.Sprintf("kfp.baseURL %q is not an http(s) URL", c.KFP.BaseURL))
		}
	}
	for setting, value := range map[string]string{
		"rotation.wait": c.Rotation.Wait, "rotation.newSecretTimeout": c.Rotation.NewSecretTimeout,
		"rotation.rolloutTimeout": c.Rotation.RolloutTimeout, "onboarding.feast.deadline": c.Onboarding.Feast.Deadline,
		"onboarding.initialRun.timeout": c.Onboarding.InitialRun.Timeout,
	} {
		if value == "" {
			continue
		}
		if d, err := time.ParseDuration(value); err != nil || d <= 0 {
			problems = append(problems, fmt.Sprintf("%s %q is not a positive Go duration such as 24h or 30m", setting, value))
		}
	}
	for name, kind := range c.Rotation.Kinds {
		if !kindName.MatchString(name) {
			problems = append(problems, fmt.Sprintf("rotation.kinds: %q is not a kind name: use lower-case letters, digits and '-', such as cloud-credential", name))
		}
		if kind.MaxAgeDays < 0 {
			problems = append(problems, fmt.Sprintf("rotation.kinds[%q].maxAgeDays %d is negative: use 0 to open no rotation, or a number of days", name, kind.MaxAgeDays))
		}
		switch kind.Alphabet {
		case "", "hex", "base64url", "alnum":
		default:
			problems = append(problems, fmt.Sprintf("rotation.kinds[%q].alphabet %q is invalid: use hex, base64url or alnum", name, kind.Alphabet))
		}
		if kind.Length < 0 || kind.Length > 4096 {
			problems = append(problems, fmt.Sprintf("rotation.kinds[%q].length %d is out of range: use 16 to 4096", name, kind.Length))
		} else if kind.Length > 0 && kind.Length < 16 {
			problems = append(problems, fmt.Sprintf("rotation.kinds[%q].length %d is too short for a secret: use at least 16", name, kind.Length))
		}
	}
	seen := map[string]bool{}
	for i, s := range c.Rotation.Secrets {
		where := fmt.Sprintf("rotation.secrets[%d]", i)
		if s.Name == "" || s.Namespace == "" {
			problems = append(problems, where+": name and namespace are required")
		}
		key := s.Namespace + "/" + s.Name
		if seen[key] {
			problems = append(problems, fmt.Sprintf("%s: %s is listed twice", where, key))
		}
		seen[key] = true
		if _, ok := c.Rotation.Kinds[s.Kind]; !ok {
			problems = append(problems, unknownKindProblem(where, s.Kind, c.Rotation.Kinds))
		}
		if s.LastRotated != "" {
			if _, err := time.Parse(time.DateOnly, s.LastRotated); err != nil {
				problems = append(problems, fmt.Sprintf("%s: lastRotated %q is not a date such as 2026-09-01", where, s.LastRotated))
			}
		}
		if s.SmokeURL != "" {
			if u, err := url.Parse(s.SmokeURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				problems = append(problems, fmt.Sprintf("%s: smokeURL %q is not an http(s) URL", where, s.SmokeURL))
			}
		}
	}
	if rb := c.Onboarding.RoleBinding; rb != nil && (rb.ClusterRole == "") == (rb.Role == "") {
		problems = append(problems, "onboarding.roleBinding: set exactly one of clusterRole and role")
	}
	return problems
}

// unknownKindProblem returns the problem of an inventory secret whose kind
// is neither built in nor configured, listing every kind it may name.
func unknownKindProblem(where, kind string, kinds map[string]SecretKind) string {
	known := make([]string, 0, len(kinds))
	for name := range kinds {
		known = append(known, name)
	}
	sort.Strings(known)
	if kind == "" {
		return fmt.Sprintf("%s: kind is missing: use one of %s", where, strings.Join(known, ", "))
	}
	return fmt.Sprintf("%s: kind %q is neither a built-in kind nor in rotation.kinds: use one of %s, or add %q under rotation.kinds",
		where, kind, strings.Join(known, ", "), kind)
}
