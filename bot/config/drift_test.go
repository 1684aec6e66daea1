package config

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

func TestDriftFilesExist(t *testing.T) {
	cfg, err := Load(writeConfig(t, driftYAML(driftFiles(referenceCSV, currentCSV))), noEnv)
	require.NoError(t, err)
	require.Len(t, cfg.Drift, 1)
	assert.Equal(t, referenceCSV, cfg.Drift[0].Reference)
}

func TestDriftFilesMissingInOneMessage(t *testing.T) {
	dir := t.TempDir()
	missingReference := filepath.Join(dir, "reference.parquet")
	text := strings.Replace(driftYAML(driftFiles(missingReference, "no-such-dir/current.csv")), "channel: C01", `channel: "#mlops"`, 1)
	_, err := Load(writeConfig(t, text), noEnv)
	require.Error(t, err)
	message := err.Error()
	assert.Contains(t, message, fmt.Sprintf("drift[0].reference %q does not exist: create the file or correct the path\n", missingReference),
		"an absolute path is not resolved again")
	wd, err := os.Getwd()
	require.NoError(t, err)
	assert.Contains(t, message, `drift[0].current "no-such-dir/current.csv" is in directory "no-such-dir", which does not exist: create the directory or correct the path `+
		"(a relative path is resolved from the working directory, so this is "+filepath.Join(wd, "no-such-dir")+")")
	assert.Contains(t, message, `slack.channel "#mlops" is a channel name`, "the other problems are in the same message")
	assert.Equal(t, 1, strings.Count(message, "invalid configuration:"), "one message")
}

func TestDriftCurrentFileMayComeLater(t *testing.T) {
	later := filepath.Join(t.TempDir(), "current.csv")
	_, err := Load(writeConfig(t, driftYAML(driftFiles(referenceCSV, later))), noEnv)
	assert.NoError(t, err, "a pipeline writes the current file after the bot starts")

	_, err = Load(writeConfig(t, driftYAML(driftFiles(later, currentCSV))), noEnv)
	require.Error(t, err, "the reference file must exist")
	assert.Contains(t, err.Error(), fmt.Sprintf("drift[0].reference %q does not exist", later))
}

func TestDriftFileIsDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(writeConfig(t, driftYAML(driftFiles(dir, currentCSV))), noEnv)
	require.Error(t, err)
	assert.Contains(t, err.Error(), fmt.Sprintf("drift[0].reference %q is a directory: give a CSV or Parquet file", dir))
	assert.NotContains(t, err.Error(), "drift[0].current", "the current file is readable")
}

func TestDriftFileIsNamedPipe(t *testing.T) {
	pipe := filepath.Join(t.TempDir(), "current.csv")
	require.NoError(t, syscall.Mkfifo(pipe, 0o600))
	_, err := Load(writeConfig(t, driftYAML(driftFiles(referenceCSV, pipe))), noEnv)
	require.Error(t, err, "the check returns instead of blocking on the pipe")
	assert.Contains(t, err.Error(), fmt.Sprintf("drift[0].current %q is not a regular file (mode p---------): give a CSV or Parquet file", pipe))
}

func TestDriftFileUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files without read permission, so this case needs an unprivileged user")
	}
	unreadable := filepath.Join(t.TempDir(), "reference.csv")
	require.NoError(t, os.WriteFile(unreadable, []byte("a\n1\n"), 0o200))
	_, err := Load(writeConfig(t, driftYAML(driftFiles(unreadable, currentCSV))), noEnv)
	require.Error(t, err)
	assert.Contains(t, err.Error(), fmt.Sprintf("drift[0].reference %q cannot be read (permission denied): give the user that runs sopbot read access", unreadable))
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

func TestDriftFileUnderRegularFile(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "data.csv")
	require.NoError(t, os.WriteFile(parent, []byte("a\n1\n"), 0o600))
	below := filepath.Join(parent, "current.csv")
	_, err := Load(writeConfig(t, driftYAML(driftFiles(referenceCSV, below))), noEnv)
	require.Error(t, err)
	assert.Contains(t, err.Error(), fmt.Sprintf("drift[0].current %q cannot be read (not a directory): correct the path", below))
}

// The permission branch as the open reports it, for runs as root, where
// TestDriftFileUnreadable skips.
func TestDriftFilePermissionProblem(t *testing.T) {
	err := &fs.PathError{Op: "open", Path: "/data/reference.csv", Err: syscall.EACCES}
	assert.Equal(t, "cannot be read (permission denied): give the user that runs sopbot read access to the file and its directories",
		openProblem("/data/reference.csv", err))
}

func TestDriftWithoutRetrainingWarns(t *testing.T) {
	cfg, err := Load(writeConfig(t, driftYAML(driftFiles(referenceCSV, currentCSV))), noEnv)
	require.NoError(t, err)
	assert.Equal(t, []string{`drift[0] opens SOP-03 requests for model "fraud-detector", which has no retraining policy, ` +
		"so their retraining actions fail: add it under retraining.models"}, cfg.DriftWithoutRetraining())

	cfg.Retraining.Models = map[string]RetrainingModel{"fraud-detector": {}}
	assert.Empty(t, cfg.DriftWithoutRetraining(), "a model with a policy needs no warning")
}
