package sop

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLintUserDoc(t *testing.T) {
	got := Lint(parseUserDoc(t))
	want := []Missing{
		{Path: userDoc, Line: 3, SOPID: "SOP-01", Field: FieldRevisionHistory},
		{Path: userDoc, Line: 75, SOPID: "SOP-02", Field: FieldRevisionHistory},
		{Path: userDoc, Line: 142, SOPID: "SOP-03", Field: FieldRevisionHistory},
		{Path: userDoc, Line: 207, SOPID: "SOP-04", Field: FieldRevisionHistory},
	}
	assert.Equal(t, want, got)
	require.NotEmpty(t, got)
	assert.Equal(t, `testdata/sop/mlops-sops.md:3: SOP-01: missing field "Revision History"`, got[0].String())
}

func TestLintEmptyAndMissing(t *testing.T) {
	src := "## SOP: No ID\n### Purpose & Scope\n### Records\n- kept\n"
	doc, err := Parse("e.md", []byte(src))
	require.NoError(t, err)
	got := Lint(doc)
	var lines []string
	for _, m := range got {
		lines = append(lines, m.String())
	}
	assert.Equal(t, []string{
		`e.md:1: SOP without ID: missing field "ID"`,
		`e.md:1: SOP without ID: field "Purpose & Scope" is empty`,
		`e.md:1: SOP without ID: missing field "Roles"`,
		`e.md:1: SOP without ID: missing field "Preconditions"`,
		`e.md:1: SOP without ID: missing field "Procedure"`,
		`e.md:1: SOP without ID: missing field "Review Cadence"`,
		`e.md:1: SOP without ID: missing field "Revision History"`,
	}, lines)
	assert.True(t, got[1].Empty)
	assert.False(t, got[2].Empty)
}

func TestLintLibraryClean(t *testing.T) {
	lib, err := Embedded()
	require.NoError(t, err)
	assert.Empty(t, lib.Lint())
}

// libraryFile returns the embedded library file of id, as bytes.
func libraryFile(t *testing.T, id string) []byte {
	t.Helper()
	lib, err := Embedded()
	require.NoError(t, err)
	s, ok := lib.Get(id)
	require.True(t, ok)
	return s.File
}

func TestLintFileLibraryFileClean(t *testing.T) {
	doc, missing, err := LintFile("sop-02.md", libraryFile(t, "SOP-02"))
	require.NoError(t, err)
	assert.Empty(t, missing)
	require.Len(t, doc.SOPs, 1)
	assert.NotNil(t, doc.SOPs[0].Binding, "a valid binding is attached")
}

func TestLintFileMissingRoles(t *testing.T) {
	src := string(libraryFile(t, "SOP-02"))
	start := strings.Index(src, "### Roles")
	end := strings.Index(src, "### Preconditions")
	require.Less(t, start, end)
	doc, missing, err := LintFile("sop-02.md", []byte(src[:start]+src[end:]))

	require.Len(t, missing, 1)
	assert.Equal(t, FieldRoles, missing[0].Field)
	assert.False(t, missing[0].Empty)
	require.Error(t, err, "the binding names roles that no longer exist")
	assert.Contains(t, err.Error(), `approval role "Approver" is not a role title of SOP-02, which lists no roles; add a Roles section that defines it`)
	assert.NotContains(t, err.Error(), "use one of \n")
	require.NotNil(t, doc)
	assert.Nil(t, doc.SOPs[0].Binding, "an invalid binding is not attached")
}

func TestLintFileUndecodableFrontMatter(t *testing.T) {
	src := strings.Replace(string(libraryFile(t, "SOP-02")), "\n### Records\n", "\n### Records\n\n### Records\n", 1)
	src = strings.Replace(src, "onApproved:", "onAproved:", 1)
	_, _, err := LintFile("sop-02.md", []byte(src))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown key "onAproved"`, "the front matter problem is reported")
	assert.Contains(t, err.Error(), "Records", "the Markdown problem is reported too")
}

func TestLintFileWithoutFrontMatter(t *testing.T) {
	doc, missing, err := LintFile("e.md", []byte("## SOP-07: Notes\n### Purpose & Scope\nWhy.\n"))
	require.NoError(t, err)
	require.Len(t, doc.SOPs, 1)
	assert.Len(t, missing, 6)
}

func TestEditDistance(t *testing.T) {
	assert.Equal(t, 0, editDistance("tick", "tick"))
	assert.Equal(t, 1, editDistance("onaproved", "onapproved"))
	assert.Equal(t, 1, editDistance("kid", "kind"))
	assert.Equal(t, 3, editDistance("", "sop"))
	assert.Equal(t, 3, editDistance("kitten", "sitting"))
}
