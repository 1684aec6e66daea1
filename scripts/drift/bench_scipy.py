#!/usr/bin/python3
"""Time scipy.stats.ks_2samp plus the numpy PSI/KL computation.

This is the baseline for evidence/drift's BenchmarkCompare1e6 and
BenchmarkCompare1e7: the same sizes and the same data shape (standard
normal reference, current shifted by 0.01), though not the same values.

    /usr/bin/python3 scripts/drift/bench_scipy.py [--repeat 3]

It prints the best wall time of each size in seconds.
"""

import argparse
import time

import numpy as np
import scipy
from scipy import stats


def psi_kl(ref, cur):
    ref = ref[np.isfinite(ref)]
    cur = cur[np.isfinite(cur)]
    edges = np.unique(np.quantile(ref, np.arange(1, 10) / 10))
    # np.histogram bins are closed on the left, so count with searchsorted
    # on sorted copies to get right-closed bins (-inf, e1], ..., (e9, inf).
    rs, cs = np.sort(ref), np.sort(cur)
    rc = np.diff(np.concatenate([[0], np.searchsorted(rs, edges, side="right"), [len(rs)]]))
    cc = np.diff(np.concatenate([[0], np.searchsorted(cs, edges, side="right"), [len(cs)]]))
    p = np.maximum(rc / len(rs), 1e-4)
    q = np.maximum(cc / len(cs), 1e-4)
    return float(np.sum((q - p) * np.log(q / p))), float(np.sum(p * np.log(p / q)))


def run(n, repeat):
    rng = np.random.default_rng(42)
    ref = rng.standard_normal(n)
    cur = rng.standard_normal(n) + 0.01
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        res = stats.ks_2samp(ref, cur)
        psi, kl = psi_kl(ref, cur)
        best = min(best, time.perf_counter() - start)
    print(f"n={n:>9} per sample: {best:.3f} s  (D={res.statistic:.6g} p={res.pvalue:.6g} psi={psi:.3g} kl={kl:.3g})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the best is reported")
    args = parser.parse_args()
    print(f"scipy {scipy.__version__}, numpy {np.__version__}")
    for n in (1_000_000, 10_000_000):
        run(n, args.repeat)


if __name__ == "__main__":
    main()
