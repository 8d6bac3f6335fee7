"""Layered caching: request hit ratio versus Zipf exponent alpha, three layer-size profiles.

Parameters (the paper's are not public): N = 10,000 objects (quick: 2,000),
L = 4, cache = 5% of the N full objects, overhead theta = 0.1, uniform version
popularity, alpha in 0.4..1.4, equal / increasing / decreasing layer sizes;
10N warm-up and 30N counted IRM requests, three independent traces per
point. Markers: mean of the simulations (bars: min-max over the traces);
black lines: Che model; curves that coincide are named below the legend.
"""

from .lc_common import evaluate, plot_panels, replicates
from layerq.sweep import sweep

from .paths import study_store

ALPHAS = [0.4, 0.6, 0.8, 1.0, 1.2, 1.4]
PROFILES = ["equal", "increasing", "decreasing"]


def compute(quick: bool = True):
    points = []
    for profile in PROFILES:
        for alpha in ALPHAS:
            p = dict(n_objects=2_000 if quick else 10_000, n_layers=4, alpha=alpha,
                     size_profile=profile, version_kind="uniform", overhead=0.1)
            points += replicates(p, 0.05)
    return sweep(evaluate, points, backend="serial", store=study_store("lc_hit_vs_alpha"))


def plot(table):
    return plot_panels(
        table, "size_profile", PROFILES, "alpha",
        ["LLRU", "LRU (versions)", "LRU (full object)", "layered LFU", "layered Belady"],
        lambda profile: f"{profile} layer sizes", "Zipf exponent alpha",
        f"N={table['n_objects'].iloc[0]}, L=4, cache 5% of the full objects, overhead 0.1, "
        "uniform versions (lines: Che model)")
