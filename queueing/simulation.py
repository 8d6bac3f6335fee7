"""``simulate``: run a workload through a named scheduler on the jitted engine.

Units: seconds, tokens. See ``queueing.engine`` for the model and
``queueing.registry`` for the scheduler names.
"""

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from .engine import ROUTERS, Config, Spec, run_engine
from .kv import APPEND_RULES, DEFAULT_BLOCK_SIZE, DEFAULT_KV_CAPACITY_TOKENS, DEFAULT_KV_WATERMARK
from .latency import default_latency, iteration_time_kernel
from .metrics import kept_up_share, request_tbt_stats, summarize
from .registry import check_scheduler_params, get_scheduler
from .roofline import resolve_hardware
from .workloads import Workload

TOKEN_CONVENTIONS = {"testbed": 1, "vllm": 0}  # -> cfg.prefill_silent
DEFAULT_MAX_MODEL_LEN = 8192  # the testbed's max_model_len (SLAI README / paper set-up)
# The rules the spec, the theory and the fluid model assume (and this engine's
# only rules before the testbed's were added): admission whenever the prompt's
# blocks are free, a new block only when a decode needs one, the prefill emits
# the first token. ``simulate(..., **FLUID_RULES)``.
FLUID_RULES = {"kv_watermark": 0.0, "append_rule": "when_needed", "token_convention": "vllm"}
OVERLOAD_KEPT_UP = 0.5  # below this share of prompt work served by the last arrival: overloaded
OVERLOAD_MIN_REQUESTS = 100  # (only runs this long: a burst of a few requests is not an overload)

__all__ = ["simulate", "SimulationResult", "FLUID_RULES", "servable_alone"]


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
        Per-token record in CSR form: ``token_times[token_offsets[i]:token_offsets[i + 1]]``
        (s) are request i's first-token time (TTFT) followed by the times of
        its later tokens; their gaps are its TBT gaps. With the testbed's token
        convention the first is the end of its prefill and D decode tokens
        follow (D + 1 times); with vLLM's it is the first of its D tokens.
    overloaded : bool
        True when, in a run of at least 100 served requests, less than half
        of the prompt work had received its first token at the last arrival
        (arrivals far beyond what the replicas serve; ``simulate`` also warns).
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
    overloaded: bool = False
    _summary: list = field(default_factory=list, repr=False, compare=False)

    def summary(self):
        """Per-class metrics table (see ``queueing.metrics.summarize``) with an ``overloaded`` column; cached."""
        if not self._summary:
            table = summarize(self.requests, self.token_offsets, self.token_times, self.classes)
            table["overloaded"] = self.overloaded
            self._summary.append(table)
        return self._summary[0]

    def tbt(self, i):
        """TBT gaps (s) of request ``i``, float64 (D - 1 + prefill_silent,)."""
        return np.diff(self.token_times[self.token_offsets[i]:self.token_offsets[i + 1]])


def _positive_int(v, name, minimum=1):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {v!r}")
    return int(v)


def _choice(v, name, options):
    if not isinstance(v, str) or v not in options:
        raise ValueError(f"{name} must be one of {sorted(options)}, got {v!r}")
    return options[v]


def router_uniforms(router, n, seed):
    """float64 (n, 4) uniforms for the power-of-two router (``None`` for the other routers)."""
    if router != "power_of_two":
        return None
    return np.random.default_rng(_positive_int(seed, "router_seed", 0)).random((n, 4))


def servable_alone(prompt, output, n_blocks, block_size, watermark_blocks, append_rule, prefill_silent):
    """Whether each request can complete alone on an empty replica (bool array).

    Admission needs ``ceil(P / block_size) + watermark_blocks <= n_blocks``;
    the decodes then hold at most ``P + D - 1`` tokens. Under the testbed's
    append rule (``"any_free"``) every decode also needs a free block before
    it runs, so the last block may be taken only by the last decode:
    ``P + D - 1 <= block_size * (n_blocks - 1) + 1``; under ``"when_needed"``
    ``P + D - 1 <= block_size * n_blocks``.
    """
    p = np.asarray(prompt, np.int64)
    d = np.asarray(output, np.int64)
    ok = (p + block_size - 1) // block_size + watermark_blocks <= n_blocks
    has_decode = d - 1 + prefill_silent > 0
    peak = p + d - 1
    limit = block_size * (n_blocks - 1) + 1 if append_rule == APPEND_RULES["any_free"] else block_size * n_blocks
    return ok & (~has_decode | (peak <= limit))


def result_tables(workload, st, rec, rejected, prefill_silent):
    """The ``requests`` and ``iterations`` tables of a finished run (see ``SimulationResult``)."""
    import pandas as pd

    d = workload.output_tokens
    p99, mx = request_tbt_stats(rec.tok_off, rec.tok_time, 99.0)
    names = np.array([c.name for c in workload.classes], dtype=object)
    a = workload.arrival
    ttft = st.first_token - a
    e2e = st.finish - a
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(d - 1 + prefill_silent > 0, (e2e - ttft) / (d - 1 + prefill_silent), np.nan)
    requests = pd.DataFrame({
        "arrival": a, "prompt_tokens": workload.prompt_tokens, "output_tokens": d,
        "slo_class": names[workload.slo_class], "slo_class_id": workload.slo_class, "tbt_slo": workload.tbt_slo,
        "replica": st.replica, "served": ~rejected, "first_scheduled": st.first_sched,
        "scheduling_delay": st.first_sched - a, "ttft": ttft, "e2e": e2e, "tpot": tpot, "p99_tbt": p99,
        "max_tbt": mx, "finish": st.finish, "n_preemptions": st.n_preempt,
    })
    m = int(rec.n_it[0])
    iterations = pd.DataFrame({
        "start": rec.it_start[:m], "end": rec.it_end[:m], "replica": rec.it_replica[:m],
        "prefill_tokens": rec.it_prefill[:m], "decodes": rec.it_decodes[:m],
        "decode_context_tokens": rec.it_ctx[:m], "kv_blocks_used": rec.it_kv_used[:m],
        "active": rec.it_active[:m],
    })
    return requests, iterations


def _warmup_durations(workload, k, cfg, lat):
    """Batch durations (s) of the workload's first ``k`` requests served one at a time on an empty replica.

    Each runs alone, so its batches do not depend on the scheduler's state:
    its prefill in chunks of the token budget (vLLM: whole), then one decode
    per iteration, timed with the engine's own kernel.
    """
    out = []
    kind, params = cfg.lat_kind, cfg.lat_params
    for i in range(k):
        p, d = int(workload.prompt_tokens[i]), int(workload.output_tokens[i])
        chunk = p if cfg.uses_budget == 0 else cfg.token_budget
        done = 0
        while done < p:
            c = min(chunk, p - done)
            out.append(iteration_time_kernel(kind, params, c, 0, 0, float(done)))
            done += c
        for k_dec in range(1, d + cfg.prefill_silent):
            out.append(iteration_time_kernel(kind, params, 0, 1, p + k_dec))
    return out


def simulate(workload, scheduler="slai", latency=None, *, token_budget=512, max_active=128,
             max_decodes=128, kv_capacity_tokens=None, block_size=DEFAULT_BLOCK_SIZE,
             n_replicas=1, router="round_robin", max_prefill_tokens=8192, max_model_len=DEFAULT_MAX_MODEL_LEN,
             kv_watermark=DEFAULT_KV_WATERMARK, append_rule="any_free", token_convention="testbed",
             warmup_requests=0, on_unservable="error", check_invariants=False, record_batches=False,
             max_iterations=None, warn_overload=True, model=None, gpu=None, tensor_parallel=1,
             router_seed=0, **scheduler_params):
    """Simulate serving ``workload`` with ``scheduler``.

    The four rules marked "testbed" default to the behaviour of the code the
    paper's experiments ran on, the SLAI fork of Sarathi-Serve
    (github.com/agrimUT/SLAI, commit 5098a7aba05e3edbcfa3a509d6cc9cd248fc4380);
    ``FLUID_RULES`` (``kv_watermark=0, append_rule="when_needed",
    token_convention="vllm"``) gives the rules of the fluid model and of this
    toolkit's earlier engine, whose numbers it reproduces exactly.

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
    router : {"round_robin", "least_outstanding", "least_work", "least_prefill_backlog", "power_of_two", "kv_least_loaded"}
        How arrivals pick a replica (``queueing.engine.pick_replica``).
    max_prefill_tokens : int
        vLLM's cap on batched prompt tokens (``max_num_batched_tokens``): a
        prefill batch stays within it, and a prompt longer than it is
        unservable (see ``on_unservable``). A recompute whose prompt plus
        generated tokens exceed it runs alone (the testbed would wait forever).
    max_model_len : int
        Longest request, prompt plus output tokens (testbed and vLLM: 8192;
        the testbed's request generator clips P + D to it and its scheduler
        ignores longer prompts). Longer requests are unservable.
    kv_watermark : float in [0, 1)
        Testbed (and vLLM v0) admission rule: a prompt is admitted only if
        ``int(kv_watermark * n_blocks)`` blocks stay free after allocating it
        (``can_allocate``; default 0.01, i.e. 147 of 14,733 blocks).
    append_rule : {"any_free", "when_needed"}
        Before a decode runs, the testbed (and vLLM v0) requires a free block
        and otherwise preempts, even when the decode needs none
        (``can_append_slot``: "any_free", default); "when_needed" asks only
        when the decode needs a new block.
    token_convention : {"testbed", "vllm"}
        "testbed" (default): the iteration that completes a prefill emits no
        token; the request's TTFT is the end of that iteration and it then
        runs D decodes, and a recompute restarts it (new TTFT, D fresh
        tokens). "vllm": the prefill emits the first token (mainstream vLLM's
        convention), D - 1 decodes follow, and a recompute's prefill emits
        the next token. See ``queueing.kv``.
    warmup_requests : int
        Before the workload, every replica serves the workload's first
        ``warmup_requests`` requests one at a time, alone; their batches count
        in the scheduler's running statistics (SLAI's mean batch time) and
        nowhere else. Default 0. The testbed's benchmark runner serves one
        (``BenchmarkRunner.warmup``) only in multi-replica launches.
    on_unservable : {"error", "flag"}
        A request that cannot complete even alone on an empty replica (KV
        memory with the watermark and append rule, ``max_model_len``, or
        vLLM's ``max_prefill_tokens``; see ``servable_alone``) raises
        ``ValueError`` ("error") or is reported with ``served=False`` and NaN
        metrics ("flag").
    check_invariants : bool
        Check KV, budget, active-cap, batch and time invariants on every
        iteration (slower); a violation raises ``RuntimeError``.
    record_batches : bool
        Keep every batch entry (``result.batches``).
    max_iterations : int, optional
        Stop with ``RuntimeError`` after this many iterations. Default: four
        times a bound on the iterations of a run without preemption, so that
        no run loops without bound.
    warn_overload : bool
        Warn (``RuntimeWarning``) when the run is overloaded (see
        ``SimulationResult.overloaded``).
    model, gpu : optional
        A model and GPU (names, ``config.json`` path or dicts; see
        ``queueing.models()`` and ``queueing.gpus()``): the latency model is
        then their roofline (``queueing.roofline_latency``) and the KV
        capacity is derived from them. Both or neither; not with ``latency``.
    tensor_parallel : int
        GPUs per replica (with ``model`` and ``gpu``).
    router_seed : int
        Seed of the power-of-two router's draws (``numpy.random.default_rng``).
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
    max_model_len = _positive_int(max_model_len, "max_model_len")
    warmup_requests = _positive_int(warmup_requests, "warmup_requests", 0)
    if isinstance(kv_watermark, (bool, np.bool_)) or not isinstance(kv_watermark, (int, float, np.floating)) \
            or not 0.0 <= kv_watermark < 1.0:
        raise ValueError(f"kv_watermark must be a fraction of the KV blocks in [0, 1), got {kv_watermark!r}")
    append = _choice(append_rule, "append_rule", APPEND_RULES)
    silent = _choice(token_convention, "token_convention", TOKEN_CONVENTIONS)
    if warmup_requests > len(workload):
        raise ValueError(f"warmup_requests must be <= the number of requests ({len(workload)}), "
                         f"got {warmup_requests}")
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
    check_scheduler_params(sspec, dict(zip(known, sp.tolist())), token_budget)

    n_blocks = kv_capacity_tokens // block_size
    watermark = int(kv_watermark * n_blocks)
    p = workload.prompt_tokens
    d = workload.output_tokens
    too_long = p + d > max_model_len
    # vLLM never batches a prompt beyond max_num_batched_tokens (the testbed's scheduler would wait forever)
    over_cap = (p > max_prefill_tokens) if not sspec.uses_budget else np.zeros(p.size, bool)
    rejected = too_long | over_cap | ~servable_alone(p, d, n_blocks, block_size, watermark, append, silent)
    if rejected.any() and on_unservable == "error":
        i = int(np.flatnonzero(rejected)[0])
        why = (f"exceed max_model_len={max_model_len}" if too_long[i] else
               f"(the prompt alone exceeds {scheduler}'s max_prefill_tokens={max_prefill_tokens})" if over_cap[i] else
               f"need {-(-(p[i] + d[i] - 1) // block_size)} KV blocks at their last decode and "
               f"{-(-p[i] // block_size)} + {watermark} (watermark) free blocks at admission, and a replica "
               f"has {n_blocks} (kv_capacity_tokens={kv_capacity_tokens}, append_rule={append_rule!r})")
        raise ValueError(f"request {i} can never be served: prompt {p[i]} + output {d[i]} tokens {why}; "
                         f"{int(rejected.sum())} such requests (pass on_unservable='flag' to report them instead)")
    ok = ~rejected
    # iterations of a run without preemption: each one emits a decode token, completes a
    # prefill, or fills the token budget (vLLM: a prefill batch or a decode batch)
    bound = int(d[ok].sum()) + (silent + 1) * int(ok.sum()) + int(p[ok].sum() + d[ok].sum()) // token_budget
    if max_iterations is None:
        max_iterations = 4 * bound + 10_000
        if max_iterations > 2**40:
            raise ValueError(f"the workload needs about {bound:.3g} iterations: reduce the request lengths "
                             "(max_model_len) or pass max_iterations explicitly")
    max_iterations = _positive_int(max_iterations, "max_iterations")
    tbt = workload.tbt_slo
    rank = np.unique(tbt, return_inverse=True)[1].astype(np.int64)
    spec = Spec(workload.arrival, p, tbt, rank)
    kind, lparams = lat.kernel_params()
    cfg = Config(token_budget, max_active, max_decodes, max_prefill_tokens, block_size, n_blocks,
                 n_replicas, ROUTERS[router], sspec.queue_policy, sspec.variant, int(kind),
                 np.asarray(lparams, np.float64), sp, int(bool(check_invariants)), int(sspec.uses_budget),
                 int(bool(record_batches)), int(max_iterations), watermark, append, silent)
    warm = _warmup_durations(workload, warmup_requests, cfg, lat)
    t0 = time.perf_counter()
    st, rec = run_engine(driver, spec, d, cfg, rejected, warm, router_uniforms(router, len(workload), router_seed))
    wall = time.perf_counter() - t0

    requests, iterations = result_tables(workload, st, rec, rejected, silent)
    a = workload.arrival
    batches = None
    if record_batches:
        e = int(rec.n_e[0])
        batches = pd.DataFrame({"iteration": rec.e_iter[:e], "request": rec.e_req[:e], "tokens": rec.e_tok[:e],
                                "kind": np.where(rec.e_decode[:e] == 1, "decode", "prefill")})
    params = dict(token_budget=token_budget, max_active=max_active, max_decodes=max_decodes,
                  kv_capacity_tokens=kv_capacity_tokens, block_size=block_size, n_replicas=n_replicas,
                  router=router, max_prefill_tokens=max_prefill_tokens, max_model_len=max_model_len,
                  kv_watermark=kv_watermark, append_rule=append_rule, token_convention=token_convention,
                  warmup_requests=warmup_requests, max_iterations=max_iterations, latency=lat, **{k: float(v) for k, v in zip(known, sp)})
    share = kept_up_share(a, p, st.first_token, ~rejected)
    overloaded = bool(share < OVERLOAD_KEPT_UP and (~rejected).sum() >= OVERLOAD_MIN_REQUESTS)
    if overloaded and warn_overload:
        warnings.warn(f"overloaded: at the last arrival (t={a.max():.4g} s) only {share:.0%} of the prompt work "
                      f"had its first token; the arrival rate is far above what {n_replicas} replica(s) of "
                      f"{scheduler!r} serve, and latencies grow with the run's length", RuntimeWarning, stacklevel=2)
    return SimulationResult(requests, iterations, rec.tok_off, rec.tok_time, workload.classes, scheduler,
                            params, wall, batches, overloaded)
