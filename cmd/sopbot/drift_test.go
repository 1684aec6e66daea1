package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var driftTestdata = filepath.Join("..", "..", "testdata", "drift")

func runDrift(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := newDriftCommand()
	var stdout, stderr bytes.Buffer
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SetArgs(args)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err := cmd.Execute()
	return stdout.String(), stderr.String(), err
}

func TestDriftTable(t *testing.T) {
	out, _, err := runDrift(t, "--reference", filepath.Join(driftTestdata, "reference.csv"),
		"--current", filepath.Join(driftTestdata, "current.csv"))
	require.NoError(t, err)
	assert.Contains(t, out, "n_ref")
	assert.Contains(t, out, "p_value")
	assert.Regexp(t, `latency_ms\s+397\s+296\s+2\s+1\s+3\s+1\s+0\.193257\s+5\.01585e-06\s+exact`, out)
	assert.Regexp(t, `tokens\s+400\s+300`, out)
	assert.NotContains(t, out, "model")
}

func TestDriftJSON(t *testing.T) {
	out, _, err := runDrift(t, "--reference", filepath.Join(driftTestdata, "reference.csv"),
		"--current", filepath.Join(driftTestdata, "current.csv"), "--column", "tokens", "--format", "json")
	require.NoError(t, err)
	var report struct {
		Columns []struct {
			Column string `json:"column"`
			KS     struct {
				Mode string `json:"mode"`
			} `json:"ks"`
			Bins []struct {
				Lower *float64 `json:"lower"`
			} `json:"bins"`
		} `json:"columns"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &report))
	require.Len(t, report.Columns, 1)
	assert.Equal(t, "tokens", report.Columns[0].Column)
	assert.Equal(t, "exact", report.Columns[0].KS.Mode)
	require.NotEmpty(t, report.Columns[0].Bins)
	assert.Nil(t, report.Columns[0].Bins[0].Lower, "the first bin is open below")
}

func TestDriftInputErrorsExitTwo(t *testing.T) {
	ref := filepath.Join(driftTestdata, "reference.csv")
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"missing file", []string{"--reference", ref, "--current", "absent.csv"}, "reading the current data: open absent.csv"},
		{"missing column", []string{"--reference", ref, "--current", ref, "--column", "nope"}, `column "nope" not found`},
		{"non-numeric column", []string{"--reference", ref, "--current", ref, "--column", "model"}, `invalid number "ref-0"`},
		{"bad format", []string{"--reference", ref, "--current", ref, "--format", "xml"}, `invalid --format "xml"`},
		{"no current", []string{"--reference", ref}, "missing --current: give the current CSV or Parquet file"},
		{"no reference", []string{"--current", ref}, "missing --reference: give the reference CSV or Parquet file"},
		{"neither file", nil, "missing --reference and --current"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, err := runDrift(t, tc.args...)
			var exit exitError
			require.True(t, errors.As(err, &exit), "error %v", err)
			assert.Equal(t, 2, exit.code)
			assert.Contains(t, stderr, tc.stderr)
		})
	}
}
