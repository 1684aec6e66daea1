package scan

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// addFixtureSeeds adds every fixture whose name matches one of the suffixes.
func addFixtureSeeds(f *testing.F, suffixes ...string) {
	entries, err := os.ReadDir(fixtureDir)
	if err != nil {
		f.Fatal(err)
	}
	for _, entry := range entries {
		for _, suffix := range suffixes {
			if strings.HasSuffix(entry.Name(), suffix) {
				data, err := os.ReadFile(filepath.Join(fixtureDir, entry.Name()))
				if err != nil {
					f.Fatal(err)
				}
				f.Add(data)
			}
		}
	}
}

func FuzzDecodePickle(f *testing.F) {
	addFixtureSeeds(f, ".pkl", ".joblib", "legacy_torch.pt")
	f.Fuzz(func(t *testing.T, data []byte) {
		out := newCollector("fuzz")
		r := newByteReader(bytes.NewReader(data))
		decodePickle(r, out, func([]byte, int64) {}, 0)
		if _, err := ScanBytes("fuzz.pkl", data); err != nil {
			t.Fatalf("in-memory scan returned an error: %v", err)
		}
	})
}

func FuzzZip(f *testing.F) {
	addFixtureSeeds(f, ".pt", ".zip")
	f.Fuzz(func(t *testing.T, data []byte) {
		scanner := &Scanner{MaxInflatedMember: 1 << 20, MaxInflatedTotal: 4 << 20}
		report, err := scanner.ScanBytes("fuzz.zip", data)
		if err != nil {
			t.Fatalf("in-memory scan returned an error: %v", err)
		}
		for _, finding := range report.Findings {
			if finding.Offset < 0 {
				t.Fatalf("negative offset in %+v", finding)
			}
		}
	})
}
