"""SLAI: SLO-aware last-minute scheduling (the paper's practical scheduler).

Follows the authors' public implementation (a Sarathi-Serve fork). Each
decoding request j carries a last schedulable time

    LST_j = (end of the batch that produced its previous token) + TBT_j
            - Theta * (running mean of this replica's batch durations),

set after every batch for every request that produced a token; a decode is
critical when now >= LST_j. Theta = theta_low (5) while used KV / total KV <
kv_threshold (0.96), else theta_high (10) ("dynamic offset", variant 0), or
always theta_high ("fixed offset", variant 1). Batch construction under the
token budget B, at most ``max_decodes`` decodes, at most ``max_active``
active requests:

1. critical decodes, smallest LST first;
2. started (paused) prefills, oldest first, never displaced;
3. new prefills in queue order (FCFS, SPF, or strict class then SPF) with
   head-of-line blocking; admission needs KV for the whole prompt;
4. non-critical decodes with the leftover budget, smallest LST first.

A decode that needs a KV block when none is free preempts the newest paused
prefill not in this batch, else itself (recompute). Ties in LST go to the
earlier arrival. Registered as "slai-fcfs-fixed", "slai-spf-fixed", "slai",
"slai-priority"; ``sched_params = (theta_low, theta_high, kv_threshold)``.
"""

from numba import njit

from ._batching import admit_new_prefills, chunk_prefills
from ._heap import heap_pop, heap_push
from .engine import DECODE, PREFILL, batch_add, batch_clear, launch, next_decision, preempt
from .kv import kv_try_append

THETA_DYNAMIC, THETA_FIXED = 0, 1


@njit(cache=True)
def _requeue_last_batch(spec, st, cfg, r):
    """New LSTs for every request of the previous batch that produced a token."""
    if st.n_batches[r] == 0:
        return
    mean = st.sum_dur[r] / st.n_batches[r]
    theta = cfg.sched_params[1]
    if cfg.variant == THETA_DYNAMIC:
        used = (cfg.n_blocks - st.free_blocks[r]) / cfg.n_blocks
        if used < cfg.sched_params[2]:
            theta = cfg.sched_params[0]
    for k in range(st.blen[r]):
        i = st.bid[r, k]
        if st.phase[i] == DECODE:
            st.lst[i] = st.last_end[r] + spec.tbt_slo[i] - theta * mean
            heap_push(st.dkey, st.did, st.dlen, r, st.lst[i], i)


@njit(cache=True)
def _decode(spec, st, cfg, r, i, head, tail):
    """Reserve KV for decode ``i`` (preempting paused prefills from the tail); new tail, or -1 - tail if ``i`` was preempted."""
    while True:
        if kv_try_append(st, cfg, r, i):
            batch_add(st, r, i, 1)
            return tail
        if tail > head:
            tail -= 1
            preempt(spec, st, cfg, r, st.scr_b[r, tail])
        else:
            preempt(spec, st, cfg, r, i)
            return -1 - tail


@njit(cache=True)
def build_slai(spec, st, cfg, r):
    _requeue_last_batch(spec, st, cfg, r)
    batch_clear(st, r)
    now = st.now[0]
    # paused prefills, oldest first, in scr_b[r, head:tail]
    tail = 0
    for k in range(st.n_active[r]):
        i = st.active[r, k]
        if st.phase[i] == PREFILL:
            st.scr_b[r, tail] = i
            tail += 1
    head = 0
    tail, tokens, n_dec = _decodes(spec, st, cfg, r, now, head, tail, 0, 0, True)
    tokens, head = chunk_prefills(st, cfg, r, head, tail, tokens)
    tokens = admit_new_prefills(spec, st, cfg, r, tokens)
    _decodes(spec, st, cfg, r, now, head, tail, tokens, n_dec, False)


@njit(cache=True)
def _decodes(spec, st, cfg, r, now, head, tail, tokens, n_dec, critical_only):
    """Decodes by smallest LST within budget and ``max_decodes``; only critical ones if asked.

    Returns ``(tail, tokens, n_dec)``.
    """
    while st.dlen[r] > 0 and tokens < cfg.token_budget and n_dec < cfg.max_decodes:
        if critical_only and now < st.dkey[r, 0]:
            break
        i = heap_pop(st.dkey, st.did, st.dlen, r)
        t = _decode(spec, st, cfg, r, i, head, tail)
        if t >= 0:
            tail = t
            n_dec += 1
            tokens += 1
        else:
            tail = -1 - t
    return tail, tokens, n_dec


@njit(cache=True)
def run_slai(spec, st, rec, out_len, cfg):
    while True:
        r = next_decision(spec, st, rec, out_len, cfg)
        if r < 0:
            return r
        build_slai(spec, st, cfg, r)
        s = launch(spec, st, rec, cfg, r)
        if s < 0:
            return s
