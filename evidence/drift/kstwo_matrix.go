package drift

import (
	"math"
	"math/big"
)

// scale128 is 2^128, the rescaling step scipy's Durbin and Pomeranz code uses.
const (
	exp128   = 128
	scale128 = 3.402823669209385e+38
)

// extended emulates numpy.longdouble on x86-64 (the x87 80-bit format, whose
// significand has 64 bits). scipy's Durbin and Pomeranz code switches to it
// partway through, when it multiplies a float64 by its longdouble scale
// constant, so matching its rounding needs the same precision.
type extended struct{ f big.Float }

func newExtended(x float64) *extended {
	e := &extended{}
	e.f.SetPrec(64).SetMode(big.ToNearestEven).SetFloat64(x)
	return e
}

func (e *extended) mulInt(k int) {
	var m big.Float
	m.SetPrec(64).SetInt64(int64(k))
	e.f.Mul(&e.f, &m)
}

func (e *extended) quoInt(k int) {
	var m big.Float
	m.SetPrec(64).SetInt64(int64(k))
	e.f.Quo(&e.f, &m)
}

// belowInverseScale reports whether |e| < 2^-128.
func (e *extended) belowInverseScale() bool {
	limit := new(big.Float).SetMantExp(big.NewFloat(1), -exp128)
	return new(big.Float).Abs(&e.f).Cmp(limit) < 0
}

// oneMinus returns 1-e rounded to 64 bits and then to float64, as
// numpy computes 1.0 - longdouble before storing the result as float64.
func (e *extended) oneMinus() float64 {
	var r big.Float
	r.SetPrec(64).SetMode(big.ToNearestEven).SetFloat64(1)
	r.Sub(&r, &e.f)
	v, _ := r.Float64()
	return v
}

// durbinSF returns 1 - Pr(D_n <= d) with the CDF computed by Durbin's
// matrix method in the Marsaglia-Tsang-Wang form: the k-th diagonal entry
// of H^n times n!/n^n, where d = (k-h)/n.
func durbinSF(n int, d float64) float64 {
	if d >= 1.0 {
		return 0
	}
	nd := float64(n) * d
	if nd <= 0.5 {
		return 1
	}
	k := int(math.Ceil(nd))
	h := float64(k) - nd
	m := 2*k - 1
	hpwr, expnt := matrixPower(durbinMatrix(m, h), n, k)
	return durbinScale(hpwr[(k-1)*m+(k-1)], n, expnt)
}

// durbinMatrix builds the m-by-m matrix H, row-major.
func durbinMatrix(m int, h float64) []float64 {
	v := make([]float64, m)
	w := make([]float64, m)
	fac := 1.0
	for j := 1; j <= m; j++ {
		v[j-1] = 1.0 - math.Pow(h, float64(j))
		w[j-1] = fac
		fac /= float64(j)
		v[j-1] *= fac
	}
	tt := math.Pow(math.Max(2*h-1.0, 0), float64(m)) - 2*math.Pow(h, float64(m))
	v[m-1] = (1.0 + tt) * fac

	H := make([]float64, m*m)
	for i := 1; i < m; i++ {
		for r := i - 1; r < m; r++ {
			H[r*m+i] = w[r-(i-1)]
		}
	}
	for r := 0; r < m; r++ {
		H[r*m] = v[r]
	}
	for c := 0; c < m; c++ {
		H[(m-1)*m+c] = v[m-1-c]
	}
	return H
}

// matrixPower returns H^n by repeated squaring together with the binary
// exponent removed while scaling, checking entry (k-1, k-1) as scipy does.
func matrixPower(H []float64, n, k int) ([]float64, int) {
	m := int(math.Sqrt(float64(len(H))))
	hpwr := make([]float64, m*m)
	for i := 0; i < m; i++ {
		hpwr[i*m+i] = 1
	}
	expnt, hexpnt := 0, 0
	for nn := n; nn > 0; nn /= 2 {
		if nn%2 == 1 {
			hpwr = matMul(hpwr, H, m)
			expnt += hexpnt
		}
		H = matMul(H, H, m)
		hexpnt *= 2
		if math.Abs(H[(k-1)*m+(k-1)]) > scale128 {
			for i := range H {
				H[i] /= scale128
			}
			hexpnt += exp128
		}
	}
	return hpwr, expnt
}

func matMul(a, b []float64, m int) []float64 {
	c := make([]float64, m*m)
	for i := 0; i < m; i++ {
		for l := 0; l < m; l++ {
			ail := a[i*m+l]
			if ail == 0 {
				continue
			}
			for j := 0; j < m; j++ {
				c[i*m+j] += ail * b[l*m+j]
			}
		}
	}
	return c
}

// durbinScale multiplies p by n!/n^n and 2^expnt and returns 1 minus the
// clipped result. scipy does the first part in float64 until p drops below
// 2^-128 and in longdouble from then on.
func durbinScale(p float64, n, expnt int) float64 {
	fn := float64(n)
	i := 1
	for ; i <= n; i++ {
		p = float64(i) * p / fn
		if math.Abs(p) < 1/scale128 {
			break
		}
	}
	if i > n {
		p = math.Ldexp(p, expnt)
		return clamp01(1 - clamp01(p))
	}
	ext := newExtended(p)
	ext.f.SetMantExp(&ext.f, exp128)
	expnt -= exp128
	for i++; i <= n; i++ {
		ext.mulInt(i)
		ext.quoInt(n)
		if ext.belowInverseScale() {
			ext.f.SetMantExp(&ext.f, exp128)
			expnt -= exp128
		}
	}
	ext.f.SetMantExp(&ext.f, expnt)
	return clampedOneMinus(ext)
}

// clampedOneMinus returns 1-clip(e, 0, 1), clipped, in float64.
func clampedOneMinus(e *extended) float64 {
	switch {
	case e.f.Sign() < 0:
		return 1
	case e.f.Cmp(big.NewFloat(1)) > 0:
		return 0
	}
	return clamp01(e.oneMinus())
}

// pomeranzSF returns 1 - Pr(D_n <= x) with the CDF computed by Pomeranz's
// recursion: each row of the table is the previous row convolved with
// truncated Poisson weights, and the CDF is n! times the last entry.
func pomeranzSF(n int, x float64) float64 {
	t := float64(n) * x
	ll := int(math.Floor(t))
	f := t - float64(ll)
	g := math.Min(f, 1.0-f)
	ceilf, roundf := 0, 0
	if f > 0 {
		ceilf = 1
	}
	if f > 0.5 {
		roundf = 1
	}
	npwrs := 2 * (ll + 1)
	gpower, twogpower, onem2gpower := pomeranzPowers(npwrs, g, n)

	v0 := make([]float64, npwrs)
	v1 := make([]float64, npwrs)
	v1[0] = 1
	v0s, v1s, expnt := 0, 0, 0
	j1, _ := pomeranzBounds(0, n, ll, ceilf, roundf)
	var j2 int
	for i := 1; i < 2*n+2; i++ {
		k1 := j1
		v0, v1 = v1, v0
		v0s, v1s = v1s, v0s
		clear(v1)
		j1, j2 = pomeranzBounds(i, n, ll, ceilf, roundf)
		pwrs := onem2gpower
		switch {
		case i == 1 || i == 2*n+1:
			pwrs = gpower
		case i%2 == 1:
			pwrs = twogpower
		}
		ln2 := j2 - k1 + 1
		if ln2 <= 0 {
			continue
		}
		lo := k1 - v0s
		conv := convolve(v0[lo:min(lo+ln2, len(v0))], pwrs[:ln2])
		convStart := j1 - k1
		convLen := j2 - j1 + 1
		copy(v1[:convLen], conv[convStart:min(convStart+convLen, len(conv))])
		if peak := maxOf(v1); peak > 0 && peak < 1/scale128 {
			for j := range v1 {
				v1[j] *= scale128
			}
			expnt -= exp128
		}
		v1s = v0s + j1 - k1
	}
	return factorialScaleSF(v1[n-v1s], n, expnt)
}

// pomeranzPowers returns (g/n)^m/m!, (2g/n)^m/m! and ((1-2g)/n)^m/m! for
// m = 0..count-1.
func pomeranzPowers(count int, g float64, n int) (gp, twoGp, oneMinusTwoGp []float64) {
	gp = make([]float64, count)
	twoGp = make([]float64, count)
	oneMinusTwoGp = make([]float64, count)
	gp[0], twoGp[0], oneMinusTwoGp[0] = 1, 1, 1
	fn := float64(n)
	gOverN, twoGOverN, oneMinusTwoGOverN := g/fn, 2*g/fn, (1-2*g)/fn
	for m := 1; m < count; m++ {
		fm := float64(m)
		gp[m] = gp[m-1] * gOverN / fm
		twoGp[m] = twoGp[m-1] * twoGOverN / fm
		oneMinusTwoGp[m] = oneMinusTwoGp[m-1] * oneMinusTwoGOverN / fm
	}
	return gp, twoGp, oneMinusTwoGp
}

// pomeranzBounds returns the first and last non-zero column of row i.
func pomeranzBounds(i, n, ll, ceilf, roundf int) (int, int) {
	var j1, j2 int
	if i == 0 {
		j1, j2 = -ll-ceilf-1, ll+ceilf-1
	} else {
		half, odd := (i+1)/2, (i+1)%2
		switch {
		case odd == 0 && half == n+1:
			j1, j2 = n-ll-ceilf-1, n+ll+ceilf-1
		case odd == 0:
			j1, j2 = half-1-ll-roundf-1, half+ll-1+ceilf-1
		default:
			j1, j2 = half-1-ll-1, half+ll+roundf-1
		}
	}
	return max(j1+2, 0), min(j2, n)
}

// convolve returns the full discrete convolution of a and b.
func convolve(a, b []float64) []float64 {
	if len(a) == 0 || len(b) == 0 {
		return nil
	}
	out := make([]float64, len(a)+len(b)-1)
	for i, av := range a {
		for j, bv := range b {
			out[i+j] += av * bv
		}
	}
	return out
}

func maxOf(values []float64) float64 {
	peak := math.Inf(-1)
	for _, v := range values {
		peak = max(peak, v)
	}
	return peak
}

// factorialScaleSF multiplies ans by n! and 2^expnt and returns 1 minus the
// clipped result. Like scipy, it switches to longdouble once |ans| exceeds
// 2^128 and has to be scaled down.
func factorialScaleSF(ans float64, n, expnt int) float64 {
	m := 1
	for ; m <= n; m++ {
		if math.Abs(ans) > scale128 {
			break
		}
		ans *= float64(m)
	}
	if m > n {
		if expnt != 0 {
			ans = math.Ldexp(ans, expnt)
		}
		return clamp01(1 - clamp01(ans))
	}
	ext := newExtended(ans)
	limit := new(big.Float).SetMantExp(big.NewFloat(1), exp128)
	for ; m <= n; m++ {
		if new(big.Float).Abs(&ext.f).Cmp(limit) > 0 {
			ext.f.SetMantExp(&ext.f, -exp128)
			expnt += exp128
		}
		ext.mulInt(m)
	}
	ext.f.SetMantExp(&ext.f, expnt)
	return clampedOneMinus(ext)
}
