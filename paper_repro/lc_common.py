"""Shared pieces of the layered-caching studies: the catalog, the trace and one evaluation.

Sizes are in units of one full stand-alone object (version L has size 1);
capacities are fractions of the catalog's full objects, ``N`` size units, so
they do not change with the number of layers or the layering overhead.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

import layercache as lc

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


def evaluate(point: dict) -> dict:
    """Simulated and modelled request hit ratios of every policy at one point.

    ``point`` keys: n_objects, n_layers, alpha, size_profile, version_kind,
    overhead, seed, cache_fraction.
    """
    p = dict(point)
    fraction = p.pop("cache_fraction")
    catalog, popularity, version_probs, objects, versions = setup(**p)
    capacity = fraction * float(catalog.version_sizes[:, -1].sum())
    warmup, _ = sizes(p["n_objects"], p["n_layers"])
    out = {}
    for label, policy, mode in POLICIES:
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


def plot_curves(ax, table, x, labels, models=True):
    """Simulated points (joined) of the policies ``labels`` against column ``x``; with
    ``models`` the Che model of each LRU variant is drawn as a thin black line over its points."""
    for label, policy, mode in POLICIES:
        if label not in labels:
            continue
        marker, style = MODE_STYLE[mode]
        rows = table[[x, label]].dropna()  # a policy may have more points than the others
        ax.plot(rows[x], rows[label], marker=marker, linestyle=style, color=COLORS[policy],
                mfc="white" if mode != "layered" else COLORS[policy], label=label,
                markersize=3 if len(rows) > 20 else None)
        if models and label + " model" in table:
            model = table[[x, label + " model"]].dropna()
            ax.plot(model[x], model[label + " model"], "-", color="k", lw=0.8, zorder=3,
                    label="Che model" if label == labels[0] else None)


def plot_panels(table, panel_column, panels, x, labels, title_of, xlabel, suptitle):
    """One panel per value of ``panel_column``: simulated points of the policies ``labels``
    (colour by policy, marker by mode) against column ``x``, with black Che-model lines."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(12, 3.8), sharey=True)
    for ax, value in zip(axes, panels):
        sub = table[table[panel_column] == value]
        for label, policy, mode in POLICIES:
            if label not in labels:
                continue
            marker, _ = MODE_STYLE[mode]
            ax.plot(sub[x], sub[label], marker=marker, color=COLORS[policy], linestyle="none",
                    mfc=COLORS[policy] if mode == "layered" else "white", label=label + " (sim)")
            if label + " model" in sub:
                ax.plot(sub[x], sub[label + " model"], "-", color="k", lw=0.8)
        ax.set(title=title_of(value), xlabel=xlabel)
    axes[0].set_ylabel("request hit ratio")
    axes[0].legend(loc="lower left")
    fig.suptitle(suptitle)
    fig.tight_layout()
    return fig
