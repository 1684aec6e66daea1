package bot

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/sopbot/sopbot/sop"
)

func TestReferencedIssues(t *testing.T) {
	cases := []struct {
		name string
		body string
		want []int
	}{
		{"hash mention", "SOP request: #12", []int{12}},
		{"inline code", "old bug: `see #4`", nil},
		{"indented code block", "text\n\n    closes #4\n", nil},
		{"lazy quote continuation", "> fixes\n#4", nil},
		{"link text and destination", "[request](https://github.com/acme/ml-requests/issues/8)", []int{8}},
		{"issue URL of the repository", "See https://github.com/acme/ml-requests/issues/7.", []int{7}},
		{"issue URL of another repository", "See https://github.com/other/repo/issues/7", nil},
		{"repository matched without case", "https://github.com/ACME/ML-Requests/issues/3", []int{3}},
		{"in a fenced block", "```\n#4\n```", nil},
		{"in a quote", "> fixes #5", nil},
		{"in an HTML comment", "<!-- #6 -->", nil},
		{"order and duplicates", "#9 then #2 and #9", []int{9, 2}},
		{"anchor is not a mention", "see docs#3 and a/b#4", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []int
			for _, ref := range referencedIssues(tc.body, "acme/ml-requests") {
				got = append(got, ref.number)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestDeepBodiesAreNotParsed(t *testing.T) {
	for name, unit := range map[string]string{"nested quotes": ">", "nested lists": "- ", "link openers": "[a]("} {
		body := strings.Repeat(unit, 65536/len(unit)-8) + " /mlops approve #1"
		assert.True(t, sop.TooDeep(body), name)
		_, ok := ExtractCommand(body)
		assert.False(t, ok, "%s: no command is read from a body too deep to parse", name)
	}
	assert.False(t, sop.TooDeep("- [ ] item\n  - [x] nested\n> quote"), "ordinary nesting is parsed")
}
