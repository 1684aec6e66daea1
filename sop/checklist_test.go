package sop

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadChecklist(t *testing.T) {
	cases := []struct {
		name string
		body string
		want map[string]ChecklistEntry
	}{
		{"dash unchecked", "- [ ] First <!-- sopbot:item=pre-1 -->\n",
			map[string]ChecklistEntry{"pre-1": {Key: "pre-1", Text: "First", Line: 1}}},
		{"upper X", "text\n\n- [X] Done <!-- sopbot:item=s2-1 -->\n",
			map[string]ChecklistEntry{"s2-1": {Key: "s2-1", Checked: true, Text: "Done", Line: 3}}},
		{"star and plus", "* [x] A <!-- sopbot:item=a -->\n\n+ [ ] B <!-- sopbot:item=b -->\n",
			map[string]ChecklistEntry{"a": {Key: "a", Checked: true, Text: "A", Line: 1}, "b": {Key: "b", Text: "B", Line: 3}}},
		{"indented nested", "- Parent:\n   - [x] Child `code` <!-- sopbot:item=s4-1 -->\n",
			map[string]ChecklistEntry{"s4-1": {Key: "s4-1", Checked: true, Text: "Child `code`", Line: 2}}},
		{"CRLF", "- [ ] A <!-- sopbot:item=a -->\r\n- [x] B <!-- sopbot:item=b -->\r\n",
			map[string]ChecklistEntry{"a": {Key: "a", Text: "A", Line: 1}, "b": {Key: "b", Checked: true, Text: "B", Line: 2}}},
		{"no marker", "- [x] Untracked\n", map[string]ChecklistEntry{}},
		{"code fence", "```\n- [x] A <!-- sopbot:item=a -->\n```\n", map[string]ChecklistEntry{}},
		{"html block", "<details>\n- [x] A <!-- sopbot:item=a -->\n</details>\n", map[string]ChecklistEntry{}},
		{"quote", "> - [x] A <!-- sopbot:item=a -->\n", map[string]ChecklistEntry{}},
		{"marker in code span", "- [x] A `<!-- sopbot:item=a -->`\n", map[string]ChecklistEntry{}},
		{"first of duplicates wins", "- [ ] A <!-- sopbot:item=a -->\n- [x] again <!-- sopbot:item=a -->\n",
			map[string]ChecklistEntry{"a": {Key: "a", Text: "A", Line: 1}}},
		{"quoted duplicate ignored", "> - [x] quoted <!-- sopbot:item=a -->\n\n- [ ] real <!-- sopbot:item=a -->\n",
			map[string]ChecklistEntry{"a": {Key: "a", Text: "real", Line: 3}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, ReadChecklist(tc.body))
		})
	}
}

func TestSetChecked(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		key     string
		checked bool
		want    string
		changed bool
	}{
		{"tick", "- [ ] A <!-- sopbot:item=a -->\n", "a", true, "- [x] A <!-- sopbot:item=a -->\n", true},
		{"untick upper", "- [X] A <!-- sopbot:item=a -->\n", "a", false, "- [ ] A <!-- sopbot:item=a -->\n", true},
		{"already ticked", "- [X] A <!-- sopbot:item=a -->\n", "a", true, "- [X] A <!-- sopbot:item=a -->\n", false},
		{"unknown key", "- [ ] A <!-- sopbot:item=a -->\n", "b", true, "- [ ] A <!-- sopbot:item=a -->\n", false},
		{"CRLF kept", "intro\r\n\r\n- [ ] A <!-- sopbot:item=a -->\r\n- [x] B <!-- sopbot:item=b -->\r\n", "a", true,
			"intro\r\n\r\n- [x] A <!-- sopbot:item=a -->\r\n- [x] B <!-- sopbot:item=b -->\r\n", true},
		{"fenced copy untouched", "```\n- [ ] A <!-- sopbot:item=a -->\n```\n- [ ] A <!-- sopbot:item=a -->\n", "a", true,
			"```\n- [ ] A <!-- sopbot:item=a -->\n```\n- [x] A <!-- sopbot:item=a -->\n", true},
		{"quoted copy untouched", "> - [ ] A <!-- sopbot:item=a -->\n\n- [ ] A <!-- sopbot:item=a -->\n", "a", true,
			"> - [ ] A <!-- sopbot:item=a -->\n\n- [x] A <!-- sopbot:item=a -->\n", true},
		{"ordered list", "1. [ ] A <!-- sopbot:item=a -->\n", "a", true, "1. [x] A <!-- sopbot:item=a -->\n", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := SetChecked(tc.body, tc.key, tc.checked)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.changed, changed)
		})
	}
}

// TestSetCheckedKeepsOtherTicks flips one item of a rendered body that
// people have edited and checks that nothing else moved.
func TestSetCheckedKeepsOtherTicks(t *testing.T) {
	_, body := Render(embeddedSOP(t, "SOP-02"), promotionInput())
	body = strings.ReplaceAll(body, "\n", "\r\n")
	edited, changed := SetChecked(body, "s3-2", true)
	require.True(t, changed)
	edited = strings.Replace(edited, "Canary rollout done", "Canary rollout done (see #12)", 1)

	got, changed := SetChecked(edited, "approve-ml-lead", true)
	require.True(t, changed)
	assert.Equal(t, len(edited), len(got))
	diff := 0
	for i := range got {
		if got[i] != edited[i] {
			diff++
		}
	}
	assert.Equal(t, 1, diff)

	entries := ReadChecklist(got)
	assert.True(t, entries["pre-1"].Checked)
	assert.True(t, entries["s2-1"].Checked)
	assert.True(t, entries["s3-2"].Checked)
	assert.True(t, entries["approve-ml-lead"].Checked)
	assert.False(t, entries["approve-compliance-officer"].Checked)
	assert.Equal(t, "Canary rollout done (see #12)", entries["s5-2"].Text)
	assert.Contains(t, got, "\r\n- [x] Approved by ML lead <!-- sopbot:item=approve-ml-lead -->\r\n")
}

func TestRequestMarker(t *testing.T) {
	cases := []struct {
		name string
		body string
		id   string
		ok   bool
	}{
		{"first line", "<!-- sopbot:request=R-7 sop=SOP-02 revision=abc -->\n\ntext\n", "R-7", true},
		{"CRLF", "<!-- sopbot:request=R-8 sop=SOP-02 revision=abc -->\r\n\r\ntext\r\n", "R-8", true},
		{"none", "just text\n", "", false},
		{"in code", "```\n<!-- sopbot:request=R-9 -->\n```\n", "", false},
		{"in quote", "> <!-- sopbot:request=R-9 -->\n", "", false},
		{"in code span", "`<!-- sopbot:request=R-9 -->`\n", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, ok := RequestMarker(tc.body)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.id, id)
		})
	}
}
