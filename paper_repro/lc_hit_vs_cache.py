"""Layered caching: request hit ratio versus cache size, simulation against the Che model.

Parameters (the paper's are not public; chosen to be representative and
documented here): N = 10,000 objects (quick: 2,000), L = 4 layers of equal
size, layering overhead theta = 0.1 on every enhancement layer, Zipf(0.8)
object popularity, uniform version popularity, 10N warm-up and 30N counted
IRM requests, three independent traces, cache sizes 1%..50% of the
catalog's N full objects. Policies: Layered LRU, LFU and Belady (items are
layers) against LRU, LFU and Belady on stand-alone versions, and LRU caching
only full objects.

The three LRU variants are whole curves over 60 cache sizes, each from one
pass over a trace (``layercache.hit_ratio_curve``, equal to a simulation at
every size up to the rounding of these fractional sizes, tested in
``tests/layercache/test_curve_exact.py`` and checked here at one size): lines are the mean of the three traces, bands their
min-max. The other policies are simulated at 7 sizes: markers are the mean
of the three traces, bars their min-max. Black lines: the characteristic-
time (Che) models of the LRU variants; on the right the static optimum under
IRM (the best fixed cache content knowing the popularities; Belady can beat
it since it sees the future trace).
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import layercache as lc

from .lc_common import (POLICIES, _series, coinciding, evaluate, figure_legend, plot_band, replicates, setup, sizes,
                        summarise)
from layerq.sweep import sweep

from .paths import study_store

FRACTIONS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5]
CURVE_FRACTIONS = np.unique(np.r_[np.geomspace(0.01, 0.5, 53), FRACTIONS])  # one pass serves all of them
LRU_VARIANTS = [(label, mode) for label, policy, mode in POLICIES if policy == "lru"]
SIMULATED = [label for label, policy, _ in POLICIES if policy != "lru"]
MODEL_OF = {"layered": ("llru", "layer_sizes"), "versions": ("lru", "version_sizes"), "full": ("full", "version_sizes")}


def evaluate_simulated(**point) -> dict:
    """The policies other than LRU, and the static optima, at one point (see ``lc_common.evaluate``)."""
    return evaluate(labels=SIMULATED, **point)


def compute(quick: bool = True):
    base = dict(n_objects=2_000 if quick else 10_000, n_layers=4, alpha=0.8, size_profile="equal",
                version_kind="uniform", overhead=0.1)
    points = [q for f in FRACTIONS for q in replicates(base, f)]
    swept = sweep(evaluate_simulated, points, backend="serial", store=study_store("lc_hit_vs_cache"))
    curves = pd.concat([lru_curves(point) for point in replicates(base, None)], ignore_index=True)
    keys = [c for c in curves.columns if c in swept.columns]
    table = curves.merge(swept, on=keys, how="left")
    return table.sort_values(["cache_fraction", "replicate"], ignore_index=True)


def lru_curves(point):
    """Request hit ratio of every LRU variant at CURVE_FRACTIONS on the trace of ``point`` (one pass
    per variant), with the Che model of each."""
    params = {k: v for k, v in point.items() if k not in ("replicate", "cache_fraction")}
    catalog, popularity, version_probs, objects, versions = setup(**params)
    full = float(catalog.version_sizes[:, -1].sum())
    warmup, _ = sizes(point["n_objects"], point["n_layers"])
    caps = CURVE_FRACTIONS * full
    out = pd.DataFrame({**point, "cache_fraction": CURVE_FRACTIONS})
    check = int(np.searchsorted(CURVE_FRACTIONS, 0.1))
    for label, mode in LRU_VARIANTS:
        kwargs = dict(catalog=catalog, layered=mode == "layered", full_object_only=mode == "full", warmup=warmup)
        curve = lc.hit_ratio_curve(objects, versions, capacities=caps, **kwargs)
        out[label] = curve["hit_ratio"].to_numpy()
        sim = lc.simulate(objects, versions, policy="lru", capacity=caps[check], **kwargs)
        # exact for integer sizes; these layer sizes (0.275 ...) are not binary fractions, so the two byte sums
        # round differently and an access at a distance within rounding of the capacity may go either way
        assert abs(sim.hits - curve["hits"][check]) <= 1e-3 * sim.requests, (label, sim.hits, curve["hits"][check])
        model, sizes_of = MODEL_OF[mode]
        out[label + " model"] = lc.che_hit_ratio_curve(popularity, version_probs, getattr(catalog, sizes_of), caps,
                                                       model=model).hit_ratio
    return out


def plot(table):
    stats = summarise(table)
    mean = stats[0]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax in (ax1, ax2):
        for label, policy, mode in POLICIES:
            if policy == "lru":
                plot_band(ax, stats, "cache_fraction", label, policy, mode)
    for label, _ in LRU_VARIANTS:
        ax1.plot(mean["cache_fraction"], mean[label + " model"], "-", color="k", lw=0.7, zorder=3, alpha=0.8,
                 label="Che model (LRU variants)" if label == LRU_VARIANTS[0][0] else None)
    ax1.set(title="LRU variants: one-pass curves and Che model (black)")
    swept = tuple(t.dropna(subset=SIMULATED) for t in stats)
    for label, policy, mode in POLICIES:
        if label in SIMULATED:
            _series(ax2, swept, "cache_fraction", label, policy, mode, joined=True)
    ax2.plot(swept[0]["cache_fraction"], swept[0]["static optimum (layered)"], "k-", lw=2,
             label="static optimum (layered)")
    ax2.plot(swept[0]["cache_fraction"], swept[0]["static optimum (versions)"], "k--", lw=2,
             label="static optimum (versions)")
    ax2.set(title="layered (filled, solid) versus stand-alone versions (hollow, dashed)")
    for ax in (ax1, ax2):
        ax.set(xscale="log", xlabel="cache size (fraction of the N full objects)")
    ax1.set_ylabel("request hit ratio")
    fig.suptitle(f"N={table['n_objects'].iloc[0]}, L=4 equal layers, overhead 0.1, Zipf(0.8), uniform versions")
    labels = [label for label, _, _ in POLICIES]
    traces = table["replicate"].nunique()
    notes = [*coinciding(mean, labels),
             f"markers: mean of {traces} independent traces at {swept[0]['cache_fraction'].nunique()} sizes, bars: "
             f"their min-max (at most {_width(swept, SIMULATED):.3f}, mostly hidden by the markers); "
             f"LRU variants: exact one-pass curves at {mean['cache_fraction'].nunique()} sizes, line: mean of the "
             f"{traces} traces, band: their min-max (at most {_width(stats, [v for v, _ in LRU_VARIANTS]):.3f})",
             "black lines (Che models, static optima) do not depend on the trace"]
    figure_legend(fig, (ax1, ax2), notes, ncol=5)
    return fig


def _width(stats, labels):
    """Largest min-max spread over the traces of ``labels``."""
    _, lo, hi = stats
    return float((hi[labels] - lo[labels]).to_numpy().max())
