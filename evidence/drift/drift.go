package drift

import (
	"errors"
	"fmt"
	"math"
	"sync"
)

// ErrEmptySample matches, through errors.Is, the EmptySampleError returned
// when a sample has no finite value left after NaN and ±Inf are dropped.
var ErrEmptySample = errors.New("sample has no finite values")

// EmptySampleError reports a sample with no finite values.
type EmptySampleError struct {
	// Sample is "reference" or "current".
	Sample string
	// DroppedNaN and DroppedInf count the values that were removed.
	DroppedNaN, DroppedInf int
}

func (e *EmptySampleError) Error() string {
	return fmt.Sprintf("%s sample has no finite values (%d NaN and %d Inf dropped)", e.Sample, e.DroppedNaN, e.DroppedInf)
}

// Is makes errors.Is(err, ErrEmptySample) true.
func (e *EmptySampleError) Is(target error) bool { return target == ErrEmptySample }

// SampleSummary counts the values of one sample.
type SampleSummary struct {
	// N is the number of finite values the statistics use.
	N int `json:"n"`
	// DroppedNaN is the number of NaN values removed before any statistic.
	DroppedNaN int `json:"dropped_nan"`
	// DroppedInf is the number of +Inf and -Inf values removed.
	DroppedInf int `json:"dropped_inf"`
}

// ColumnResult is the drift of one column between a reference and a current
// sample.
type ColumnResult struct {
	// Column is the column name, empty when the result comes from Compare.
	Column string `json:"column"`
	// Reference counts the reference sample's values.
	Reference SampleSummary `json:"reference"`
	// Current counts the current sample's values.
	Current SampleSummary `json:"current"`
	// KS is the two-sample Kolmogorov-Smirnov test.
	KS KSResult `json:"ks"`
	// PSI is the population stability index over Bins.
	PSI float64 `json:"psi"`
	// KL is the Kullback-Leibler divergence KL(reference || current) over
	// Bins, in nats.
	KL float64 `json:"kl"`
	// Edges are the distinct inner bin edges: the reference deciles.
	Edges []float64 `json:"edges"`
	// Bins are the len(Edges)+1 bins with both samples' counts.
	Bins []Bin `json:"bins"`
}

// Compare computes the drift of cur against the reference sample ref. NaN
// and ±Inf are dropped from both and counted. It returns an
// *EmptySampleError when either sample has no finite value.
// The inputs are not modified.
func Compare(ref, cur []float64) (ColumnResult, error) {
	refKeys, curKeys, refSummary, curSummary := prepareBoth(ref, cur)
	if refSummary.N == 0 {
		return ColumnResult{}, &EmptySampleError{"reference", refSummary.DroppedNaN, refSummary.DroppedInf}
	}
	if curSummary.N == 0 {
		return ColumnResult{}, &EmptySampleError{"current", curSummary.DroppedNaN, curSummary.DroppedInf}
	}

	edges := decileEdges(refKeys)
	bins := binCounts(edges, refKeys, curKeys)
	psi, kl := stabilityIndexes(bins)

	return ColumnResult{
		Reference: refSummary,
		Current:   curSummary,
		KS:        ksTest(refKeys, curKeys),
		PSI:       psi,
		KL:        kl,
		Edges:     edges,
		Bins:      bins,
	}, nil
}

// parallelMinLen is the sample length from which the two samples are
// prepared on two goroutines. It is an estimate of where a second goroutine
// starts to pay off, not a measured crossover.
const parallelMinLen = 1 << 15

func prepareBoth(ref, cur []float64) (refKeys, curKeys []uint64, refSummary, curSummary SampleSummary) {
	if len(ref) < parallelMinLen || len(cur) < parallelMinLen {
		refKeys, refSummary = sortedKeys(ref)
		curKeys, curSummary = sortedKeys(cur)
		return refKeys, curKeys, refSummary, curSummary
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		curKeys, curSummary = sortedKeys(cur)
	}()
	refKeys, refSummary = sortedKeys(ref)
	wg.Wait()
	return refKeys, curKeys, refSummary, curSummary
}

// sortedKeys drops NaN and ±Inf from values and returns the sorted keys of
// the rest.
func sortedKeys(values []float64) ([]uint64, SampleSummary) {
	keys := make([]uint64, 0, len(values))
	var summary SampleSummary
	for _, v := range values {
		switch {
		case math.IsNaN(v):
			summary.DroppedNaN++
		case math.IsInf(v, 0):
			summary.DroppedInf++
		default:
			keys = append(keys, floatKey(v))
		}
	}
	summary.N = len(keys)
	sortKeys(keys)
	return keys, summary
}
