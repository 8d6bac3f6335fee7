"""LLM scheduling theory: RAD is stable just below its fluid capacity and diverges just above it.

Parameters: ShareGPT4 lengths, the default latency model, token budget 512
(four tiles of 128), KV capacity 235,728 tokens, at most 128 active requests,
RAD (``"rad"``) with its default parameters, which at these settings builds
the same batches as Sarathi-Serve FCFS, so the curves are Sarathi-Serve's too
(``queueing.sched_rad`` says when they differ; ``q_rad_variants`` shows it
and the spec's alternating RAD), under the rules the fluid model assumes
(``queueing.FLUID_RULES``: no KV watermark, a block only when a decode needs
one, the prefill emits the first token); Poisson arrivals (no cap on inter-arrivals,
so the fluid model's rate is the simulated rate) at 0.90, 0.97, 1.03 and 1.10
times RAD's fluid capacity; 32,768 requests per run (quick: 8,192). Plotted:
the prefill backlog (requests arrived but without a first token) over time
in simulation, and the fluid model's linear growth ``max(0, lambda -
capacity)`` for comparison. The paper proves throughput optimality; its
experiment is not public, so this is the check the spec asks for.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import queueing as q

from .q_common import lengths
from layerq.sweep import config_seed

FACTORS = [0.90, 0.97, 1.03, 1.10]


def backlog_curve(requests, grid):
    """Requests that have arrived by each time of ``grid`` but not yet received their first token."""
    arrivals = np.sort(requests["arrival"].to_numpy())
    first = np.sort((requests["arrival"] + requests["ttft"]).to_numpy())
    return np.searchsorted(arrivals, grid, side="right") - np.searchsorted(first, grid, side="right")


def compute(quick: bool = True):
    prompt, output = lengths()
    capacity = q.fluid_capacity("rad", prompt, output)
    n = 8_192 if quick else 32_768
    rows = []
    for factor in FACTORS:
        rate = factor * capacity
        seed = config_seed({"study": "q_rad_stability", "factor": factor})
        w = q.poisson_workload(prompt, output, rate, n, seed=seed)
        requests = q.simulate(w, scheduler="rad", warn_overload=False, **q.FLUID_RULES).requests
        horizon = float(requests["arrival"].max())
        grid = np.linspace(0.0, horizon, 200)
        fluid_growth = q.fluid.fluid_growth_rate("rad", rate, prompt, output)
        rows.append(pd.DataFrame({
            "factor": factor, "rate": rate, "capacity": capacity, "time": grid,
            "backlog_sim": backlog_curve(requests, grid), "backlog_fluid": fluid_growth * grid,
        }))
    return pd.concat(rows, ignore_index=True)


def plot(table):
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, (factor, sub) in enumerate(table.groupby("factor")):
        color = f"C{i}"
        ax.plot(sub["time"], sub["backlog_sim"], color=color, label=f"{factor:.2f} x capacity (simulation)")
        ax.plot(sub["time"], sub["backlog_fluid"], color=color, ls="--", lw=1)
    ax.set(xlabel="time (s)", ylabel="prefill backlog (requests)",
           title=f"RAD around its fluid capacity {table['capacity'].iloc[0]:.3f} req/s (dashed: fluid model)\n"
                 "(rad builds the same batches as Sarathi-Serve FCFS here: the curves are both)")
    ax.legend()
    return fig
