"""LLM scheduling theory: where "rad", Sarathi-Serve and the spec's alternating RAD coincide and differ.

Parameters: ShareGPT4 lengths, token budget 512 (four tiles of 128), at most
128 active requests, the rules the fluid model assumes (``queueing.FLUID_RULES``),
Poisson arrivals without a cap. Left: capacity of each variant, measured as
the service rate (first tokens per second) over the second half of a run at
1.25 times its fluid capacity (4,000 requests per run, 2 seeds; full: 16,384,
3 seeds; dots one seed each), next to its fluid capacity (bar; hatched where
the fluid model has no term for the variant). Three settings: the calibrated
Mistral-7B / RTX 6000 Ada model with its per-iteration intercepts and ample
KV (10^7 tokens); the same model at the default KV capacity (235,728 tokens,
KV pressure); and the intercept-free tile model (13.4 ms per 128-row tile,
the calibrated model's time per tile at 512 rows) with ample KV. Variants:
"rad" (the co-scheduling reconstruction), Sarathi-Serve FCFS (it coincides
with "rad" at these settings, request by request: stated in the figure),
"rad" with a 5% KV reserve, Sarathi-Serve at a budget of 500 (not a multiple
of the tile), and "rad-alternating" (the spec's literal RAD: prefill-only
batches of 512 rows, decode-only batches of one tile). Right: the prefill
backlog of "rad-alternating" on the intercept-free model at 0.97 and 1.03
times its fluid capacity (= lambda* there), 8,192 requests per run (full:
the 30,731 of ShareGPT4), with the fluid model's linear growth over the
second half of the run (dashed, from the simulated backlog at its start: the
realised arrival rate minus the fluid capacity of the lengths served there,
the comparison of ``tests/queueing/test_rad_alternating.py``). Within a
setting every variant serves the same requests (common random numbers).
Why: the paper proves RAD throughput-optimal; this shows under which latency
model the spec's description of it is, and why the toolkit's "rad" puts the
decodes in the prefill batches instead.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import queueing as q

from .q_common import lengths
from .q_rad_stability import backlog_curve
from layerq.sweep import config_seed

BIG_KV = 10**7
#: (setting, label, scheduler, simulate parameters, fluid policy or None, fluid parameters)
VARIANTS = [
    ("calibrated, KV ample", "rad", "rad", {}, "rad", {}),
    ("calibrated, KV ample", "Sarathi-Serve", "sarathi", {}, "sarathi", {}),
    ("calibrated, KV ample", "rad-alternating", "rad-alternating", {}, "rad-alternating", {}),
    ("calibrated, KV 235,728", "rad", "rad", {}, "rad", {}),
    ("calibrated, KV 235,728", "Sarathi-Serve", "sarathi", {}, "sarathi", {}),
    ("calibrated, KV 235,728", "rad, KV reserve 5%", "rad", {"kv_reserve": 0.05}, None, {}),
    ("calibrated, KV 235,728", "rad-alternating", "rad-alternating", {}, "rad-alternating", {}),
    ("intercept-free tiles, KV ample", "rad", "rad", {}, "rad", {}),
    ("intercept-free tiles, KV ample", "Sarathi-Serve B=500", "sarathi", {"token_budget": 500}, "sarathi",
     {"token_budget": 500}),
    ("intercept-free tiles, KV ample", "rad-alternating", "rad-alternating", {}, "rad-alternating", {}),
]
STABILITY_FACTORS = [0.97, 1.03]


def _setting(setting):
    latency = q.intercept_free_tile_latency() if setting.startswith("intercept-free") else None
    kv = 235_728 if "235,728" in setting else BIG_KV
    return latency, kv


def _capacity_rows(quick):
    prompt, output = lengths()
    n, seeds = (4_000, [0, 1]) if quick else (16_384, [0, 1, 2])
    rows = []
    for setting, label, scheduler, params, fluid_name, fluid_params in VARIANTS:
        latency, kv = _setting(setting)
        # a variant the fluid model has no term for is loaded at its base scheduler's capacity
        fluid = q.fluid_capacity(fluid_name or scheduler, prompt, output, latency, kv_capacity_tokens=kv,
                                 **fluid_params)
        for seed in seeds:
            s = config_seed({"study": "q_rad_variants", "setting": setting, "seed": seed})
            w = q.poisson_workload(prompt, output, 1.25 * fluid, n, seed=s)
            res = q.simulate(w, scheduler, latency, kv_capacity_tokens=kv, warn_overload=False, **q.FLUID_RULES,
                             **params)
            win = q.simulated_window(res.requests, 0.5, 1.0)
            rows.append({"panel": "capacity", "setting": setting, "variant": label, "scheduler": scheduler,
                         "seed": seed, "n_requests": n, "fluid": fluid if fluid_name else np.nan,
                         "simulated": win.service_rate, "min_backlog": win.min_backlog,
                         "preemptions": int(res.requests["n_preemptions"].sum()),
                         "ttft_sum": float(res.requests["ttft"].sum())})
    return rows


def _stability_rows(quick):
    prompt, output = lengths()
    latency = q.intercept_free_tile_latency()
    capacity = q.fluid_capacity("rad-alternating", prompt, output, latency, kv_capacity_tokens=BIG_KV)
    n = 8_192 if quick else prompt.size
    frames = []
    for factor in STABILITY_FACTORS:
        rate = factor * capacity
        w = q.poisson_workload(prompt, output, rate, n, seed=config_seed({"study": "q_rad_variants", "f": factor}))
        requests = q.simulate(w, "rad-alternating", latency, kv_capacity_tokens=BIG_KV, warn_overload=False,
                              **q.FLUID_RULES).requests
        grid = np.linspace(0.0, float(requests["arrival"].max()), 200)
        win = q.simulated_window(requests, 0.5, 1.0)
        # fluid growth on this sample path: the realised arrival rate minus the fluid capacity of the
        # lengths served in the window (what the tests compare)
        served = q.fluid_capacity("rad-alternating", w.prompt_tokens[win.served], w.output_tokens[win.served],
                                  latency, kv_capacity_tokens=BIG_KV)
        frames.append(pd.DataFrame({
            "panel": "stability", "factor": factor, "rate": rate, "fluid": capacity, "time": grid,
            "backlog_sim": backlog_curve(requests, grid),
            "backlog_fluid": np.where(grid >= win.t0, backlog_curve(requests, np.array([win.t0]))[0]
                                      + max(win.arrival_rate - served, 0.0) * (grid - win.t0), np.nan),
            "growth_sim": win.growth, "growth_fluid": max(win.arrival_rate - served, 0.0)}))
    return frames


def compute(quick: bool = True):
    return pd.concat([pd.DataFrame(_capacity_rows(quick))] + _stability_rows(quick), ignore_index=True)


def _coinciding(cap, setting, a, b):
    """Whether variants ``a`` and ``b`` of ``setting`` gave identical runs at every seed."""
    rows = cap[cap["setting"] == setting]
    x, y = rows[rows["variant"] == a], rows[rows["variant"] == b]
    return len(x) > 0 and np.array_equal(x[["simulated", "ttft_sum"]].to_numpy(), y[["simulated", "ttft_sum"]].to_numpy())


def plot(table):
    cap = table[table["panel"] == "capacity"]
    stab = table[table["panel"] == "stability"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5.6), gridspec_kw={"width_ratios": [1.6, 1]})
    x, ticks, labels, notes = 0.0, [], [], []
    for k, (setting, group) in enumerate(cap.groupby("setting", sort=False)):
        first = x
        for label, rows in group.groupby("variant", sort=False):
            fluid = rows["fluid"].iloc[0]
            ax1.plot([x - 0.3, x + 0.3], [fluid, fluid], color="k", lw=2,
                     label="fluid capacity" if x == 0 else None)
            ax1.plot(np.full(len(rows), x), rows["simulated"], "o", color=f"C{k}", ms=5,
                     label="simulated, one dot per seed" if x == 0 else None)
            if len(rows) > 1 and np.ptp(rows["simulated"]) < 0.002 * rows["simulated"].mean():
                notes.append(f"{setting}, {label}: the {len(rows)} seeds' dots overlap "
                             f"({', '.join(f'{v:.4f}' for v in rows['simulated'])})")
            recomputes = rows["preemptions"].mean()
            ticks.append(x)
            labels.append(label + (f"\n({recomputes:.0f} recomputes)" if "235,728" in setting else ""))
            x += 1
        if _coinciding(cap, setting, "rad", "Sarathi-Serve"):
            notes.append(f"{setting}: rad and Sarathi-Serve give identical runs, request by request, at every seed "
                         "(the dots coincide)")
        ax1.text((first + x - 1) / 2, 1.01, setting, ha="center", va="bottom", fontsize=7.5, color=f"C{k}",
                 transform=ax1.get_xaxis_transform())
        x += 0.6
    notes.append("rad with a KV reserve has no fluid term (no black line)")
    lo, hi = cap[["fluid", "simulated"]].min().min(), cap[["fluid", "simulated"]].max().max()
    ax1.set_xticks(ticks, labels, rotation=35, ha="right", fontsize=7.5)
    ax1.set(ylabel="capacity (requests/s)", ylim=(lo - 0.1 * (hi - lo), hi + 0.15 * (hi - lo)))
    ax1.legend(loc="lower left", fontsize=7.5)
    for i, (factor, sub) in enumerate(stab.groupby("factor")):
        ax2.plot(sub["time"], sub["backlog_sim"], color=f"C{i}",
                 label=f"{factor:.2f} x capacity: growth {sub['growth_sim'].iloc[0]:+.3f}/s "
                       f"(fluid {sub['growth_fluid'].iloc[0]:+.3f}/s)")
        ax2.plot(sub["time"], sub["backlog_fluid"], color=f"C{i}", ls="--", lw=1)
    ax2.set(xlabel="time (s)", ylabel="prefill backlog (requests)",
            title=f"rad-alternating, intercept-free tiles: fluid capacity {stab['fluid'].iloc[0]:.3f} req/s "
                  "= lambda*\n(dashed: fluid growth over the second half, from its start)")
    ax2.legend(loc="upper left")
    fig.text(0.01, 0.01, "\n".join(notes), ha="left", va="bottom", fontsize=7.5)
    fig.tight_layout(rect=(0, 0.03 * len(notes) + 0.01, 1, 1))
    return fig
