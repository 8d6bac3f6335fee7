"""Layered caching: are more layers better? Hit ratio versus the number of layers L.

Parameters (the paper's are not public): N = 10,000 objects (quick: 2,000),
Zipf(0.8), cache = 10% of the N full objects, equal layer sizes, layering
overhead theta = 0.1 on every enhancement layer, L = 1..6, and the three
version-popularity profiles (uniform, low versions popular, high versions
popular); 10N warm-up and 30N counted IRM requests. For each L the full
object has the same size, so L only changes how it is split (and what the
requests ask for). Markers: simulation; black lines: Che model. The paper's
point is that layering helps when low versions are popular and can hurt when
most requests want the highest version, since every extra layer adds overhead
and the base layers of many objects crowd the cache.
"""

import matplotlib.pyplot as plt

from .lc_common import evaluate
from .sweep import point_seed, run_sweep

LAYERS = [1, 2, 3, 4, 5, 6]
KINDS = ["uniform", "low", "high"]


def compute(quick: bool = True):
    points = []
    for kind in KINDS:
        for n_layers in LAYERS:
            p = dict(n_objects=2_000 if quick else 10_000, n_layers=n_layers, alpha=0.8,
                     size_profile="equal", version_kind=kind, overhead=0.1)
            p["seed"] = point_seed(p)
            points.append(dict(p, cache_fraction=0.1))
    return run_sweep("lc_layers_help", points, evaluate)


def plot(table):
    fig, axes = plt.subplots(1, len(KINDS), figsize=(12, 3.8), sharey=True)
    for ax, kind in zip(axes, KINDS):
        sub = table[table["version_kind"] == kind]
        for label, color, marker in [("LLRU", "C0", "o"), ("LRU (versions)", "C0", "s"),
                                     ("LRU (full object)", "C0", "^"), ("layered Belady", "C2", "o"),
                                     ("Belady (versions)", "C2", "s")]:
            ax.plot(sub["n_layers"], sub[label], marker=marker, color=color, linestyle="none",
                    mfc="white" if marker != "o" else color, label=label + " (sim)")
            if label + " model" in sub:
                ax.plot(sub["n_layers"], sub[label + " model"], "-", color="k", lw=0.8)
        ax.set(title=f"{kind} version popularity", xlabel="number of layers / versions L")
    axes[0].set_ylabel("request hit ratio")
    axes[0].legend()
    fig.suptitle(f"N={table['n_objects'].iloc[0]}, Zipf(0.8), cache 10% of the full objects, "
                 "equal layers, overhead 0.1 (lines: Che model)")
    fig.tight_layout()
    return fig
