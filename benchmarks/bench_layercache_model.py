"""Speed of the characteristic-time models and the static optimum at catalog scale.

Usage::

    python benchmarks/bench_layercache_model.py           # N = 10^6 objects, L = 4
    python benchmarks/bench_layercache_model.py --quick   # N = 10^5

Catalog: Zipf(0.8) popularity, "high" version profile, increasing layer
sizes with 10% enhancement-layer overhead. Printed (best of ``--repeat``
runs, wall and CPU seconds of this process; JIT compilation before timing):

- ``che_llru_hit_ratio`` at 10% of the catalog, from the raw inputs
  (validation, binning and the root solve included); target <= 0.2 s;
- ``che_hit_ratio_curve`` at 100 cache sizes (0.5% .. 100%); target <= 2 s;
- a naive per-item solve for reference (numpy sums over every item at each
  Brent step) and its ratio to the binned solve, with the difference of the
  two hit ratios;
- ``static_optimum(method="greedy")`` (hull greedy + exact core) at 10%.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.optimize import brentq

import layercache as lc

TARGET_SOLVE = 0.2
TARGET_CURVE = 2.0


def best_of(fn, repeat):
    wall, cpu, out = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu), out


def naive_llru(lam, p, s, capacity):
    """Per-item reference: every Brent step sums over all N L items."""
    Q = np.flip(np.cumsum(np.flip(p)))
    rate = lam[:, None] * Q

    def f(T):
        return np.sum(s * -np.expm1(-rate * T)) - capacity

    hi = 1.0
    while f(hi) < 0:
        hi *= 2
    T = brentq(f, hi / 2, hi, xtol=1e-300, rtol=1e-15)
    return float(np.sum(lam[:, None] * p * -np.expm1(-rate * T)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N = 10^5 instead of 10^6")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    n, L = (10**5 if args.quick else 10**6), 4
    lam = lc.zipf_popularity(n, 0.8)
    p = lc.version_profile(L, "high")
    cat = lc.Catalog.from_profile(n, L, "increasing", overhead=0.1)
    total = cat.layer_sizes.sum()
    cap = 0.1 * total
    caps = np.linspace(0.005, 1.0, 100) * total

    lc.che_llru_hit_ratio(lam[:10] / lam[:10].sum(), p, cat.layer_sizes[:10], 1.0)  # JIT
    lc.static_optimum(lam[:10] / lam[:10].sum(), p, cat.layer_sizes[:10], 1.0, method="greedy")

    print(f"catalog: N = {n}, L = {L}, Zipf 0.8, high versions, increasing sizes, overhead 0.1")
    w, c, res = best_of(lambda: lc.che_llru_hit_ratio(lam, p, cat, cap), args.repeat)
    print(f"che_llru_hit_ratio (10%):   wall {w:.3f} s  cpu {c:.3f} s  (target <= {TARGET_SOLVE} s: "
          f"{'met' if w <= TARGET_SOLVE else 'NOT met'})  hit ratio {res.hit_ratio:.6f}, "
          f"{res.iterations} Brent iterations")  # fmt: skip
    w2, c2, curve = best_of(lambda: lc.che_hit_ratio_curve(lam, p, cat, caps, model="llru"), args.repeat)
    print(f"che_hit_ratio_curve (100):  wall {w2:.3f} s  cpu {c2:.3f} s  (target <= {TARGET_CURVE} s: "
          f"{'met' if w2 <= TARGET_CURVE else 'NOT met'})")  # fmt: skip
    w3, _, naive = best_of(lambda: naive_llru(lam, p, cat.layer_sizes, cap), max(1, args.repeat // 2))
    print(f"naive per-item solve:       wall {w3:.3f} s  ratio naive / binned {w3 / w:.1f}x  "
          f"|hit ratio difference| {abs(naive - res.hit_ratio):.1e}")  # fmt: skip
    w4, _, opt = best_of(lambda: lc.static_optimum(lam, p, cat, cap, method="greedy"), max(1, args.repeat // 2))
    print(f"static_optimum greedy (10%): wall {w4:.3f} s  hit ratio {opt.hit_ratio:.6f}, "
          f"LP bound gap {opt.gap:.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
