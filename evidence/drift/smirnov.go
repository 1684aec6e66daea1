package drift

import (
	"math"
	"runtime"
)

// The one-sided Smirnov survival function Pr(D+_n >= x), ported from
// scipy.special.smirnov (scipy/special/cephes/kolmogorov.c, scipy 1.10),
// which sums the Smirnov–Birnbaum–Tingey series in double-double arithmetic.
// Only the survival function is ported; the density and quantile are not used.

const (
	smirnovMaxComputeN = 1000000
	smUpperMaxTerms    = 3
	smUppersumMinN     = 10
	// cephesMinLog is log(2^-1075), cephes' MINLOG for IEEE doubles.
	cephesMinLog = -7.451332191019412076235e2
	// maxScaledExponent keeps both words of a scaled dd normal.
	maxScaledExponent = 960
)

// smirnovSF returns scipy.special.smirnov(n, x).
func smirnovSF(n int, x float64) float64 {
	if math.IsNaN(x) || n <= 0 || x < 0 || x > 1 {
		return math.NaN()
	}
	switch {
	case n == 1:
		return 1 - x
	case x == 0:
		return 1
	case x == 1:
		return 0
	}
	alpha, nxFloor := modNX(n, x)
	if nxFloor == 0 || (nxFloor == 1 && alpha == 0) {
		t := powDD(ddFromSum(1, x), n-1).hi
		return 1 - x*t
	}
	if -2*float64(n)*x*x < cephesMinLog {
		return 0
	}
	if nxFloor >= n-1 {
		return powDD(ddFromSum(1, -x), n).hi
	}
	if n > smirnovMaxComputeN {
		return smirnovLargeN(n, x)
	}
	series := newSmirnovSeries(n, x, alpha, nxFloor)
	prob := series.sum()
	if series.upper {
		return clamp01(1 - prob)
	}
	return clamp01(prob)
}

// smirnovLargeN is cephes' approximation Pr ~ exp(-(6nx+1)^2/(18n)) for n
// above smirnovMaxComputeN.
func smirnovLargeN(n int, x float64) float64 {
	fn := float64(n)
	logp := -math.Pow(6.0*fn*x+1, 2) / 18.0 / fn
	if logp < -math.Ln2 {
		return math.Exp(logp)
	}
	return 1 - (-math.Expm1(logp))
}

// smirnovTerms is the series x * sum_v C(n,v) (x+v/n)^(v-1) (1-x-v/n)^(n-v)
// over the lower terms from v = 0 upwards, or, when upper is set, over the
// upper terms from v = n downwards, whose sum is the complement.
// Term j >= 1 is computeAv at v = start + j*step with the binomial
// coefficient C(n, j).
type smirnovTerms struct {
	n           int
	x           float64
	upper       bool
	start, step int
	nTerms      int
	first       dd // term 0
}

// newSmirnovSeries chooses between the lower and the upper sum as cephes'
// _smirnov does, given alpha and floor(n*x) from modNX.
func newSmirnovSeries(n int, x float64, alpha float64, nxFloor int) smirnovTerms {
	n1mxFloor := n - nxFloor
	if alpha != 0 {
		n1mxFloor--
	}
	n1mxCeil := n - nxFloor
	if alpha == 0 {
		n1mxFloor--
		n1mxCeil++
	}
	nUpperTerms := n - n1mxCeil + 1
	useUpperSum := (nUpperTerms <= 1 && x < 0.5) ||
		(n >= smUppersumMinN && nUpperTerms <= smUpperMaxTerms && x <= 0.5/math.Sqrt(float64(n)))
	if useUpperSum {
		return smirnovTerms{n: n, x: x, upper: true, start: n, step: -1, nTerms: nUpperTerms,
			first: pow4DD(1, x, 1, 0, n-1)}
	}
	return smirnovTerms{n: n, x: x, start: 0, step: 1, nTerms: n1mxFloor + 1,
		first: ddDivFloat(pow4DD(1, -x, 1, 0, n), x)}
}

// sum evaluates long series on runtime.GOMAXPROCS goroutines and short ones
// in the calling goroutine. Both ways return the same value to the bit.
func (s smirnovTerms) sum() float64 {
	workers := runtime.GOMAXPROCS(0)
	if workers > 1 && s.nTerms >= parallelMinTerms {
		return s.sumParallel(workers, parallelBlockLen)
	}
	return s.sumSequential()
}

func (s smirnovTerms) term(j int, cman dd, cexp int) dd {
	return computeAv(s.n, s.x, s.start+j*s.step, cman, cexp)
}

// sumSequential is the loop of cephes' _smirnov, term by term.
func (s smirnovTerms) sumSequential() float64 {
	acc := s.newAccumulator()
	cman, cexp := updateBinomial(dd{1, 0}, 0, s.n, 0)
	for j := 1; j < s.nTerms; j++ {
		if acc.add(j, s.term(j, cman, cexp)) {
			break
		}
		cman, cexp = updateBinomial(cman, cexp, s.n, j)
	}
	return ddMulFloat(acc.sum, s.x).hi
}

// seriesAccumulator adds the terms in order and applies cephes' stopping
// rule, which depends on the partial sum and so has to see the terms in
// sequence.
type seriesAccumulator struct {
	sum    dd
	nTerms int
	vmid   int
}

func (s smirnovTerms) newAccumulator() seriesAccumulator {
	return seriesAccumulator{sum: s.first, nTerms: s.nTerms, vmid: s.n / 2}
}

// add adds term j and reports whether the series stops after it.
// Infinite, NaN and zero terms are not added.
func (acc *seriesAccumulator) add(j int, aj dd) bool {
	if !math.IsInf(aj.hi, 0) && !math.IsNaN(aj.hi) && !aj.isZero() {
		acc.sum = ddAdd(acc.sum, aj)
	}
	if !aj.isZero() {
		return 4*float64(acc.nTerms-j)*math.Abs(aj.hi) < epsilon*acc.sum.hi && j != acc.nTerms-1
	}
	return j > acc.vmid
}

// epsilon is DBL_EPSILON, 2^-52.
const epsilon = 2.220446049250313e-16

// modNX returns the fractional part alpha of n*x and floor(n*x), computed
// exactly in double-double. An alpha of 1 after rounding is carried.
func modNX(n int, x float64) (alpha float64, nxFloor int) {
	nxD := ddFromProduct(float64(n), x)
	floorD := ddFloor(nxD)
	alpha = ddSub(nxD, floorD).hi
	nxFloor = int(floorD.hi)
	if alpha == 1 {
		nxFloor++
		alpha = 0
	}
	return alpha, nxFloor
}

// updateBinomial turns C(n, j), stored as mantissa and exponent, into
// C(n, j+1).
func updateBinomial(cman dd, cexp, n, j int) (dd, int) {
	ratio := ddQuotient(float64(n-j), float64(j)+1.0)
	man, exp := ddFrexp(ddMul(cman, ratio))
	return man, cexp + exp
}

// powDD returns a^m, using pow on the high word and a first-order
// correction for the low word, as cephes' pow_D does.
func powDD(a dd, m int) dd {
	if m <= 0 {
		if m == 0 {
			return dd{1, 0}
		}
		return ddInv(powDD(a, -m))
	}
	if a.isZero() {
		return dd{}
	}
	ans := powInt(a.hi, m)
	r := a.lo / a.hi
	adj := float64(m) * r
	if math.Abs(adj) > 1e-8 {
		if math.Abs(adj) < 1e-4 {
			adj += (float64(m) * r) * ((float64(m) - 1) / 2.0 * r)
		} else {
			adj = math.Expm1(float64(m) * math.Log1p(r))
		}
	}
	return ddFromSum(ans, ans*adj)
}

// powInt returns math.Pow(x, float64(m)) for m >= 1. For finite x > 0 it
// runs the repeated squaring that Go's portable math.Pow (Go 1.26,
// src/math/pow.go) uses for integer exponents, without its special-case
// tests, so the result is the same to the bit. Other x go to math.Pow.
// NOTE: s390x has an assembly math.Pow, whose last bits may differ.
func powInt(x float64, m int) float64 {
	if !(x > 0) || math.IsInf(x, 1) || m < 1 {
		return math.Pow(x, float64(m))
	}
	a1, ae := 1.0, 0
	x1, xe := frexp(x)
	for i := m; i != 0; i >>= 1 {
		if xe < -1<<12 || 1<<12 < xe {
			// The exponent is already outside the float64 range, so ldexp
			// below returns 0 or +Inf, as math.Pow does.
			ae += xe
			break
		}
		if i&1 == 1 {
			a1 *= x1
			ae += xe
		}
		x1 *= x1
		xe <<= 1
		if x1 < .5 {
			x1 += x1
			xe--
		}
	}
	return ldexp(a1, ae)
}

// nextPowerOf2 mirrors cephes' helper of that name, which rounds x up in
// its last bit and truncates to an integer when that is exact.
func nextPowerOf2(x float64) float64 {
	q := ldexp(x, 1-53)
	l := math.Abs(q + x)
	if l == 0 {
		return math.Abs(x)
	}
	if float64(int(l)) == l {
		return float64(int(l))
	}
	return l
}

// pow2Scaled returns a^m as a significand and a binary exponent, splitting
// the power so that no intermediate result underflows.
func pow2Scaled(a dd, m int) (dd, int) {
	maxExp := maxScaledExponent
	if m <= 0 {
		if m == 0 {
			return dd{1, 0}, 0
		}
		ans, e1 := pow2Scaled(a, -m)
		inv, e2 := ddFrexp(ddInv(ans))
		return inv, -e1 + e2
	}
	y, yE := ddFrexp(a)
	if m == 1 {
		return y, yE
	}

	if float64(m)*(y.hi-1)/y.hi < -maxScaledExponent*math.Ln2 {
		lg2y := math.Log(y.hi) / math.Ln2
		if float64(m)*lg2y <= -maxScaledExponent {
			maxExp = int(nextPowerOf2(-maxScaledExponent/lg2y+1) / 2)
		}
	}
	if m <= maxExp {
		ans, ansE := ddFrexp(powDD(y, m))
		return ans, ansE + m*yE
	}

	q, r := m/maxExp, m%maxExp
	y2r, y2rE := pow2Scaled(y, r)
	y2m, y2mE := pow2Scaled(y, maxExp)
	y2mq, y2mqE := pow2Scaled(y2m, q)
	ans, ansE := ddFrexp(ddMul(y2r, y2mq))
	y2mqE += y2mE * q
	ansE += y2mqE + y2rE
	ansE += m * yE
	return ans, ansE
}

// pow4DD returns ((a+b)/(c+d))^m.
func pow4DD(a, b, c, d float64, m int) dd {
	if m <= 0 {
		if m == 0 {
			return dd{1, 0}
		}
		return pow4DD(c, d, a, b, -m)
	}
	num := ddFromSum(a, b)
	den := ddFromSum(c, d)
	if num.isZero() {
		if den.isZero() {
			return dd{math.NaN(), math.NaN()}
		}
		return dd{}
	}
	if den.isZero() {
		if num.hi < 0 {
			return dd{math.Inf(-1), math.Inf(-1)}
		}
		return dd{math.Inf(1), math.Inf(1)}
	}
	return powDD(ddDiv(num, den), m)
}

// computeAv returns C(n,v) (1-x-v/n)^(n-v) (x+v/n)^(v-1).
func computeAv(n int, x float64, v int, cman dd, cexp int) dd {
	t2x := ddSubFloat(ddQuotient(float64(n-v), float64(n)), x)
	t2, t2E := pow2Scaled(t2x, n-v)
	t1x := ddAddFloat(ddQuotient(float64(v), float64(n)), x)
	t1, t1E := pow2Scaled(t1x, v-1)
	ans := ddMul(ddMul(t1, t2), cman)
	return ddLdexp(ans, cexp+t1E+t2E)
}

func clamp01(p float64) float64 {
	switch {
	case p < 0:
		return 0
	case p > 1:
		return 1
	}
	return p
}
