"""LLM scheduling: per-class TTFT and p99 TBT versus load for every scheduler.

Parameters (the paper's experiment, in simulation): Mistral-7B on one RTX 6000
Ada through the default calibrated latency model, KV capacity 235,728 tokens,
token budget 512, at most 128 active requests; 16,384 shuffled ShareGPT4
requests per run (quick: 2,048), Poisson arrivals with inter-arrivals capped at
3x the mean, 5% strict (TBT SLO 0.1 s) and 95% relaxed (0.5 s) requests; QPS
0.2, 0.4, ..., 2.0 (quick: 0.4, 0.8, ..., 2.0). The same seed for every
scheduler at a given QPS, so they serve identical request sequences.
Difference from the paper: a simulated GPU, not a measured one, and RAD (a
reconstruction) is added to the comparison.
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


def plot(table):
    panels = [("all_ttft_p50", "median TTFT (s)"), ("all_ttft_p99", "p99 TTFT (s)"),
              ("strict_tbt_p99", "strict class: p99 TBT (s)"), ("relaxed_tbt_p99", "relaxed class: p99 TBT (s)")]
    fig, axes = plt.subplots(1, len(panels), figsize=(15, 3.8))
    for ax, (col, ylabel) in zip(axes, panels):
        for name, _ in SCHEDULERS:
            sub = table[table["scheduler"] == name]
            ax.plot(sub["qps"], sub[col], marker="o", label=LABELS[name],
                    linestyle="--" if name.startswith("sarathi") or name == "vllm" else "-")
        ax.set(xlabel="arrival rate (requests/s)", ylabel=ylabel, yscale="log")
    axes[0].axhline(0.5, color="k", lw=0.8, ls=":")
    axes[2].axhline(0.1, color="k", lw=0.8, ls=":")
    axes[3].axhline(0.5, color="k", lw=0.8, ls=":")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"ShareGPT4, {table['n_requests'].iloc[0]} requests per run, Mistral-7B / RTX 6000 Ada latency "
                 "model (dotted: TTFT target and TBT SLOs)")
    fig.tight_layout()
    return fig
