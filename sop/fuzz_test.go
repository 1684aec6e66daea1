package sop

import (
	"os"
	"path/filepath"
	"testing"
)

func addSeedFiles(f *testing.F, patterns ...string) {
	f.Helper()
	for _, pattern := range patterns {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			src, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src)
		}
	}
}

func FuzzParse(f *testing.F) {
	addSeedFiles(f, "../testdata/sop/*.md", "library/*.md")
	f.Add([]byte("## SOP-1: x\n### Procedure\n#### Step 1: a\n- **If:**\n  - [ ] b\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		doc, err := Parse("fuzz.md", src)
		if err != nil {
			return
		}
		_ = Lint(doc)
		for _, s := range doc.SOPs {
			_, body := Render(s, RenderInput{RequestID: "R-1"})
			_ = ReadChecklist(body)
		}
	})
}

func FuzzReadChecklist(f *testing.F) {
	addSeedFiles(f, "../testdata/sop/golden/*.md", "../testdata/sop/*.md")
	f.Add([]byte("- [ ] A <!-- sopbot:item=a -->\r\n> - [x] B <!-- sopbot:item=b -->\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		entries := ReadChecklist(string(body))
		for key, e := range entries {
			flipped, changed := SetChecked(string(body), key, !e.Checked)
			if !changed || len(flipped) != len(body) {
				t.Fatalf("SetChecked(%q) changed=%v, length %d want %d", key, changed, len(flipped), len(body))
			}
			if got := ReadChecklist(flipped)[key]; got.Checked == e.Checked {
				t.Fatalf("SetChecked(%q) did not flip the box", key)
			}
		}
		_, _ = RequestMarker(string(body))
	})
}
