package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/evidence/scan"
)

const scanFixtures = "../../testdata/scan"

// runScanCommand runs "scan args..." and returns stdout, stderr and the exit
// code carried by the command's exitError (0 without one).
func runScanCommand(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := newScanCommand()
	var stdout, stderr bytes.Buffer
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	code := 0
	var exit exitError
	switch {
	case errors.As(err, &exit):
		code = exit.code
	case err != nil:
		t.Fatalf("scan %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

func TestScanExitCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"clean pickle", []string{filepath.Join(scanFixtures, "benign_proto4.pkl")}, 0},
		{"clean torch zip", []string{filepath.Join(scanFixtures, "torch_benign.pt")}, 0},
		{"dangerous global", []string{filepath.Join(scanFixtures, "evil_global_proto0.pkl")}, 1},
		{"corrupt zip", []string{filepath.Join(scanFixtures, "zip_bad_crc.pt")}, 1},
		{"directory", []string{scanFixtures}, 1},
		{"missing path", []string{filepath.Join(scanFixtures, "no-such-file.pkl")}, 2},
		{"missing and flagged", []string{filepath.Join(scanFixtures, "evil_obj_eval.pkl"), "no-such-dir"}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, code := runScanCommand(t, tc.args...)
			assert.Equal(t, tc.code, code)
		})
	}
}

func TestScanTableOutput(t *testing.T) {
	t.Parallel()
	stdout, _, code := runScanCommand(t, filepath.Join(scanFixtures, "torch_evil.pt"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout, "SEVERITY")
	assert.Contains(t, stdout, "posix.system")
	assert.Contains(t, stdout, "archive/data.pkl")
	assert.Contains(t, stdout, "1 file(s) scanned")
}

func TestScanJSONOutput(t *testing.T) {
	t.Parallel()
	stdout, _, code := runScanCommand(t, "--format", "json", filepath.Join(scanFixtures, "evil_stack_global_memo.pkl"))
	assert.Equal(t, 1, code)
	var output scanOutput
	require.NoError(t, json.Unmarshal([]byte(stdout), &output))
	require.Len(t, output.Reports, 1)
	require.Len(t, output.Reports[0].Findings, 1)
	finding := output.Reports[0].Findings[0]
	assert.Equal(t, "os", finding.Module)
	assert.Equal(t, "system", finding.Name)
	assert.Equal(t, int64(31), finding.Offset)
	assert.Equal(t, "error", finding.Severity.String())
}

func TestScanOutputNeverContainsSecrets(t *testing.T) {
	t.Parallel()
	// The credential-shaped values written by scripts/scan/make_fixtures.py.
	secrets := []string{
		"ghp_" + "Zx9Qw3Er7Ty1Ui5Op2As6Df0Gh4Jk8Lz3Xc7V",
		"AKIA" + "Z7QW3ER5TY1UI8OP",
		"q8V" + "zL2mR7xK4pW9sT1bN6cJ3hF5",
		"abcdEFGHijklMNOP" + "qrstUVWX",
		"Z7QW3ER5TY1UI8OP",
	}
	for _, format := range []string{"table", "json"} {
		stdout, stderr, code := runScanCommand(t, "--format", format, scanFixtures)
		assert.Equal(t, 1, code)
		assert.Contains(t, stdout, "secret")
		for _, secret := range secrets {
			assert.NotContains(t, stdout, secret, "%s output", format)
			assert.NotContains(t, stderr, secret, "%s errors", format)
		}
	}
}

func TestScanJSONErrorsNeverNull(t *testing.T) {
	t.Parallel()
	stdout, _, code := runScanCommand(t, "--format", "json", filepath.Join(scanFixtures, "benign_proto4.pkl"))
	assert.Equal(t, 0, code)
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(stdout), &raw))
	assert.Equal(t, "[]", string(raw["errors"]))

	stdout, _, code = runScanCommand(t, "--format", "json", filepath.Join(t.TempDir(), "none"))
	assert.Equal(t, 2, code)
	var output scanOutput
	require.NoError(t, json.Unmarshal([]byte(stdout), &output))
	assert.Len(t, output.Errors, 1)
	assert.Equal(t, []*scan.Report{}, output.Reports)
}

func TestScanRejectsUnknownFormat(t *testing.T) {
	t.Parallel()
	cmd := newScanCommand()
	cmd.SetArgs([]string{"--format", "xml", "x"})
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	err := cmd.Execute()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `invalid --format "xml"`)
}

func TestScanHelpExplainsInfo(t *testing.T) {
	t.Parallel()
	assert.Contains(t, newScanCommand().Long, "info findings\nnever change the exit code")
}

func TestScanUnreadableFile(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root can read files without read permission")
	}
	path := filepath.Join(t.TempDir(), "locked.pkl")
	require.NoError(t, os.WriteFile(path, []byte("\x80\x02N."), 0o000))
	_, stderr, code := runScanCommand(t, path)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "locked.pkl")
}
