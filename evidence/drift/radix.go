package drift

import (
	"math"
	"slices"
)

// A sort key maps a float64 to a uint64 whose unsigned order is the float
// order: negative numbers get all bits flipped, the others get the sign bit
// set. Negative zero is mapped to the key of positive zero so that equal
// floats have equal keys. NaN has no key and must be removed first.

const signBit = 1 << 63

func floatKey(f float64) uint64 {
	if f == 0 {
		f = 0
	}
	b := math.Float64bits(f)
	if b&signBit != 0 {
		return ^b
	}
	return b | signBit
}

func keyFloat(k uint64) float64 {
	if k&signBit != 0 {
		return math.Float64frombits(k &^ signBit)
	}
	return math.Float64frombits(^k)
}

// radixDigitBits is the digit width of the LSD radix sort: 11 bits gives six
// passes over 64-bit keys with a 16 KiB count table per pass.
const (
	radixDigitBits = 11
	radixBuckets   = 1 << radixDigitBits
	radixPasses    = (64 + radixDigitBits - 1) / radixDigitBits
	// radixMinLen is the length below which comparison sorting is faster.
	radixMinLen = 512
)

// sortKeys sorts keys in place with a least-significant-digit radix sort.
// All digit histograms come from one read pass, and a pass whose digit is
// the same for every key is skipped.
func sortKeys(keys []uint64) {
	if len(keys) < radixMinLen {
		slices.Sort(keys)
		return
	}
	var counts [radixPasses][radixBuckets]int
	for _, k := range keys {
		for p := 0; p < radixPasses; p++ {
			counts[p][(k>>(p*radixDigitBits))&(radixBuckets-1)]++
		}
	}
	src, dst := keys, make([]uint64, len(keys))
	for p := 0; p < radixPasses; p++ {
		if skipPass(&counts[p], len(keys)) {
			continue
		}
		var offsets [radixBuckets]int
		total := 0
		for b, c := range counts[p] {
			offsets[b] = total
			total += c
		}
		shift := uint(p * radixDigitBits)
		for _, k := range src {
			b := (k >> shift) & (radixBuckets - 1)
			dst[offsets[b]] = k
			offsets[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
}

func skipPass(counts *[radixBuckets]int, n int) bool {
	for _, c := range counts {
		if c == n {
			return true
		}
		if c != 0 {
			return false
		}
	}
	return false
}
