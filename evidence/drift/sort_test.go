package drift

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSortKeysMatchesFloatOrder(t *testing.T) {
	special := []float64{0, math.Copysign(0, -1), math.MaxFloat64, -math.MaxFloat64,
		math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 1, -1}
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		n    int
	}{
		{"below radix threshold", radixMinLen - 1},
		{"radix", 20000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			values := slices.Clone(special)
			for len(values) < tc.n {
				values = append(values, rng.NormFloat64()*math.Pow(10, float64(rng.IntN(20)-10)))
			}
			keys := make([]uint64, len(values))
			for i, v := range values {
				keys[i] = floatKey(v)
			}
			sortKeys(keys)
			slices.Sort(values)
			for i, k := range keys {
				require.Equal(t, values[i] == 0, keyFloat(k) == 0, "index %d", i)
				if values[i] != 0 {
					require.Equal(t, values[i], keyFloat(k), "index %d", i)
				}
			}
		})
	}
}

func TestFloatKeyNegativeZero(t *testing.T) {
	assert.Equal(t, floatKey(0), floatKey(math.Copysign(0, -1)))
	assert.Less(t, floatKey(-1e-300), floatKey(0))
	assert.Less(t, floatKey(0), floatKey(1e-300))
}

func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("a,b\n1,2\n3,x\n"), "b")
	f.Add([]byte("a\n\"1\n"), "")
	f.Add([]byte("x,y,x\nNaN,inf,-Inf\n1e400,,2\n"), "x")
	f.Add([]byte(""), "")
	f.Fuzz(func(t *testing.T, data []byte, column string) {
		var columns []string
		if column != "" {
			columns = []string{column}
		}
		tbl, err := readCSV(bytes.NewReader(data), "fuzz.csv", columns)
		if err != nil {
			return
		}
		for _, name := range tbl.names {
			values := tbl.columns[name]
			if len(values) == 0 {
				continue
			}
			_, _ = Compare(values, values)
		}
	})
}
