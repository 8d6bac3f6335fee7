"""Capacity planning from the theory: budgets, chunk sizes and replica counts.

Units: seconds, tokens, requests/s. Answers three planner questions with the
model of :mod:`queueing.theory` (lambda* of equation (1)):

* :func:`plan_capacity`: lambda* for a latency model and workload (with the
  best budget when none is given);
* :func:`best_token_budget`: the token budget (a multiple of the tile) and the
  prefill chunk size that maximise lambda*, optionally under a TBT SLO;
* :func:`replicas_needed`: how many replicas a target QPS needs under a TBT SLO;
* :func:`best_pd_split`: the best split of ``n`` replicas into prefill and
  decode replicas (:mod:`queueing.cluster_theory`), against the same replicas
  colocated, under a TBT SLO;
* :func:`cluster_capacity`: the fluid capacity of a given cluster (replica
  groups and link, as :func:`queueing.simulate_cluster` takes them).

SLO model (assumption): every decoding request emits one token per
iteration (RAD, Sarathi-Serve), so its time between tokens is the iteration
time; near capacity every iteration is a full batch lasting
``t_B = g(B) + c B E[A] / W``, so a TBT SLO of ``s`` seconds admits only budgets
with ``t_B <= s``. TTFT has no fluid counterpart: queueing delay grows
without bound as the load approaches lambda*, so replicas are sized to run at
most ``utilization`` (default 0.9) of lambda*; check the result with
:func:`queueing.simulate`.
"""

from dataclasses import asdict, dataclass

import numpy as np

from . import theory as _th

__all__ = ["BudgetPlan", "ReplicaPlan", "SplitPlan", "plan_capacity", "best_token_budget", "replicas_needed",
           "best_pd_split", "cluster_capacity"]


@dataclass(frozen=True)
class BudgetPlan:
    """Best budget for a tile size.

    Attributes
    ----------
    token_budget : int
        Rows per iteration (a multiple of ``tile``).
    chunk_size : int
        Prefill tokens per iteration at capacity, ``B - E[decodes per iteration]``
        rounded down to whole tokens (the mean prompt chunk; Sarathi-Serve's
        "chunk size" setting is the token budget itself).
    capacity : float
        lambda* at that budget (requests/s).
    iteration_time : float
        Full-batch iteration time at capacity (s), the TBT near capacity.
    tile : int
    table : pandas.DataFrame
        Every candidate budget: ``token_budget``, ``capacity``,
        ``iteration_time``, ``binding``, ``meets_slo``.
    """

    token_budget: int
    chunk_size: int
    capacity: float
    iteration_time: float
    tile: int
    table: object

    def to_frame(self):
        return self.table


@dataclass(frozen=True)
class ReplicaPlan:
    """Replicas for a target rate.

    Attributes
    ----------
    replicas : int
    per_replica_capacity : float
        lambda* of one replica at ``token_budget`` (requests/s).
    token_budget : int
    utilization : float
        Load per replica at the target rate, ``target / (replicas * capacity)``.
    """

    replicas: int
    per_replica_capacity: float
    token_budget: int
    utilization: float

    def to_dict(self):
        return asdict(self)


def _positive(name, value):
    v = float(value)
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def best_token_budget(prompt_tokens, output_tokens=None, latency=None, tile=128, max_budget=4096,
                      tbt_slo=None, max_active=_th.DEFAULT_MAX_ACTIVE,
                      kv_capacity_tokens=None, block_tokens=_th.DEFAULT_BLOCK_TOKENS, *, model=None, gpu=None,
                      tensor_parallel=1):
    """The tile-multiple budget with the largest lambda* (under a TBT SLO if given).

    Parameters
    ----------
    prompt_tokens, output_tokens : array_like of int, shape (n,)
        Length samples (or :class:`queueing.theory.WorkloadMoments`).
    latency : latency model or None
    tile : int
        Tile size (tokens); candidates are ``tile, 2 tile, ..., <= max_budget``.
    max_budget : int
        Largest budget considered (tokens), >= ``tile``.
    tbt_slo : float or None
        Seconds; budgets whose full-batch iteration exceeds it are excluded.
    model, gpu, tensor_parallel :
        Instead of ``latency``: the roofline of ``model`` on ``tensor_parallel``
        x ``gpu``, and the KV capacity derived from them (see ``queueing.simulate``).

    Returns
    -------
    BudgetPlan

    Raises
    ------
    ValueError
        On bad sizes, or when no budget meets the SLO.
    """
    import pandas as pd

    from .roofline import resolve_hardware

    latency, kv_capacity_tokens = resolve_hardware(latency, kv_capacity_tokens, model, gpu, tensor_parallel,
                                                   _th.DEFAULT_KV_CAPACITY_TOKENS)
    tile = _th._positive_int("tile", tile)
    max_budget = _th._positive_int("max_budget", max_budget)
    if max_budget < tile:
        raise ValueError(f"max_budget ({max_budget}) must be >= tile ({tile})")
    if tbt_slo is not None:
        tbt_slo = _positive("tbt_slo", tbt_slo)
    mom = _th._moments(prompt_tokens, output_tokens, block_tokens)
    _th._check_memory_possible(prompt_tokens, kv_capacity_tokens, block_tokens)
    rows = []
    for B in range(tile, max_budget + 1, tile):
        res = _th.lambda_star(mom, latency=latency, token_budget=B, tile=tile, max_active=max_active,
                              kv_capacity_tokens=kv_capacity_tokens, block_tokens=block_tokens)
        ok = tbt_slo is None or res.iteration_time <= tbt_slo
        rows.append((B, res.rate, res.iteration_time, res.binding, ok, res.batch_tokens - res.decoding))
    table = pd.DataFrame(rows, columns=["token_budget", "capacity", "iteration_time", "binding",
                                        "meets_slo", "chunk"])
    feasible = table[table.meets_slo]
    if feasible.empty:
        raise ValueError(f"no token budget that is a multiple of {tile} up to {max_budget} meets "
                         f"tbt_slo = {tbt_slo} s (the smallest full batch takes "
                         f"{table.iteration_time.min():.4g} s)")
    best = feasible.loc[feasible.capacity.idxmax()]
    return BudgetPlan(int(best.token_budget), int(np.floor(best.chunk)), float(best.capacity),
                      float(best.iteration_time), tile, table.drop(columns="chunk"))


def plan_capacity(prompt_tokens, output_tokens=None, latency=None, token_budget=None, tile=128, **memory):
    """lambda* (requests/s) of one replica: at ``token_budget``, or at the best budget if None.

    ``memory`` is passed on (``max_active``, ``kv_capacity_tokens``, ``block_tokens``).
    Returns a :class:`queueing.theory.CapacityResult`.
    """
    if token_budget is None:
        token_budget = best_token_budget(prompt_tokens, output_tokens, latency, tile, **memory).token_budget
    return _th.lambda_star(prompt_tokens, output_tokens, latency, token_budget, tile, **memory)


def replicas_needed(target_qps, prompt_tokens, output_tokens=None, latency=None, tbt_slo=0.1, tile=128,
                    utilization=0.9, max_budget=4096, **memory):
    """Replicas needed to serve ``target_qps`` with every replica below ``utilization`` of lambda*.

    Parameters
    ----------
    target_qps : float
        Total arrival rate (requests/s), > 0; split evenly by the router.
    tbt_slo : float or None
        TBT target (s) that the full-batch iteration must meet (see module docstring).
    utilization : float
        Highest planned load per replica, in (0, 1].

    Returns
    -------
    ReplicaPlan
    """
    lam = _positive("target_qps", target_qps)
    rho = _positive("utilization", utilization)
    if rho > 1:
        raise ValueError(f"utilization must be in (0, 1], got {utilization!r}")
    plan = best_token_budget(prompt_tokens, output_tokens, latency, tile, max_budget, tbt_slo, **memory)
    n = int(np.ceil(lam / (rho * plan.capacity) - 1e-12))
    n = max(n, 1)
    return ReplicaPlan(n, plan.capacity, plan.token_budget, lam / (n * plan.capacity))


@dataclass(frozen=True)
class SplitPlan:
    """Best prefill:decode split of ``n`` replicas, and the colocated alternative.

    Attributes
    ----------
    n_prefill, n_decode : int
    capacity : float
        Fluid capacity of the split (requests/s).
    binding : str
        ``"prefill"``, ``"link"`` or ``"decode"``.
    colocated_capacity : float
        ``n`` colocated replicas at their best token budget under the SLO (requests/s).
    colocated_token_budget : int
    table : pandas.DataFrame
        Every split (:func:`queueing.cluster_theory.split_capacity_table`).
    """

    n_prefill: int
    n_decode: int
    capacity: float
    binding: str
    colocated_capacity: float
    colocated_token_budget: int
    table: object

    @property
    def colocated_gain(self):
        """Colocated over disaggregated capacity."""
        return self.colocated_capacity / self.capacity


def best_pd_split(n_replicas, prompt_tokens, output_tokens=None, latency=None, tbt_slo=None, tile=128,
                  max_budget=4096, **split):
    """The prefill:decode split of ``n_replicas`` with the largest fluid capacity under a TBT SLO.

    SLO model: a decode replica's iteration is its requests' time between
    tokens, so its decode population is capped where the iteration reaches
    ``tbt_slo`` (:func:`queueing.cluster_theory.decode_replica_rate`); prefill
    replicas emit no later tokens; the KV transfer adds ``E[P] kv_bytes / bandwidth
    + latency`` to the first gap only, which the SLO model leaves out (a p99
    TBT over many tokens is set by the decode iterations). Colocated replicas
    run the best tile-multiple budget that meets the SLO (:func:`best_token_budget`).

    Parameters
    ----------
    n_replicas : int, >= 2
    prompt_tokens, output_tokens : array_like of int, shape (n,)
    latency : latency model or None
    tbt_slo : float or None
        Seconds.
    tile, max_budget : int
        Colocated budgets considered (tokens).
    **split
        Passed to :func:`queueing.cluster_theory.split_capacity`
        (``bandwidth``, ``kv_bytes_per_token``, ``prefill_budget``,
        ``decode_budget``, ``max_active``, ``kv_capacity_tokens``, ...).

    Returns
    -------
    SplitPlan
    """
    from .cluster_theory import split_capacity_table

    if tbt_slo is not None:
        tbt_slo = _positive("tbt_slo", tbt_slo)
    table = split_capacity_table(n_replicas, prompt_tokens, output_tokens, latency, tbt_slo=tbt_slo, **split)
    best = table.loc[table["rate"].idxmax()]
    memory = {k: split[k] for k in ("max_active", "kv_capacity_tokens", "block_tokens") if k in split}
    plan = best_token_budget(prompt_tokens, output_tokens, latency, tile, max_budget, tbt_slo,
                             kv_capacity_tokens=memory.pop("kv_capacity_tokens", _th.DEFAULT_KV_CAPACITY_TOKENS),
                             **memory)
    colocated = int(n_replicas) * plan.capacity
    table["colocated_rate"] = colocated
    table["colocated_gain"] = colocated / table["rate"]
    return SplitPlan(int(best.n_prefill), int(best.n_decode), float(best.rate), str(best.binding), colocated,
                     plan.token_budget, table)


def _group_hardware(group):
    """(latency model or None, KV tokens) of a ReplicaGroup, as the cluster simulation resolves them."""
    from .roofline import resolve_hardware

    return resolve_hardware(group.latency, group.kv_capacity_tokens, group.model, group.gpu, group.tensor_parallel,
                            _th.DEFAULT_KV_CAPACITY_TOKENS)


def cluster_capacity(groups, prompt_tokens, output_tokens=None, link=None, tbt_slo=None):
    """Fluid capacity (requests/s) of a cluster of colocated replicas, or of prefill and decode replicas.

    The theory twin of :func:`queueing.simulate_cluster` for the same
    ``groups`` and ``link``: colocated replicas sustain ``n lambda*``
    (:func:`queueing.theory.lambda_star` at the group's budget, active cap
    and KV); a P:D split sustains :func:`queueing.cluster_theory.split_capacity`
    (the slowest of the prefill replicas, their links and the decode
    replicas). Both assume chunked prefills within the token budget
    (Sarathi-Serve's batches) and an even router; a cluster mixing colocated
    and disaggregated replicas has no such model.

    Parameters
    ----------
    groups : list of queueing.cluster.ReplicaGroup
    prompt_tokens, output_tokens : array_like of int, shape (n,)
    link : queueing.cluster.Link, optional
        Its ``bandwidth`` and ``kv_bytes_per_token`` (default: the prefill
        group's model's) bound the prefill stage; its latency does not.
    tbt_slo : float, optional
        Seconds; see :func:`queueing.cluster_theory.decode_replica_rate`.

    Returns
    -------
    dict
        ``replicas``, ``rate`` (requests/s), ``binding`` and
        ``colocated_rate`` (the same number of replicas colocated, with the
        settings of the first group), plus for a split the other fields of
        :class:`queueing.cluster_theory.SplitCapacity`.

    Raises
    ------
    ValueError
        For a cluster that mixes colocated and prefill/decode replicas.
    """
    from .cluster import DEFAULT_MODEL, Link, kv_bytes_per_token
    from .cluster_theory import split_capacity

    roles = {g.role for g in groups}
    first = {r: next(g for g in groups if g.role == r) for r in roles}
    n = {r: sum(g.count for g in groups if g.role == r) for r in roles}
    if roles == {"colocated"}:
        g = first["colocated"]
        latency, kv = _group_hardware(g)
        res = _th.lambda_star(prompt_tokens, output_tokens, latency, g.token_budget, max_active=g.max_active,
                              kv_capacity_tokens=kv)
        rate = n["colocated"] * res.rate
        return dict(replicas=n["colocated"], rate=rate, binding=res.binding, colocated_rate=rate)
    if roles != {"prefill", "decode"}:
        raise ValueError(f"cluster_capacity models a cluster of colocated replicas or of prefill and decode "
                         f"replicas, not one with roles {sorted(roles)}")
    link = Link() if link is None else link
    pg, dg = first["prefill"], first["decode"]
    kv_bytes = link.kv_bytes_per_token
    if kv_bytes is None:
        kv_bytes = kv_bytes_per_token(pg.model if pg.model is not None else DEFAULT_MODEL)
    p_latency, p_kv = _group_hardware(pg)
    d_latency, d_kv = _group_hardware(dg)
    res = split_capacity(n["prefill"], n["decode"], prompt_tokens, output_tokens, p_latency,
                         bandwidth=link.bandwidth, kv_bytes_per_token=kv_bytes, prefill_budget=pg.token_budget,
                         decode_budget=dg.token_budget, max_active=dg.max_active, kv_capacity_tokens=p_kv,
                         decode_latency=d_latency, decode_kv_capacity_tokens=d_kv, tbt_slo=tbt_slo)
    return dict(replicas=n["prefill"] + n["decode"], **res.to_dict())
