"""The event loop of every run: replicas behind two routers, colocated, prefill and decode.

Units: seconds, tokens, bytes. The replicas share one engine state
(``queueing.engine.State``) and run the engine's operations (commit, routing,
launch) and a registered scheduler's ``build``; a plain ``simulate`` run is a
cluster of colocated replicas only, so ``next_decision`` is the one event loop
of both. What a disaggregated cluster adds (``queueing.cluster`` documents
the model):

* replicas are numbered by role: colocated, then prefill, then decode; arrivals
  are routed (``pick_replica``, stage 0) over the colocated and prefill
  replicas ``0 .. n_stage1 - 1``;
* when a prefill completes on a prefill replica (the engine's commit has
  recorded its first token), the request leaves that replica's active list but
  keeps its KV blocks there (``st.held``), is routed (stage 1) to a decode
  replica and joins that replica's FIFO admission queue;
* a decode replica admits the head of its queue when none of its own
  preempted requests waits, the KV of its tokens fits (``kv_fits``, the
  watermark included) and its active cap allows: the
  blocks are reserved on the decode replica (``st.held``) and the transfer
  starts on the prefill replica's link, which sends one request at a time
  (FIFO) in ``tokens * kv_bytes_per_token / bandwidth`` seconds; the KV lands
  ``link_latency`` seconds after it is sent;
* at landing the prefill replica frees the blocks and the request becomes an
  active decode on the decode replica (its KV tokens and blocks unchanged).

Event order at equal times: batch ends, then landings, then arrivals, then
admissions to decode replicas, then idle replicas schedule (lowest first), so
a batch built at time t sees every arrival and completion at t. A replica
with nothing active whose next waiting request's KV does not fit while some
of its memory is held for transfers waits for a landing.

Drivers. ``replica_loop(build, ...)`` is the one driver loop, inlined into
each driver with its batch builder ``build`` a compile-time constant (a
jitted function passed to an inlined function leaves no function in any
compiled signature, so numba's on-disk cache works): each scheduler's
``run_<name>`` runs it on colocated replicas (``drive_colocated``) and
``queueing.cluster_driver.run_cluster`` on a cluster, with a builder that
dispatches on each role's ``cfg.builder``. Per-role configurations ``cfgs``
(a 3-tuple of ``queueing.engine.Config``, indexed by role) give each kind its
batch builder, latency model, KV capacity, budget and active cap.
"""

from collections import namedtuple

import numpy as np
from numba import njit

from ._heap import heap_pop, heap_push
from .engine import (DECODE, REJECTED, STATUS_DONE, STATUS_GROW, STATUS_INVARIANT, STATUS_ITER_LIMIT,
                     _active_add, _active_remove, _commit, assign, launch, pick_replica)
from .kv import kv_fits

ROLE_COLOCATED, ROLE_PREFILL, ROLE_DECODE = 0, 1, 2
ROLES = {"colocated": ROLE_COLOCATED, "prefill": ROLE_PREFILL, "decode": ROLE_DECODE}
TRANSFER = 6  # phase of a request between its prefill replica and its decode replica
# cluster invariant codes (st.err[0], after the engine's 1..7)
CLUSTER_INVARIANT_MESSAGES = {
    8: "a decode replica reserved KV blocks it does not have",
    9: "KV held outside the active lists went negative",
}

Cluster = namedtuple("Cluster", [
    "role", "n_stage1", "routers",                     # (R,), (1,), (2,) int64
    "link",                                            # float64 (3,): bandwidth B/s, latency s, KV bytes/token
    "link_free",                                       # float64 (R,): when each prefill replica's link is free
    "qkey", "qid", "qlen", "incoming",                 # decode admission queues (R, n) heaps; in-flight count (R,)
    "tkey", "tid", "tlen",                             # transfers in flight: one heap (1, n) keyed by landing time
    "src", "dst", "prefill_end", "xfer_start", "xfer_end",  # per request (n,)
])


@njit(cache=True)
def new_cluster(role, n_stage1, routers, link, n):
    """Fresh cluster state for ``n`` requests on replicas of roles ``role`` (int64 (R,)).

    ``routers``: int64 (2,), the arrival and decode routers (``engine.ROUTERS``);
    ``link``: float64 (3,), bandwidth (B/s), latency (s), KV bytes per token.
    """
    R = role.size
    m = max(n, 1) if n_stage1 < R else 1  # admission queues and transfers exist only with decode replicas
    return Cluster(
        role=role.copy(), n_stage1=np.full(1, n_stage1, np.int64), routers=routers.copy(), link=link.copy(),
        link_free=np.zeros(R), qkey=np.zeros((R, m)), qid=np.zeros((R, m), np.int64), qlen=np.zeros(R, np.int64),
        incoming=np.zeros(R, np.int64), tkey=np.zeros((1, m)), tid=np.zeros((1, m), np.int64),
        tlen=np.zeros(1, np.int64), src=np.full(n, -1, np.int64), dst=np.full(n, -1, np.int64),
        prefill_end=np.full(n, np.nan), xfer_start=np.full(n, np.nan), xfer_end=np.full(n, np.nan),
    )


@njit(cache=True)
def _hand_off(spec, st, cfg, cl, p):
    """Move the prefills that replica ``p``'s last batch completed to decode admission queues."""
    now = st.now[0]
    R = cl.role.size
    for k in range(st.blen[p]):
        i = st.bid[p, k]
        if st.phase[i] != DECODE:  # a prefill chunk that did not finish, or a request done at its prefill
            continue
        _active_remove(st, p, i)
        st.held[p] += st.kv_blocks[i]
        st.outstanding[p] -= 1
        st.work[p] -= spec.prompt[i]
        st.phase[i] = TRANSFER
        cl.src[i] = p
        cl.prefill_end[i] = now
        d = pick_replica(st, cfg, cl.routers[1], cl.n_stage1[0], R, i, 1)
        cl.dst[i] = d
        st.outstanding[d] += 1
        st.work[d] += spec.prompt[i]
        st.queued[d] += st.kv_tokens[i]
        heap_push(cl.qkey, cl.qid, cl.qlen, d, now, i)


@njit(cache=True)
def _start_transfers(st, cfg, cl, d):
    """Admit the head of decode replica ``d``'s queue while its KV fits; True if a transfer started."""
    now = st.now[0]
    started = False
    while cl.qlen[d] > 0 and st.wlen[d] == 0:  # the replica's preempted requests come first
        i = cl.qid[d, 0]
        if st.n_active[d] + cl.incoming[d] >= cfg.max_active or not kv_fits(st, cfg, d, st.kv_tokens[i]):
            break
        heap_pop(cl.qkey, cl.qid, cl.qlen, d)
        b = st.kv_blocks[i]
        st.free_blocks[d] -= b
        if cfg.check != 0 and st.free_blocks[d] < 0:
            st.err[0] = 8
        st.held[d] += b
        st.queued[d] -= st.kv_tokens[i]
        cl.incoming[d] += 1
        p = cl.src[i]
        start = max(now, cl.link_free[p])
        send = st.kv_tokens[i] * cl.link[2] / cl.link[0]  # 0 on an infinitely fast link
        cl.link_free[p] = start + send
        cl.xfer_start[i] = start
        heap_push(cl.tkey, cl.tid, cl.tlen, 0, start + send + cl.link[1], i)
        started = True
    return started


@njit(cache=True)
def _land(st, cfg, cl, i):
    """Request ``i``'s KV has arrived: free it on the prefill replica, start decoding."""
    p = cl.src[i]
    d = cl.dst[i]
    b = st.kv_blocks[i]
    st.free_blocks[p] += b
    st.held[p] -= b
    st.held[d] -= b
    if cfg.check != 0 and (st.held[p] < 0 or st.held[d] < 0):
        st.err[0] = 9
    cl.incoming[d] -= 1
    cl.xfer_end[i] = st.now[0]
    st.replica[i] = d
    st.phase[i] = DECODE
    _active_add(st, d, i)


@njit(cache=True, inline="always")
def next_decision(spec, st, rec, out_len, cfgs, cl):
    """Advance events until a replica must schedule; return it or a STATUS_ code."""
    n = spec.arrival.size
    R = cl.role.size
    while True:
        if st.err[0] != 0:
            return STATUS_INVARIANT
        now = st.now[0]
        rb = -1
        tb = np.inf
        for r in range(R):
            if st.busy[r] == 1 and st.clock[r] < tb:
                tb = st.clock[r]
                rb = r
        if rb >= 0 and tb <= now:
            _commit(spec, st, rec, out_len, cfgs[cl.role[rb]], rb)
            if cl.role[rb] == ROLE_PREFILL:
                _hand_off(spec, st, cfgs[ROLE_DECODE], cl, rb)
            continue
        if cl.tlen[0] > 0 and cl.tkey[0, 0] <= now:
            _land(st, cfgs[ROLE_DECODE], cl, heap_pop(cl.tkey, cl.tid, cl.tlen, 0))
            continue
        j = st.next_arrival[0]
        while j < n and st.phase[j] == REJECTED:
            j += 1
            st.next_arrival[0] = j
        if j < n and spec.arrival[j] <= now:
            r = pick_replica(st, cfgs[cl.role[0]], cl.routers[0], 0, cl.n_stage1[0], j, 0)
            assign(spec, st, cfgs[cl.role[r]], j, r)
            st.next_arrival[0] = j + 1
            continue
        started = False
        for d in range(cl.n_stage1[0], R):
            if cl.qlen[d] > 0 and _start_transfers(st, cfgs[ROLE_DECODE], cl, d):
                started = True
        if started:
            continue
        for r in range(R):
            if st.busy[r] == 0 and (st.n_active[r] > 0 or st.wlen[r] > 0):
                cfg = cfgs[cl.role[r]]
                if st.n_active[r] == 0 and st.held[r] > 0 and not kv_fits(st, cfg, r, st.target[st.wid[r, 0]]):
                    continue  # its KV is held for transfers: it waits for a landing to free some
                if rec.n_it[0] >= rec.it_start.size:
                    return STATUS_GROW
                if cfg.record_entries != 0 and rec.n_e[0] + cfg.max_active > rec.e_req.size:
                    return STATUS_GROW
                if rec.n_it[0] >= cfg.max_iterations:
                    return STATUS_ITER_LIMIT
                return r
        ta = spec.arrival[j] if j < n else np.inf
        tt = cl.tkey[0, 0] if cl.tlen[0] > 0 else np.inf
        t = min(tb, ta, tt)
        if t == np.inf:
            return STATUS_DONE
        st.now[0] = t


@njit(cache=True, inline="always")
def replica_loop(build, spec, st, rec, out_len, cfgs, cl):
    """Run until done or a STATUS_ code: each decision's replica ``r`` builds (``build(spec, st, cfg, r)``) and launches a batch."""
    while True:
        r = next_decision(spec, st, rec, out_len, cfgs, cl)
        if r < 0:
            return r
        cfg = cfgs[cl.role[r]]
        build(spec, st, cfg, r)
        s = launch(spec, st, rec, cfg, r)
        if s < 0:
            return s


@njit(cache=True, inline="always")
def drive_colocated(build, spec, st, rec, out_len, cfg):
    """``replica_loop`` on ``cfg.n_replicas`` colocated replicas behind the router ``cfg.router``.

    A fresh cluster state each call is exact: without decode replicas its
    queues and transfers stay empty (``drive`` calls again after growing records).
    """
    R = cfg.n_replicas
    routers = np.full(2, cfg.router, np.int64)
    cl = new_cluster(np.zeros(R, np.int64), R, routers, np.array([np.inf, 0.0, 1.0]), spec.arrival.size)
    return replica_loop(build, spec, st, rec, out_len, (cfg, cfg, cfg), cl)
