package bot

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestReferencedIssues(t *testing.T) {
	cases := []struct {
		name string
		body string
		want []int
	}{
		{"hash mention", "SOP request: #12", []int{12}},
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
			assert.Equal(t, tc.want, referencedIssues(tc.body, "acme/ml-requests"))
		})
	}
}
