package sop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	onboardingFile = "sop-01-onboarding.md"
	retrainingFile = "sop-03-retraining-drift.md"
	rotationFile   = "sop-04-secret-rotation.md"
)

// loadVariant loads a library file with the first occurrence of old
// replaced by new.
func loadVariant(t *testing.T, file, old, new string) (*SOP, error) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("library", file))
	require.NoError(t, err)
	require.Contains(t, string(data), old)
	return LoadFile(file, []byte(strings.Replace(string(data), old, new, 1)))
}

func TestActionAndPlaceholderValidation(t *testing.T) {
	cases := []struct {
		name, file, old, new string
		want                 string
	}{
		{"action ticks an approval item", rotationFile,
			"ticks: [s1-1]", "ticks: [s1-1, approve-security-lead]",
			`sop-04-secret-rotation.md:20: action "secret-prepare" ticks the approval item "approve-security-lead"; only an approver's sign-off ticks it`},
		{"two actions tick one item", rotationFile,
			"{name: secret-repoint, after: [secret-prepare], ticks: [s2-1]", "{name: secret-repoint, after: [secret-prepare], ticks: [s1-1]",
			`sop-04-secret-rotation.md:21: actions "secret-prepare" and "secret-repoint" both tick "s1-1"`},
		{"action target with an unmatched brace", rotationFile,
			`target: "secret:{namespace}:{secret}"}`, `target: "secret:{namespace}:{secret"}`,
			`sop-04-secret-rotation.md:20: action "secret-prepare" target "secret:{namespace}:{secret" has an unmatched brace`},
		{"placeholder is a prefix of another", onboardingFile,
			`placeholders: {"<project-name>": project,`, `placeholders: {"<project-name>": project, "<project-name": team,`,
			`sop-01-onboarding.md:26: placeholder "<project-name" is a prefix of placeholder "<project-name>"`},
		{"action runs at open on a gated SOP", rotationFile,
			"{name: secret-prepare, after: [approval]", "{name: secret-prepare, after: [open]",
			`sop-04-secret-rotation.md:20: action "secret-prepare" runs as soon as the issue opens (after: [open]), before the approval of SOP-04`},
		{"action ticks a gated step before the approval", rotationFile,
			"{name: secret-prepare, after: [approval]", "{name: secret-prepare, after: [pre]",
			`sop-04-secret-rotation.md:20: action "secret-prepare" ticks "s1-1" of "Step 1: Generate New Secret", which comes after the approval`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadVariant(t, tc.file, tc.old, tc.new)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestGatedActionReportedOnce(t *testing.T) {
	_, err := loadVariant(t, rotationFile, "{name: secret-prepare, after: [approval]", "{name: secret-prepare, after: [open]")
	require.Error(t, err)
	assert.Equal(t, 1, strings.Count(err.Error(), "\n")+1, "the actions that wait for secret-prepare are not reported too: %v", err)
}

func TestActionAtOpenWithoutApproval(t *testing.T) {
	s, err := loadVariant(t, retrainingFile, "", "")
	require.NoError(t, err, "SOP-03 has no approval, so its drift-record action may run at open")
	assert.Nil(t, s.Binding.Approval)
}

func TestPlaceholdersFillLongestFirst(t *testing.T) {
	s, err := loadVariant(t, onboardingFile, "", "")
	require.NoError(t, err)
	// Validation rejects a placeholder that is a prefix of another, so the
	// overlapping pair is added after loading.
	s.Binding.Placeholders["<project"] = "team"
	input := RenderInput{RequestID: "R-1", Params: map[string]string{"project": "churn", "team": "risk", "cost-center": "cc-42"}}
	_, first := Render(s, input)
	for range 20 {
		_, body := Render(s, input)
		require.Equal(t, first, body, "every render of one request is the same")
	}
	assert.Contains(t, first, "kubectl create namespace ml-churn", "<project-name> wins over its prefix <project")
	assert.NotContains(t, first, "risk-name>")
}

func TestParamMaxLength(t *testing.T) {
	p := Param{Name: "project", Kind: KindK8sName, MaxLength: 60}
	require.NoError(t, p.Validate(strings.Repeat("a", 60)))
	err := p.Validate(strings.Repeat("a", 61))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "expected a Kubernetes name: lower-case letters, digits and '-', at most 60 characters")

	text := Param{Name: "note", Kind: KindText, MaxLength: 10}
	err = text.Validate("eleven char")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "non-empty text of at most 10 bytes on one line")

	model := Param{Name: "model", Kind: KindModelName, MaxLength: 5}
	err = model.Validate("abcdef")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "starting with a letter or digit, at most 5 characters")
}

func TestOnboardingProjectMaxLength(t *testing.T) {
	lib, err := Embedded()
	require.NoError(t, err)
	s, ok := lib.Get("SOP-01")
	require.True(t, ok)
	require.Equal(t, "project", s.Binding.Params[0].Name)
	assert.Equal(t, 60, s.Binding.Params[0].MaxLength, "ml-<project> must stay a 63-character namespace")
}

func TestMaxLengthValidation(t *testing.T) {
	for _, tc := range []struct {
		name, value, want string
	}{
		{"above the kind's limit", "maxLength: 64", `sop-01-onboarding.md:7: parameter "project" has maxLength 64; use 1 to 63, the limit of kind k8s-name`},
		{"negative", "maxLength: -1", `sop-01-onboarding.md:7: parameter "project" has maxLength -1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadVariant(t, onboardingFile, "maxLength: 60", tc.value)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestInventoryValidation(t *testing.T) {
	_, err := loadVariant(t, rotationFile, "inventory: secrets", "inventory: projects")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `sop-04-secret-rotation.md:18: inventory "projects" is not an inventory of the bot; use "secrets"`)

	_, err = loadVariant(t, retrainingFile, "target:", "inventory: secrets\ntarget:")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `inventory "secrets" reads parameter <secret>, which params does not declare`)
	assert.Contains(t, err.Error(), `inventory "secrets" reads parameter <namespace>, which params does not declare`)

	s, err := loadVariant(t, rotationFile, "", "")
	require.NoError(t, err)
	assert.Equal(t, InventorySecrets, s.Binding.Inventory)
}
