"""Layered caching: request hit ratio versus cache size, simulation against the Che model.

Parameters (the paper's are not public; chosen to be representative and
documented here): N = 10,000 objects (quick: 2,000), L = 4 layers of equal
size, layering overhead theta = 0.1 on every enhancement layer, Zipf(0.8)
object popularity, uniform version popularity, 10N warm-up and 30N counted
IRM requests (three independent traces per point: markers are their mean,
bars their min-max), cache sizes 1%..50% of the catalog's N full objects.
Policies:
Layered LRU, LFU and Belady (items are layers) against LRU, LFU and Belady on
stand-alone versions, and LRU caching only full objects; black lines are the
characteristic-time models of the three LRU variants, and on the right the
static optimum under IRM (the best fixed cache content knowing the
popularities; Belady can beat it since it sees the future trace).
"""

import matplotlib.pyplot as plt

from .lc_common import (POLICIES, coinciding, evaluate, figure_legend, plot_curves, replicates, spread_note,
                        summarise)
from layerq.sweep import sweep

from .paths import study_store

FRACTIONS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5]
LRU_VARIANTS = ["LLRU", "LRU (versions)", "LRU (full object)"]


def compute(quick: bool = True):
    base = dict(n_objects=2_000 if quick else 10_000, n_layers=4, alpha=0.8, size_profile="equal",
                version_kind="uniform", overhead=0.1)
    points = [q for f in FRACTIONS for q in replicates(base, f)]
    return sweep(evaluate, points, backend="serial", store=study_store("lc_hit_vs_cache"))


def plot(table):
    stats = summarise(table)
    mean = stats[0]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    plot_curves(ax1, stats, "cache_fraction", LRU_VARIANTS)
    ax1.set(title="LRU variants: simulation (markers) and Che model (black)")
    plot_curves(ax2, stats, "cache_fraction", [label for label, _, _ in POLICIES], models=False)
    ax2.plot(mean["cache_fraction"], mean["static optimum (layered)"], "k-", lw=2, label="static optimum (layered)")
    ax2.plot(mean["cache_fraction"], mean["static optimum (versions)"], "k--", lw=2,
             label="static optimum (versions)")
    ax2.set(title="layered (filled) versus stand-alone versions (hollow)")
    for ax in (ax1, ax2):
        ax.set(xscale="log", xlabel="cache size (fraction of the N full objects)")
    ax1.set_ylabel("request hit ratio")
    fig.suptitle(f"N={table['n_objects'].iloc[0]}, L=4 equal layers, overhead 0.1, Zipf(0.8), uniform versions")
    labels = [label for label, _, _ in POLICIES]
    notes = [*coinciding(mean, labels), spread_note(table, labels)]
    figure_legend(fig, (ax1, ax2), notes, ncol=5)
    return fig
