"""LLM scheduling: per-class TTFT and p99 TBT versus load for every scheduler.

Parameters (the paper's experiment, in simulation): Mistral-7B on one RTX 6000
Ada through the default calibrated latency model, KV capacity 235,728 tokens,
token budget 512, at most 128 active requests; 16,384 shuffled ShareGPT4
requests per run (quick: 2,048), Poisson arrivals with inter-arrivals capped at
3x the mean, 5% strict (TBT SLO 0.1 s) and 95% relaxed (0.5 s) requests; QPS
0.2, 0.4, ..., 2.0 (quick: 0.4, 0.8, ..., 2.0). The same seed for every
scheduler at a given QPS, so they serve identical request sequences.
Difference from the paper: a simulated GPU, not a measured one, and RAD (a
reconstruction) is added to the comparison. The testbed's KV and token rules
apply (``simulate``'s defaults), with no warm-up as in its single-replica
runs. Schedulers whose results coincide are named in the figure.
"""

import matplotlib.pyplot as plt
import numpy as np

from .q_common import LABELS, SCHEDULERS, evaluate
from layerq.sweep import config_seed, sweep

from .paths import study_store


def compute(quick: bool = True):
    n = 2_048 if quick else 16_384
    rates = np.round(np.arange(0.4, 2.01, 0.4) if quick else np.arange(0.2, 2.01, 0.2), 2)
    points = []
    for qps in rates:
        seed = config_seed({"qps": float(qps), "n_requests": n})
        points += [dict(scheduler=s, qps=float(qps), n_requests=n, seed=seed) for s, _ in SCHEDULERS]
    return sweep(evaluate, points, workers=2, store=study_store("q_ttft_vs_qps"))


STYLES = {  # marker, linestyle: every scheduler distinguishable where curves overlap
    "sarathi": ("o", "--"), "sarathi-spf": ("s", "--"), "vllm": ("D", ":"), "slai-fcfs-fixed": ("^", "-"),
    "slai-spf-fixed": ("v", "-"), "slai": ("P", "-"), "slai-priority": ("X", "-"), "rad": ("o", "-."),
}
COLUMNS = ["all_ttft_p50", "all_ttft_p99", "strict_tbt_p99", "relaxed_tbt_p99"]


def coinciding_pairs(table):
    """Pairs of schedulers whose plotted statistics are identical at every QPS."""
    names = [s for s, _ in SCHEDULERS]
    by = {s: table[table["scheduler"] == s].sort_values("qps")[COLUMNS].to_numpy() for s in names}
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1:] if np.array_equal(by[a], by[b])]


def plot(table):
    panels = [("all_ttft_p50", "median TTFT (s)"), ("all_ttft_p99", "p99 TTFT (s)"),
              ("strict_tbt_p99", "strict class: p99 TBT (s)"), ("relaxed_tbt_p99", "relaxed class: p99 TBT (s)")]
    fig, axes = plt.subplots(1, len(panels), figsize=(15, 4.6))
    names = [s for s, _ in SCHEDULERS]
    step = float(np.diff(np.unique(table["qps"]))[0])
    for ax, (col, ylabel) in zip(axes, panels):
        for k, name in enumerate(names):
            sub = table[table["scheduler"] == name].sort_values("qps")
            marker, ls = STYLES[name]
            hollow = name == "rad"
            # each scheduler a little to the side (8 curves over 0.6 of the step), so none hides another
            x = sub["qps"] + (k - 3.5) * 0.6 * step / 8
            ax.plot(x, sub[col], marker=marker, ls=ls, lw=1, ms=7 if hollow else 4, label=LABELS[name],
                    mfc="none" if hollow else None)
        ax.set(xlabel="arrival rate (requests/s)", ylabel=ylabel, yscale="log")
    axes[0].axhline(0.5, color="k", lw=0.8, ls=":")
    axes[2].axhline(0.1, color="k", lw=0.8, ls=":")
    axes[3].axhline(0.5, color="k", lw=0.8, ls=":")
    same = coinciding_pairs(table)
    note = "; ".join(f"{LABELS[b]} coincides with {LABELS[a]} (identical results)" for a, b in same)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(f"ShareGPT4, {table['n_requests'].iloc[0]} requests per run, Mistral-7B / RTX 6000 Ada latency "
                 "model (dotted: TTFT target and TBT SLOs; points side by side at each rate)"
                 + (f"\n{note}" if note else ""), fontsize=10)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig
