"""Maximum serving capacity: the largest arrival rate that meets a latency criterion.

Units: requests/s (QPS), seconds. Every trial simulates the same seeded
workload (same lengths, classes and standardised inter-arrivals, scaled to the
trial's QPS: common random numbers), and the search brackets then bisects
until the bracket is within ``rel_tol`` (2.5%) of its lower end.

Criteria (spec "The paper's experiment"):

* ``"paper"``: median TTFT <= 0.5 s and, for each SLO class, the p99 of the
  class's TBT gaps <= the class's TBT target;
* ``"sarathi"``: Sarathi-Serve's, median scheduling delay <= 2 s and the same
  per-class p99 TBT condition;
* or any callable ``f(SimulationResult) -> bool``.

Both named criteria also require that the run keeps up with its arrivals: at
the last arrival, the requests that have received their first token hold at
least ``keep_up`` (95%) of the prompt tokens of all requests (a backlog
measured in work, not in requests). Without it a finite run can pass the median
conditions while overloaded: shortest-prompt-first serves most requests
quickly while a growing queue of long prompts starves, so Sarathi-Serve's
median-delay criterion alone reports SPF schedulers at several times lambda*.
"""

from dataclasses import dataclass

import numpy as np

from .metrics import kept_up_share, token_gaps
from .simulation import simulate
from .workloads import DEFAULT_SLO_CLASSES, poisson_workload

__all__ = ["CapacityResult", "capacity_search", "max_capacity", "criterion_stats", "meets_criterion"]


def criterion_stats(result):
    """Median TTFT, median scheduling delay (s) and per-class p99 TBT (s) of a result.

    Returns
    -------
    dict
        ``kept_up`` (share of the served requests' prompt tokens whose
        request had its first token by the last arrival), ``ttft_p50``, ``scheduling_delay_p50``,
        ``tbt_p99`` (tuple, one per class; NaN for a class without gaps),
        ``tbt_gaps`` (tuple, finite gaps per class) and ``tbt_slo`` (tuple).
    """
    r = result.requests
    served = r["served"].to_numpy()
    gaps, owner = token_gaps(result.token_offsets, result.token_times)
    cls = r["slo_class_id"].to_numpy()[owner]
    counts = tuple(int(np.count_nonzero(cls == k)) for k in range(len(result.classes)))
    p99 = tuple(float(np.percentile(gaps[cls == k], 99)) if counts[k] else np.nan
                for k in range(len(result.classes)))
    arrival = r["arrival"].to_numpy()
    return {
        "kept_up": kept_up_share(arrival, r["prompt_tokens"].to_numpy(), arrival + r["ttft"].to_numpy(), served),
        "ttft_p50": float(np.median(r["ttft"].to_numpy()[served])),
        "scheduling_delay_p50": float(np.median(r["scheduling_delay"].to_numpy()[served])),
        "tbt_p99": p99,
        "tbt_gaps": counts,
        "tbt_slo": tuple(c.tbt for c in result.classes),
    }


def meets_criterion(result, criterion="paper", ttft_target=0.5, delay_target=2.0, keep_up=0.95):
    """Whether a simulation result meets ``criterion`` (see the module docstring)."""
    if callable(criterion):
        return bool(criterion(result))
    s = criterion_stats(result)
    # a class passes with no gaps at all, never with a NaN percentile of its gaps
    tbt_ok = s["kept_up"] >= keep_up and all(n == 0 or p <= slo
                                             for p, n, slo in zip(s["tbt_p99"], s["tbt_gaps"], s["tbt_slo"]))
    if criterion == "paper":
        return tbt_ok and s["ttft_p50"] <= ttft_target
    if criterion == "sarathi":
        return tbt_ok and s["scheduling_delay_p50"] <= delay_target
    raise ValueError(f"criterion must be 'paper', 'sarathi' or a callable, got {criterion!r}")


@dataclass(frozen=True)
class CapacityResult:
    """Outcome of a capacity search.

    Attributes
    ----------
    capacity : float
        Largest tried QPS that met the criterion (0.0 if none did).
    upper : float
        Smallest tried QPS that failed it (inf if none did).
    trials : tuple of (qps, met)
        Every simulated rate in order.
    converged : bool
        Whether ``(upper - capacity) / capacity <= rel_tol``.
    """

    capacity: float
    upper: float
    trials: tuple
    scheduler: str
    criterion: object
    converged: bool

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(list(self.trials), columns=["qps", "met"])


def capacity_search(scheduler, prompt_tokens, output_tokens, *, criterion="paper", n_requests=16384, seed=0,
                    qps_start=1.0, rel_tol=0.025, cap_factor=3.0, slo_classes=DEFAULT_SLO_CLASSES,
                    latency=None, max_trials=40, qps_min=1e-3, qps_max=1e4, ttft_target=0.5,
                    delay_target=2.0, **simulate_params):
    """Find the largest QPS meeting ``criterion`` by bracketing and bisection.

    Parameters
    ----------
    scheduler : str
    prompt_tokens, output_tokens : int (m,)
        Length pairs to draw requests from (e.g. ``sharegpt4()``).
    criterion : {"paper", "sarathi"} or callable
    n_requests : int
        Requests per trial (16,384 in the paper).
    seed : int
        One seed for every trial (common random numbers).
    qps_start : float
        First rate tried; the bracket doubles or halves from it.
    rel_tol : float
        Stop when ``(upper - lower) / lower <= rel_tol``.
    cap_factor : float or None
        Poisson inter-arrival cap in multiples of the mean (3.0 in the paper).
    **simulate_params
        Passed to ``simulate``: token_budget, kv_capacity_tokens, n_replicas,
        the testbed's rules (kv_watermark, append_rule, token_convention,
        warmup_requests, max_model_len), scheduler parameters, ...

    Returns
    -------
    CapacityResult
    """
    if not (callable(criterion) or criterion in ("paper", "sarathi")):
        raise ValueError(f"criterion must be 'paper', 'sarathi' or a callable, got {criterion!r}")
    for name, v in (("qps_start", qps_start), ("rel_tol", rel_tol), ("qps_min", qps_min), ("qps_max", qps_max)):
        if not np.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
    trials = []
    simulate_params.setdefault("warn_overload", False)  # overloaded trials are part of the search

    def met(qps):
        wl = poisson_workload(prompt_tokens, output_tokens, qps, n_requests, seed=seed, cap_factor=cap_factor,
                              slo_classes=slo_classes)
        ok = meets_criterion(simulate(wl, scheduler, latency, **simulate_params), criterion, ttft_target,
                             delay_target)
        trials.append((float(qps), bool(ok)))
        return ok

    lo, hi = 0.0, np.inf
    qps = float(qps_start)
    while len(trials) < max_trials:
        if met(qps):
            lo = qps
            if qps >= qps_max:
                break
            qps = min(2 * qps, qps_max) if hi == np.inf else 0.5 * (lo + hi)
        else:
            hi = qps
            if lo == 0.0:
                if qps <= qps_min:
                    break
                qps = max(qps / 2, qps_min)
            else:
                qps = 0.5 * (lo + hi)
        if lo > 0 and hi < np.inf and (hi - lo) / lo <= rel_tol:
            break
    converged = lo > 0 and hi < np.inf and (hi - lo) / lo <= rel_tol
    return CapacityResult(lo, hi, tuple(trials), scheduler, criterion, converged)


def max_capacity(scheduler, prompt_tokens, output_tokens, **kwargs):
    """Largest QPS (requests/s) meeting the criterion; see :func:`capacity_search`."""
    return capacity_search(scheduler, prompt_tokens, output_tokens, **kwargs).capacity
