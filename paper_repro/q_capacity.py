"""LLM scheduling: maximum serving capacity of every scheduler, SLAI against Sarathi-Serve.

Parameters (the paper's experiment, in simulation): the workload and engine of
``q_ttft_vs_qps`` (ShareGPT4, Poisson arrivals capped at 3x the mean, 5%
strict / 95% relaxed, token budget 512, 128 active, default latency model);
capacity = the largest QPS with median TTFT <= 0.5 s and each class's p99 TBT
<= its SLO (the paper's criterion), and also Sarathi-Serve's own criterion
(median scheduling delay <= 2 s with p99 TBT <= SLO), found by bisection to
2.5% with the same seed in every trial; 16,384 requests per trial (quick:
2,048). The grey line is lambda*, the fluid bound no scheduler can exceed at
this token budget. Printed: SLAI's capacity change over Sarathi-Serve next to
the paper's +26% and its median-TTFT change next to the paper's -53%.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import queueing as q

from .q_common import LABELS, SCHEDULERS, lengths, workload
from layerq.sweep import sweep

from .paths import study_store

CRITERIA = ["paper", "sarathi"]


def evaluate(**point) -> dict:
    prompt, output = lengths()
    res = q.capacity_search(point["scheduler"], prompt, output, criterion=point["criterion"],
                            n_requests=point["n_requests"], seed=point["seed"])
    return {"capacity": res.capacity, "upper": res.upper, "trials": len(res.trials)}


def median_ttft(scheduler: str, qps: float, n_requests: int, seed: int) -> float:
    return float(q.simulate(workload(qps, n_requests, seed), scheduler=scheduler).summary().loc["all", "ttft_p50"])


def compute(quick: bool = True):
    n = 2_048 if quick else 16_384
    points = [dict(scheduler=s, criterion=c, n_requests=n, seed=2025) for c in CRITERIA for s, _ in SCHEDULERS]
    table = sweep(evaluate, points, workers=2, store=study_store("q_capacity"))
    prompt, output = lengths()
    table["lambda_star"] = q.lambda_star(prompt, output).rate

    # The paper's headline: SLAI (SPF, dynamic offset) against Sarathi-Serve FCFS.
    paper = table[table["criterion"] == "paper"].set_index("scheduler")["capacity"]
    capacity_gain = paper["slai"] / paper["sarathi"] - 1
    rates = [r for r in np.round(np.arange(0.2, 2.01, 0.2), 2) if r < paper["sarathi"]]
    ttft_change = [median_ttft("slai", r, n, 2025) / median_ttft("sarathi", r, n, 2025) - 1 for r in rates]
    print(f"SLAI vs Sarathi-Serve capacity: {100 * capacity_gain:+.1f}% (paper: +26%)")
    print("SLAI vs Sarathi-Serve median TTFT below Sarathi's capacity: "
          + ", ".join(f"{r:.1f} qps {100 * c:+.0f}%" for r, c in zip(rates, ttft_change)) + " (paper: -53%)")
    table["slai_capacity_gain_pct"] = 100 * capacity_gain
    table["slai_median_ttft_change_pct_mean"] = 100 * float(np.mean(ttft_change)) if ttft_change else np.nan
    return table


def plot(table):
    fig, ax = plt.subplots(figsize=(9, 4))
    names = [s for s, _ in SCHEDULERS]
    x = np.arange(len(names))
    for k, crit in enumerate(CRITERIA):
        sub = table[table["criterion"] == crit].set_index("scheduler").loc[names]
        ax.bar(x + (k - 0.5) * 0.38, sub["capacity"], width=0.38,
               label={"paper": "median TTFT <= 0.5 s and p99 TBT <= SLO",
                      "sarathi": "median scheduling delay <= 2 s and p99 TBT <= SLO"}[crit])
    ax.axhline(table["lambda_star"].iloc[0], color="0.5", lw=1, label="lambda* (fluid bound)")
    ax.set_xticks(x, [LABELS[s] for s in names], rotation=25, ha="right", fontsize=8)
    ax.set(ylabel="maximum serving capacity (requests/s)",
           title=f"SLAI vs Sarathi-Serve: capacity {table['slai_capacity_gain_pct'].iloc[0]:+.0f}% (paper +26%), "
                 f"median TTFT {table['slai_median_ttft_change_pct_mean'].iloc[0]:+.0f}% (paper -53%)")
    ax.set_ylim(0, 1.3 * max(table["capacity"].max(), table["lambda_star"].iloc[0]))
    ax.legend(loc="upper left", ncol=2)
    return fig
