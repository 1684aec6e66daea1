package scan

import (
	"archive/zip"
	"encoding/binary"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

// The benchmarks scan the data sets of scripts/scan/make_bench_data.py when
// SCAN_BENCH_DIR names its output folder, and otherwise smaller data sets
// that they write to a temporary folder.

func benchDir() string { return os.Getenv("SCAN_BENCH_DIR") }

// BenchmarkTorchZip scans a zip of stored float32 tensors (64 MiB when it
// writes its own, big.pt from the script otherwise).
func BenchmarkTorchZip(b *testing.B) {
	path := filepath.Join(benchDir(), "big.pt")
	if benchDir() == "" {
		path = writeTensorZip(b, 64<<20)
	}
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(info.Size())
	b.ResetTimer()
	for range b.N {
		report, err := File(path)
		if err != nil {
			b.Fatal(err)
		}
		if report.Flagged() {
			b.Fatalf("benchmark data has findings: %+v", report.Findings)
		}
	}
}

// BenchmarkSmallPickles scans a folder of small pickles, one File call each.
func BenchmarkSmallPickles(b *testing.B) {
	folder := filepath.Join(benchDir(), "small")
	if benchDir() == "" {
		folder = writeSmallPickles(b, 1000)
	}
	paths, err := filepath.Glob(filepath.Join(folder, "*.pkl"))
	if err != nil || len(paths) == 0 {
		b.Fatalf("no pickles in %s: %v", folder, err)
	}
	var total int64
	for _, p := range paths {
		info, _ := os.Stat(p)
		total += info.Size()
	}
	b.SetBytes(total)
	b.ResetTimer()
	for range b.N {
		for _, p := range paths {
			if _, err := File(p); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(paths)), "µs/file")
}

func writeTensorZip(b *testing.B, size int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "tensors.pt")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := zip.NewWriter(f)
	random := rand.New(rand.NewSource(3))
	block := make([]byte, 4<<20)
	for i := 0; i+4 <= len(block); i += 4 {
		binary.LittleEndian.PutUint32(block[i:], float32Bits(random.NormFloat64()*0.02))
	}
	member, _ := w.CreateHeader(&zip.FileHeader{Name: "archive/data.pkl", Method: zip.Store})
	_, _ = member.Write([]byte("\x80\x02ccollections\nOrderedDict\n)R."))
	for i := 0; i < size/(16<<20); i++ {
		member, err := w.CreateHeader(&zip.FileHeader{Name: "archive/data/" + string(rune('0'+i)), Method: zip.Store})
		if err != nil {
			b.Fatal(err)
		}
		for range 4 {
			_, _ = member.Write(block)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

func writeSmallPickles(b *testing.B, count int) string {
	b.Helper()
	folder := b.TempDir()
	seeds := []string{"benign_proto2.pkl", "benign_proto3.pkl", "benign_proto4.pkl", "benign_proto5.pkl"}
	for i := range count {
		data, err := os.ReadFile(filepath.Join(fixtureDir, seeds[i%len(seeds)]))
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(folder, filepath.Base(seeds[i%len(seeds)])+string(rune('a'+i%26))+
			string(rune('a'+i/26%26))+string(rune('a'+i/676))+".pkl"), data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return folder
}
