"""Layered caching: request hit ratio versus cache size, simulation against the Che model.

Parameters (the paper's are not public; chosen to be representative and
documented here): N = 10,000 objects (quick: 2,000), L = 4 layers of equal
size, layering overhead theta = 0.1 on every enhancement layer, Zipf(0.8)
object popularity, uniform version popularity, 10N warm-up and 30N counted
IRM requests, cache sizes 1%..50% of the catalog's N full objects. Policies:
Layered LRU, LFU and Belady (items are layers) against LRU, LFU and Belady on
stand-alone versions, and LRU caching only full objects; black lines are the
characteristic-time models of the three LRU variants, and on the right the
static optimum under IRM (the best fixed cache content knowing the
popularities; Belady can beat it since it sees the future trace). The three
LRU variants are also drawn as whole curves over 60 cache sizes, each from
one pass over the trace (``layercache.hit_ratio_curve``, equal to a
simulation at every size up to the floating-point rounding of the
non-integer layer sizes: at most 2 of 60,000 requests differ at the seven
swept sizes, checked here).
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import layercache as lc

from .lc_common import POLICIES, evaluate, plot_curves, setup, sizes
from .sweep import point_seed, run_sweep

FRACTIONS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5]
CURVE_FRACTIONS = np.unique(np.r_[np.geomspace(0.01, 0.5, 53), FRACTIONS])  # one pass serves all of them
LRU_VARIANTS = [(label, mode) for label, policy, mode in POLICIES if policy == "lru"]


def compute(quick: bool = True):
    base = dict(n_objects=2_000 if quick else 10_000, n_layers=4, alpha=0.8, size_profile="equal",
                version_kind="uniform", overhead=0.1)
    base["seed"] = point_seed(base)
    points = [dict(base, cache_fraction=f) for f in FRACTIONS]
    table = run_sweep("lc_hit_vs_cache", points, evaluate)
    curves = lru_curves(base)
    swept = curves.set_index("cache_fraction").loc[FRACTIONS]
    for label, _ in LRU_VARIANTS:  # one pass == simulation, up to float rounding of the 0.275-unit layers
        gap = np.abs(swept[label].to_numpy() - table[label].to_numpy()).max()
        assert gap <= 1e-4, (label, gap)
    dense = curves[~curves["cache_fraction"].isin(FRACTIONS)].assign(**base)
    return pd.concat([table, dense], ignore_index=True).sort_values("cache_fraction", ignore_index=True)


def lru_curves(base):
    """Request hit ratio of every LRU variant at CURVE_FRACTIONS, one trace pass per variant."""
    catalog, _, _, objects, versions = setup(**base)
    full = float(catalog.version_sizes[:, -1].sum())
    warmup, _ = sizes(base["n_objects"], base["n_layers"])
    out = pd.DataFrame({"cache_fraction": CURVE_FRACTIONS})
    for label, mode in LRU_VARIANTS:
        curve = lc.hit_ratio_curve(objects, versions, capacities=CURVE_FRACTIONS * full, catalog=catalog,
                                   layered=mode == "layered", full_object_only=mode == "full", warmup=warmup)
        out[label] = curve["hit_ratio"].to_numpy()
    return out


def plot(table):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    plot_curves(ax1, table, "cache_fraction", ["LLRU", "LRU (versions)", "LRU (full object)"])
    ax1.set(title="LRU variants: simulation (markers) and Che model (black)")
    plot_curves(ax2, table, "cache_fraction", [label for label, _, _ in POLICIES], models=False)
    swept = table.dropna(subset=["static optimum (layered)"])  # the swept sizes only
    ax2.plot(swept["cache_fraction"], swept["static optimum (layered)"], "k-", lw=2, label="static optimum (layered)")
    ax2.plot(swept["cache_fraction"], swept["static optimum (versions)"], "k--", lw=2,
             label="static optimum (versions)")
    ax2.set(title="layered (filled) versus stand-alone versions (hollow)")
    for ax in (ax1, ax2):
        ax.set(xscale="log", xlabel="cache size (fraction of the N full objects)")
        ax.legend()
    ax1.set_ylabel("request hit ratio")
    fig.suptitle(f"N={table['n_objects'][0]}, L=4 equal layers, overhead 0.1, Zipf(0.8), uniform versions")
    fig.tight_layout()
    return fig
