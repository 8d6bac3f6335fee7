"""LLM scheduling at cluster scale: a static prefill:decode split against the same replicas colocated.

Parameters: 8 replicas of the default model (Mistral-7B on one RTX 6000 Ada,
the calibrated latency model; KV 235,728 tokens, token budget 512, at most
128 active requests per replica), Sarathi-Serve batching on every replica,
split P:D = 1:7 .. 7:1 (prefill replicas run only prefills, decode replicas
only decodes and their own recomputes) or colocated (8 replicas doing both,
least-prefill-backlog routing); round-robin routing at both stages of the
split; an instantaneous KV link (the Mistral-7B KV of a 2,340-token prompt is
300 MB: 12 ms at 25 GB/s, far below a decode replica's work); ShareGPT4
lengths; the rules the fluid model assumes (``queueing.FLUID_RULES``).
Capacity: the fluid capacity (``queueing.split_capacity``: the slowest of
P prefill replicas, the links and D decode replicas, the KV-bound ones by
the law derived from their admission and preemption rules; colocated:
8 lambda*) and the simulated capacity (completions per second over the last
70% of a run at 1.3x the fluid capacity; the title compares it with the
fluid capacity of the run's own lengths, the line is that of all ShareGPT4
pairs), 4,096 requests per run and seeds
0, 1 (full: 16,384 requests, seeds 0-2; bars: min-max over seeds). Latency:
median TTFT, p99 TBT (over all token gaps) and the median first gap (first
to second token: for a split, the wait for decode memory, the KV transfer and
the first decode) at a fixed 10 req/s (Poisson), where the splits whose
fluid capacity is below 10 req/s are overloaded: a prefill-bound split shows
it in TTFT, a decode-bound one first in the first gap (the requests queue for
decode memory after their first token), then in TTFT once the prefill
replicas' memory is full of KV waiting to move. The paper's
second principle (dynamic allocation beats a static split) at cluster scale;
the paper has no such experiment.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import queueing as q
from queueing.cluster import colocated, disaggregated, simulate_cluster
from queueing.cluster_theory import completion_window
from queueing.metrics import first_gaps, token_gaps

from .q_common import lengths
from layerq.sweep import config_seed

N_REPLICAS = 8
LOAD = 10.0  # req/s for the latency panels
OVERLOAD = 1.3  # arrival rate / fluid capacity for the capacity runs


def _run(groups, rate, n, seed, router):
    prompt, output = lengths()
    w = q.poisson_workload(prompt, output, rate, n, seed=seed)
    res = simulate_cluster(w, groups, router=router, warn_overload=False, **q.FLUID_RULES)
    return w, res


def _fluid_of_run(kind, n_p, n_d, w):
    if kind == "colocated":
        return N_REPLICAS * q.lambda_star(w.prompt_tokens, w.output_tokens).rate
    return q.split_capacity(n_p, n_d, w.prompt_tokens, w.output_tokens).rate


def _point(kind, n_p, n_d, fluid, binding, groups, router, n, seed):
    w, sat = _run(groups, OVERLOAD * fluid, n, seed, router)
    capacity, _ = completion_window(sat.requests, 0.3)
    _, fixed = _run(groups, LOAD, n, config_seed({"study": "q_disaggregation", "load": LOAD, "seed": seed}), router)
    gaps, _ = token_gaps(fixed.token_offsets, fixed.token_times)
    first_gap = first_gaps(fixed.token_offsets, fixed.token_times)  # decode admission wait + KV transfer + first decode
    return dict(kind=kind, n_prefill=n_p, n_decode=n_d, seed=seed, fluid_capacity=fluid, binding=binding,
                fluid_capacity_run=_fluid_of_run(kind, n_p, n_d, w), sim_capacity=capacity, load=LOAD, overloaded=bool(fluid < LOAD),
                median_ttft=float(np.median(fixed.requests["ttft"])), p99_tbt=float(np.percentile(gaps, 99)),
                median_first_gap=float(np.median(first_gap)))


def compute(quick: bool = True):
    prompt, output = lengths()
    n = 4_096 if quick else 16_384
    seeds = (0, 1) if quick else (0, 1, 2)
    table = q.split_capacity_table(N_REPLICAS, prompt, output)
    rows = []
    for seed in seeds:
        for s in table.itertuples():
            rows.append(_point("disaggregated", s.n_prefill, s.n_decode, s.rate, s.binding,
                               disaggregated(s.n_prefill, s.n_decode), "round_robin", n, seed))
        rows.append(_point("colocated", 0, 0, float(table.colocated_rate.iloc[0]), "budget",
                           colocated(N_REPLICAS), "least_prefill_backlog", n, seed))
    return pd.DataFrame(rows)


def _spread(sub, col):
    g = sub.groupby("n_prefill")[col]
    mid = g.median()
    return mid.index.to_numpy(), mid.to_numpy(), np.vstack([mid - g.min(), g.max() - mid])


def plot(table):
    dis = table[table.kind == "disaggregated"]
    col = table[table.kind == "colocated"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.8), constrained_layout=True)
    ax = axes[0]
    fl = dis.groupby("n_prefill")["fluid_capacity"].first()
    ax.plot(fl.index, fl.to_numpy(), "k--", lw=1, label="split, fluid")
    x, y, err = _spread(dis, "sim_capacity")
    ax.errorbar(x, y, err, fmt="o", color="C0", capsize=3, label="split, simulated")
    ax.axhline(col.fluid_capacity.iloc[0], color="C1", ls="--", lw=1, label="8 colocated, fluid")
    lo, hi = col.sim_capacity.min(), col.sim_capacity.max()
    ax.axhspan(lo, hi, color="C1", alpha=0.3, label="8 colocated, simulated (seed range)")
    gap = np.abs(dis.sim_capacity / dis.fluid_capacity_run - 1).max()
    cgap = np.abs(col.sim_capacity / col.fluid_capacity_run - 1).max()
    ax.set(xlabel="prefill replicas P (of 8; D = 8 - P)", ylabel="capacity (req/s)",
           title=f"capacity: simulated = fluid of the run's lengths\nwithin {100 * gap:.1f}% (splits), "
                 f"{100 * cgap:.1f}% (colocated)")
    ax.set_ylim(0, 1.1 * max(col.fluid_capacity.max(), hi))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), fontsize=7, ncol=2)
    panels = [(axes[1], [("median_ttft", "median TTFT", "o-")], "median TTFT (s)"),
              (axes[2], [("p99_tbt", "p99 TBT", "o-"), ("median_first_gap", "median first gap", "s:")], "seconds")]
    for ax, metrics, ylabel in panels:
        for k, (metric, label, style) in enumerate(metrics):
            color = f"C{2 * k}"
            x, y, err = _spread(dis, metric)
            ax.errorbar(x, y, err, fmt=style, color=color, capsize=3, label=f"split: {label}")
            over = dis[dis.overloaded].groupby("n_prefill")[metric].median()
            ax.plot(over.index, over.to_numpy(), "x", color="C3", ms=9, mew=2,
                    label="overloaded split (fluid capacity < load)" if k == 0 else None)
            ax.axhline(col[metric].median(), color=color, ls="--", lw=1, label=f"8 colocated: {label}")
        ax.set(xlabel="prefill replicas P (of 8)", ylabel=ylabel, yscale="log",
               title=f"{' / '.join(m[1] for m in metrics)} at {LOAD:g} req/s")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), fontsize=7, ncol=2)
    return fig
