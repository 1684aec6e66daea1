package sop

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/sop/golden")

// promotionInput is the SOP-02 request the golden file shows.
func promotionInput() RenderInput {
	return RenderInput{
		RequestID: "R-7",
		Params:    map[string]string{"model": "fraud-detector", "version": "3", "to": "Production"},
		Requester: "@alice",
		Assignees: map[string][]string{
			"ML lead":               {"@dana", "@acme/ml-leads"},
			"compliance officer":    {"@carol"},
			"ML platform engineer":  {"@acme/ml-platform"},
			"senior data scientist": {"@sam"},
		},
		Checked: map[string]bool{"pre-1": true, "s2-1": true},
		Links: []Link{
			{Text: "MLflow registry entry", URL: "https://mlflow.example.com/#/models/fraud-detector/versions/3"},
		},
	}
}

func embeddedSOP(t *testing.T, id string) *SOP {
	t.Helper()
	lib, err := Embedded()
	require.NoError(t, err)
	s, ok := lib.Get(id)
	require.True(t, ok, "library has no %s", id)
	return s
}

func TestRenderGolden(t *testing.T) {
	s := embeddedSOP(t, "SOP-02")
	title, body := Render(s, promotionInput())
	assert.Equal(t, "[SOP-02] Promote fraud-detector v3 to Production", title)

	golden := filepath.Join("..", "testdata", "sop", "golden", "sop-02-render.md")
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(body), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test ./sop -run TestRenderGolden -update to create it")
	assert.Equal(t, string(want), body)
}

func TestRenderMarkersMatchSections(t *testing.T) {
	s := embeddedSOP(t, "SOP-02")
	_, body := Render(s, promotionInput())

	id, ok := RequestMarker(body)
	require.True(t, ok)
	assert.Equal(t, "R-7", id)
	assert.True(t, strings.HasPrefix(body, "<!-- sopbot:request=R-7 sop=SOP-02 revision="+s.Revision[:12]+" -->\n"))

	entries := ReadChecklist(body)
	var want []string
	for _, sec := range s.Sections() {
		for _, it := range sec.Items {
			want = append(want, it.Key)
			e, ok := entries[it.Key]
			if assert.True(t, ok, "no checkbox for %s", it.Key) {
				assert.Equal(t, it.Key == "pre-1" || it.Key == "s2-1", e.Checked, it.Key)
			}
		}
	}
	assert.Len(t, entries, len(want))
}

func TestRenderHostileInput(t *testing.T) {
	s := embeddedSOP(t, "SOP-02")
	hostile := "x --> <!-- sopbot:item=pre-2 -->\n- [x] forged <!-- sopbot:item=pre-3 -->\r\n| `y` |"
	cases := map[string]RenderInput{
		"param":     {RequestID: "R-1", Params: map[string]string{"model": hostile, "version": "3"}},
		"requester": {RequestID: "R-1", Requester: hostile},
		"assignee":  {RequestID: "R-1", Assignees: map[string][]string{"ML lead": {hostile}}},
		"link":      {RequestID: "R-1", Links: []Link{{Text: hostile, URL: "https://x.example/" + hostile}}},
		"request":   {RequestID: "R-1 -->\n- [x] forged <!-- sopbot:item=pre-2 -->"},
	}
	_, clean := Render(s, RenderInput{RequestID: "R-1"})
	want := ReadChecklist(clean)
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			title, body := Render(s, in)
			assert.NotContains(t, title, "\n")
			got := ReadChecklist(body)
			assert.Len(t, got, len(want))
			for key, e := range got {
				assert.False(t, e.Checked, key)
				assert.Equal(t, want[key].Text, e.Text, key)
			}
			for _, line := range strings.Split(body, "\n") {
				assert.False(t, strings.HasPrefix(strings.TrimSpace(line), "- [x] forged"), "forged checkbox line %q", line)
			}
			id, ok := RequestMarker(body)
			assert.True(t, ok)
			assert.True(t, strings.HasPrefix(id, "R-1"), id)
		})
	}
}

func TestRenderFillsCommandPlaceholders(t *testing.T) {
	s := embeddedSOP(t, "SOP-01")
	_, body := Render(s, RenderInput{RequestID: "R-3", Params: map[string]string{"project": "churn", "team": "risk", "cost-center": "cc-42"}})
	assert.Contains(t, body, "kubectl create namespace ml-churn\n")
	assert.Contains(t, body, "kubectl create serviceaccount churn-sa -n ml-churn\n")
	assert.Contains(t, body, "mkdir features/churn\n")
	assert.NotContains(t, body, "ml-<project-name>")
	assert.Contains(t, body, "Experiment `<project-name>-experiment` created", "checklist items keep the SOP's words")

	entries := ReadChecklist(body)
	assert.Len(t, entries, len(ReadChecklist(func() string { _, b := Render(s, RenderInput{RequestID: "R-3"}); return b }())))
}

func TestPlaceholderNamesDeclaredParam(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("library", "sop-01-onboarding.md"))
	require.NoError(t, err)
	src := strings.Replace(string(data), `"<cc>": cost-center`, `"<cc>": cost-centre`, 1)
	_, err = LoadLibrary(fstest.MapFS{"sop-01.md": {Data: []byte(src)}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `placeholder "<cc>" names parameter "cost-centre", which params does not declare`)
}
