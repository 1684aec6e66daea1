package drift

import "math"

// kstwoSF returns scipy.stats.kstwo.sf(d, n): Pr(D_n >= d) for the two-sided
// one-sample Kolmogorov-Smirnov statistic of a sample of size n. The method
// is chosen by Simard and L'Ecuyer's rules as scipy/stats/_ksstats.py
// (scipy 1.10) applies them: Ruben-Gambino at the ends, twice the one-sided
// Smirnov probability for large d, the Durbin matrix (Marsaglia-Tsang-Wang),
// Pomeranz's recursion, or the Pelz-Good expansion elsewhere.
func kstwoSF(d float64, n int) float64 {
	if math.IsNaN(d) || n < 1 {
		return math.NaN()
	}
	if d <= 0.5/float64(n) {
		return 1
	}
	if d >= 1 {
		return 0
	}
	return clamp01(kolmognSF(n, d))
}

func kolmognSF(n int, x float64) float64 {
	fn := float64(n)
	t := fn * x
	if t <= 1.0 {
		if t <= 0.5 {
			return 1
		}
		return clamp01(1 - rubenGambinoLowCDF(n, t))
	}
	if t >= fn-1 {
		return clamp01(2 * math.Pow(1.0-x, fn))
	}
	if x >= 0.5 {
		return clamp01(2 * smirnovSF(n, x))
	}
	nxSquared := t * x
	if n <= 140 {
		switch {
		case nxSquared <= 0.754693:
			return durbinSF(n, x)
		case nxSquared <= 4:
			return pomeranzSF(n, x)
		}
		return clamp01(2 * smirnovSF(n, x))
	}
	if nxSquared >= 370.0 {
		return 0
	}
	if nxSquared >= 2.2 {
		return clamp01(2 * smirnovSF(n, x))
	}
	if n <= 100000 && fn*math.Pow(x, 1.5) <= 1.4 {
		return durbinSF(n, x)
	}
	return clamp01(1.0 - pelzGoodCDF(n, x))
}

// rubenGambinoLowCDF returns Pr(D_n <= t/n) = n!/n^n (2t-1)^n for
// 1/2 < t <= 1.
func rubenGambinoLowCDF(n int, t float64) float64 {
	if n <= 140 {
		prob := 1.0
		inv := 1.0 / float64(n)
		for k := 1; k <= n; k++ {
			prob *= float64(k) * inv * (2*t - 1)
		}
		return prob
	}
	return math.Exp(logFactorialOverPower(n) + float64(n)*math.Log(2*t-1))
}

// Constants as numpy computes them in float64 (np.pi**4 differs from Go's
// math.Pow(math.Pi, 4) in the last bit). They are variables so that the
// compiler does not fold them into exact constant expressions.
var (
	piSquared = 9.869604401089358
	piFour    = 97.40909103400242
	piSix     = 961.3891935753043
	sqrt2Pi   = 2.5066282746310002
	log2Pi    = 1.8378770664093453
	sqrt3     = 1.7320508075688772
)

// stirlingCoefficients are B_{2j}/(2j)/(2j-1) for j = 8, ..., 1, with B_m
// the Bernoulli numbers.
var stirlingCoefficients = [...]float64{
	-2.955065359477124183e-2, 6.4102564102564102564e-3,
	-1.9175269175269175269e-3, 8.4175084175084175084e-4,
	-5.952380952380952381e-4, 7.9365079365079365079e-4,
	-2.7777777777777777778e-3, 8.3333333333333333333e-2,
}

// logFactorialOverPower returns log(n!/n^n) by Stirling's series with the
// n log n term removed up front.
func logFactorialOverPower(n int) float64 {
	fn := float64(n)
	rn := 1.0 / fn
	poly := 0.0
	for _, c := range stirlingCoefficients {
		poly = poly*(rn/fn) + c
	}
	return math.Log(fn)/2 - fn + log2Pi/2 + rn*poly
}

// pelzGoodCDF returns the Pelz-Good approximation to Pr(D_n <= x).
func pelzGoodCDF(n int, x float64) float64 {
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return 1
	}
	z := math.Sqrt(float64(n)) * x
	z2, z3, z4, z6 := math.Pow(z, 2), math.Pow(z, 3), math.Pow(z, 4), math.Pow(z, 6)
	qlog := -piSquared / 8 / z2
	if qlog < -708 {
		return 0
	}
	q := math.Exp(qlog)
	pi2, pi4, pi6 := piSquared, piFour, piSix
	k1a, k1b := -z2, pi2/4
	k2a := 6*z6 + 2*z4
	k2b := (2*z4 - 5*z2) * pi2 / 4
	k2c := pi4 * (1 - 2*z2) / 16
	k3d := pi6 * (5 - 30*z2) / 64
	k3c := pi4 * (-60*z2 + 212*z4) / 16
	k3b := pi2 * (135*z4 - 96*z6) / 4
	k3a := -30*z6 - 90*math.Pow(z, 8)

	var terms [4]float64
	maxk := int(math.Ceil(16 * z / math.Pi))
	for k := maxk; k > 0; k-- {
		m := float64(2*k - 1)
		m2, m4, m6 := m*m, math.Pow(m, 4), math.Pow(m, 6)
		qpower := math.Pow(q, float64(8*k))
		coeffs := [4]float64{
			1.0,
			k1a + k1b*m2,
			k2a + k2b*m2 + k2c*m4,
			k3a + k3b*m2 + k3c*m4 + k3d*m6,
		}
		for i := range terms {
			terms[i] = terms[i]*qpower + coeffs[i]
		}
	}
	sqrt2pi := sqrt2Pi
	divisors := [4]float64{z, 6 * z4, 72 * math.Pow(z, 7), 6480 * math.Pow(z, 10)}
	for i := range terms {
		terms[i] = terms[i] * q * sqrt2pi / divisors[i]
	}

	q = math.Exp(-pi2 / 2 / z2)
	k2parts := make([]float64, 0, maxk)
	k3parts := make([]float64, 0, maxk)
	sqrt3z := sqrt3 * z
	for k := maxk; k > 0; k-- {
		ks := float64(k)
		qk := math.Pow(q, ks*ks)
		kspi := math.Pi * ks
		k2parts = append(k2parts, ks*ks*qk)
		k3parts = append(k3parts, (sqrt3z+kspi)*(sqrt3z-kspi)*(ks*ks)*qk)
	}
	terms[2] += pairwiseSum(k2parts) * (pi2 * sqrt2pi / (-36 * z3))
	terms[3] += pairwiseSum(k3parts) * (pi2 * sqrt2pi / (216 * z6))
	fn := float64(n)
	powers := [4]float64{1, math.Pow(fn, 0.5), math.Pow(fn, 1), math.Pow(fn, 1.5)}
	sum := 0.0
	for i := range terms {
		sum += terms[i] / powers[i]
	}
	return sum
}

// pairwiseSum adds values in the order numpy's pairwise summation uses
// (numpy/core/src/umath/loops_utils.h.src), so short sums round as np.sum does.
func pairwiseSum(values []float64) float64 {
	n := len(values)
	switch {
	case n < 8:
		sum := 0.0
		for _, v := range values {
			sum += v
		}
		return sum
	case n <= 128:
		var r [8]float64
		copy(r[:], values[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range r {
				r[j] += values[i+j]
			}
		}
		sum := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			sum += values[i]
		}
		return sum
	}
	half := n / 2
	half -= half % 8
	return pairwiseSum(values[:half]) + pairwiseSum(values[half:])
}
