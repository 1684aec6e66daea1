package drift

import (
	"math/rand/v2"
	"testing"
)

// benchSamples returns a standard normal reference and a current sample
// shifted by 0.01, from a fixed seed.
func benchSamples(n int) ([]float64, []float64) {
	rng := rand.New(rand.NewPCG(42, 7))
	ref := make([]float64, n)
	cur := make([]float64, n)
	for i := range ref {
		ref[i] = rng.NormFloat64()
		cur[i] = rng.NormFloat64() + 0.01
	}
	return ref, cur
}

func benchmarkCompare(b *testing.B, n int) {
	ref, cur := benchSamples(n)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Compare(ref, cur); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompare1e6(b *testing.B) { benchmarkCompare(b, 1_000_000) }

func BenchmarkCompare1e7(b *testing.B) { benchmarkCompare(b, 10_000_000) }
