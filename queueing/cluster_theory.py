"""Fluid capacity of a disaggregated P:D split next to P + D colocated replicas.

Units: seconds, tokens, bytes, requests/s. The twin of :func:`queueing.cluster.simulate_cluster`
under the fluid rules (``queueing.FLUID_RULES``: no KV watermark, a new block
only when a decode needs one, the prefill emits the first token), built on
the single-replica theory of :mod:`queueing.theory` (its notation: ``g`` the
row cost, ``c`` the per-context-token attention cost, ``E[P]``, ``E[D-1]``,
``E[A]``, ``E[A_kv]``):

* a **prefill replica** runs batches of up to ``B_p`` prompt rows and no
  decodes; ``r`` requests per iteration cost ``g(r E[P])``, so it sustains
  ``mu_p = max_{n <= B_p} (n / E[P]) / g(n)`` requests/s (at ``n = B_p`` when
  ``g(n)/n`` does not increase);
* a **decode replica** runs every admitted request's decode each iteration;
  with ``r`` requests completing per iteration, Little's law puts
  ``r E[D-1]`` requests in decode holding ``r E[A_kv]`` KV tokens, so
  ``r <= min(B_d, max_active) / E[D-1]`` and, when its memory is full,
  ``r`` is set by the KV-bound decode law below; it sustains
  ``mu_d = r / (g(r E[D-1]) + c r E[A])`` (not KV-bound) or, with the
  recompute of preempted requests run in chunks of the budget the decodes
  leave, ``B_d - d`` rows with ``d = r E[D-1]``, in a fraction
  ``beta = r x / (B_d - d)`` of the iterations (equation (2) of
  :mod:`queueing.theory`), ``mu_d = r / (beta g(B_d) + (1 - beta) g(d) + c r E[A])``;
* each prefill replica's **link** sends ``E[P] * kv_bytes_per_token`` bytes
  per request: ``mu_link = bandwidth / (E[P] kv_bytes_per_token)``;
* the split sustains ``min(P mu_p, P mu_link, D mu_d)``; P + D colocated
  replicas sustain ``(P + D) lambda*`` (:func:`queueing.theory.lambda_star`).

KV-bound decode law (:func:`kv_bound_decode`), derived from the cluster
engine's rules (``queueing.cluster_engine``, ``queueing.kv``,
``queueing._batching``): a decode replica admits the head of its FIFO queue,
a whole prompt of ``b = ceil(P / block)`` blocks, whenever it fits; each
decode that fills its last block takes a free one, and when none is free it
preempts the newest active request, which frees all its blocks, waits at the
head of the queue (no new request is admitted meanwhile) and re-prefills its
prompt and generated tokens on that replica. In a steady state with the
memory full:

* **what admission leaves free.** The admitted prompts cut the memory into
  a renewal sequence of block counts ``b``; the free blocks a completion
  leaves once the queue's heads are admitted, ``L``, are what the head that
  does not fit lacks: by the inspection paradox that head is drawn in
  proportion to ``b P(b)`` and ``L`` is uniform on ``0 .. b - 1``, so
  ``P(L = l) = P(b > l) / E[b]`` and ``E[L] = E[b (b - 1)] / (2 E[b])``.
  Between two completions the decodes add ``G = E[ceil((P + D - 1) / block)
  - ceil(P / block)]`` blocks (the KV balance of one request), taken from
  ``L``: the memory holds ``E[L] - G / 2`` free blocks on average;
* **preemptions.** A completion's interval preempts when its growth exceeds
  the leftover, with probability ``pi = P(L < G) = E[min(b, G)] / E[b]`` per
  request (``WorkloadMoments.preempt_share``); the victim, the request
  admitted last, has decoded little and re-prefills about its prompt, so
  ``x = pi E[P]`` rows per request are recomputed (the earlier law charged
  the whole KV growth, ``E[D-1]``, i.e. ``block G``; ``x`` is about ``block E[min(b, G)]``,
  that growth cut at each victim's size);
* **memory held by re-prefills.** A victim holds its ``P`` tokens during the
  ``P / (B_d - d) + 1/2`` iterations of its chunks: ``pi r (E[P^2] / (B_d - d)
  + E[P] / 2)`` tokens on average;
* **throughput.** The decoding requests hold the rest:
  ``r E[A_kv] = kv_capacity - block (E[L] - G / 2) - pi r (E[P^2] / (B_d - d) + E[P] / 2)``,
  solved for ``r``.

On ShareGPT4 with the default model (2:1 at 1.3x capacity, 16,384
requests): 0.18 preemptions and 381 recomputed rows per request against
``pi = 0.160`` and ``x = 372`` (the earlier law, ``x = E[D-1]``: 436), 139
free blocks against 117, the decodes' KV 98.7% of the memory against 98.9%.
Simulated capacity over this law with the served requests' lengths: 0.996 ..
1.005 for the 1:1, 2:1 and 3:1 splits, seeds 1-3 (recomputed rows 0.96 ..
1.07 x, completions per iteration 0.997 .. 1.001 r; the earlier law on the
same lengths: 1.008 .. 1.017); with the whole run's lengths 0.977 .. 1.016,
the sampling spread of ``E[A_kv]`` over 16,384 requests
(``tests/queueing/test_cluster.py``).

Assumptions: the router spreads load evenly; the prefill replicas' KV is not
the bottleneck (they hold a request's KV from its admission until its
transfer ends, a few requests each unless the decode side binds); the
fluid rules (no watermark: a watermark leaves that many more blocks free and
preempts only past it); prompts of many blocks next to ``G`` (``E[L] > G / 2``)
and one preemption per interval at most; the active cap well above the
KV-bound population (where the two limits are within a few percent the
population alternates between them, preempts less and runs faster than this
law: 5.7% faster with uniform lengths and limits 1.7% apart); prefills that
end in arrival order. The victim is the newest request by arrival, the last
admitted only in that order: with many lightly loaded prefill replicas a
later short prompt overtakes earlier long ones, the victims are short and
the recompute smaller (7:1 at 1.3x, 4,096 requests: victims' mean prompt
1,381 tokens against 2,298, recompute 0.72 .. 0.79 x, capacity 1.8 .. 2.5%
above this law); once the prefill replicas' memory is full of KV waiting for
the decode side, as late in a long overloaded run, the order returns (7:1 at
16,384 requests: 0.92 x, +0.6%).
"""

from dataclasses import asdict, dataclass

import numpy as np

from . import theory as _th

__all__ = ["SplitCapacity", "KVBoundDecode", "prefill_replica_rate", "kv_bound_decode", "decode_replica_rate",
           "split_capacity", "split_capacity_table"]


@dataclass(frozen=True)
class SplitCapacity:
    """Fluid capacity of ``n_prefill`` prefill and ``n_decode`` decode replicas.

    Attributes
    ----------
    n_prefill, n_decode : int
    rate : float
        ``min(P mu_p, P mu_link, D mu_d)`` (requests/s).
    binding : str
        ``"prefill"``, ``"link"`` or ``"decode"``.
    prefill_rate, link_rate, decode_rate : float
        ``mu_p``, ``mu_link``, ``mu_d`` per replica (requests/s).
    decode_binding : str
        What limits the decode population: ``"budget"``, ``"max_active"`` or ``"kv"``.
    colocated_rate : float
        ``(P + D) lambda*``: the same replicas colocated (requests/s).
    """

    n_prefill: int
    n_decode: int
    rate: float
    binding: str
    prefill_rate: float
    link_rate: float
    decode_rate: float
    decode_binding: str
    colocated_rate: float

    def to_dict(self):
        return asdict(self)


def prefill_replica_rate(prompt_tokens, output_tokens=None, latency=None, token_budget=_th.DEFAULT_TOKEN_BUDGET,
                         block_tokens=_th.DEFAULT_BLOCK_TOKENS):
    """``mu_p``: requests/s one prefill-only replica sustains with batches of <= ``token_budget`` rows."""
    B = _th._positive_int("token_budget", token_budget)
    mom = _th._moments(prompt_tokens, output_tokens, block_tokens)
    g, _ = _th.latency_parts(latency)
    n = np.arange(1, B + 1, dtype=np.float64)
    return float(np.max(n / mom.mean_prompt / g(n)))


@dataclass(frozen=True)
class KVBoundDecode:
    """Steady state of a decode replica with its KV memory full (module docstring, KV-bound decode law).

    Attributes
    ----------
    per_iteration : float
        ``r``, requests completed per iteration.
    decoding : float
        ``d = r E[D-1]``, decodes per iteration.
    preemptions : float
        ``pi``, recompute preemptions per request.
    recompute_tokens : float
        ``x = pi E[P]``, prompt rows re-prefilled per request (tokens).
    free_tokens : float
        KV left free on average, ``block (E[L] - G / 2)`` (tokens).
    reprefill_tokens : float
        KV held by requests re-prefilling, on average (tokens).
    decode_kv_tokens : float
        ``r E[A_kv]``, KV held by the decoding requests (tokens).
    """

    per_iteration: float
    decoding: float
    preemptions: float
    recompute_tokens: float
    free_tokens: float
    reprefill_tokens: float
    decode_kv_tokens: float

    def to_dict(self):
        return asdict(self)


def kv_bound_decode(prompt_tokens, output_tokens=None, token_budget=_th.DEFAULT_TOKEN_BUDGET,
                    kv_capacity_tokens=_th.DEFAULT_KV_CAPACITY_TOKENS, block_tokens=_th.DEFAULT_BLOCK_TOKENS):
    """The KV-bound decode law: a decode replica's steady state with its memory full.

    Parameters
    ----------
    prompt_tokens, output_tokens : array_like of int, shape (n,)
        Length samples, or a :class:`queueing.theory.WorkloadMoments` from
        :func:`queueing.theory.workload_moments`.
    token_budget, kv_capacity_tokens, block_tokens : int
        The decode replica's budget ``B_d`` (rows), KV (tokens) and block size (tokens).

    Returns
    -------
    KVBoundDecode
        ``r`` solves ``r E[A_kv] = kv_capacity - free - pi r (E[P^2] / (B_d - r E[D-1]) + E[P] / 2)``.
    """
    B = _th._positive_int("token_budget", token_budget)
    block = _th._positive_int("block_tokens", block_tokens)
    mom = _th._moments(prompt_tokens, output_tokens, block)
    _th._memory_limits(mom, 1, kv_capacity_tokens)  # validates kv_capacity_tokens
    _th._check_memory_possible(prompt_tokens, kv_capacity_tokens, block)
    if not np.isfinite(mom.preempt_share):
        raise ValueError("the KV-bound decode law needs length samples or workload_moments(...) of them "
                         "(these WorkloadMoments lack preempt_share)")
    pi = mom.preempt_share
    free = block * max(mom.prompt_block_residual - mom.mean_growth_blocks / 2, 0.0)
    dec = max(mom.mean_decodes, 1e-300)

    def reprefill(r):
        return pi * r * (mom.mean_prompt_sq / (B - r * dec) + mom.mean_prompt / 2) if pi > 0 else 0.0

    kv = float(kv_capacity_tokens) - free
    lo, hi = 0.0, min(B / dec, kv / max(mom.mean_kv, 1e-300))
    for _ in range(200):  # the memory used grows with r
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if mid * mom.mean_kv + reprefill(mid) <= kv else (lo, mid)
    return KVBoundDecode(lo, lo * mom.mean_decodes, pi, pi * mom.mean_prompt, free, reprefill(lo), lo * mom.mean_kv)


def decode_replica_rate(prompt_tokens, output_tokens=None, latency=None, token_budget=_th.DEFAULT_TOKEN_BUDGET,
                        max_active=_th.DEFAULT_MAX_ACTIVE, kv_capacity_tokens=_th.DEFAULT_KV_CAPACITY_TOKENS,
                        block_tokens=_th.DEFAULT_BLOCK_TOKENS, tbt_slo=None):
    """``(mu_d, binding)``: requests/s one decode-only replica sustains and what limits its population.

    ``binding`` is ``"budget"``, ``"max_active"``, ``"kv"`` or, with
    ``tbt_slo`` (s), ``"tbt_slo"``: the population is then the largest whose
    iteration (its time between tokens) lasts at most ``tbt_slo``.
    """
    B = _th._positive_int("token_budget", token_budget)
    mom = _th._moments(prompt_tokens, output_tokens, block_tokens)
    _th._check_memory_possible(prompt_tokens, kv_capacity_tokens, block_tokens)
    g, c = _th.latency_parts(latency)
    dec = max(mom.mean_decodes, 1e-300)
    limits = {"budget": B / dec, **_th._memory_limits(mom, max_active, kv_capacity_tokens)}
    full = None
    if np.isfinite(limits["kv"]):
        full = kv_bound_decode(mom, token_budget=B, kv_capacity_tokens=kv_capacity_tokens, block_tokens=block_tokens)
        limits["kv"] = full.per_iteration
    binding = min(limits, key=limits.get)

    def iteration(r, recompute):
        d = r * mom.mean_decodes
        t = c * r * mom.mean_context
        if not recompute:
            return float(g(d) + t)
        # memory full: recompute rows in chunks of the budget left by the decodes
        beta = min(1.0, r * full.recompute_tokens / max(B - d, 1e-300))
        return float(beta * g(B) + (1 - beta) * g(d) + t)

    r = limits[binding]
    t = iteration(r, binding == "kv")
    if tbt_slo is not None and t > tbt_slo:
        if iteration(1e-9 / dec, False) > tbt_slo:
            raise ValueError(f"tbt_slo = {tbt_slo} s is below the shortest decode iteration "
                             f"({iteration(1e-9 / dec, False):.4g} s)")
        lo, hi = 0.0, r
        for _ in range(100):  # the iteration time grows with r
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if iteration(mid, False) <= tbt_slo else (lo, mid)
        r, t, binding = lo, iteration(lo, False), "tbt_slo"
    return float(r / t), binding


def split_capacity(n_prefill, n_decode, prompt_tokens, output_tokens=None, latency=None, *,
                   bandwidth=np.inf, kv_bytes_per_token=131072.0, prefill_budget=_th.DEFAULT_TOKEN_BUDGET,
                   decode_budget=_th.DEFAULT_TOKEN_BUDGET, max_active=_th.DEFAULT_MAX_ACTIVE,
                   kv_capacity_tokens=_th.DEFAULT_KV_CAPACITY_TOKENS, block_tokens=_th.DEFAULT_BLOCK_TOKENS,
                   decode_latency=None, decode_kv_capacity_tokens=None, tbt_slo=None):
    """Fluid capacity of a P:D split and of the same replicas colocated (module docstring).

    Parameters
    ----------
    n_prefill, n_decode : int, >= 1
    prompt_tokens, output_tokens : array_like of int, shape (n,)
        Length samples (or a :class:`queueing.theory.WorkloadMoments`).
    latency : latency model or None
        Of the prefill replicas (and of the decode ones unless ``decode_latency``).
    bandwidth : float
        Link bytes/s per prefill replica, > 0 (``inf``: no limit).
    kv_bytes_per_token : float
        KV bytes of one token (``queueing.cluster.kv_bytes_per_token(model)``).
    prefill_budget, decode_budget, max_active, kv_capacity_tokens, block_tokens :
        Replica settings (tokens, requests); the colocated comparison uses
        ``prefill_budget``, ``max_active`` and ``kv_capacity_tokens``.
    decode_latency, decode_kv_capacity_tokens : optional
        Decode replicas of another kind.
    tbt_slo : float, optional
        Seconds: decode replicas keep their iterations within it (their
        population shrinks); the colocated comparison does not apply it (see
        :func:`queueing.planner.best_pd_split`).

    Returns
    -------
    SplitCapacity
    """
    P = _th._positive_int("n_prefill", n_prefill)
    D = _th._positive_int("n_decode", n_decode)
    bw = float(bandwidth)
    if not bw > 0:
        raise ValueError(f"bandwidth must be > 0 bytes/s (inf for no limit), got {bandwidth!r}")
    if not (np.isfinite(kv_bytes_per_token) and kv_bytes_per_token > 0):
        raise ValueError(f"kv_bytes_per_token must be a finite number > 0, got {kv_bytes_per_token!r}")
    mom = _th._moments(prompt_tokens, output_tokens, block_tokens)
    mu_p = prefill_replica_rate(mom, latency=latency, token_budget=prefill_budget, block_tokens=block_tokens)
    mu_link = bw / (mom.mean_prompt * kv_bytes_per_token)
    dkv = kv_capacity_tokens if decode_kv_capacity_tokens is None else decode_kv_capacity_tokens
    _th._check_memory_possible(prompt_tokens, dkv, block_tokens)
    mu_d, dbind = decode_replica_rate(mom, latency=latency if decode_latency is None else decode_latency,
                                      token_budget=decode_budget, max_active=max_active, kv_capacity_tokens=dkv,
                                      block_tokens=block_tokens, tbt_slo=tbt_slo)
    stages = {"prefill": P * mu_p, "link": P * mu_link, "decode": D * mu_d}
    binding = min(stages, key=stages.get)
    colo = _th.lambda_star(mom, latency=latency, token_budget=prefill_budget, max_active=max_active,
                           kv_capacity_tokens=kv_capacity_tokens, block_tokens=block_tokens).rate
    return SplitCapacity(P, D, float(stages[binding]), binding, mu_p, float(mu_link), mu_d, dbind, (P + D) * colo)


def split_capacity_table(n_replicas, prompt_tokens, output_tokens=None, latency=None, **kwargs):
    """:func:`split_capacity` of every split ``P + D = n_replicas`` (``P, D >= 1``), as a DataFrame.

    Columns: the fields of :class:`SplitCapacity` and ``colocated_gain``
    (colocated over disaggregated capacity).
    """
    import pandas as pd

    n = _th._positive_int("n_replicas", n_replicas, 2)
    mom = _th._moments(prompt_tokens, output_tokens, kwargs.get("block_tokens", _th.DEFAULT_BLOCK_TOKENS))
    rows = [split_capacity(p, n - p, mom, latency=latency, **kwargs).to_dict() for p in range(1, n)]
    table = pd.DataFrame(rows)
    table["colocated_gain"] = table["colocated_rate"] / table["rate"]
    return table


def completion_window(requests, start=0.5, end=1.0):
    """Completions per second of a simulation in a window, to hold against :func:`split_capacity`.

    Parameters
    ----------
    requests : pandas.DataFrame
        ``simulate_cluster(...).requests`` (or ``simulate``'s): ``arrival``, ``finish``.
    start, end : float
        Window as fractions of the last arrival time, ``0 <= start < end``.

    Returns
    -------
    rate : float
        Requests finished in the window per second; at a load above capacity,
        the simulated capacity.
    served : ndarray of bool, shape (n,)
        The requests finished in the window (their lengths give the
        sample-path fluid capacity).
    """
    if not 0 <= start < end:
        raise ValueError(f"need 0 <= start < end, got start={start!r}, end={end!r}")
    last = float(np.max(requests["arrival"]))
    t0, t1 = start * last, end * last
    fin = np.asarray(requests["finish"], np.float64)
    served = (fin > t0) & (fin <= t1)
    return float(served.sum() / (t1 - t0)), served
