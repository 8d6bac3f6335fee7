"""``simulate``: run a workload through a named scheduler on the jitted engine.

Units: seconds, tokens. See ``queueing.engine`` for the model and
``queueing.registry`` for the scheduler names.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from .engine import ROUTERS, Config, Spec, run_engine
from .kv import DEFAULT_BLOCK_SIZE, DEFAULT_KV_CAPACITY_TOKENS
from .latency import default_latency
from .metrics import request_tbt_stats, summarize
from .registry import get_scheduler
from .roofline import resolve_hardware
from .workloads import Workload

__all__ = ["simulate", "SimulationResult"]


@dataclass(frozen=True)
class SimulationResult:
    """Outcome of one simulation.

    Attributes
    ----------
    requests : pandas.DataFrame
        One row per request (id order = arrival order): ``arrival``,
        ``prompt_tokens``, ``output_tokens``, ``slo_class``, ``slo_class_id``,
        ``tbt_slo``, ``replica``, ``served``, ``first_scheduled``,
        ``scheduling_delay``, ``ttft``, ``e2e``, ``tpot``, ``p99_tbt``,
        ``max_tbt``, ``finish``, ``n_preemptions``.
    iterations : pandas.DataFrame
        One row per batch: ``start``, ``end``, ``replica``, ``prefill_tokens``,
        ``decodes``, ``decode_context_tokens``, ``kv_blocks_used``, ``active``.
    token_offsets, token_times : numpy.ndarray
        Per-token record in CSR form: request i's output tokens were emitted
        at ``token_times[token_offsets[i]:token_offsets[i + 1]]`` (s).
    batches : pandas.DataFrame or None
        With ``record_batches=True``: one row per batch entry: ``iteration``,
        ``request``, ``tokens`` (prefill chunk size, or 1 for a decode),
        ``kind`` ("prefill"/"decode").
    """

    requests: object
    iterations: object
    token_offsets: np.ndarray
    token_times: np.ndarray
    classes: tuple
    scheduler: str
    params: dict
    wall_time: float
    batches: object = None
    _summary: list = field(default_factory=list, repr=False, compare=False)

    def summary(self):
        """Per-class metrics table (see ``queueing.metrics.summarize``); cached."""
        if not self._summary:
            self._summary.append(summarize(self.requests, self.token_offsets, self.token_times, self.classes))
        return self._summary[0]

    def tbt(self, i):
        """TBT gaps (s) of request ``i``, float64 (D - 1,)."""
        return np.diff(self.token_times[self.token_offsets[i]:self.token_offsets[i + 1]])


def _positive_int(v, name, minimum=1):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {v!r}")
    return int(v)


def simulate(workload, scheduler="slai", latency=None, *, token_budget=512, max_active=128,
             max_decodes=128, kv_capacity_tokens=None, block_size=DEFAULT_BLOCK_SIZE,
             n_replicas=1, router="round_robin", max_prefill_tokens=8192, on_unservable="error",
             check_invariants=False, record_batches=False, max_iterations=None, model=None, gpu=None,
             tensor_parallel=1, **scheduler_params):
    """Simulate serving ``workload`` with ``scheduler``.

    Parameters
    ----------
    workload : Workload
    scheduler : str
        A registered name (``queueing.registry.scheduler_names()``).
    latency : latency model, optional
        Defaults to ``queueing.latency.default_latency()``.
    token_budget : int
        Tokens per batch (chunked-prefill schedulers), >= 1.
    max_active : int
        Cap on admitted (KV-holding) requests per replica.
    max_decodes : int
        Cap on decodes per batch (SLAI).
    kv_capacity_tokens : int, optional
        KV memory per replica, tokens; ``kv_capacity_tokens // block_size``
        blocks. Default: derived from ``model`` and ``gpu`` when given, else
        235,728 (Mistral-7B on a 48 GB card).
    block_size : int
        Tokens per KV block.
    n_replicas : int
    router : {"round_robin", "least_outstanding", "least_work"}
    max_prefill_tokens : int
        vLLM's cap on batched prompt tokens.
    on_unservable : {"error", "flag"}
        A request whose prompt plus output can never fit in one replica's KV
        memory raises ``ValueError`` ("error") or is reported with
        ``served=False`` and NaN metrics ("flag").
    check_invariants : bool
        Check KV, budget, active-cap, batch and time invariants on every
        iteration (slower); a violation raises ``RuntimeError``.
    record_batches : bool
        Keep every batch entry (``result.batches``).
    max_iterations : int, optional
        Stop with ``RuntimeError`` after this many iterations.
    model, gpu : optional
        A model and GPU (names, ``config.json`` path or dicts; see
        ``queueing.models()`` and ``queueing.gpus()``): the latency model is
        then their roofline (``queueing.roofline_latency``) and the KV
        capacity is derived from them. Both or neither; not with ``latency``.
    tensor_parallel : int
        GPUs per replica (with ``model`` and ``gpu``).
    **scheduler_params
        The scheduler's own parameters (``SchedulerSpec.params``), e.g.
        ``theta_low``, ``theta_high``, ``kv_threshold`` for SLAI.

    Returns
    -------
    SimulationResult
    """
    import pandas as pd

    if not isinstance(workload, Workload):
        raise ValueError(f"workload must be a queueing Workload, got {type(workload).__name__}")
    sspec, driver = get_scheduler(scheduler)
    latency, kv_capacity_tokens = resolve_hardware(latency, kv_capacity_tokens, model, gpu, tensor_parallel,
                                                   DEFAULT_KV_CAPACITY_TOKENS)
    lat = default_latency() if latency is None else latency
    if not hasattr(lat, "kernel_params"):
        raise ValueError(f"latency must be a queueing latency model, got {type(lat).__name__}")
    token_budget = _positive_int(token_budget, "token_budget")
    max_active = _positive_int(max_active, "max_active")
    max_decodes = _positive_int(max_decodes, "max_decodes")
    block_size = _positive_int(block_size, "block_size")
    kv_capacity_tokens = _positive_int(kv_capacity_tokens, "kv_capacity_tokens", block_size)
    n_replicas = _positive_int(n_replicas, "n_replicas")
    max_prefill_tokens = _positive_int(max_prefill_tokens, "max_prefill_tokens")
    if router not in ROUTERS:
        raise ValueError(f"router must be one of {sorted(ROUTERS)}, got {router!r}")
    if on_unservable not in ("error", "flag"):
        raise ValueError(f"on_unservable must be 'error' or 'flag', got {on_unservable!r}")
    known = dict(sspec.params)
    unknown = sorted(set(scheduler_params) - set(known))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown} for scheduler {scheduler!r}; "
                         f"it accepts {sorted(known)} besides simulate's own")
    sp = np.array([float(scheduler_params.get(k, v)) for k, v in sspec.params] or [0.0])
    if not np.all(np.isfinite(sp)):
        raise ValueError(f"scheduler parameters must be finite, got {scheduler_params}")
    max_iterations = (np.iinfo(np.int64).max if max_iterations is None
                      else _positive_int(max_iterations, "max_iterations"))

    n_blocks = kv_capacity_tokens // block_size
    p = workload.prompt_tokens
    d = workload.output_tokens
    need = (p + d - 1 + block_size - 1) // block_size  # blocks at the last decode / any recompute
    rejected = need > n_blocks
    if rejected.any() and on_unservable == "error":
        i = int(np.flatnonzero(rejected)[0])
        raise ValueError(f"request {i} can never be served: prompt {p[i]} + output {d[i]} tokens need "
                         f"{need[i]} KV blocks but a replica has {n_blocks} (kv_capacity_tokens="
                         f"{kv_capacity_tokens}); {int(rejected.sum())} such requests "
                         "(pass on_unservable='flag' to report them instead)")
    tbt = workload.tbt_slo
    rank = np.unique(tbt, return_inverse=True)[1].astype(np.int64)
    spec = Spec(workload.arrival, p, tbt, rank)
    kind, lparams = lat.kernel_params()
    cfg = Config(token_budget, max_active, max_decodes, max_prefill_tokens, block_size, n_blocks,
                 n_replicas, ROUTERS[router], sspec.queue_policy, sspec.variant, int(kind),
                 np.asarray(lparams, np.float64), sp, int(bool(check_invariants)), int(sspec.uses_budget),
                 int(bool(record_batches)), int(max_iterations))
    t0 = time.perf_counter()
    st, rec = run_engine(driver, spec, d, cfg, rejected)
    wall = time.perf_counter() - t0

    p99, mx = request_tbt_stats(rec.tok_off, rec.tok_time, 99.0)
    names = np.array([c.name for c in workload.classes], dtype=object)
    a = workload.arrival
    ttft = st.first_token - a
    e2e = st.finish - a
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(d > 1, (e2e - ttft) / (d - 1), np.nan)
    requests = pd.DataFrame({
        "arrival": a, "prompt_tokens": p, "output_tokens": d, "slo_class": names[workload.slo_class],
        "slo_class_id": workload.slo_class, "tbt_slo": tbt, "replica": st.replica, "served": ~rejected,
        "first_scheduled": st.first_sched, "scheduling_delay": st.first_sched - a, "ttft": ttft,
        "e2e": e2e, "tpot": tpot, "p99_tbt": p99, "max_tbt": mx, "finish": st.finish,
        "n_preemptions": st.n_preempt,
    })
    m = int(rec.n_it[0])
    iterations = pd.DataFrame({
        "start": rec.it_start[:m], "end": rec.it_end[:m], "replica": rec.it_replica[:m],
        "prefill_tokens": rec.it_prefill[:m], "decodes": rec.it_decodes[:m],
        "decode_context_tokens": rec.it_ctx[:m], "kv_blocks_used": rec.it_kv_used[:m],
        "active": rec.it_active[:m],
    })
    batches = None
    if record_batches:
        e = int(rec.n_e[0])
        batches = pd.DataFrame({"iteration": rec.e_iter[:e], "request": rec.e_req[:e], "tokens": rec.e_tok[:e],
                                "kind": np.where(rec.e_decode[:e] == 1, "decode", "prefill")})
    params = dict(token_budget=token_budget, max_active=max_active, max_decodes=max_decodes,
                  kv_capacity_tokens=kv_capacity_tokens, block_size=block_size, n_replicas=n_replicas,
                  router=router, max_prefill_tokens=max_prefill_tokens, latency=lat,
                  **{k: float(v) for k, v in zip(known, sp)})
    return SimulationResult(requests, iterations, rec.tok_off, rec.tok_time, workload.classes, scheduler,
                            params, wall, batches)
