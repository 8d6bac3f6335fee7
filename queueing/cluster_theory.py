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
  ``r <= min(B_d, max_active) / E[D-1]`` and ``r <= kv_capacity / E[A_kv]``
  (the KV-limited decode population), and it sustains
  ``mu_d = r / (g(r E[D-1]) + c r E[A])`` at the largest feasible ``r``.
  When KV sets ``r``, the replica runs with its memory full and pays for
  decode growth with recompute (a decode that needs a block preempts the
  newest request, which later re-prefills on the same replica): as for vLLM
  in :mod:`queueing.fluid`, the recomputed tokens equal the KV growth,
  ``E[D-1]`` per request. Sarathi-Serve runs them in chunks of the budget
  the decodes leave, ``B_d - d`` rows with ``d = r E[D-1]``, in a fraction
  ``beta = d / (B_d - d)`` of the iterations (equation (2) of
  :mod:`queueing.theory`): ``mu_d = r / (beta g(B_d) + (1 - beta) g(d) + c r E[A])``.
  (Measured on ShareGPT4, 2:1 at 1.3x capacity: 0.17 preemptions and 362
  recomputed tokens per request against ``E[D-1] = 436``, mean iteration
  67.9 ms against 69.6 ms predicted);
* each prefill replica's **link** sends ``E[P] * kv_bytes_per_token`` bytes
  per request: ``mu_link = bandwidth / (E[P] kv_bytes_per_token)``;
* the split sustains ``min(P mu_p, P mu_link, D mu_d)``; P + D colocated
  replicas sustain ``(P + D) lambda*`` (:func:`queueing.theory.lambda_star`).

Assumptions: the router spreads load evenly; the prefill replicas' KV is not
the bottleneck (they hold a request's KV from its admission until its
transfer ends, a few requests each unless the decode side binds); the decode
replicas' KV is a long-run average (its fluctuations cost a little
throughput near capacity, as for one replica).
"""

from dataclasses import asdict, dataclass

import numpy as np

from . import theory as _th

__all__ = ["SplitCapacity", "prefill_replica_rate", "decode_replica_rate", "split_capacity",
           "split_capacity_table"]


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
    binding = min(limits, key=limits.get)

    def iteration(r, recompute):
        d = r * mom.mean_decodes
        t = c * r * mom.mean_context
        if not recompute:
            return float(g(d) + t)
        # memory full: E[D-1] recompute rows per request, in chunks of the budget left by the decodes
        beta = min(1.0, d / max(B - d, 1e-300))
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
