"""LLM scheduling: the paper's headlines over several seeds, and how they depend on the decode cost terms.

Parameters (the paper's experiment, in simulation): the workload and engine of
``q_ttft_vs_qps`` with the testbed's rules (``simulate``'s defaults: KV
watermark 0.01, a decode needs a free block, no token at the prefill's end; no
warm-up, as the testbed's single-replica runs), 16,384 requests per run and
seeds 0, 1, 2 (quick: 2,048 requests, seeds 0, 1). For each seed: the
capacity of Sarathi-Serve FCFS and of SLAI (SPF, dynamic offset) under the
paper's criterion (median TTFT <= 0.5 s, per-class p99 TBT <= SLO; bisection
to 2.5%), and both schedulers' median TTFT at every QPS of the paper's grid
0.2, 0.4, ..., 2.0 and at Sarathi-Serve's capacity of that seed. The same for
the latency model with its decode-attention cost (0.17 us per context token)
doubled and set to zero: the one published microbenchmark (a prompt alone)
does not pin that term down. Plotted: SLAI's median-TTFT change per QPS (mean
and range over seeds) and the capacities per seed, for each cost variant; the
paper reports -53% and +26%.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import queueing as q
from queueing.latency import DECODE_ATTENTION_S_PER_TOKEN, PiecewiseLatency

from .q_common import lengths, workload
from layerq.sweep import sweep

from .paths import study_store

#: latency-model variant -> factor on the decode-attention cost per context token
VARIANTS = {"default": 1.0, "attention x2": 2.0, "attention x0": 0.0}
GRID = [round(0.2 * k, 1) for k in range(1, 11)]
PAIR = ("sarathi", "slai")


def latency(variant: str):
    return PiecewiseLatency(per_context_token=VARIANTS[variant] * DECODE_ATTENTION_S_PER_TOKEN)


def evaluate(**point) -> dict:
    lat = latency(point["variant"])
    if point["kind"] == "capacity":
        prompt, output = lengths()
        res = q.capacity_search(point["scheduler"], prompt, output, n_requests=point["n_requests"],
                                seed=point["seed"], latency=lat)
        return {"capacity": res.capacity, "upper": res.upper}
    res = q.simulate(workload(point["qps"], point["n_requests"], point["seed"]), point["scheduler"], lat,
                     warn_overload=False)
    return {"ttft_p50": float(res.summary().loc["all", "ttft_p50"]), "overloaded": bool(res.overloaded)}


def compute(quick: bool = True):
    n = 2_048 if quick else 16_384
    seeds = [0, 1] if quick else [0, 1, 2]
    base = [dict(variant=v, seed=s, n_requests=n) for v in VARIANTS for s in seeds]
    caps = sweep(evaluate, [dict(b, kind="capacity", scheduler=x) for b in base for x in PAIR], workers=2,
                 store=study_store("q_headline_capacity"))
    sarathi_cap = caps[caps["scheduler"] == "sarathi"].set_index(["variant", "seed"])["capacity"]
    ttft_points = [dict(b, kind="ttft", scheduler=x, qps=qps, at_capacity=False) for b in base for x in PAIR
                   for qps in GRID]
    ttft_points += [dict(b, kind="ttft", scheduler=x, qps=float(sarathi_cap[b["variant"], b["seed"]]),
                         at_capacity=True) for b in base for x in PAIR]
    ttft = sweep(evaluate, ttft_points, workers=2, store=study_store("q_headline_ttft"))
    wide = ttft.pivot_table(index=["variant", "seed", "qps", "at_capacity"], columns="scheduler",
                            values="ttft_p50").reset_index()
    wide["sarathi_capacity"] = [sarathi_cap[v, s] for v, s in zip(wide["variant"], wide["seed"])]
    wide["below_sarathi_capacity"] = wide["qps"] < wide["sarathi_capacity"]
    wide["ttft_change_pct"] = 100 * (wide["slai"] / wide["sarathi"] - 1)
    wide = wide.rename(columns={"sarathi": "sarathi_ttft_p50", "slai": "slai_ttft_p50"})
    wide["kind"] = "ttft"
    caps_wide = caps.pivot_table(index=["variant", "seed"], columns="scheduler", values="capacity").reset_index()
    caps_wide = caps_wide.rename(columns={"sarathi": "sarathi_capacity", "slai": "slai_capacity"})
    caps_wide["capacity_gain_pct"] = 100 * (caps_wide["slai_capacity"] / caps_wide["sarathi_capacity"] - 1)
    caps_wide["kind"] = "capacity"
    table = pd.concat([wide, caps_wide], ignore_index=True)
    table["n_requests"] = n
    return table


def plot(table):
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [3, 2]})
    ttft = table[(table["kind"] == "ttft") & ~table["at_capacity"].astype(bool)]
    caps = table[table["kind"] == "capacity"]
    markers = {"default": "o", "attention x2": "^", "attention x0": "s"}
    for k, variant in enumerate(VARIANTS):
        sub = ttft[ttft["variant"] == variant]
        below = sub[sub["below_sarathi_capacity"].astype(bool)]
        g = below.groupby("qps")["ttft_change_pct"]
        x = g.mean().index.to_numpy() + (k - 1) * 0.02  # side by side, so no curve hides another
        ax.errorbar(x, g.mean(), yerr=[g.mean() - g.min(), g.max() - g.mean()], marker=markers[variant],
                    capsize=3, label=f"decode attention cost: {variant}")
    ax.axhline(-53, color="k", lw=0.8, ls=":")
    ax.text(0.21, -53, "paper: -53%", va="bottom", fontsize=8)
    ax.set(xlabel="arrival rate (requests/s), below Sarathi-Serve's capacity",
           ylabel="SLAI vs Sarathi-Serve median TTFT (%)", ylim=(-100, 10))
    ax.legend(loc="lower left", fontsize=8)
    n_seeds = caps["seed"].nunique()
    for k, variant in enumerate(VARIANTS):
        sub = caps[caps["variant"] == variant]
        for j, col in enumerate(["sarathi_capacity", "slai_capacity"]):
            xs = np.full(len(sub), 2 * k + 0.35 * (2 * j - 1))
            bx.plot(xs, sub[col], ls="none", marker=markers[variant], color=f"C{j}",
                    label=("Sarathi-Serve FCFS" if j == 0 else "SLAI") if k == 0 else None)
            bx.plot([xs[0] - 0.12, xs[0] + 0.12], [sub[col].mean()] * 2, color=f"C{j}", lw=2)
        bx.text(2 * k, sub[["sarathi_capacity", "slai_capacity"]].to_numpy().max() * 1.04,
                f"{sub['capacity_gain_pct'].mean():+.0f}%", ha="center", fontsize=8)
    bx.set_xticks([0, 2, 4], list(VARIANTS), fontsize=8)
    bx.set(ylabel="capacity (requests/s)", title=f"per seed ({n_seeds} seeds; bar: mean); paper: +26%",
           ylim=(0, 1.25 * caps[["sarathi_capacity", "slai_capacity"]].to_numpy().max()))
    bx.legend(loc="lower right", fontsize=8)
    fig.suptitle(f"ShareGPT4, {int(table['n_requests'].iloc[0])} requests per run; error bars: range over "
                 f"{n_seeds} seeds; testbed rules")
    fig.tight_layout()
    return fig
