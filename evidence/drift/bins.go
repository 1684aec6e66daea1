package drift

import (
	"encoding/json"
	"math"
	"slices"
	"sort"
)

// MinProportion is the floor applied to every bin proportion before PSI and
// KL are computed, so that an empty bin gives a finite log. Proportions are
// not renormalised after flooring.
const MinProportion = 1e-4

// Bin is one histogram bin (Lower, Upper]. The outer bins are open:
// Lower is -Inf for the first bin and Upper is +Inf for the last.
type Bin struct {
	// Lower is the exclusive lower bound.
	Lower float64
	// Upper is the inclusive upper bound.
	Upper float64
	// ReferenceCount is the number of reference values in the bin.
	ReferenceCount int
	// CurrentCount is the number of current values in the bin.
	CurrentCount int
	// ReferenceProportion is ReferenceCount over the reference size, before
	// the MinProportion floor.
	ReferenceProportion float64
	// CurrentProportion is CurrentCount over the current size, before the
	// MinProportion floor.
	CurrentProportion float64
}

type binJSON struct {
	Lower               *float64 `json:"lower"`
	Upper               *float64 `json:"upper"`
	ReferenceCount      int      `json:"reference_count"`
	CurrentCount        int      `json:"current_count"`
	ReferenceProportion float64  `json:"reference_proportion"`
	CurrentProportion   float64  `json:"current_proportion"`
}

// MarshalJSON encodes an infinite bound as null, because JSON has no
// infinity.
func (b Bin) MarshalJSON() ([]byte, error) {
	return json.Marshal(binJSON{
		Lower:               finiteOrNil(b.Lower),
		Upper:               finiteOrNil(b.Upper),
		ReferenceCount:      b.ReferenceCount,
		CurrentCount:        b.CurrentCount,
		ReferenceProportion: b.ReferenceProportion,
		CurrentProportion:   b.CurrentProportion,
	})
}

// UnmarshalJSON decodes a null bound as the infinity of its side.
func (b *Bin) UnmarshalJSON(data []byte) error {
	var raw binJSON
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*b = Bin{
		Lower:               math.Inf(-1),
		Upper:               math.Inf(1),
		ReferenceCount:      raw.ReferenceCount,
		CurrentCount:        raw.CurrentCount,
		ReferenceProportion: raw.ReferenceProportion,
		CurrentProportion:   raw.CurrentProportion,
	}
	if raw.Lower != nil {
		b.Lower = *raw.Lower
	}
	if raw.Upper != nil {
		b.Upper = *raw.Upper
	}
	return nil
}

func finiteOrNil(v float64) *float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return nil
	}
	return &v
}

// decileEdges returns the distinct deciles q = 0.1, ..., 0.9 of the sorted
// keys, computed as numpy.quantile's default "linear" method does: the
// virtual index (n-1)*q and the two-sided lerp of numpy/lib/function_base.py.
func decileEdges(keys []uint64) []float64 {
	edges := make([]float64, 0, 9)
	for k := 1; k <= 9; k++ {
		edges = append(edges, linearQuantile(keys, float64(k)/10))
	}
	slices.Sort(edges)
	return slices.CompactFunc(edges, func(a, b float64) bool { return a == b })
}

func linearQuantile(keys []uint64, q float64) float64 {
	n := len(keys)
	index := float64(n-1) * q
	if index >= float64(n-1) {
		return keyFloat(keys[n-1])
	}
	below := math.Floor(index)
	lo := keyFloat(keys[int(below)])
	hi := keyFloat(keys[int(below)+1])
	gamma := index - below
	diff := hi - lo
	if gamma >= 0.5 {
		return hi - diff*(1-gamma)
	}
	return lo + diff*gamma
}

// binCounts counts both samples in the bins (-Inf, e1], (e1, e2], ...,
// (ek, +Inf) by binary search on the sorted keys.
func binCounts(edges []float64, ref, cur []uint64) []Bin {
	bins := make([]Bin, len(edges)+1)
	lower := math.Inf(-1)
	refBelow, curBelow := 0, 0
	for i := range bins {
		upper := math.Inf(1)
		refUpTo, curUpTo := len(ref), len(cur)
		if i < len(edges) {
			upper = edges[i]
			refUpTo = countAtMost(ref, floatKey(upper))
			curUpTo = countAtMost(cur, floatKey(upper))
		}
		bins[i] = Bin{
			Lower:               lower,
			Upper:               upper,
			ReferenceCount:      refUpTo - refBelow,
			CurrentCount:        curUpTo - curBelow,
			ReferenceProportion: float64(refUpTo-refBelow) / float64(len(ref)),
			CurrentProportion:   float64(curUpTo-curBelow) / float64(len(cur)),
		}
		lower, refBelow, curBelow = upper, refUpTo, curUpTo
	}
	return bins
}

// countAtMost returns the number of keys <= key.
func countAtMost(keys []uint64, key uint64) int {
	return sort.Search(len(keys), func(i int) bool { return keys[i] > key })
}

// stabilityIndexes returns PSI = sum (q-p) ln(q/p) and KL = sum p ln(p/q),
// where p and q are the reference and current proportions floored at
// MinProportion. The sums use numpy's pairwise order.
func stabilityIndexes(bins []Bin) (psi, kl float64) {
	psiTerms := make([]float64, len(bins))
	klTerms := make([]float64, len(bins))
	for i, b := range bins {
		p := math.Max(b.ReferenceProportion, MinProportion)
		q := math.Max(b.CurrentProportion, MinProportion)
		psiTerms[i] = (q - p) * math.Log(q/p)
		klTerms[i] = p * math.Log(p/q)
	}
	return pairwiseSum(psiTerms), pairwiseSum(klTerms)
}
