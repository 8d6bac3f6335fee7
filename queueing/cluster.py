"""Clusters: colocated, prefill and decode replicas in one simulation.

Units: seconds, tokens, bytes, bytes/s.

A cluster is a list of :class:`ReplicaGroup` (role, count, scheduler, latency
model or model/GPU/TP, KV capacity, token budget, active cap). Colocated
replicas serve a request whole, as in :func:`queueing.simulate`. Prefill and
decode replicas serve it in two stages (disaggregated serving, DistServe,
Splitwise, vLLM/SGLang P/D):

1. an arrival is routed (``router``) to a colocated or prefill replica and
   prefilled there by the group's scheduler;
2. the iteration that completes the prefill emits the first token: **the
   request's TTFT is its prefill completion, and the KV transfer counts in its
   first TBT gap** (the gap to its next token). This is DistServe's
   definition: its context-stage engine sends the first token to the client
   when the prefill's iteration ends (``ContextEnd``) and only then puts the
   request in the bridge queue to the decoding stage
   (github.com/LLMServe/DistServe, ``distserve/single_stage_engine.py``,
   ``ContextStageLLMEngine._step``, commit
   0a2d0c99f983881bcf658061f8cb152d03903f24), and its benchmark measures
   TTFT at that first token (``distserve/evaluation/2-benchmark-serving/structs.py``,
   ``ReqResult.ttft_ms``, commit 36306b08f4c2e21a92ebd976eb92493f03666db8);
   SGLang's P/D prefill server likewise returns the first token from the
   prefill (``python/sglang/srt/disaggregation/prefill.py``);
3. the request is routed (``decode_router``) to a decode replica and waits in
   that replica's FIFO admission queue; the prefill replica keeps its KV
   blocks ("Cannot free blocks now! The decoding stage may still need them!",
   DistServe, same file);
4. the decode replica admits the head of its queue when the request's KV
   (its prompt, plus its first token under the testbed's token convention)
   fits with the KV watermark and its active cap allows; it reserves the
   blocks and pulls the KV (DistServe's ``DecodingStageLLMEngine._migrate_blocks``:
   allocate on the decoding side, transfer, free on the context side);
5. the transfer occupies the prefill replica's link (one transfer at a time,
   FIFO) for ``tokens * kv_bytes_per_token / bandwidth`` seconds and lands
   ``latency`` seconds after it is sent; then the prefill replica frees the
   blocks and the request decodes on the decode replica.

A decode replica that runs out of KV preempts by recompute, as every
scheduler does (``queueing.kv``): the request re-prefills its prompt and
generated tokens on that decode replica. Requests never get lost: the
admission queue waits for memory. With an infinitely fast link and no
latency, a request's KV lands at its prefill completion.

Each role runs its own scheduler (e.g. prefill replicas on Sarathi-Serve,
decode replicas on vLLM; any registered scheduler, RAD included). Limits of
this version: the groups of one role share one configuration; the block
size, KV watermark, append rule and token convention are the cluster's.
"""

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from .engine import INVARIANT_MESSAGES, ROUTERS, Config, Spec, drive, initial_records, new_state
from .kv import APPEND_RULES, DEFAULT_BLOCK_SIZE, DEFAULT_KV_CAPACITY_TOKENS, DEFAULT_KV_WATERMARK
from .latency import default_latency
from .metrics import kept_up_share
from .registry import check_scheduler_params, get_scheduler
from .roofline import resolve_hardware
from .simulation import (DEFAULT_MAX_MODEL_LEN, OVERLOAD_KEPT_UP, OVERLOAD_MIN_REQUESTS, TOKEN_CONVENTIONS,
                         SimulationResult, _choice, _positive_int, result_tables, router_uniforms, servable_alone)
from .workloads import Workload

__all__ = ["ReplicaGroup", "Link", "ClusterResult", "simulate_cluster", "disaggregated", "colocated",
           "kv_bytes_per_token"]

DEFAULT_MODEL = "mistral-7b"  # the model of the default latency (the paper's testbed)


@dataclass(frozen=True)
class ReplicaGroup:
    """``count`` identical replicas of one role.

    Attributes
    ----------
    role : {"colocated", "prefill", "decode"}
    count : int, >= 1
    scheduler : str
        A registered scheduler (``queueing.registry.scheduler_names()``); the
        roles may use different ones.
    latency : latency model, optional
        Default ``queueing.latency.default_latency()``; or give ``model`` and ``gpu``.
    model, gpu, tensor_parallel :
        The roofline of ``model`` on ``tensor_parallel`` x ``gpu`` (see ``queueing.simulate``).
    kv_capacity_tokens : int, optional
        KV memory per replica (tokens); default derived from ``model`` and
        ``gpu``, else 235,728.
    token_budget, max_active, max_decodes, max_prefill_tokens : int
        As in ``queueing.simulate``.
    params : dict
        The scheduler's own parameters.
    """

    role: str = "colocated"
    count: int = 1
    scheduler: str = "sarathi"
    latency: object = None
    model: object = None
    gpu: object = None
    tensor_parallel: int = 1
    kv_capacity_tokens: object = None
    token_budget: int = 512
    max_active: int = 128
    max_decodes: int = 128
    max_prefill_tokens: int = 8192
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Link:
    """The link from each prefill replica to the decode replicas.

    Attributes
    ----------
    bandwidth : float
        Bytes/s, > 0 (``math.inf``: instantaneous); one per prefill replica,
        shared by its transfers in FIFO order.
    latency : float
        Seconds, >= 0, added to every transfer.
    kv_bytes_per_token : float, optional
        KV bytes of one token (all layers); default: the prefill group's
        ``model``, else Mistral-7B's (131,072).
    """

    bandwidth: float = math.inf
    latency: float = 0.0
    kv_bytes_per_token: object = None


@dataclass(frozen=True)
class ClusterResult(SimulationResult):
    """A :class:`queueing.SimulationResult` of a cluster, plus per-replica statistics.

    ``requests`` has, besides the columns of ``SimulationResult``:
    ``prefill_replica``, ``decode_replica`` (-1 for a request served by a
    colocated replica or finished at its prefill), ``prefill_end``,
    ``transfer_start``, ``transfer_end`` (s; NaN without a transfer).
    ``replica`` is the replica that emitted the last token.

    ``replicas``: one row per replica: ``replica``, ``role``, ``group``,
    ``kv_blocks``, ``batches``, ``busy_time`` (s), ``utilization`` (busy time
    over the makespan), ``prefill_tokens``, ``decode_tokens``,
    ``max_kv_blocks_used``, ``requests_prefilled``, ``requests_decoded``.
    """

    replicas: object = None

    def group_summary(self):
        """One row per replica group (the order of ``groups``): load and KV transfers.

        Columns: ``group``, ``role``, ``replicas``, ``scheduler``,
        ``utilization`` (mean over the group's replicas) and
        ``utilization_max``, ``batches``, ``prefill_tokens``,
        ``decode_tokens``, ``requests_prefilled``, ``requests_decoded``,
        ``kv_peak`` (the largest share of a replica's KV blocks in use); for
        prefill groups (NaN elsewhere) over the requests they sent:
        ``transfers``, ``transfer_wait_p50`` (s from the end of the prefill
        to the start of the transfer: the wait for decode memory and for the
        link), ``transfer_p50``, ``transfer_p99`` (s from the start of the
        transfer to its landing) and ``kv_gb_sent`` (10^9 bytes).
        """
        return _group_table(self.requests, self.replicas, self.params["groups"], self.params["kv_bytes_per_token"])


def kv_bytes_per_token(model=DEFAULT_MODEL):
    """KV bytes of one token of ``model`` (all layers; see ``queueing.hardware.ModelSpec``)."""
    from .hardware import model_spec

    return float(model_spec(model).kv_bytes_per_token)


def disaggregated(n_prefill, n_decode, **group):
    """Groups of ``n_prefill`` prefill and ``n_decode`` decode replicas sharing ``group``'s settings."""
    return [ReplicaGroup("prefill", n_prefill, **group), ReplicaGroup("decode", n_decode, **group)]


def colocated(n, **group):
    """One group of ``n`` colocated replicas."""
    return [ReplicaGroup("colocated", n, **group)]


_ROLE_ORDER = ("colocated", "prefill", "decode")
_SHARED = ("scheduler", "latency", "model", "gpu", "tensor_parallel", "kv_capacity_tokens", "token_budget",
           "max_active", "max_decodes", "max_prefill_tokens", "params")


def _groups_by_role(groups):
    if not isinstance(groups, (list, tuple)) or not groups:
        raise ValueError(f"groups must be a non-empty list of ReplicaGroup, got {groups!r}")
    by_role = {}
    for k, g in enumerate(groups):
        if not isinstance(g, ReplicaGroup):
            raise ValueError(f"groups[{k}] must be a ReplicaGroup, got {type(g).__name__}")
        if not isinstance(g.role, str) or g.role not in _ROLE_ORDER:
            raise ValueError(f"groups[{k}].role must be one of {list(_ROLE_ORDER)}, got {g.role!r}")
        _positive_int(g.count, f"groups[{k}].count")
        first = by_role.setdefault(g.role, [])
        if first:
            g0 = groups[first[0]]
            for f in _SHARED:
                if getattr(g, f) is not getattr(g0, f) and getattr(g, f) != getattr(g0, f):
                    raise ValueError(f"groups[{k}] and groups[{first[0]}] are both {g.role!r} groups with "
                                     f"different {f}; groups of one role must share their settings")
        first.append(k)
    has_p, has_d = "prefill" in by_role, "decode" in by_role
    if has_p != has_d:
        missing = "decode" if has_p else "prefill"
        raise ValueError(f"a disaggregated cluster needs both prefill and decode replicas: it has no {missing} "
                         f"replica (add a ReplicaGroup(role={missing!r}, ...))")
    return by_role


def simulate_cluster(workload, groups, *, link=None, router="round_robin", decode_router="round_robin",
                     router_seed=0, block_size=DEFAULT_BLOCK_SIZE, max_model_len=DEFAULT_MAX_MODEL_LEN,
                     kv_watermark=DEFAULT_KV_WATERMARK, append_rule="any_free", token_convention="testbed",
                     check_invariants=False, max_iterations=None, warn_overload=True):
    """Simulate serving ``workload`` on a cluster of replica groups (module docstring).

    Parameters
    ----------
    workload : Workload
    groups : list of ReplicaGroup
        Colocated groups, or prefill and decode groups (both), or all three.
    link : Link, optional
        Prefill-to-decode link; default instantaneous.
    router : str
        Routes arrivals over the colocated and prefill replicas; one of
        ``queueing.engine.ROUTERS`` (round_robin, least_outstanding,
        least_work, least_prefill_backlog, power_of_two, kv_least_loaded).
    decode_router : str
        Routes completed prefills over the decode replicas (same names).
    router_seed : int
        Seed of the power-of-two draws.
    block_size, max_model_len, kv_watermark, append_rule, token_convention,
    check_invariants, max_iterations, warn_overload :
        As in ``queueing.simulate`` (one value for the whole cluster).

    Returns
    -------
    ClusterResult

    Raises
    ------
    ValueError
        Bad groups (unknown role, a prefill group without a decode group or
        the reverse), a link bandwidth <= 0, an unknown router, or a request
        that no replica of its path can serve.
    """
    if not isinstance(workload, Workload):
        raise ValueError(f"workload must be a queueing Workload, got {type(workload).__name__}")
    by_role = _groups_by_role(groups)
    link = Link() if link is None else link
    if not isinstance(link, Link):
        raise ValueError(f"link must be a queueing.cluster.Link, got {type(link).__name__}")
    bw = float(link.bandwidth)
    if not bw > 0:  # also NaN
        raise ValueError(f"link.bandwidth must be > 0 bytes/s (math.inf for an instantaneous link), got {link.bandwidth!r}")
    if not (math.isfinite(float(link.latency)) and link.latency >= 0):
        raise ValueError(f"link.latency must be a finite number >= 0 s, got {link.latency!r}")
    for name, v in (("router", router), ("decode_router", decode_router)):
        if not isinstance(v, str) or v not in ROUTERS:
            raise ValueError(f"{name} must be one of {sorted(ROUTERS)}, got {v!r}")
    block_size = _positive_int(block_size, "block_size")
    max_model_len = _positive_int(max_model_len, "max_model_len")
    if isinstance(kv_watermark, (bool, np.bool_)) or not isinstance(kv_watermark, (int, float, np.floating)) \
            or not 0.0 <= kv_watermark < 1.0:
        raise ValueError(f"kv_watermark must be a fraction of the KV blocks in [0, 1), got {kv_watermark!r}")
    append = _choice(append_rule, "append_rule", APPEND_RULES)
    silent = _choice(token_convention, "token_convention", TOKEN_CONVENTIONS)

    roles = [r for r in _ROLE_ORDER if r in by_role]
    counts = {r: sum(groups[k].count for k in by_role[r]) for r in roles}
    R = sum(counts.values())
    role_of = np.concatenate([np.full(counts[r], _ROLE_ORDER.index(r), np.int64) for r in roles])
    group_of = np.concatenate([np.repeat(np.array(by_role[r]), [groups[k].count for k in by_role[r]])
                               for r in roles])
    n_stage1 = counts.get("colocated", 0) + counts.get("prefill", 0)

    p, d = workload.prompt_tokens, workload.output_tokens
    n = len(workload)
    setups = {r: _role_setup(groups[by_role[r][0]], r, block_size, kv_watermark, append, silent, max_model_len, p, d)
              for r in roles}
    budget = min(s["token_budget"] for s in setups.values())
    bound = int(d.sum()) + (silent + 1) * n + int(p.sum() + d.sum()) // budget
    if max_iterations is None:
        max_iterations = 4 * bound + 10_000
    max_iterations = _positive_int(max_iterations, "max_iterations")
    cfgs = []
    for role in _ROLE_ORDER:
        s = setups.get(role) or setups[roles[0]]
        cfgs.append(Config(s["token_budget"], s["max_active"], s["max_decodes"], s["max_prefill_tokens"], block_size,
                           s["n_blocks"], R, 0, s["queue_policy"], s["variant"], s["lat_kind"], s["lat_params"],
                           s["sched_params"], int(bool(check_invariants)), s["uses_budget"], 0, max_iterations,
                           s["watermark"], append, silent, s["builder"]))
    cfgs = tuple(cfgs)

    kv_bytes = link.kv_bytes_per_token
    if kv_bytes is None:
        pg = groups[by_role["prefill"][0]] if "prefill" in by_role else None
        kv_bytes = kv_bytes_per_token(pg.model if pg is not None and pg.model is not None else DEFAULT_MODEL)
    if not (math.isfinite(float(kv_bytes)) and kv_bytes > 0):
        raise ValueError(f"link.kv_bytes_per_token must be a finite number > 0, got {kv_bytes!r}")

    from .cluster_driver import run_cluster
    from .cluster_engine import CLUSTER_INVARIANT_MESSAGES, new_cluster

    rank = np.unique(workload.tbt_slo, return_inverse=True)[1].astype(np.int64)
    spec = Spec(workload.arrival, p, workload.tbt_slo, rank)
    blocks = np.array([setups[_ROLE_ORDER[k]]["n_blocks"] for k in role_of], np.int64)
    u = router_uniforms("power_of_two" if "power_of_two" in (router, decode_router) else router, n, router_seed)
    st = new_state(n, R, max(c.max_active for c in cfgs), blocks, np.zeros(n, bool), (), u)
    cl = new_cluster(role_of, n_stage1, np.array([ROUTERS[router], ROUTERS[decode_router]], np.int64),
                     np.array([bw, float(link.latency), float(kv_bytes)]), n)
    rec = initial_records(spec, d, cfgs[0])
    messages = {**INVARIANT_MESSAGES, **CLUSTER_INVARIANT_MESSAGES}
    t0 = time.perf_counter()
    st, rec = drive(lambda rec: run_cluster(spec, st, rec, d, cfgs, cl), st, rec, cfgs[0], messages)
    wall = time.perf_counter() - t0

    requests, iterations = result_tables(workload, st, rec, np.zeros(n, bool), silent)
    moved = cl.src >= 0
    requests["prefill_replica"] = np.where(moved, cl.src, -1)
    requests["decode_replica"] = np.where(moved, cl.dst, -1)
    requests["prefill_end"] = cl.prefill_end
    requests["transfer_start"] = cl.xfer_start
    requests["transfer_end"] = cl.xfer_end
    replicas = _replica_table(requests, iterations, role_of, group_of, blocks, st)
    share = kept_up_share(workload.arrival, p, st.first_token, np.ones(n, bool))
    overloaded = bool(share < OVERLOAD_KEPT_UP and n >= OVERLOAD_MIN_REQUESTS)
    if overloaded and warn_overload:
        warnings.warn(f"overloaded: at the last arrival only {share:.0%} of the prompt work had its first token; "
                      "the arrival rate is far above what the cluster serves", RuntimeWarning, stacklevel=2)
    params = dict(groups=list(groups), link=link, router=router, decode_router=decode_router,
                  router_seed=router_seed, block_size=block_size, max_model_len=max_model_len,
                  kv_watermark=kv_watermark, append_rule=append_rule, token_convention=token_convention,
                  max_iterations=max_iterations, kv_bytes_per_token=float(kv_bytes))
    name = "+".join(f"{counts[r]}x{r}:{groups[by_role[r][0]].scheduler}" for r in roles)
    return ClusterResult(requests, iterations, rec.tok_off, rec.tok_time, workload.classes, name, params, wall,
                         None, overloaded, replicas=replicas)


def _role_setup(g, role, block_size, kv_watermark, append, silent, max_model_len, p, d):
    """Validated settings of the groups of ``role`` (``g`` is the first)."""
    from .cluster_driver import BUILDERS

    where = f"{role} group"
    sspec, _ = get_scheduler(g.scheduler)
    if sspec.driver not in BUILDERS:
        raise ValueError(f"{where}: scheduler {g.scheduler!r} has no batch builder id for clusters; add one to "
                         f"queueing.cluster_driver.BUILDERS (clusters run {sorted(BUILDERS)})")
    lat, kv = resolve_hardware(g.latency, g.kv_capacity_tokens, g.model, g.gpu, g.tensor_parallel,
                               DEFAULT_KV_CAPACITY_TOKENS)
    lat = default_latency() if lat is None else lat
    if not hasattr(lat, "kernel_params"):
        raise ValueError(f"{where}: latency must be a queueing latency model, got {type(lat).__name__}")
    kv = _positive_int(kv, f"{where} kv_capacity_tokens", block_size)
    known = dict(sspec.params)
    unknown = sorted(set(g.params) - set(known))
    if unknown:
        raise ValueError(f"{where}: unknown parameter(s) {unknown} for scheduler {g.scheduler!r}")
    sp = np.array([float(g.params.get(k, v)) for k, v in sspec.params] or [0.0])
    if not np.all(np.isfinite(sp)):
        raise ValueError(f"{where}: scheduler parameters must be finite, got {g.params}")
    check_scheduler_params(sspec, dict(zip(known, sp.tolist())), _positive_int(g.token_budget, f"{where} token_budget"))
    n_blocks = kv // block_size
    watermark = int(kv_watermark * n_blocks)
    s = dict(builder=BUILDERS[sspec.driver], queue_policy=int(sspec.queue_policy),
             variant=int(sspec.variant), uses_budget=int(sspec.uses_budget), sched_params=sp,
             n_blocks=int(n_blocks), watermark=watermark,
             token_budget=_positive_int(g.token_budget, f"{where} token_budget"),
             max_active=_positive_int(g.max_active, f"{where} max_active"),
             max_decodes=_positive_int(g.max_decodes, f"{where} max_decodes"),
             max_prefill_tokens=_positive_int(g.max_prefill_tokens, f"{where} max_prefill_tokens"))
    kind, lp = lat.kernel_params()
    s["lat_kind"], s["lat_params"] = int(kind), np.asarray(lp, np.float64)
    # every request must be servable on its path: the prompt's KV on prefill replicas, the whole run elsewhere
    bad = p + d > max_model_len
    if role == "prefill":
        bad |= (p + block_size - 1) // block_size + watermark > n_blocks
    else:
        bad |= ~servable_alone(p, d, n_blocks, block_size, watermark, append, silent)
    if not sspec.uses_budget and role != "decode":
        bad |= p > s["max_prefill_tokens"]
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"request {i} (prompt {p[i]}, output {d[i]} tokens) can never be served by the {where} "
                         f"(kv_capacity_tokens={kv}, max_model_len={max_model_len}); {int(bad.sum())} such requests")
    return s


def _group_table(requests, replicas, groups, kv_bytes):
    import pandas as pd

    g = replicas.assign(kv_share=replicas["max_kv_blocks_used"] / replicas["kv_blocks"]).groupby("group")
    table = pd.DataFrame({
        "group": np.arange(len(groups)), "role": [x.role for x in groups], "replicas": [x.count for x in groups],
        "scheduler": [x.scheduler for x in groups]})
    sums = g[["batches", "prefill_tokens", "decode_tokens", "requests_prefilled", "requests_decoded"]].sum()
    table = table.join(g["utilization"].mean()).join(g["utilization"].max().rename("utilization_max"))
    table = table.join(sums).join(g["kv_share"].max().rename("kv_peak"))
    moved = requests[(requests["prefill_replica"] >= 0) & requests["transfer_end"].notna()]
    moved = pd.DataFrame({"group": replicas["group"].to_numpy()[moved["prefill_replica"].to_numpy()],
                          "wait": moved["transfer_start"] - moved["prefill_end"],
                          "span": moved["transfer_end"] - moved["transfer_start"],
                          "gb": moved["prompt_tokens"] * kv_bytes / 1e9})
    by_src = moved.groupby("group")
    table = table.join(pd.DataFrame({
        "transfers": by_src.size(), "transfer_wait_p50": by_src["wait"].median(),
        "transfer_p50": by_src["span"].median(), "transfer_p99": by_src["span"].quantile(0.99),
        "kv_gb_sent": by_src["gb"].sum()}))
    table["transfers"] = table["transfers"].fillna(0).astype(np.int64)
    return table


def _replica_table(requests, iterations, role_of, group_of, blocks, st):
    import pandas as pd

    R = role_of.size
    it = iterations.groupby("replica")
    makespan = float(iterations["end"].max()) if len(iterations) else 0.0
    busy = st.sum_dur.copy()
    pf = it["prefill_tokens"].sum().reindex(range(R), fill_value=0).to_numpy()
    dec = it["decodes"].sum().reindex(range(R), fill_value=0).to_numpy()
    kvmax = it["kv_blocks_used"].max().reindex(range(R), fill_value=0).to_numpy()
    src = np.where(requests["prefill_replica"] >= 0, requests["prefill_replica"], requests["replica"])
    dst = np.where(requests["decode_replica"] >= 0, requests["decode_replica"], requests["replica"])
    return pd.DataFrame({
        "replica": np.arange(R), "role": np.array(_ROLE_ORDER, dtype=object)[role_of], "group": group_of,
        "kv_blocks": blocks, "batches": st.n_batches.copy(), "busy_time": busy,
        "utilization": busy / makespan if makespan > 0 else np.zeros(R),
        "prefill_tokens": pf, "decode_tokens": dec, "max_kv_blocks_used": kvmax,
        "requests_prefilled": np.bincount(src, minlength=R)[:R],
        "requests_decoded": np.bincount(dst, minlength=R)[:R],
    })

