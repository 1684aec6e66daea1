package drift

import "math"

// Mode names the method behind a KS p-value, with scipy's meaning.
type Mode string

const (
	// ModeExact is the exact distribution of the two-sample statistic.
	ModeExact Mode = "exact"
	// ModeAsymptotic is scipy's "asymp": kstwo.sf(D, round(n1*n2/(n1+n2))).
	ModeAsymptotic Mode = "asymptotic"
)

// MaxExactN is the largest sample size for which the p-value is exact, the
// MAX_AUTO_N of scipy.stats.ks_2samp with method="auto".
const MaxExactN = 10000

// KSResult is the two-sided two-sample Kolmogorov-Smirnov test.
type KSResult struct {
	// D is the maximum absolute difference between the two empirical CDFs.
	D float64 `json:"d"`
	// PValue is the two-sided p-value.
	PValue float64 `json:"p_value"`
	// Mode is the method behind PValue.
	Mode Mode `json:"mode"`
}

// ksStatistic returns max(cdf1-cdf2) and max(cdf2-cdf1) over all pooled
// points, with both ECDFs right-continuous. Both inputs are sorted keys.
// Each difference is i/n1 - j/n2 in float64, the expression scipy evaluates,
// so D equals scipy's bit for bit.
func ksStatistic(a, b []uint64) (maxDiff, minDiff float64) {
	n1, n2 := float64(len(a)), float64(len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var v uint64
		switch {
		case j == len(b) || (i < len(a) && a[i] <= b[j]):
			v = a[i]
		default:
			v = b[j]
		}
		for i < len(a) && a[i] == v {
			i++
		}
		for j < len(b) && b[j] == v {
			j++
		}
		diff := float64(i)/n1 - float64(j)/n2
		maxDiff = max(maxDiff, diff)
		minDiff = min(minDiff, diff)
	}
	return maxDiff, minDiff
}

// ksTest returns scipy.stats.ks_2samp(a, b) with alternative="two-sided"
// and method="auto" (scipy 1.10), given both samples' sorted keys.
func ksTest(a, b []uint64) KSResult {
	n1, n2 := len(a), len(b)
	maxS, minS := ksStatistic(a, b)
	d := maxS
	if -minS > maxS {
		d = clamp01(-minS)
	}
	if max(n1, n2) <= MaxExactN {
		exactD, prob, ok := exactPValue(n1, n2, d)
		if ok {
			return KSResult{D: exactD, PValue: clamp01(prob), Mode: ModeExact}
		}
		// scipy keeps the D it rounded to a multiple of 1/lcm when the
		// exact computation fails and it falls back to the asymptotic one.
		d = exactD
	}
	return KSResult{D: d, PValue: clamp01(asymptoticPValue(n1, n2, d)), Mode: ModeAsymptotic}
}

// asymptoticPValue is kstwo.sf(d, round(n1*n2/(n1+n2))), with the product
// taken in float64 and the larger size first, as scipy does.
func asymptoticPValue(n1, n2 int, d float64) float64 {
	m, n := float64(max(n1, n2)), float64(min(n1, n2))
	en := m * n / (m + n)
	return kstwoSF(d, int(math.RoundToEven(en)))
}

// exactPValue ports scipy's _attempt_exact_2kssamp for the two-sided case.
// It returns d rounded to the lattice h/lcm(n1, n2), the p-value and whether
// the computation succeeded (a p-value outside [0, 1] counts as failure).
func exactPValue(n1, n2 int, d float64) (float64, float64, bool) {
	g := gcd(n1, n2)
	lcm := (n1 / g) * n2
	h := int(math.RoundToEven(d * float64(lcm)))
	d = float64(h) * 1.0 / float64(lcm)
	if h == 0 {
		return d, 1.0, true
	}
	var prob float64
	if n1 == n2 {
		prob = probOutsideSquare(n1, h)
	} else {
		prob = outerProbInside(n1, n2, g, h)
	}
	if math.IsNaN(prob) || prob < 0 || prob > 1 {
		return d, prob, false
	}
	return d, prob, true
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// probOutsideSquare returns Pr(D_{n,n} >= h/n) as
// 2*A0*(1 - A1*(1 - A2*(1 - ...))), scipy's Horner-like form of the
// alternating binomial sum, which avoids subtractive cancellation.
func probOutsideSquare(n, h int) float64 {
	p := 0.0
	for k := int(math.Floor(float64(n) / float64(h))); k >= 0; k-- {
		p1 := 1.0
		for j := 0; j < h; j++ {
			p1 = float64(n-k*h-j) * p1 / float64(n+k*h+j+1)
		}
		p = p1 * (1.0 - p)
	}
	return 2 * p
}

// outerProbInside returns the share of lattice paths from (0,0) to (m,n)
// that leave the band |x/m - y/n| < h/lcm(m,n), by Hodges' inside method in
// Viehmann's form that recurses on 1-p directly (scipy's
// _compute_outer_prob_inside_method).
func outerProbInside(m, n, g, h int) float64 {
	if m < n {
		m, n = n, m
	}
	mg, ng := m/g, n/g
	minj, maxj := 0, min(int(math.Ceil(float64(h)/float64(mg))), n+1)
	curlen := maxj - minj
	lenA := min(2*maxj+2, n+1)
	A := make([]float64, lenA)
	for i := range A {
		A[i] = 1
	}
	for i := minj; i < min(maxj, lenA); i++ {
		A[i] = 0
	}
	for i := 1; i <= m; i++ {
		lastminj, lastlen := minj, curlen
		minj = max(int(math.Floor(float64(ng*i-h)/float64(mg)))+1, 0)
		minj = min(minj, n)
		maxj = min(int(math.Ceil(float64(ng*i+h)/float64(mg))), n+1)
		if maxj <= minj {
			return 1.0
		}
		val := 1.0
		if minj == 0 {
			val = 0.0
		}
		fi := float64(i)
		for jj := 0; jj < maxj-minj; jj++ {
			j := float64(jj + minj)
			val = (A[jj+minj-lastminj]*fi + val*j) / (fi + j)
			A[jj] = val
		}
		curlen = maxj - minj
		if lastlen > curlen {
			for k := maxj - minj; k < min(maxj-minj+(lastlen-curlen), lenA); k++ {
				A[k] = 1
			}
		}
	}
	return A[maxj-minj-1]
}
