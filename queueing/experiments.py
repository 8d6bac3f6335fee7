"""Ready-made sweep tasks: one serving simulation, cluster simulation or capacity search per call.

These are what ``queueing sweep CONFIG.toml`` runs by name (``task =
"serve"``, ``"cluster"`` or ``"capacity"``) and what a grid passed to
:func:`queueing.sweep` can use directly; each returns a dict of numbers.
Units: seconds, tokens, bytes/s, requests/s.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["make_workload", "serve_experiment", "cluster_experiment", "capacity_experiment", "WORKLOADS"]

#: Shipped workloads by name; any other name is read as a CSV file of lengths.
WORKLOADS = ("sharegpt4", "azure")


@lru_cache(maxsize=4)
def _lengths(source, prompt_column, output_column, arrival_column):
    """(arrivals or None, prompt tokens, output tokens) of a shipped workload or a CSV file."""
    from .workloads import azure_conv, read_lengths_csv, sharegpt4

    if source == "sharegpt4":
        return (None, *sharegpt4())
    if source == "azure":
        return azure_conv()
    return read_lengths_csv(source, prompt_column, output_column, arrival_column)


def make_workload(source="sharegpt4", *, qps=None, n_requests=None, seed=0, cap_factor=3.0,
                  prompt_column="num_prefill_tokens", output_column="num_decode_tokens", arrival_column=None,
                  time_scale=1.0):
    """A workload from shipped lengths or a CSV, with Poisson arrivals or the file's own arrival times.

    Parameters
    ----------
    source : str
        ``"sharegpt4"``, ``"azure"`` (the Azure conversation trace 2023) or
        the path of a CSV with one row per request.
    qps : float, optional
        Poisson arrival rate (requests/s; inter-arrivals capped at
        ``cap_factor`` times the mean). Without it the source's own arrival
        times are used (``azure``, or a CSV with ``arrival_column``), scaled
        by ``time_scale``.
    n_requests : int, optional
        Requests drawn (default 2048 with ``qps``; all of the trace without).
    seed : int
        Seed of the draw of lengths, arrivals and SLO classes.
    prompt_column, output_column, arrival_column : str
        CSV column names (arrival times in seconds).

    Returns
    -------
    Workload
    """
    from .workloads import poisson_workload, trace_workload

    arrivals, prompt, output = _lengths(str(source), prompt_column, output_column, arrival_column)
    if qps is not None:
        return poisson_workload(prompt, output, qps, 2048 if n_requests is None else n_requests, seed=seed,
                                cap_factor=cap_factor)
    if arrivals is None:
        raise ValueError(f"workload {str(source)!r} has no arrival times: give qps (requests/s)"
                         + ("" if source in WORKLOADS else " or arrival_column"))
    n = arrivals.size if n_requests is None else min(int(n_requests), arrivals.size)
    return trace_workload(arrivals[:n], prompt[:n], output[:n], seed=seed, time_scale=time_scale)


def serve_experiment(scheduler, qps, *, n_requests=2048, workload="sharegpt4", seed=0, **simulate_params):
    """Serve a Poisson workload with ``scheduler``; per-class latency statistics as flat columns.

    Parameters
    ----------
    scheduler : str
        A name of ``queueing.scheduler_names()``.
    qps : float
        Arrival rate (requests/s).
    n_requests : int
    workload : str
        See :func:`make_workload`.
    seed : int
        Seed of the workload (a sweep fills it from the configuration).
    **simulate_params
        Passed to ``queueing.simulate`` (token_budget, max_active, ...).

    Returns
    -------
    dict
        ``<class>_<statistic>`` for every class of the summary (``all``,
        ``strict``, ``relaxed``) and statistic (``ttft_p50``, ``tbt_p99``,
        ``throughput_rps``, ...; see ``queueing.metrics.summarize``).
    """
    from .simulation import simulate

    w = make_workload(workload, qps=qps, n_requests=n_requests, seed=seed)
    return _flat_summary(simulate(w, scheduler, **simulate_params).summary())


def _flat_summary(summary):
    return {f"{cls}_{col}": float(summary.loc[cls, col]) for cls in summary.index for col in summary.columns
            if col != "tbt_slo"}


#: Per-group columns of ``ClusterResult.group_summary()`` that ``cluster_experiment`` returns.
GROUP_COLUMNS = ("utilization", "kv_peak", "transfers", "transfer_wait_p50", "transfer_p50", "transfer_p99")


def cluster_experiment(groups, qps, *, router="round_robin", decode_router="round_robin", bandwidth=float("inf"),
                       link_latency=0.0, kv_bytes_per_token=None, n_requests=2048, workload="sharegpt4", seed=0,
                       router_seed=0, **group_defaults):
    """Serve a Poisson workload on a cluster; per-class statistics, first gaps and per-group load.

    Parameters
    ----------
    groups : str
        Replica groups as ``queueing cluster --groups`` reads them
        (:func:`queueing.cluster_spec.parse_groups`), e.g. ``"prefill:2,decode:2"``.
    qps : float
        Arrival rate (requests/s).
    router, decode_router, router_seed :
        See :func:`queueing.simulate_cluster`.
    bandwidth, link_latency, kv_bytes_per_token :
        The :class:`queueing.cluster.Link` (bytes/s, s, bytes).
    n_requests, workload, seed :
        As in :func:`serve_experiment`.
    **group_defaults
        Settings of the groups that do not name them (``scheduler``,
        ``token_budget``, ``model``, ``gpu``, ...).

    Returns
    -------
    dict
        The columns of :func:`serve_experiment`; ``first_gap_p50`` and
        ``first_gap_p99`` (s, the gap from the first to the second token,
        which carries the KV transfer; :func:`queueing.metrics.first_gaps`);
        and ``g<k>_<column>`` for every group ``k`` and column of
        ``GROUP_COLUMNS`` (``ClusterResult.group_summary()``).
    """
    import numpy as np

    from .cluster import Link, simulate_cluster
    from .cluster_spec import parse_groups
    from .metrics import first_gaps

    w = make_workload(workload, qps=qps, n_requests=n_requests, seed=seed)
    res = simulate_cluster(w, parse_groups(groups, **group_defaults),
                           link=Link(bandwidth, link_latency, kv_bytes_per_token), router=router,
                           decode_router=decode_router, router_seed=router_seed)
    gaps = first_gaps(res.token_offsets, res.token_times)
    out = _flat_summary(res.summary())
    out.update(first_gap_p50=float(np.percentile(gaps, 50)) if gaps.size else float("nan"),
               first_gap_p99=float(np.percentile(gaps, 99)) if gaps.size else float("nan"))
    for row in res.group_summary().itertuples():
        out.update({f"g{row.group}_{col}": float(getattr(row, col)) for col in GROUP_COLUMNS})
    return out


def capacity_experiment(scheduler, *, criterion="paper", n_requests=2048, workload="sharegpt4", seed=0,
                        **simulate_params):
    """Largest arrival rate meeting ``criterion`` (``queueing.capacity_search``).

    Returns
    -------
    dict
        ``capacity`` and ``upper`` (requests/s, the bracket), ``trials``, ``converged``.
    """
    from .capacity import capacity_search

    _, prompt, output = _lengths(str(workload), "num_prefill_tokens", "num_decode_tokens", None)
    res = capacity_search(scheduler, prompt, output, criterion=criterion, n_requests=n_requests, seed=seed,
                          **simulate_params)
    return {"capacity": res.capacity, "upper": res.upper, "trials": len(res.trials), "converged": res.converged}
