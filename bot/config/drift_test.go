package config

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// referenceCSV and currentCSV are real drift inputs, relative to this
// package's directory.
const (
	referenceCSV = "../../testdata/drift/reference.csv"
	currentCSV   = "../../testdata/drift/current.csv"
)

// driftYAML returns validYAML with one drift check whose entry, inside
// the braces, is fields.
func driftYAML(fields string) string {
	return validYAML + "drift:\n  - {model: fraud-detector, " + fields + "}\n"
}

// driftFiles returns the reference and current keys of a drift check.
func driftFiles(reference, current string) string {
	return fmt.Sprintf("reference: %s, current: %s", reference, current)
}

func TestDriftThresholdsDefaultWhenLeftOut(t *testing.T) {
	for name, fields := range map[string]string{
		"left out": "",
		"null":     ", psi: null, ksPValue: null",
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := Load(writeConfig(t, driftYAML(driftFiles(referenceCSV, currentCSV)+fields)), noEnv)
			require.NoError(t, err)
			assert.Equal(t, 0.2, cfg.Drift[0].PSI, "psi")
			assert.Equal(t, 0.01, cfg.Drift[0].KSPValue, "ksPValue")
			assert.Zero(t, cfg.Drift[0].KL, "kl")
		})
	}
}

func TestDriftThresholdsKeepExplicitZero(t *testing.T) {
	cfg, err := Load(writeConfig(t, driftYAML(driftFiles(referenceCSV, currentCSV)+", psi: 0, ksPValue: 0")), noEnv)
	require.NoError(t, err)
	assert.Zero(t, cfg.Drift[0].PSI, "psi 0 is kept")
	assert.Zero(t, cfg.Drift[0].KSPValue, "ksPValue 0 is kept: never drift by KS")
	again := cfg.WithDefaults()
	assert.Zero(t, again.Drift[0].PSI, "a second WithDefaults keeps psi 0")
	assert.Zero(t, again.Drift[0].KSPValue, "a second WithDefaults keeps ksPValue 0")
	assert.Equal(t, DriftThresholds{}, cfg.RetrainingThresholds("fraud-detector"), "a retraining model takes the check's zeros")
}

func TestDriftThresholdsOnlyOneExplicitZero(t *testing.T) {
	cfg, err := Load(writeConfig(t, driftYAML(driftFiles(referenceCSV, currentCSV)+", ksPValue: 0")), noEnv)
	require.NoError(t, err)
	assert.Equal(t, 0.2, cfg.Drift[0].PSI, "psi left out takes the default")
	assert.Zero(t, cfg.Drift[0].KSPValue, "ksPValue 0 is kept")
}

func TestDriftCheckInGoTakesDefaults(t *testing.T) {
	cfg := Config{Drift: []DriftCheck{{Model: "m", Reference: referenceCSV, Current: currentCSV}}}.WithDefaults()
	assert.Equal(t, 0.2, cfg.Drift[0].PSI, "psi")
	assert.Equal(t, 0.01, cfg.Drift[0].KSPValue, "ksPValue")
}

func TestDriftThresholdsStillValidated(t *testing.T) {
	for name, fields := range map[string]string{
		"negative psi":      ", psi: -0.1",
		"p-value above one": ", ksPValue: 1.5",
		"negative kl":       ", kl: -1",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(writeConfig(t, driftYAML(driftFiles(referenceCSV, currentCSV)+fields)), noEnv)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "drift[0] has a negative threshold or a ksPValue outside 0..1")
		})
	}
}
