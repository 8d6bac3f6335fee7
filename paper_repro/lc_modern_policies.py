"""Layered caching under modern eviction policies: does layering help every policy, or only LRU?

Parameters as in ``lc_hit_vs_cache`` (N = 10,000 objects, quick: 2,000; L = 4
equal layers, overhead 0.1, Zipf(0.8), uniform versions, 10N warm-up and 30N
counted IRM requests; cache sizes 1%..50% of the N full objects). Policies:
LRU, FIFO, CLOCK, SIEVE, S3-FIFO, 2Q, ARC and SLRU with libCacheSim's default
parameters, each caching layers (items = layers, a request for version l
accesses layers l..1; filled markers) and caching stand-alone versions
(hollow markers). Left: request hit ratio; right: the gain of layering,
layered minus stand-alone hit ratio, per policy. Not in the paper (it studies
LRU only); this is the question it leaves open.
"""

import matplotlib.pyplot as plt

import layercache as lc

from .lc_common import coinciding, figure_legend, setup, sizes
from layerq.sweep import config_seed, sweep

from .paths import study_store

FRACTIONS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5]
POLICIES = ["lru", "fifo", "clock", "sieve", "s3fifo", "twoq", "arc", "slru"]
# lines closer than this at every size are named in a note (markers alone may not tell them apart)
NEAR = 0.01
LABELS = {"lru": "LRU", "fifo": "FIFO", "clock": "CLOCK", "sieve": "SIEVE", "s3fifo": "S3-FIFO", "twoq": "2Q",
          "arc": "ARC", "slru": "SLRU"}


def evaluate(**point) -> dict:
    p = dict(point)
    fraction = p.pop("cache_fraction")
    catalog, _, _, objects, versions = setup(**p)
    capacity = fraction * float(catalog.version_sizes[:, -1].sum())
    warmup, _ = sizes(p["n_objects"], p["n_layers"])
    out = {}
    for policy in POLICIES:
        for layered in (True, False):
            res = lc.simulate(objects, versions, policy=policy, capacity=capacity, catalog=catalog, layered=layered,
                              warmup=warmup)
            out[f"{policy} {'layered' if layered else 'versions'}"] = res.hit_ratio
    return out


def compute(quick: bool = True):
    base = dict(n_objects=2_000 if quick else 10_000, n_layers=4, alpha=0.8, size_profile="equal",
                version_kind="uniform", overhead=0.1)
    base["seed"] = config_seed(base)
    return sweep(evaluate, [dict(base, cache_fraction=f) for f in FRACTIONS], backend="serial",
                 store=study_store("lc_modern_policies"))


def plot(table):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    x = table["cache_fraction"]
    for k, policy in enumerate(POLICIES):
        color = f"C{k}"
        ax1.plot(x, table[f"{policy} layered"], "o-", color=color)  # colours: the legend of the gains
        ax1.plot(x, table[f"{policy} versions"], "s--", color=color, mfc="white")
        ax2.plot(x, table[f"{policy} layered"] - table[f"{policy} versions"], "o-", color=color,
                 label=LABELS[policy])
    ax2.axhline(0.0, color="k", lw=0.8)
    ax1.set(xscale="log", xlabel="cache size (fraction of the N full objects)", ylabel="request hit ratio",
            title="layered (filled, solid) vs stand-alone versions (hollow, dashed)")
    ax2.set(xscale="log", xlabel="cache size (fraction of the N full objects)",
            ylabel="hit ratio gain of layering", title="layered minus stand-alone, per policy")
    fig.suptitle(f"N={table['n_objects'][0]}, L=4 equal layers, overhead 0.1, Zipf(0.8), uniform versions; "
                 "libCacheSim default parameters")
    gains = table.assign(**{LABELS[p]: table[f"{p} layered"] - table[f"{p} versions"] for p in POLICIES})
    named = table.rename(columns={f"{p} {kind}": f"{LABELS[p]} {kind}" for p in POLICIES for kind in ("layered", "versions")})
    notes = [*(f"hit ratio: {text}" for kind in ("layered", "versions")
               for text in coinciding(named, [f"{LABELS[p]} {kind}" for p in POLICIES], within=NEAR)),
             *(f"gain: {text}" for text in coinciding(gains, [LABELS[p] for p in POLICIES], within=NEAR))]
    figure_legend(fig, (ax1, ax2), [", ".join(notes[i:i + 3]) for i in range(0, len(notes), 3)], ncol=8)
    return fig
