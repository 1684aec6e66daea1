package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

const promotionFile = "../../sop/library/sop-02-model-promotion.md"

// runCLI runs the root command with args and returns stdout, stderr and
// the error Execute returned.
func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	root := newRootCommand(&stdout, &stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return stdout.String(), stderr.String(), err
}

// exitCode returns the code an exitError carries, 0 for nil and -1 for
// any other error.
func exitCode(err error) int {
	var exit exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.code
	}
	return -1
}

// writeFile writes a file into dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(src)
}

func TestSOPsDiffEmbeddedAgainstOneFile(t *testing.T) {
	out, _, err := runCLI(t, "sops", "diff", "embedded", promotionFile)
	require.NoError(t, err, "output:\n%s", out)
	assert.Equal(t, "no changes\n", out)

	out, _, err = runCLI(t, "sops", "diff", promotionFile, "embedded")
	require.NoError(t, err, "output:\n%s", out)
	assert.Equal(t, "no changes\n", out)
}

func TestSOPsDiffReportsChangeInOneFile(t *testing.T) {
	src := readFile(t, promotionFile)
	changed := strings.Replace(src, "- [ ] Bias/fairness analysis completed", "- [ ] Bias analysis completed", 1)
	require.NotEqual(t, src, changed)
	path := writeFile(t, t.TempDir(), "sop-02.md", changed)

	out, _, err := runCLI(t, "sops", "diff", "embedded", path)
	assert.Equal(t, 1, exitCode(err))
	assert.Contains(t, out, "SOP-02 (")
	assert.Contains(t, out, "Bias analysis completed")
	assert.NotContains(t, out, "only in the", "SOPs the file lacks are not compared")
}

func TestSOPsDiffStoredRevisionAgainstEmbedded(t *testing.T) {
	lib, err := sop.Embedded()
	require.NoError(t, err)
	promotion, ok := lib.Get("SOP-02")
	require.True(t, ok)
	database := filepath.Join(t.TempDir(), "bot.db")
	ctx := context.Background()
	db, err := store.Open(ctx, database)
	require.NoError(t, err)
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := db.InsertRequest(ctx, tx, store.Request{SOPID: promotion.ID, SOPRevision: promotion.Revision,
			SOPSource: string(promotion.File), Target: "model:fraud-detector:Production", State: "done"})
		return err
	})
	require.NoError(t, err)
	require.NoError(t, db.Close())

	out, _, err := runCLI(t, "sops", "diff", "--database", database, promotion.Revision[:8], "embedded")
	require.NoError(t, err, "output:\n%s", out)
	assert.Equal(t, "no changes\n", out)
}

func TestSOPsDiffSOPFlag(t *testing.T) {
	_, _, err := runCLI(t, "sops", "diff", "embedded", promotionFile, "--sop", "SOP-09")
	require.Error(t, err)
	assert.Equal(t, `invalid --sop "SOP-09": the revisions compared hold no such SOP; use one of SOP-02`, err.Error())

	_, _, err = runCLI(t, "sops", "diff", "embedded", promotionFile, "--sop", "SOP-01")
	assert.ErrorContains(t, err, "use one of SOP-02", "SOP-01 is only in the library side, so it is not compared")

	out, _, err := runCLI(t, "sops", "diff", "embedded", "embedded", "--sop", "sop-01")
	require.NoError(t, err)
	assert.Equal(t, "no changes\n", out)
}

func TestSOPsDiffTwoFilesComparesBoth(t *testing.T) {
	out, _, err := runCLI(t, "sops", "diff", "../../sop/library/sop-01-onboarding.md", promotionFile)
	assert.Equal(t, 1, exitCode(err))
	assert.Contains(t, out, "SOP-01: only in the old revision")
	assert.Contains(t, out, "SOP-02: only in the new revision")
}

// removeSection cuts the section that starts at heading up to the next
// "### " heading.
func removeSection(t *testing.T, src, heading string) string {
	t.Helper()
	start := strings.Index(src, heading)
	require.GreaterOrEqual(t, start, 0, "no %q", heading)
	end := strings.Index(src[start+len(heading):], "\n### ")
	require.GreaterOrEqual(t, end, 0)
	return src[:start] + src[start+len(heading)+end+1:]
}

func TestSOPsLintMissingRolesFirst(t *testing.T) {
	path := writeFile(t, t.TempDir(), "sop-02.md", removeSection(t, readFile(t, promotionFile), "### Roles"))

	out, stderr, err := runCLI(t, "sops", "lint", path)
	assert.Equal(t, 1, exitCode(err))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.NotEmpty(t, lines)
	assert.Contains(t, lines[0], `SOP-02: missing field "Roles"`, "the missing field comes first:\n%s", out)
	assert.Contains(t, out, `approval role "Approver" is not a role title of SOP-02, which lists no roles`)
	for _, line := range lines {
		assert.False(t, strings.HasSuffix(line, "use one of"), "a hint with an empty list: %s", line)
		assert.False(t, strings.HasSuffix(line, "use one of "), "a hint with an empty list: %q", line)
	}
	assert.Contains(t, stderr, "1 missing field(s) and ")
}

func TestSOPsLintNamesMisspelledKeyLine(t *testing.T) {
	src := readFile(t, promotionFile)
	require.Contains(t, src, "\nonApproved:")
	path := writeFile(t, t.TempDir(), "sop-02.md", strings.Replace(src, "\nonApproved:", "\nonAproved:", 1))
	line := 1 + strings.Count(src[:strings.Index(src, "\nonApproved:")+1], "\n")

	out, _, err := runCLI(t, "sops", "lint", path)
	assert.Equal(t, 1, exitCode(err))
	assert.Contains(t, out, path+":"+strconv.Itoa(line)+`: invalid front matter: unknown key "onAproved"; did you mean "onApproved"?`)
}

func TestSOPsLintReportsEveryFile(t *testing.T) {
	dir := t.TempDir()
	notes := writeFile(t, dir, "notes.md", "# Notes\n\nNo SOP here.\n")
	good := writeFile(t, dir, "sop-02.md", readFile(t, promotionFile))
	broken := writeFile(t, dir, "sop-01.md", removeSection(t, readFile(t, "../../sop/library/sop-01-onboarding.md"), "### Records"))
	missing := filepath.Join(dir, "nope.md")

	out, stderr, err := runCLI(t, "sops", "lint", notes, good, broken, missing)
	assert.Equal(t, 1, exitCode(err))
	assert.Contains(t, out, notes+`: no SOP found`)
	assert.Contains(t, out, `SOP-01: missing field "Records"`)
	assert.Contains(t, out, missing+": cannot read the file: no such file or directory")
	assert.NotContains(t, out, good, "the good file has no finding")
	assert.Contains(t, stderr, "in 4 file(s)")
}

func TestSOPsLintDirectory(t *testing.T) {
	out, _, err := runCLI(t, "sops", "lint", "../../sop/library")
	require.NoError(t, err, "output:\n%s", out)
	assert.Equal(t, "4 SOP(s) in 4 file(s): every template field present\n", out)

	dir := t.TempDir()
	writeFile(t, dir, "a.md", readFile(t, promotionFile))
	writeFile(t, dir, "b.md", readFile(t, promotionFile))
	writeFile(t, dir, "ignored.txt", "not an SOP")
	out, _, err = runCLI(t, "sops", "lint", dir)
	assert.Equal(t, 1, exitCode(err))
	assert.Regexp(t, regexp.QuoteMeta(filepath.Join(dir, "b.md"))+`:\d+: SOP-02 is already defined in `+regexp.QuoteMeta(filepath.Join(dir, "a.md")), out)

	out, _, err = runCLI(t, "sops", "lint", t.TempDir())
	assert.Equal(t, 1, exitCode(err))
	assert.Contains(t, out, "no *.md files found")
}

func TestCommandsNameMissingArguments(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"sops", "render"}, "missing SOP-ID, the SOP to render, such as SOP-02\nUsage: sopbot sops render SOP-ID [flags]"},
		{[]string{"sops", "lint"}, "missing PATH: give one or more SOP files, or directories of them\nUsage: sopbot sops lint PATH... [flags]"},
		{[]string{"sops", "diff", "embedded"}, "missing NEW, the revision to compare to\nUsage: sopbot sops diff OLD NEW [flags]"},
		{[]string{"db", "backup"}, "missing PATH, the new file to write the backup to\nUsage: sopbot db backup PATH [flags]"},
		{[]string{"scan"}, "missing PATH: give one or more artifact files or directories to scan\nUsage: sopbot scan PATH... [flags]"},
		{[]string{"db", "backup", "a.db", "b.db"}, `too many arguments: sopbot db backup takes 1 argument, but got 2: "a.db" "b.db"`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, _, err := runCLI(t, tc.args...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "arg(s)")
		})
	}
}

func TestSOPsRenderParamSyntax(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"space after id", []string{"SOP-02", "--param", "model", "fraud-detector", "--param", "version=3"},
			`invalid --param "model": --param takes NAME=VALUE, such as --param model=fraud-detector`},
		{"space before id", []string{"--param", "model", "fraud-detector", "SOP-02"},
			`invalid --param "model": --param takes NAME=VALUE, such as --param model=fraud-detector`},
		{"no value", []string{"SOP-02", "--param", "model"},
			`invalid --param "model": --param takes NAME=VALUE, such as --param model=VALUE`},
		{"no name", []string{"SOP-02", "--param", "=3"},
			`invalid --param "=3": --param takes NAME=VALUE, such as --param NAME=3`},
		{"repeated name", []string{"SOP-02", "--param", "model=a", "--param", "version=3", "--param", "model=b"},
			`--param model is given twice, as "a" and "b"; pass each parameter once`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCLI(t, append([]string{"sops", "render"}, tc.args...)...)
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}

func TestSOPsRenderWithParams(t *testing.T) {
	out, _, err := runCLI(t, "sops", "render", "--param", "model=fraud-detector", "SOP-02", "--param=version=3")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(out, "[SOP-02] Promote fraud-detector v3 to Production\n"), "output:\n%s", out)
}

func TestParseParamFlagsRejectsRepeat(t *testing.T) {
	_, err := parseParamFlags([]string{"project=churn", "project=churn"})
	assert.EqualError(t, err, `--param project is given twice, as "churn" and "churn"; pass each parameter once`)
	values, err := parseParamFlags([]string{"project=churn", "team=a=b"})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"project": "churn", "team": "a=b"}, values)
}
