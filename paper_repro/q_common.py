"""Shared pieces of the LLM-scheduling studies: the paper's workload and one simulation point.

Units: seconds, tokens, requests/s.
"""

from __future__ import annotations

from functools import lru_cache

import queueing as q

#: (scheduler name, label) in the order of the paper's legend, plus RAD.
SCHEDULERS = [
    ("sarathi", "Sarathi-Serve (FCFS)"),
    ("sarathi-spf", "Sarathi-Serve (SPF)"),
    ("vllm", "vLLM"),
    ("slai-fcfs-fixed", "SLAI (FCFS, fixed offset)"),
    ("slai-spf-fixed", "SLAI (SPF, fixed offset)"),
    ("slai", "SLAI (SPF, dynamic offset)"),
    ("slai-priority", "SLAI (SPF + priority, dynamic offset)"),
    ("rad", "RAD"),
]
LABELS = dict(SCHEDULERS)


@lru_cache(maxsize=1)
def lengths():
    """The shipped ShareGPT4 (prompt, output) token counts."""
    return q.sharegpt4()


def workload(qps: float, n_requests: int, seed: int):
    """The paper's workload: shuffled ShareGPT4 pairs, Poisson arrivals with inter-arrivals capped
    at 3x the mean, each request strict (TBT SLO 0.1 s) with probability 0.05 else relaxed (0.5 s)."""
    prompt, output = lengths()
    return q.poisson_workload(prompt, output, qps, n_requests, seed=seed, cap_factor=3.0)


#: ``simulate`` options a sweep point may set; absent ones keep the testbed's defaults.
RULE_OPTIONS = ("kv_watermark", "append_rule", "token_convention", "warmup_requests")


def evaluate(**point) -> dict:
    """Per-class TTFT and TBT statistics of one (scheduler, qps) point.

    ``point`` keys: scheduler, qps, n_requests, seed, and optionally any of ``RULE_OPTIONS``.
    """
    w = workload(point["qps"], point["n_requests"], point["seed"])
    rules = {k: point[k] for k in RULE_OPTIONS if k in point}
    summary = q.simulate(w, scheduler=point["scheduler"], warn_overload=False, **rules).summary()
    out = {}
    for cls in summary.index:
        for col in ("ttft_p50", "ttft_mean", "ttft_p99", "tbt_p99", "scheduling_delay_p50", "throughput_rps"):
            out[f"{cls}_{col}"] = float(summary.loc[cls, col])
    return out
