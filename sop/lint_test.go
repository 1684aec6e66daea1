package sop

import (
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
