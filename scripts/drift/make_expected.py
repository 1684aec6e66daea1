#!/usr/bin/python3
"""Write the reference values that evidence/drift's tests compare against.

Run with Debian's Python, which has scipy and numpy:

    /usr/bin/python3 scripts/drift/make_expected.py

Outputs, all under testdata/drift/:

- ks_cases.json: two-sample KS, PSI and KL cases with scipy.stats.ks_2samp
  and numpy results. Small samples are stored inline. Large ones are stored
  as a generator spec that the Go tests reproduce bit for bit, because the
  generator uses only splitmix64 and float64 +, -, *, /, which round
  identically in Python and Go.
- kstwo_grid.json: scipy.stats.kstwo.sf and scipy.special.smirnov over a grid
  of (n, x) that reaches every branch of scipy's kolmogn.
- reference.csv, current.csv, expected_files.json: a small CSV pair with a
  non-numeric column, NaN and Inf cells, and the expected per-column output.
"""

import json
import math
import os
import warnings

import numpy as np
import scipy
from scipy import special, stats

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "testdata", "drift")
MASK64 = (1 << 64) - 1


def splitmix64(seed, count):
    """Return count uniforms in [0, 1) from splitmix64 seeded with seed."""
    state = seed & MASK64
    out = []
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        z ^= z >> 31
        out.append((z >> 11) * (1.0 / 9007199254740992.0))
    return out


def generate(spec):
    """Build a sample from a generator spec; mirrored by generateSample in Go."""
    n, seed = spec["n"], spec["seed"]
    kind = spec["kind"]
    if kind == "uniform":
        base = splitmix64(seed, n)
    elif kind == "irwin_hall":
        u = splitmix64(seed, 4 * n)
        base = [((u[4 * i] + u[4 * i + 1]) + u[4 * i + 2]) + u[4 * i + 3] - 2.0 for i in range(n)]
    elif kind == "integers":
        levels = float(spec["levels"])
        base = [float(math.floor(v * levels)) for v in splitmix64(seed, n)]
    else:
        raise ValueError(f"unknown generator kind {kind!r}")
    scale, shift = spec.get("scale", 1.0), spec.get("shift", 0.0)
    return np.array([v * scale + shift for v in base], dtype=np.float64)


def psi_kl(ref, cur):
    """Decile-binned PSI and KL exactly as the Go package defines them."""
    ref = np.sort(ref[np.isfinite(ref)])
    cur = np.sort(cur[np.isfinite(cur)])
    edges = np.unique(np.quantile(ref, np.arange(1, 10) / 10))
    ref_le = np.concatenate([np.searchsorted(ref, edges, side="right"), [len(ref)]])
    cur_le = np.concatenate([np.searchsorted(cur, edges, side="right"), [len(cur)]])
    ref_counts = np.diff(np.concatenate([[0], ref_le]))
    cur_counts = np.diff(np.concatenate([[0], cur_le]))
    p = np.maximum(ref_counts / len(ref), 1e-4)
    q = np.maximum(cur_counts / len(cur), 1e-4)
    psi = float(np.sum((q - p) * np.log(q / p)))
    kl = float(np.sum(p * np.log(p / q)))
    return edges, ref_counts, cur_counts, psi, kl


def expected(ref, cur):
    """scipy's KS result and numpy's PSI/KL for one pair of samples."""
    fin_ref, fin_cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = stats.ks_2samp(fin_ref, fin_cur)
    # ks_2samp warns when it falls back from the exact to the asymptotic method.
    fell_back = any("Exact calculation unsuccessful" in str(w.message) for w in caught)
    exact = max(len(fin_ref), len(fin_cur)) <= 10000 and not fell_back
    mode = "exact" if exact else "asymptotic"
    edges, rc, cc, psi, kl = psi_kl(ref, cur)
    return {
        "d": float(res.statistic),
        "p_value": float(res.pvalue),
        "mode": mode,
        "edges": [float(e) for e in edges],
        "reference_counts": [int(c) for c in rc],
        "current_counts": [int(c) for c in cc],
        "psi": psi,
        "kl": kl,
    }


def inline(name, a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return {"name": name, "reference": a.tolist(), "current": b.tolist(), "want": expected(a, b)}


def generated(name, ref_spec, cur_spec):
    case = {"name": name, "reference_spec": ref_spec, "current_spec": cur_spec}
    case["want"] = expected(generate(ref_spec), generate(cur_spec))
    return case


def ks_cases():
    ih = lambda seed, n, shift=0.0, scale=1.0: {"kind": "irwin_hall", "seed": seed, "n": n, "shift": shift, "scale": scale}
    ints = lambda seed, n, levels, shift=0.0: {"kind": "integers", "seed": seed, "n": n, "levels": levels, "shift": shift}
    uni = lambda seed, n, shift=0.0, scale=1.0: {"kind": "uniform", "seed": seed, "n": n, "shift": shift, "scale": scale}
    cases = [
        inline("n1 vs n1 equal", [1.0], [1.0]),
        inline("n1 vs n1 different", [1.0], [2.0]),
        inline("n2 vs n2 interleaved", [1.0, 3.0], [2.0, 4.0]),
        inline("n2 vs n1", [1.0, 2.0], [3.0]),
        inline("n5 vs n5 shifted", [0.1, 0.5, 0.9, 1.3, 2.0], [0.4, 0.8, 1.5, 2.2, 3.1]),
        inline("n5 vs n3", [5.0, 1.0, 4.0, 2.0, 3.0], [2.5, 3.5, 6.0]),
        inline("ties across samples", [1, 2, 2, 3, 3, 3, 4], [2, 3, 3, 4, 4, 5]),
        inline("identical samples", [0.5, 1.5, 2.5, 3.5, 4.5, 5.5], [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]),
        inline("disjoint samples", [1, 2, 3, 4, 5, 6, 7, 8], [10, 11, 12, 13, 14, 15, 16, 17]),
        inline("negative zero equals zero", [-0.0, -1.0, 1.0], [0.0, -1.0, 2.0]),
        inline("many equal values", [1.0] * 30 + [2.0] * 5 + [3.0], [1.0] * 10 + [2.0] * 20 + [3.0] * 6),
        inline("constant reference", [7.0] * 20, [6.0, 7.0, 7.0, 8.0, 9.0]),
        generated("n3 vs n10000 exact", uni(1, 3, 0.5), uni(2, 10000)),
        generated("n10000 vs n10000 exact", ih(3, 10000), ih(4, 10000, 0.02)),
        generated("n10000 vs n9999 exact", ih(5, 10000), ih(6, 9999, 0.03)),
        generated("n10001 vs n50 asymptotic", ih(7, 10001), ih(8, 50, 0.1)),
        generated("n200 vs n300 p near 0", ih(9, 200), ih(10, 300, 0.6)),
        generated("n1000 vs n1000 p near 0", ih(11, 1000), ih(12, 1000, 0.25)),
        generated("n400 vs n600 p near 1", ih(13, 400), ih(14, 600)),
        generated("n20000 vs n20000 p near 1", ih(15, 20000), ih(16, 20000)),
        generated("n20000 vs n30000 p near 0", ih(17, 20000), ih(18, 30000, 0.05)),
        generated("n50000 vs n20000 moderate p", ih(19, 50000), ih(20, 20000, 0.012)),
        generated("n15000 vs n300 asymptotic", ih(21, 15000), ih(22, 300, 0.05)),
        generated("integers heavy ties exact", ints(23, 2000, 10), ints(24, 1500, 10, 0.0)),
        generated("integers heavy ties shifted", ints(25, 800, 6), ints(26, 900, 7)),
        generated("integers heavy ties asymptotic", ints(27, 30000, 12), ints(28, 25000, 12)),
        generated("duplicate deciles", ints(29, 1000, 3), ints(30, 700, 4)),
        generated("wide scale", ih(31, 3000, -5e6, 1e7), ih(32, 2500, -4e6, 1e7)),
    ]
    return cases


def kstwo_grid():
    """(n, x) points covering each branch of scipy's _kolmogn for the SF."""
    points = []
    small_nx2 = [0.05, 0.3, 0.7, 0.754, 0.76, 1.0, 1.5, 2.19, 2.21, 3.0, 3.99, 4.01, 8.0, 17.9, 18.1, 50.0, 200.0, 369.0, 371.0]
    # The Smirnov series costs about n terms, so large n gets fewer points.
    large_nx2 = [0.05, 0.754, 1.5, 2.19, 2.21, 371.0]
    for n in [1, 2, 3, 5, 10, 37, 100, 140, 141, 250, 1000, 5000, 20000, 100000, 100001, 400000, 2000000]:
        large = n >= 100000
        xs = set()
        for t in [0.3, 0.5, 0.75, 1.0, 1.2, 1.7, 2.5]:
            xs.add(t / n)
        for nx2 in large_nx2 if large else small_nx2:
            xs.add(math.sqrt(nx2 / n))
        for x in [0.5, 0.95, 1.0 - 1.0 / n] if large else [0.05, 0.2, 0.45, 0.5, 0.55, 0.8, 0.95, 1.0 - 1.0 / n, 1.0 - 0.5 / n]:
            xs.add(x)
        for x in sorted(xs):
            if 0.0 < x <= 1.0:
                points.append({
                    "n": n,
                    "x": float(x),
                    "kstwo_sf": float(stats.kstwo.sf(x, n)),
                    "smirnov": float(special.smirnov(n, x)),
                })
    return points


def csv_fixtures():
    n_ref, n_cur = 400, 300
    ref_latency = generate({"kind": "irwin_hall", "seed": 101, "n": n_ref, "scale": 20.0, "shift": 120.0})
    cur_latency = generate({"kind": "irwin_hall", "seed": 102, "n": n_cur, "scale": 22.0, "shift": 126.0})
    ref_tokens = generate({"kind": "integers", "seed": 103, "n": n_ref, "levels": 8})
    cur_tokens = generate({"kind": "integers", "seed": 104, "n": n_cur, "levels": 9})
    # Cells that must count as NaN or Inf: empty, "NaN", "nan", "inf", "-Inf".
    ref_latency[[3, 50]] = np.nan
    ref_latency[7] = np.inf
    cur_latency[[0, 11, 12]] = np.nan
    cur_latency[20] = -np.inf
    ref_cells = {3: "", 50: "NaN", 7: "inf"}
    cur_cells = {0: "nan", 11: "", 12: "NaN", 20: "-Inf"}

    def write(path, latency, tokens, cells, prefix):
        with open(path, "w") as f:
            f.write("latency_ms,tokens,model\n")
            for i in range(len(latency)):
                lat = cells.get(i, repr(float(latency[i])))
                f.write(f"{lat},{int(tokens[i])},{prefix}-{i % 3}\n")

    write(os.path.join(OUT, "reference.csv"), ref_latency, ref_tokens, ref_cells, "ref")
    write(os.path.join(OUT, "current.csv"), cur_latency, cur_tokens, cur_cells, "cur")

    def column(name, ref, cur):
        want = expected(ref, cur)
        want["column"] = name
        want["reference_nan"] = int(np.isnan(ref).sum())
        want["reference_inf"] = int(np.isinf(ref).sum())
        want["current_nan"] = int(np.isnan(cur).sum())
        want["current_inf"] = int(np.isinf(cur).sum())
        want["n_reference"] = int(np.isfinite(ref).sum())
        want["n_current"] = int(np.isfinite(cur).sum())
        return want

    return [column("latency_ms", ref_latency, cur_latency), column("tokens", ref_tokens, cur_tokens)]


def main():
    os.makedirs(OUT, exist_ok=True)
    versions = {"scipy": scipy.__version__, "numpy": np.__version__}
    outputs = {
        "ks_cases.json": {"versions": versions, "cases": ks_cases()},
        "kstwo_grid.json": {"versions": versions, "points": kstwo_grid()},
        "expected_files.json": {"versions": versions, "columns": csv_fixtures()},
    }
    for name, payload in outputs.items():
        with open(os.path.join(OUT, name), "w") as f:
            json.dump(payload, f, indent=None, separators=(",", ":"), allow_nan=False)
            f.write("\n")
        print(f"wrote {name}")


if __name__ == "__main__":
    main()
