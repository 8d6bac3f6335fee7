"""Shared pieces of the layered-caching studies: the catalog, the trace and one evaluation.

Sizes are in units of one full stand-alone object (version L has size 1);
capacities are fractions of the catalog's full objects, ``N`` size units, so
they do not change with the number of layers or the layering overhead.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

import layercache as lc

from layerq.sweep import config_seed

#: (label, policy, mode) of every simulated curve; mode in layered / versions / full.
POLICIES = [
    ("LLRU", "lru", "layered"),
    ("layered LFU", "perfect_lfu", "layered"),
    ("layered Belady", "belady", "layered"),
    ("LRU (versions)", "lru", "versions"),
    ("LFU (versions)", "perfect_lfu", "versions"),
    ("Belady (versions)", "belady", "versions"),
    ("LRU (full object)", "lru", "full"),
]

#: independent IRM traces per study point; figures show their mean and min-max
REPLICATES = 3

#: Che model of each mode, for the policies that have one.
MODELS = {("lru", "layered"): "llru", ("lru", "versions"): "lru", ("lru", "full"): "full"}


def sizes(n_objects: int, n_layers: int) -> tuple[int, int]:
    """(warm-up, counted) request counts: 10N warm-up and 30N counted, as in the accuracy tests."""
    return 10 * n_objects, 30 * n_objects


@lru_cache(maxsize=4)
def setup(n_objects, n_layers, alpha, size_profile, version_kind, overhead, seed):
    """Catalog, popularities and IRM trace of one study point (cached per process)."""
    catalog = lc.Catalog.from_profile(n_objects, n_layers, size_profile, overhead=overhead)
    popularity = lc.zipf_popularity(n_objects, alpha)
    version_probs = lc.version_profile(n_layers, version_kind)
    warmup, counted = sizes(n_objects, n_layers)
    objects, versions = lc.irm_trace(popularity, version_probs, warmup + counted, seed=seed)
    return catalog, popularity, version_probs, objects, versions


def evaluate(labels=None, **point) -> dict:
    """Simulated and modelled request hit ratios of every policy at one point.

    ``point`` keys: n_objects, n_layers, alpha, size_profile, version_kind,
    overhead, seed, cache_fraction and optionally replicate (not used here).
    ``labels``: the :data:`POLICIES` to simulate (default all; the models go
    with their policies); the static optima are always computed.
    """
    p = dict(point)
    fraction = p.pop("cache_fraction")
    p.pop("replicate", None)
    catalog, popularity, version_probs, objects, versions = setup(**p)
    capacity = fraction * float(catalog.version_sizes[:, -1].sum())
    warmup, _ = sizes(p["n_objects"], p["n_layers"])
    out = {}
    for label, policy, mode in POLICIES:
        if labels is not None and label not in labels:
            continue
        res = lc.simulate(objects, versions, policy=policy, capacity=capacity, catalog=catalog,
                          layered=(mode == "layered"), full_object_only=(mode == "full"), warmup=warmup)
        out[label] = res.hit_ratio
        model = MODELS.get((policy, mode))
        if model:
            sz = catalog.layer_sizes if model == "llru" else catalog.version_sizes
            out[label + " model"] = lc.che_hit_ratio(popularity, version_probs, sz, capacity,
                                                     model=model).hit_ratio
    for mode in ("layered", "versions"):
        out[f"static optimum ({mode})"] = lc.static_optimum(popularity, version_probs, catalog, capacity,
                                                           mode=mode).hit_ratio
    return out


#: Colour per policy family and marker style per mode, shared by every layered-caching figure.
COLORS = {"lru": "C0", "perfect_lfu": "C1", "belady": "C2", "lfu": "C3"}
MODE_STYLE = {"layered": ("o", "-"), "versions": ("s", "--"), "full": ("^", ":")}
#: hollow markers are drawn larger than filled ones, so that a filled marker on a hollow one stays visible
MODE_SIZE = {"layered": 4, "versions": 6.5, "full": 6.5}
#: curves whose simulated means differ by less than this everywhere are named in the figure
COINCIDE = 0.03
PARAMS = ["n_objects", "n_layers", "alpha", "size_profile", "version_kind", "overhead", "cache_fraction"]


def replicates(params: dict, cache_fraction: float) -> list[dict]:
    """One point per independent IRM trace of ``params`` at ``cache_fraction``.

    Replicate r draws its trace with seed ``config_seed(dict(params, replicate=r))``;
    every cache fraction of a point shares its traces.
    """
    return [dict(params, replicate=r, seed=config_seed(dict(params, replicate=r)), cache_fraction=cache_fraction)
            for r in range(REPLICATES)]


def summarise(table):
    """(mean, min, max) over replicates of every result column, one row per parameter point."""
    groups = table.drop(columns=["seed", "replicate"]).groupby(PARAMS, sort=False)
    return groups.mean().reset_index(), groups.min().reset_index(), groups.max().reset_index()


def _series(ax, stats, x, label, policy, mode, joined):
    mean, lo, hi = stats
    marker, style = MODE_STYLE[mode]
    y = mean[label]
    ax.errorbar(mean[x], y, yerr=[y - lo[label], hi[label] - y], marker=marker, ms=MODE_SIZE[mode],
                linestyle=style if joined else "none", color=COLORS[policy], capsize=2, elinewidth=0.8,
                mfc=COLORS[policy] if mode == "layered" else "none", label=label)  # fmt: skip


def plot_band(ax, stats, x, label, policy, mode):
    """Mean over replicates of ``label`` against ``x`` as a line (style of its policy and mode), and
    its min-max over replicates as a band of the same colour; rows where ``label`` is NaN are skipped."""
    mean, lo, hi = (t[t[label].notna()] for t in stats)
    ax.fill_between(mean[x], lo[label], hi[label], color=COLORS[policy], alpha=0.25, lw=0)
    ax.plot(mean[x], mean[label], MODE_STYLE[mode][1], color=COLORS[policy], lw=2, label=label, zorder=2)


def coinciding(mean, labels, within=COINCIDE) -> list[str]:
    """Pairs of simulated curves whose means differ by less than ``within`` at every point."""
    out = []
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            gap = float((mean[a] - mean[b]).abs().max())
            if gap < within:
                out.append(f"{a} and {b} lie within {gap:.3f} of each other")
    return out


def spread_note(table, labels) -> str:
    """States the replicates behind every marker and the largest min-max spread of ``labels``."""
    _, lo, hi = summarise(table)
    width = float((hi[labels] - lo[labels]).to_numpy().max())
    return (f"markers: mean of {table['replicate'].nunique()} independent traces; bars: their min-max "
            f"(at most {width:.3f}, mostly hidden by the markers); lines without markers do not depend on the trace")


def figure_legend(fig, axes, notes=(), ncol=4):
    """One legend for the figure below the panels (never on data), and ``notes`` below it.

    Entries: the simulated policies in :data:`POLICIES` order, then the lines.
    """
    seen = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    rank = {label: k for k, (label, _, _) in enumerate(POLICIES)}
    labels = sorted(seen, key=lambda label: rank.get(label, len(rank)))
    fig.tight_layout()
    legend = fig.legend([seen[label] for label in labels], labels, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                        ncol=ncol)  # fmt: skip
    if notes:
        fig.canvas.draw()
        box = legend.get_window_extent().transformed(fig.transFigure.inverted())
        fig.text(0.5, box.y0 - 0.01, "\n".join(notes), ha="center", va="top", fontsize=8)


def plot_panels(table, panel_column, panels, x, labels, title_of, xlabel, suptitle, notes=()):
    """One panel per value of ``panel_column``: simulated means of the policies ``labels`` (colour by
    policy, marker by mode, min-max over replicates as bars) against column ``x``, black Che-model
    lines, one legend below the panels and a note naming the curves that coincide in any panel."""
    import matplotlib.pyplot as plt

    stats = summarise(table)
    fig, axes = plt.subplots(1, len(panels), figsize=(12, 3.8), sharey=True)
    found = []
    for ax, value in zip(axes, panels):
        sub = tuple(t[t[panel_column] == value] for t in stats)
        for label, policy, mode in POLICIES:
            if label not in labels:
                continue
            _series(ax, sub, x, label, policy, mode, joined=False)
            if label + " model" in sub[0]:
                ax.plot(sub[0][x], sub[0][label + " model"], "-", color="k", lw=0.8,
                        label="Che model (LRU variants)")
        found += [f"{title_of(value)}: {text}" for text in coinciding(sub[0], labels)]
        ax.set(title=title_of(value), xlabel=xlabel)
    axes[0].set_ylabel("request hit ratio")
    fig.suptitle(suptitle)
    figure_legend(fig, axes, [*notes, *found, spread_note(table, labels)], ncol=6)
    return fig
