package sop

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDiffNamesEachChange(t *testing.T) {
	src, err := os.ReadFile("library/sop-02-model-promotion.md")
	require.NoError(t, err)
	old, err := LoadFile("old.md", src)
	require.NoError(t, err)
	edited := strings.NewReplacer(
		"step-3: {tick: [compliance officer]}", "step-3: {tick: [ML lead]}",
		"Bias/fairness analysis completed", "Bias and fairness analysis done",
	).Replace(string(src))
	updated, err := LoadFile("new.md", []byte(edited))
	require.NoError(t, err)

	var lines []string
	for _, c := range Diff(old, updated) {
		lines = append(lines, c.String())
	}
	assert.Equal(t, []string{
		"~ Items s3-2: Bias/fairness analysis completed → Bias and fairness analysis done",
		`~ binding sections.step-3: {"tick":["compliance officer"]} → {"tick":["ML lead"]}`,
	}, lines)
	assert.Empty(t, Diff(old, old), "a revision has no changes against itself")
}
