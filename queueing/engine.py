"""Iteration-level LLM serving engine: jitted core shared by every scheduler.

Units and conventions: seconds, tokens; requests are 0-based ids in arrival
order (the workload is sorted by arrival), replicas are 0-based.

Model (spec "Engine model"). Each replica runs one batch (iteration) at a
time; a batch is a list of entries ``(request, tokens)``: a prefill chunk of
``tokens`` prompt tokens or a decode (``tokens = 1``). Its duration comes from
the latency model. When a batch ends, every decode emits one token and a
request finishes when it has emitted its output length D, which only the
engine knows. The token convention (``cfg.prefill_silent``, see
``queueing.kv``) decides what a completed prefill does: in the paper's
testbed (1) it emits nothing: its end is the request's first-token time
(TTFT), D decodes follow, and a recompute restarts the request (a fresh
first-token time and D fresh tokens, as the testbed's ``reset_for_recompute``
does); in mainstream vLLM (0) it emits the first token, D - 1 decodes follow,
and a recompute's prefill emits the next token. Each request's record holds
D + ``prefill_silent`` event times: the first is the TTFT, the gaps between
consecutive ones are its TBT gaps. Arrivals are routed to a replica
on arrival (``pick_replica``: round robin, least outstanding requests, least
outstanding prompt work, least prefill backlog, power of two choices, KV-aware
least loaded) and wait in that replica's waiting queue. KV memory and recompute
preemption follow ``queueing.kv``: a preempted request frees its KV, returns
to the waiting queue and later re-prefills its prompt plus the tokens it has
generated, and that re-prefill emits its next token.

The event loop (``next_decision``) and the driver loop live in
``queueing.cluster_engine``: a run of ``simulate`` is a cluster of colocated
replicas. Event order at equal times: batch ends first, then arrivals, then
idle replicas schedule (lowest replica first), so a batch built at time t
sees every arrival and completion at t.

Adding a scheduler
------------------
1. Write a module ``queueing/<name>.py`` with two ``@njit(cache=True)``
   functions:

   * ``build_<name>(spec, st, cfg, r)``: fill replica ``r``'s batch at time
     ``st.now[0]``. Start with ``batch_clear(st, r)``, then call only the
     shared kernels: ``batch_add(st, r, i, tokens)``; ``waiting_peek``,
     ``waiting_pop``; ``admit(spec, st, cfg, r, i)`` (after ``kv_fits`` and
     the active cap ``st.n_active[r] < cfg.max_active``); decodes via
     ``kv_try_append(st, cfg, r, i)`` (False: preempt first) and
     ``preempt(spec, st, cfg, r, i)``. Read requests only through ``spec``
     (arrival, prompt, tbt_slo, prio_rank) and ``st``; output lengths are not
     passed to schedulers. Active requests of ``r`` are
     ``st.active[r, :st.n_active[r]]`` in id (arrival) order with phase
     ``PREFILL`` (admitted, KV allocated, ``st.prefilled`` of ``st.target``
     tokens done) or ``DECODE``. Scheduler-private per-replica state:
     ``st.dkey/st.did/st.dlen`` (a heap, see ``queueing._heap``),
     ``st.scr_a``, ``st.scr_b`` (int64 (R, max_active) scratch),
     ``st.sched_f`` (float64 (R, 8)), ``st.sched_i`` (int64 (R, 8)).
     The previous batch of ``r`` is still in ``st.bid/st.btok/st.blen`` when
     ``build`` is called (already committed). Options: ``cfg.variant`` (int)
     and ``cfg.sched_params`` (float64 array).
   * ``run_<name>(spec, st, rec, out_len, cfg)``, the driver, verbatim::

         return drive_colocated(build_<name>, spec, st, rec, out_len, cfg)

     (``queueing.cluster_engine.drive_colocated``: the one event and driver
     loop, inlined with ``build_<name>`` as a constant).

   The testbed's KV rules (watermark, append rule) live in ``kv_fits`` and
   ``kv_try_append`` and the token convention in the engine's commit, so a
   scheduler that uses these operations follows every rule option.
2. Register it with one line in ``queueing/registry.py``'s ``SCHEDULERS``:
   ``"<name>": SchedulerSpec("<module>", "run_<name>", queue_policy, variant,
   params=(("p", default), ...), uses_budget=True)``. ``simulate(...,
   scheduler="<name>", p=...)`` then works; the invariant checks of
   ``check_invariants=True`` apply to it automatically.
3. For clusters (``queueing.simulate_cluster``), give its builder an id in
   ``queueing/cluster_driver.py`` (``BUILDERS`` and one branch of
   ``build_by_id``); without one, clusters refuse it with a clear error.

Everything is called by global name so that numba's on-disk cache works.

Performance note: every jitted call that receives the state tuple increfs
and decrefs each of its ~45 arrays (atomic operations of numba's runtime),
which costs more than the work of a small helper. The engine's per-iteration
kernels and the small helpers are therefore ``inline="always"``, and a
scheduler's ``build`` should be one inlined kernel whose per-request loops call
only the small inlined helpers (``kv_try_append``, ``batch_add``, heap
operations), not other functions taking ``st``. Rare operations (``admit``,
``preempt``) are ordinary calls to keep compile time down.
"""

from collections import namedtuple

import numpy as np
from numba import njit

from ._heap import heap_pop, heap_push
from .kv import kv_release
from .latency import iteration_time_kernel

# request phases
FUTURE, WAITING, PREFILL, DECODE, DONE, REJECTED = 0, 1, 2, 3, 4, 5
# waiting-queue orders
QUEUE_FCFS, QUEUE_SPF, QUEUE_PRIORITY = 0, 1, 2
# routers (see ``pick_replica``)
ROUTER_RR, ROUTER_LOR, ROUTER_LW, ROUTER_LPB, ROUTER_P2C, ROUTER_KV = 0, 1, 2, 3, 4, 5
ROUTERS = {"round_robin": ROUTER_RR, "least_outstanding": ROUTER_LOR, "least_work": ROUTER_LW,
           "least_prefill_backlog": ROUTER_LPB, "power_of_two": ROUTER_P2C, "kv_least_loaded": ROUTER_KV}
# driver return codes
STATUS_DONE, STATUS_GROW, STATUS_STALLED, STATUS_INVARIANT, STATUS_ITER_LIMIT = -1, -2, -3, -4, -5
# invariant violation codes (st.err[0])
INVARIANT_MESSAGES = {
    1: "tokens in a batch exceed the token budget",
    2: "KV blocks in use exceed the capacity or disagree with the per-request blocks",
    3: "active requests exceed max_active",
    4: "a batch entry is not an active request, is repeated, or has a bad token count",
    5: "a decode's KV tokens exceed its blocks",
    6: "time went backwards on a replica",
    7: "a prefill chunk overruns its prompt or lacks its KV blocks",
}

Spec = namedtuple("Spec", ["arrival", "prompt", "tbt_slo", "prio_rank"])
State = namedtuple("State", [
    # per request (n,)
    "replica", "phase", "target", "prefilled", "generated", "gen0", "kv_tokens", "kv_blocks",
    "lst", "last_token", "first_token", "first_sched", "finish", "n_preempt",
    # per replica (R,) and (R, k)
    "clock", "busy", "last_end", "free_blocks", "n_active", "active",
    "wkey", "wid", "wlen", "dkey", "did", "dlen",
    "bid", "btok", "blen", "n_batches", "sum_dur", "outstanding", "work",
    "scr_a", "scr_b", "sched_f", "sched_i",
    "pf_backlog", "queued", "held", "cap_blocks",  # routing loads and KV held outside the active list
    "route_u",  # (n, 4) uniforms of the power-of-two router (two per routing stage)
    # global scalars (1,); rr (2,): round-robin counters of the two routing stages
    "now", "next_arrival", "n_done", "rr", "counter", "err",
])
Records = namedtuple("Records", [
    "tok_off", "tok_time",                       # CSR: event k of request i at tok_time[tok_off[i] + k]
    "it_start", "it_end", "it_replica", "it_prefill", "it_decodes", "it_ctx", "it_kv_used", "it_active",
    "e_iter", "e_req", "e_tok", "e_decode",      # batch entries (record_entries=1)
    "n_it", "n_e",
])
Config = namedtuple("Config", [
    "token_budget", "max_active", "max_decodes", "max_prefill", "block_size", "n_blocks",
    "n_replicas", "router", "queue_policy", "variant", "lat_kind", "lat_params", "sched_params",
    "check", "uses_budget", "record_entries", "max_iterations",
    "watermark", "append_rule", "prefill_silent",
    "builder",  # batch-builder id of the cluster driver (queueing.cluster_driver.BUILDERS); -1: not needed
], defaults=(-1,))


# ----------------------------------------------------------------- queues


@njit(cache=True, inline="always")
def waiting_key(spec, st, cfg, i, preempted):
    """Waiting-queue key of request ``i`` (smaller first; ties by id).

    FCFS: arrival time, and preempted requests go to the front, most recent
    first (Sarathi-Serve/vLLM ``waiting.insert(0, seq)``). SPF: the length of
    the prefill to run. PRIORITY: strictness rank, then prefill length.
    """
    if cfg.queue_policy == QUEUE_FCFS:
        if preempted:
            st.counter[0] += 1
            return -float(st.counter[0])
        return spec.arrival[i]
    if cfg.queue_policy == QUEUE_SPF:
        return float(st.target[i])
    return float(spec.prio_rank[i]) * 4294967296.0 + float(st.target[i])


@njit(cache=True, inline="always")
def waiting_peek(st, r):
    """Id of the head of replica ``r``'s waiting queue, or -1 when empty."""
    if st.wlen[r] == 0:
        return -1
    return st.wid[r, 0]


@njit(cache=True, inline="always")
def waiting_pop(st, r):
    """Remove and return the head of replica ``r``'s waiting queue."""
    return heap_pop(st.wkey, st.wid, st.wlen, r)


@njit(cache=True, inline="always")
def _active_add(st, r, i):
    k = st.n_active[r]
    while k > 0 and st.active[r, k - 1] > i:
        st.active[r, k] = st.active[r, k - 1]
        k -= 1
    st.active[r, k] = i
    st.n_active[r] += 1


@njit(cache=True, inline="always")
def _active_remove(st, r, i):
    m = st.n_active[r]
    k = 0
    while st.active[r, k] != i:
        k += 1
    while k < m - 1:
        st.active[r, k] = st.active[r, k + 1]
        k += 1
    st.n_active[r] = m - 1


# --------------------------------------------------- scheduler operations


@njit(cache=True, inline="always")
def batch_clear(st, r):
    st.blen[r] = 0


@njit(cache=True, inline="always")
def batch_add(st, r, i, tokens):
    """Append entry (request ``i``, ``tokens``) to replica ``r``'s batch."""
    k = st.blen[r]
    st.bid[r, k] = i
    st.btok[r, k] = tokens
    st.blen[r] = k + 1


@njit(cache=True)
def admit(spec, st, cfg, r, i):
    """Start request ``i``'s prefill on replica ``r``: allocate KV for its whole prompt.

    The caller popped ``i`` from the waiting queue and checked ``kv_fits``
    and the active cap.
    """
    b = (st.target[i] + cfg.block_size - 1) // cfg.block_size
    st.free_blocks[r] -= b
    st.queued[r] -= st.target[i]
    st.kv_blocks[i] = b
    st.kv_tokens[i] = 0
    st.phase[i] = PREFILL
    st.prefilled[i] = 0
    _active_add(st, r, i)
    if np.isnan(st.first_sched[i]):
        st.first_sched[i] = st.now[0]


@njit(cache=True)
def preempt(spec, st, cfg, r, i):
    """Recompute-preempt active request ``i``: free its KV and requeue it.

    Its next prefill covers its prompt plus every token it has generated.
    """
    kv_release(st, r, i)
    _active_remove(st, r, i)
    st.phase[i] = WAITING
    st.pf_backlog[r] -= st.target[i] - st.prefilled[i]
    st.target[i] = spec.prompt[i] + st.generated[i]
    st.pf_backlog[r] += st.target[i]
    st.queued[r] += st.target[i]
    st.prefilled[i] = 0
    st.n_preempt[i] += 1
    if cfg.prefill_silent != 0:
        st.gen0[i] = st.generated[i]  # the testbed's recompute generates D fresh tokens
    heap_push(st.wkey, st.wid, st.wlen, r, waiting_key(spec, st, cfg, i, True), i)


# ------------------------------------------------------------ event loop


@njit(cache=True, inline="always")
def _kv_load(st, cfg, q):
    # KV blocks in use or reserved, plus those the requests waiting for admission will take
    used = st.cap_blocks[q] - st.free_blocks[q] + (st.queued[q] + cfg.block_size - 1) // cfg.block_size
    return used / st.cap_blocks[q]


@njit(cache=True)
def pick_replica(st, cfg, router, lo, hi, j, stage):
    """Replica in ``lo .. hi - 1`` for request ``j`` at routing ``stage`` (0 arrival, 1 decode hand-off).

    round robin (a counter per stage); least outstanding requests; least
    prompt work (prompt tokens of outstanding requests); least prefill
    backlog (prompt tokens routed and not yet prefilled); power of two
    choices (two distinct replicas drawn from ``st.route_u[j, 2 stage:2 stage + 2]``,
    the one with fewer outstanding requests); KV-aware least loaded (the
    smallest share of KV blocks used, reserved or wanted by waiting
    requests). Ties go to the lowest replica.
    """
    m = hi - lo
    if router == ROUTER_RR:
        r = lo + st.rr[stage] % m
        st.rr[stage] += 1
        return r
    if router == ROUTER_P2C:
        a = lo + min(int(st.route_u[j, 2 * stage] * m), m - 1)
        if m == 1:
            return a
        b = lo + (a - lo + 1 + min(int(st.route_u[j, 2 * stage + 1] * (m - 1)), m - 2)) % m
        return b if st.outstanding[b] < st.outstanding[a] else a
    r = lo
    for q in range(lo + 1, hi):
        if router == ROUTER_LOR:
            better = st.outstanding[q] < st.outstanding[r]
        elif router == ROUTER_LW:
            better = st.work[q] < st.work[r]
        elif router == ROUTER_LPB:
            better = st.pf_backlog[q] < st.pf_backlog[r]
        else:
            better = _kv_load(st, cfg, q) < _kv_load(st, cfg, r)
        if better:
            r = q
    return r


@njit(cache=True)
def assign(spec, st, cfg, j, r):
    """Queue arrived request ``j`` on replica ``r`` (``cfg``: that replica's configuration)."""
    st.replica[j] = r
    st.outstanding[r] += 1
    st.work[r] += spec.prompt[j]
    st.pf_backlog[r] += spec.prompt[j]
    st.queued[r] += spec.prompt[j]
    st.phase[j] = WAITING
    st.target[j] = spec.prompt[j]
    heap_push(st.wkey, st.wid, st.wlen, r, waiting_key(spec, st, cfg, j, False), j)


@njit(cache=True, inline="always")
def _commit(spec, st, rec, out_len, cfg, r):
    t = st.clock[r]
    st.busy[r] = 0
    st.last_end[r] = t
    silent = cfg.prefill_silent
    for k in range(st.blen[r]):
        i = st.bid[r, k]
        if st.phase[i] == PREFILL:
            st.prefilled[i] += st.btok[r, k]
            st.kv_tokens[i] += st.btok[r, k]
            st.pf_backlog[r] -= st.btok[r, k]
            if st.prefilled[i] < st.target[i]:
                continue
            st.phase[i] = DECODE
            if silent != 0:  # testbed: the prefill's end is the first-token time, no token
                rec.tok_time[rec.tok_off[i]] = t
                st.first_token[i] = t
                continue
        g = st.generated[i] - st.gen0[i]  # tokens of this run (gen0 = 0 unless silent)
        rec.tok_time[rec.tok_off[i] + g + silent] = t
        if g == 0 and silent == 0:
            st.first_token[i] = t
        st.generated[i] += 1
        st.last_token[i] = t
        if g + 1 == out_len[i]:
            kv_release(st, r, i)
            _active_remove(st, r, i)
            st.phase[i] = DONE
            st.finish[i] = t
            st.outstanding[r] -= 1
            st.work[r] -= spec.prompt[i]
            st.n_done[0] += 1


@njit(cache=True)
def _check(spec, st, cfg, r, p, d):
    if cfg.uses_budget != 0 and p + d > cfg.token_budget:
        return 1
    used = 0
    for k in range(st.n_active[r]):
        used += st.kv_blocks[st.active[r, k]]
    if st.free_blocks[r] < 0 or used + st.held[r] != cfg.n_blocks - st.free_blocks[r]:
        return 2
    if st.n_active[r] > cfg.max_active:
        return 3
    for k in range(st.blen[r]):
        i = st.bid[r, k]
        if st.replica[i] != r or (st.phase[i] != PREFILL and st.phase[i] != DECODE):
            return 4
        for q in range(k):
            if st.bid[r, q] == i:
                return 4
        if st.phase[i] == DECODE:
            if st.btok[r, k] != 1:
                return 4
            if st.kv_tokens[i] - cfg.prefill_silent > st.kv_blocks[i] * cfg.block_size:
                return 5
        else:
            if st.btok[r, k] < 1 or st.prefilled[i] + st.btok[r, k] > st.target[i]:
                return 7
            if st.kv_blocks[i] * cfg.block_size < st.target[i]:
                return 7
    if st.now[0] < st.last_end[r]:
        return 6
    return 0


@njit(cache=True, inline="always")
def launch(spec, st, rec, cfg, r):
    """Time and record replica ``r``'s freshly built batch; 0 or a STATUS_ code."""
    m = st.blen[r]
    if m == 0:
        return STATUS_STALLED
    now = st.now[0]
    p = 0
    d = 0
    ctx = 0
    pairs = 0.0  # prefill attention (query, key) pairs: sum of chunk * (context before it + chunk / 2)
    for k in range(m):
        i = st.bid[r, k]
        if st.phase[i] == PREFILL:
            p += st.btok[r, k]
            pairs += st.btok[r, k] * (st.prefilled[i] + 0.5 * st.btok[r, k])
        else:
            d += 1
            ctx += st.kv_tokens[i]
    if cfg.check != 0:
        code = _check(spec, st, cfg, r, p, d)
        if code != 0:
            st.err[0] = code
            return STATUS_INVARIANT
    pctx = pairs / p - 0.5 * p if p > 0 else 0.0  # effective context: p (pctx + p / 2) = pairs
    dt = iteration_time_kernel(cfg.lat_kind, cfg.lat_params, p, d, ctx, pctx)
    st.clock[r] = now + dt
    st.busy[r] = 1
    st.n_batches[r] += 1
    st.sum_dur[r] += dt
    it = rec.n_it[0]
    rec.it_start[it] = now
    rec.it_end[it] = now + dt
    rec.it_replica[it] = r
    rec.it_prefill[it] = p
    rec.it_decodes[it] = d
    rec.it_ctx[it] = ctx
    rec.it_kv_used[it] = cfg.n_blocks - st.free_blocks[r]
    rec.it_active[it] = st.n_active[r]
    rec.n_it[0] = it + 1
    if cfg.record_entries != 0:
        e = rec.n_e[0]
        for k in range(m):
            rec.e_iter[e] = it
            rec.e_req[e] = st.bid[r, k]
            rec.e_tok[e] = st.btok[r, k]
            rec.e_decode[e] = 1 if st.phase[st.bid[r, k]] == DECODE else 0
            e += 1
        rec.n_e[0] = e
    return 0


# ----------------------------------------------------------- Python side


def new_state(n, n_replicas, max_active, n_blocks, rejected, warmup_durations=(), route_u=None):
    """Fresh engine state for ``n`` requests (``rejected``: bool (n,), never served).

    ``n_blocks``: KV blocks per replica, an int or int (R,). ``route_u``:
    float64 (n, 4) uniforms in [0, 1) for the power-of-two router (default zeros).

    ``warmup_durations`` (s): batches every replica ran before the workload
    (a warm-up); they count in the batch statistics schedulers read
    (``n_batches``, ``sum_dur``), nothing else.
    """
    R, A = n_replicas, max_active
    f = lambda *s: np.full(s, np.nan)  # noqa: E731
    z = lambda *s: np.zeros(s, np.int64)  # noqa: E731
    phase = np.where(rejected, REJECTED, FUTURE).astype(np.int64)
    return State(
        replica=np.full(n, -1, np.int64), phase=phase, target=z(n), prefilled=z(n), generated=z(n),
        gen0=z(n), kv_tokens=z(n), kv_blocks=z(n), lst=f(n), last_token=f(n), first_token=f(n),
        first_sched=f(n), finish=f(n), n_preempt=z(n),
        clock=np.zeros(R), busy=z(R), last_end=np.zeros(R),
        free_blocks=np.array(np.broadcast_to(n_blocks, R), np.int64),
        n_active=z(R), active=z(R, A),
        wkey=np.zeros((R, max(n, 1))), wid=z(R, max(n, 1)), wlen=z(R),
        dkey=np.zeros((R, A)), did=z(R, A), dlen=z(R),
        bid=z(R, A), btok=z(R, A), blen=z(R), n_batches=np.full(R, len(warmup_durations), np.int64),
        sum_dur=np.full(R, _sequential_sum(warmup_durations)),
        outstanding=z(R), work=z(R), scr_a=z(R, A), scr_b=z(R, A),
        sched_f=np.zeros((R, 8)), sched_i=z(R, 8),
        pf_backlog=z(R), queued=z(R), held=z(R), cap_blocks=np.array(np.broadcast_to(n_blocks, R), np.int64),
        route_u=np.zeros((n, 4)) if route_u is None else np.ascontiguousarray(route_u, np.float64),
        now=np.zeros(1), next_arrival=z(1), n_done=np.array([int(rejected.sum())], np.int64),
        rr=z(2), counter=z(1), err=z(1),
    )


def _sequential_sum(x):
    s = 0.0
    for v in x:  # in order, as the engine accumulates sum_dur
        s += float(v)
    return s


def new_records(out_len, it_cap, e_cap, prefill_silent=0):
    """Empty records; request i has ``out_len[i] + prefill_silent`` event slots."""
    off = np.zeros(out_len.size + 1, np.int64)
    np.cumsum(out_len + prefill_silent, out=off[1:])
    z = lambda s: np.zeros(s, np.int64)  # noqa: E731
    return Records(
        tok_off=off, tok_time=np.full(int(off[-1]), np.nan),
        it_start=np.zeros(it_cap), it_end=np.zeros(it_cap), it_replica=z(it_cap), it_prefill=z(it_cap),
        it_decodes=z(it_cap), it_ctx=z(it_cap), it_kv_used=z(it_cap), it_active=z(it_cap),
        e_iter=z(e_cap), e_req=z(e_cap), e_tok=z(e_cap), e_decode=z(e_cap), n_it=z(1), n_e=z(1),
    )


def run_engine(driver, spec, out_len, cfg, rejected, warmup_durations=(), route_u=None):
    """Run ``driver`` (a registered ``run_<name>`` kernel) to completion.

    Returns ``(state, records)``; raises ``RuntimeError`` on a stalled engine,
    an invariant violation (``cfg.check``) or the iteration limit.
    """
    n = spec.arrival.size
    st = new_state(n, cfg.n_replicas, cfg.max_active, cfg.n_blocks, rejected, warmup_durations, route_u)
    rec = initial_records(spec, out_len, cfg)
    return drive(lambda rec: driver(spec, st, rec, out_len, cfg), st, rec, cfg)


def initial_records(spec, out_len, cfg):
    """Records sized for a typical run of ``spec`` (``drive`` grows them on demand)."""
    total_tokens = int(out_len.sum()) + int(spec.prompt.sum())
    it_cap = max(1024, min(total_tokens, 4 * spec.arrival.size + 4096))
    e_cap = 4 * it_cap if cfg.record_entries else 0
    return new_records(out_len, it_cap, e_cap, cfg.prefill_silent)


def drive(call, st, rec, cfg, messages=INVARIANT_MESSAGES):
    """Call ``call(rec)`` (a driver on ``st``) until it finishes, growing ``rec`` when it asks.

    Returns ``(st, rec)``; raises ``RuntimeError`` on a stalled engine, an
    invariant violation (``messages`` by ``st.err[0]``), the iteration limit
    or unfinished requests.
    """
    n = st.phase.size
    while True:
        status = call(rec)
        if status == STATUS_GROW:
            if cfg.record_entries and rec.n_e[0] + cfg.max_active > rec.e_req.size:
                rec = rec._replace(**{k: _grow_array(getattr(rec, k)) for k in ("e_iter", "e_req", "e_tok", "e_decode")})
            if rec.n_it[0] >= rec.it_start.size:
                rec = rec._replace(**{k: _grow_array(getattr(rec, k)) for k in _IT_FIELDS})
            continue
        break
    if status == STATUS_STALLED:
        raise RuntimeError(f"engine stalled at t={st.now[0]:.6g} s: a replica has work but its "
                           "scheduler built an empty batch")
    if status == STATUS_INVARIANT:
        raise RuntimeError(f"invariant violated at t={st.now[0]:.6g} s, iteration {rec.n_it[0]}: "
                           f"{messages.get(int(st.err[0]), st.err[0])}")
    if status == STATUS_ITER_LIMIT:
        raise RuntimeError(f"iteration limit max_iterations={cfg.max_iterations} reached at "
                           f"t={st.now[0]:.6g} s with {n - st.n_done[0]} requests unfinished")
    if st.n_done[0] != n:
        raise RuntimeError(f"engine ended with {n - st.n_done[0]} unfinished requests")
    return st, rec


_IT_FIELDS = ("it_start", "it_end", "it_replica", "it_prefill", "it_decodes", "it_ctx",
              "it_kv_used", "it_active")


def _grow_array(a):
    b = np.zeros(max(2 * a.size, 1024), a.dtype)
    b[: a.size] = a
    return b
