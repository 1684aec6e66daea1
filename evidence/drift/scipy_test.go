package drift

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tolerances against scipy 1.10.1 / numpy 1.24.2, whose outputs
// scripts/drift/make_expected.py writes to testdata/drift.
const (
	// exactRelTol applies to D, exact p-values, edges, PSI and KL. The Go code
	// performs the same float64 operations in the same order, but Go's
	// math.Log and math.Pow may differ from glibc's in the last bit.
	exactRelTol = 1e-12
	// asymptoticRelTol applies to kstwo.sf and smirnov. scipy multiplies
	// matrices with BLAS and convolves with BLAS dot products, whose summation
	// order Go does not reproduce. The largest error seen is 1.2e-12 (n=100, Pomeranz).
	asymptoticRelTol = 1e-11
	// absTol is the absolute slack under which values count as equal. It
	// covers results that are 0 in one and a few ulps of 0 in the other.
	absTol = 1e-300
)

var testdataDir = filepath.Join("..", "..", "testdata", "drift")

type sampleSpec struct {
	Kind   string  `json:"kind"`
	Seed   uint64  `json:"seed"`
	N      int     `json:"n"`
	Levels float64 `json:"levels"`
	Scale  float64 `json:"scale"`
	Shift  float64 `json:"shift"`
}

type expectedResult struct {
	D              float64   `json:"d"`
	PValue         float64   `json:"p_value"`
	Mode           Mode      `json:"mode"`
	Edges          []float64 `json:"edges"`
	ReferenceCount []int     `json:"reference_counts"`
	CurrentCount   []int     `json:"current_counts"`
	PSI            float64   `json:"psi"`
	KL             float64   `json:"kl"`
}

type ksCase struct {
	Name          string         `json:"name"`
	Reference     []float64      `json:"reference"`
	Current       []float64      `json:"current"`
	ReferenceSpec *sampleSpec    `json:"reference_spec"`
	CurrentSpec   *sampleSpec    `json:"current_spec"`
	Want          expectedResult `json:"want"`
}

// splitmix64 mirrors the generator in make_expected.py.
func splitmix64(seed uint64, count int) []float64 {
	state := seed
	out := make([]float64, count)
	for i := range out {
		state += 0x9E3779B97F4A7C15
		z := state
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		z ^= z >> 31
		out[i] = float64(z>>11) * (1.0 / 9007199254740992.0)
	}
	return out
}

// generateSample mirrors generate in make_expected.py.
func generateSample(t *testing.T, spec sampleSpec) []float64 {
	t.Helper()
	var base []float64
	switch spec.Kind {
	case "uniform":
		base = splitmix64(spec.Seed, spec.N)
	case "irwin_hall":
		u := splitmix64(spec.Seed, 4*spec.N)
		base = make([]float64, spec.N)
		for i := range base {
			base[i] = ((u[4*i] + u[4*i+1]) + u[4*i+2]) + u[4*i+3] - 2.0
		}
	case "integers":
		base = splitmix64(spec.Seed, spec.N)
		for i, v := range base {
			base[i] = math.Floor(v * spec.Levels)
		}
	default:
		require.Failf(t, "unknown generator kind", "%q", spec.Kind)
	}
	scale := spec.Scale
	if scale == 0 {
		scale = 1
	}
	for i, v := range base {
		base[i] = v*scale + spec.Shift
	}
	return base
}

func loadJSON(t *testing.T, name string, into any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testdataDir, name))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, into))
}

func assertClose(t *testing.T, want, got, relTol float64, what string) {
	t.Helper()
	if want == got {
		return
	}
	diff := math.Abs(want - got)
	assert.LessOrEqual(t, diff, absTol+relTol*math.Abs(want),
		"%s: want %.17g, got %.17g (relative error %.3g)", what, want, got, diff/math.Abs(want))
}

func TestCompareMatchesScipy(t *testing.T) {
	var file struct {
		Cases []ksCase `json:"cases"`
	}
	loadJSON(t, "ks_cases.json", &file)
	require.NotEmpty(t, file.Cases)
	for _, tc := range file.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			ref, cur := tc.Reference, tc.Current
			if tc.ReferenceSpec != nil {
				ref = generateSample(t, *tc.ReferenceSpec)
				cur = generateSample(t, *tc.CurrentSpec)
			}
			got, err := Compare(ref, cur)
			require.NoError(t, err)

			assert.Equal(t, tc.Want.Mode, got.KS.Mode, "mode")
			assert.Equal(t, tc.Want.D, got.KS.D, "D")
			pTol := exactRelTol
			if got.KS.Mode == ModeAsymptotic {
				pTol = asymptoticRelTol
			}
			assertClose(t, tc.Want.PValue, got.KS.PValue, pTol, "p-value")

			require.Len(t, got.Edges, len(tc.Want.Edges), "edges")
			for i := range got.Edges {
				assertClose(t, tc.Want.Edges[i], got.Edges[i], exactRelTol, "edge")
			}
			require.Len(t, got.Bins, len(tc.Want.ReferenceCount), "bins")
			for i, b := range got.Bins {
				assert.Equal(t, tc.Want.ReferenceCount[i], b.ReferenceCount, "reference count of bin %d", i)
				assert.Equal(t, tc.Want.CurrentCount[i], b.CurrentCount, "current count of bin %d", i)
			}
			assertClose(t, tc.Want.PSI, got.PSI, exactRelTol, "PSI")
			assertClose(t, tc.Want.KL, got.KL, exactRelTol, "KL")
		})
	}
}

func TestKstwoSFMatchesScipy(t *testing.T) {
	var file struct {
		Points []struct {
			N       int     `json:"n"`
			X       float64 `json:"x"`
			KstwoSF float64 `json:"kstwo_sf"`
			Smirnov float64 `json:"smirnov"`
		} `json:"points"`
	}
	loadJSON(t, "kstwo_grid.json", &file)
	require.NotEmpty(t, file.Points)
	for _, p := range file.Points {
		assertClose(t, p.KstwoSF, kstwoSF(p.X, p.N), asymptoticRelTol, "kstwo.sf n="+itoa(p.N)+" x="+ftoa(p.X))
		assertClose(t, p.Smirnov, smirnovSF(p.N, p.X), asymptoticRelTol, "smirnov n="+itoa(p.N)+" x="+ftoa(p.X))
	}
}

func itoa(n int) string     { return strconv.Itoa(n) }
func ftoa(x float64) string { return strconv.FormatFloat(x, 'g', 17, 64) }
