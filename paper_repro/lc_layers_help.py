"""Layered caching: are more layers better? Hit ratio versus the number of layers L.

Parameters (the paper's are not public): N = 10,000 objects (quick: 2,000),
Zipf(0.8), cache = 10% of the N full objects, equal layer sizes, layering
overhead theta = 0.1 on every enhancement layer, L = 1..6, and the three
version-popularity profiles (uniform, low versions popular, high versions
popular); 10N warm-up and 30N counted IRM requests, three independent traces
per point (markers: mean; bars: min-max). For each L the full
object has the same size, so L only changes how it is split (and what the
requests ask for). Markers: simulation; black lines: Che model. The paper's
point is that layering helps when low versions are popular and can hurt when
most requests want the highest version, since every extra layer adds overhead
and the base layers of many objects crowd the cache.
"""

from .lc_common import evaluate, plot_panels, replicates
from layerq.sweep import sweep

from .paths import study_store

LAYERS = [1, 2, 3, 4, 5, 6]
KINDS = ["uniform", "low", "high"]


def compute(quick: bool = True):
    points = []
    for kind in KINDS:
        for n_layers in LAYERS:
            p = dict(n_objects=2_000 if quick else 10_000, n_layers=n_layers, alpha=0.8,
                     size_profile="equal", version_kind=kind, overhead=0.1)
            points += replicates(p, 0.1)
    return sweep(evaluate, points, backend="serial", store=study_store("lc_layers_help"))


def plot(table):
    return plot_panels(
        table, "version_kind", KINDS, "n_layers",
        ["LLRU", "LRU (versions)", "LRU (full object)", "layered Belady", "Belady (versions)"],
        lambda kind: f"{kind} version popularity", "number of layers / versions L",
        f"N={table['n_objects'].iloc[0]}, Zipf(0.8), cache 10% of the full objects, "
        "equal layers, overhead 0.1 (lines: Che model)",
        notes=["At L = 1 a layer, a version and the full object are one item: the three LRU variants "
               "coincide there, and so do the two Beladys."])
