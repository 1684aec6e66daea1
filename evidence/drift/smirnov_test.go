package drift

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

// seriesCase returns the Smirnov series that smirnovSF(n, x) sums, and false
// when smirnovSF(n, x) takes another branch.
func seriesCase(n int, x float64) (smirnovTerms, bool) {
	if n < 2 || !(x > 0 && x < 1) || n > smirnovMaxComputeN || -2*float64(n)*x*x < cephesMinLog {
		return smirnovTerms{}, false
	}
	alpha, nxFloor := modNX(n, x)
	if nxFloor == 0 || (nxFloor == 1 && alpha == 0) || nxFloor >= n-1 {
		return smirnovTerms{}, false
	}
	return newSmirnovSeries(n, x, alpha, nxFloor), true
}

// assertParallelMatches checks sumParallel against sumSequential. The two
// perform the same operations in the same order, so the sums must be
// identical. The 1e-13 check shows the size of a difference if one appears.
func assertParallelMatches(t *testing.T, s smirnovTerms, workers, blockLen int) {
	t.Helper()
	want := s.sumSequential()
	got := s.sumParallel(workers, blockLen)
	assert.InDelta(t, want, got, 1e-13*math.Abs(want),
		"n=%d x=%s workers=%d block=%d: sequential %.17g, parallel %.17g", s.n, ftoa(s.x), workers, blockLen, want, got)
	assert.Equal(t, math.Float64bits(want), math.Float64bits(got),
		"n=%d x=%s workers=%d block=%d: sums differ in their bits", s.n, ftoa(s.x), workers, blockLen)
}

func TestSmirnovParallelMatchesGrid(t *testing.T) {
	var file struct {
		Points []struct {
			N int     `json:"n"`
			X float64 `json:"x"`
		} `json:"points"`
	}
	loadJSON(t, "kstwo_grid.json", &file)
	checked := 0
	for _, p := range file.Points {
		s, ok := seriesCase(p.N, p.X)
		if !ok {
			continue
		}
		checked++
		// Series of a few hundred thousand terms take a good part of a
		// second under the race detector, so they get one configuration.
		if s.nTerms > 5000 {
			assertParallelMatches(t, s, 2, parallelBlockLen)
			continue
		}
		for _, workers := range []int{2, 3, 4} {
			for _, blockLen := range []int{1, 7, 256} {
				assertParallelMatches(t, s, workers, blockLen)
			}
		}
	}
	assert.Greater(t, checked, 50, "grid points that reach the series")
}

func TestSmirnovParallelMatchesRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 11))
	for range 200 {
		n := 2 + rng.IntN(20000)
		// x from 1/n to 1 on a log scale covers both the lower and the
		// upper sum and series of every length up to n.
		x := math.Exp(rng.Float64() * math.Log(float64(n)) * -1)
		s, ok := seriesCase(n, x)
		if !ok {
			continue
		}
		assertParallelMatches(t, s, 1+rng.IntN(4), 1+rng.IntN(300))
	}
}

// TestSmirnovParallelEvaluatesLongSeries checks the series of
// BenchmarkCompare1e6 (D = 0.004797 at en = 500,000), which stops after
// 444,456 of its 497,602 terms.
func TestSmirnovParallelEvaluatesLongSeries(t *testing.T) {
	if testing.Short() {
		t.Skip("sums a series of 500,000 terms")
	}
	s, ok := seriesCase(500000, 0.004797)
	assert.True(t, ok, "series case")
	assertParallelMatches(t, s, 2, parallelBlockLen)
	assertParallelMatches(t, s, 3, 1000)
}

// sameBits reports whether a and b are the same float64, counting all NaNs
// as equal.
func sameBits(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
}

func TestPowIntFrexpLdexpMatchMath(t *testing.T) {
	// powInt copies the portable math.Pow, and s390x has an assembly one.
	portablePow := runtime.GOARCH != "s390x"
	special := []float64{0, math.Copysign(0, -1), 5e-324, 1e-310, 2.2250738585072014e-308,
		math.MaxFloat64, math.Inf(1), math.Inf(-1), math.NaN(), 1, -1, -2.5, 0.5, 0.9999999999999999}
	values := append([]float64{}, special...)
	rng := rand.New(rand.NewPCG(5, 13))
	for range 200000 {
		values = append(values, rng.Float64()*math.Ldexp(1, rng.IntN(200)-100), math.Float64frombits(rng.Uint64()))
	}
	for i, x := range values {
		m := 1 + rng.IntN(2000000)
		if i%2 == 0 {
			m = 1 + rng.IntN(1000)
		}
		if got, want := powInt(x, m), math.Pow(x, float64(m)); portablePow && !sameBits(got, want) {
			t.Fatalf("powInt(%v, %d) = %v, math.Pow = %v", x, m, got, want)
		}
		exp := rng.IntN(2400) - 1200
		if got, want := ldexp(x, exp), math.Ldexp(x, exp); !sameBits(got, want) {
			t.Fatalf("ldexp(%v, %d) = %v, math.Ldexp = %v", x, exp, got, want)
		}
		frac, e := frexp(x)
		wantFrac, wantE := math.Frexp(x)
		if !sameBits(frac, wantFrac) || e != wantE {
			t.Fatalf("frexp(%v) = %v, %d; math.Frexp = %v, %d", x, frac, e, wantFrac, wantE)
		}
	}
	for _, x := range special {
		for _, exp := range []int{-1100, -1075, -1074, -1023, -1022, -60, 0, 1023, 1024, 2100} {
			if got, want := ldexp(x, exp), math.Ldexp(x, exp); !sameBits(got, want) {
				t.Fatalf("ldexp(%v, %d) = %v, math.Ldexp = %v", x, exp, got, want)
			}
		}
		for _, m := range []int{1, 2, 3, 1000, 1 << 40} {
			if got, want := powInt(x, m), math.Pow(x, float64(m)); portablePow && !sameBits(got, want) {
				t.Fatalf("powInt(%v, %d) = %v, math.Pow = %v", x, m, got, want)
			}
		}
	}
}
