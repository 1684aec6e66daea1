package drift

import "math"

// dd is a double-double number hi+lo with |lo| <= ulp(hi)/2. The operations
// below follow the QD library's algorithms as scipy's cephes copy of them
// (scipy/special/cephes/dd_real_idefs.h) spells them, so that smirnovSF
// rounds the way scipy.special.smirnov does.
type dd struct{ hi, lo float64 }

func quickTwoSum(a, b float64) (float64, float64) {
	s := a + b
	return s, b - (s - a)
}

func twoSum(a, b float64) (float64, float64) {
	s := a + b
	c := s - a
	d := b - c
	e := s - c
	return s, (a - e) + d
}

// twoProd returns fl(a*b) and its exact rounding error through a fused
// multiply-add, which equals the error term of QD's splitting method.
func twoProd(a, b float64) (float64, float64) {
	p := a * b
	return p, math.FMA(a, b, -p)
}

func ddFromSum(a, b float64) dd {
	s, e := twoSum(a, b)
	return dd{s, e}
}

func ddFromProduct(a, b float64) dd {
	p, e := twoProd(a, b)
	return dd{p, e}
}

func ddQuotient(a, b float64) dd { return ddDiv(dd{a, 0}, dd{b, 0}) }

func (a dd) isZero() bool { return a.hi == 0 }

func (a dd) neg() dd { return dd{-a.hi, -a.lo} }

func ddAdd(a, b dd) dd {
	s1, s2 := twoSum(a.hi, b.hi)
	t1, t2 := twoSum(a.lo, b.lo)
	s2 += t1
	s1, s2 = quickTwoSum(s1, s2)
	s2 += t2
	s1, s2 = quickTwoSum(s1, s2)
	return dd{s1, s2}
}

func ddSub(a, b dd) dd { return ddAdd(a, b.neg()) }

func ddAddFloat(a dd, b float64) dd {
	s1, s2 := twoSum(a.hi, b)
	s2 += a.lo
	s1, s2 = quickTwoSum(s1, s2)
	return dd{s1, s2}
}

func ddSubFloat(a dd, b float64) dd { return ddAddFloat(a, -b) }

func ddMul(a, b dd) dd {
	p1, p2 := twoProd(a.hi, b.hi)
	p2 += a.hi*b.lo + a.lo*b.hi
	p1, p2 = quickTwoSum(p1, p2)
	return dd{p1, p2}
}

func ddMulFloat(a dd, b float64) dd {
	p1, e1 := twoProd(a.hi, b)
	p2, e2 := twoProd(a.lo, b)
	p1, e1 = quickTwoSum(p1, e2+p2+e1)
	return dd{p1, e1}
}

// ddDiv is QD's accurate division with three quotient terms.
func ddDiv(a, b dd) dd {
	q1 := a.hi / b.hi
	r := ddSub(a, ddMulFloat(b, q1))
	q2 := r.hi / b.hi
	r = ddSub(r, ddMulFloat(b, q2))
	q3 := r.hi / b.hi
	q1, q2 = quickTwoSum(q1, q2)
	return ddAddFloat(dd{q1, q2}, q3)
}

func ddDivFloat(a dd, b float64) dd { return ddDiv(a, dd{b, 0}) }

func ddInv(a dd) dd { return ddDiv(dd{1, 0}, a) }

func ddFloor(a dd) dd {
	hi := math.Floor(a.hi)
	lo := 0.0
	if hi == a.hi {
		hi, lo = quickTwoSum(hi, math.Floor(a.lo))
	}
	return dd{hi, lo}
}

func ddLdexp(a dd, exp int) dd {
	return dd{ldexp(a.hi, exp), ldexp(a.lo, exp)}
}

// ddFrexp returns m and e with a = m*2^e and 0.5 <= |m.hi| < 1, or
// |m.hi| == 1 with m.lo of the opposite sign.
func ddFrexp(a dd) (dd, int) {
	man, exp := frexp(a.hi)
	lo := ldexp(a.lo, -exp)
	if math.Abs(man) == 0.5 && man*lo < 0 {
		man *= 2
		lo *= 2
		exp--
	}
	return dd{man, lo}, exp
}

// frexp returns the same values as math.Frexp. Normal numbers take a fast
// path that rewrites the exponent bits, and zero, subnormals, infinities and
// NaN go to math.Frexp.
func frexp(f float64) (float64, int) {
	const expMask = 0x7ff << 52
	bits := math.Float64bits(f)
	biased := int(bits>>52) & 0x7ff
	if biased == 0 || biased == 0x7ff {
		return math.Frexp(f)
	}
	return math.Float64frombits(bits&^expMask | 1022<<52), biased - 1022
}

// ldexp returns the same value as math.Ldexp(f, exp). When 2^exp is a normal
// float64 it multiplies by 2^exp, which rounds once, as math.Ldexp does for
// results that underflow to subnormals, and is exact otherwise.
func ldexp(f float64, exp int) float64 {
	if exp < -1022 || exp > 1023 {
		return math.Ldexp(f, exp)
	}
	return f * math.Float64frombits(uint64(exp+1023)<<52)
}
