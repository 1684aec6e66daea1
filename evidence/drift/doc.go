// Package drift computes the distribution-drift statistics of a numeric
// column between a reference sample and a current sample: the two-sample
// Kolmogorov-Smirnov test, the population stability index (PSI) and the
// Kullback-Leibler divergence, with the per-bin counts behind PSI and KL.
//
// The KS statistic and p-value reproduce scipy.stats.ks_2samp(ref, cur)
// with alternative="two-sided" and method="auto" as scipy 1.10.1 computes
// them. The p-value is exact when both samples have at most MaxExactN
// values, and otherwise kstwo.sf(D, round(n1*n2/(n1+n2))), the finite-n
// one-sample distribution that scipy ports from Simard and L'Ecuyer (2011),
// "Computing the Two-Sided Kolmogorov-Smirnov Distribution", Journal of
// Statistical Software 39(11). When the exact computation yields a value
// outside [0, 1], the asymptotic one is used, as in scipy.
//
// PSI and KL use bins whose inner edges are the distinct reference deciles
// (numpy.quantile's default linear interpolation at q = 0.1, ..., 0.9). Bins
// are closed on the right and the outer bins are open: (-Inf, e1], (e1, e2],
// ..., (ek, +Inf). Each proportion is floored at MinProportion without
// renormalising, and with p the reference and q the current proportions,
// PSI = Σ (q−p) ln(q/p) and KL = Σ p ln(p/q), in nats.
//
// NaN and ±Inf are dropped from both samples before anything is computed and
// are counted in SampleSummary. Sorting uses an LSD radix sort on the
// IEEE-754 bit pattern, with the two samples sorted on two goroutines when
// they are large. Compare works on slices; CompareFiles reads CSV or
// Parquet files.
package drift
