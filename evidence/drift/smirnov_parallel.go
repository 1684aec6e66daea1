package drift

import "sync"

const (
	// parallelMinTerms is the series length from which smirnovTerms.sum
	// starts goroutines. It is a chosen value: shorter series take a few
	// milliseconds at most, so one goroutine costs little.
	parallelMinTerms = 4096
	// parallelBlockLen is the number of terms each goroutine evaluates per
	// block. Up to one block per goroutine is computed past the stopping
	// point and discarded.
	parallelBlockLen = 2048
)

// sumParallel returns the same value as sumSequential, evaluating the terms
// speculatively in blocks of workers*blockLen. For each block the calling
// goroutine first advances the binomial coefficient with updateBinomial.
// The workers then evaluate disjoint ranges of terms with computeAv, and the
// calling goroutine adds the terms in order with the accumulator and
// stopping rule of sumSequential. Every term and every addition is the one
// sumSequential performs, so the sum and the stopping point are identical.
// Terms past the stopping point are discarded.
func (s smirnovTerms) sumParallel(workers, blockLen int) float64 {
	acc := s.newAccumulator()
	cman, cexp := updateBinomial(dd{1, 0}, 0, s.n, 0)
	size := workers * blockLen
	mans := make([]dd, size)
	exps := make([]int, size)
	terms := make([]dd, size)
	for first := 1; first < s.nTerms; first += size {
		count := min(size, s.nTerms-first)
		for i := range count {
			mans[i], exps[i] = cman, cexp
			cman, cexp = updateBinomial(cman, cexp, s.n, first+i)
		}

		chunk := (count + workers - 1) / workers
		var wg sync.WaitGroup
		for lo := 0; lo < count; lo += chunk {
			hi := min(lo+chunk, count)
			wg.Go(func() {
				for i := lo; i < hi; i++ {
					terms[i] = s.term(first+i, mans[i], exps[i])
				}
			})
		}
		wg.Wait()

		for i := range count {
			if acc.add(first+i, terms[i]) {
				return ddMulFloat(acc.sum, s.x).hi
			}
		}
	}
	return ddMulFloat(acc.sum, s.x).hi
}
