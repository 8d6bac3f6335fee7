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
earlier arrival. Preempted requests rejoin the waiting queue (at its front
under FCFS, by their recompute length under SPF). The mean batch duration is
the running mean of the spec (one version of the authors' code uses an
exponential moving average instead). Registered as "slai-fcfs-fixed", "slai-spf-fixed", "slai",
"slai-priority"; ``sched_params = (theta_low, theta_high, kv_threshold)``.
"""

from numba import njit

from ._batching import admit_new_prefills, chunk_prefills
from ._heap import heap_pop, heap_push
from .cluster_engine import drive_colocated
from .engine import DECODE, PREFILL, batch_add, batch_clear, preempt
from .kv import kv_try_append

THETA_DYNAMIC, THETA_FIXED = 0, 1


@njit(cache=True, inline="always")
def build_slai(spec, st, cfg, r):
    # One function without per-decode helper calls: every call that receives
    # the state tuple costs an atomic incref/decref per array (numba NRT).
    now = st.now[0]
    # new LSTs for every request of the previous batch that produced a token
    if st.n_batches[r] > 0:
        mean = st.sum_dur[r] / st.n_batches[r]
        theta = cfg.sched_params[1]
        if cfg.variant == THETA_DYNAMIC and (cfg.n_blocks - st.free_blocks[r]) < cfg.sched_params[2] * cfg.n_blocks:
            theta = cfg.sched_params[0]
        for k in range(st.blen[r]):
            i = st.bid[r, k]
            if st.phase[i] == DECODE:
                st.lst[i] = st.last_end[r] + spec.tbt_slo[i] - theta * mean
                heap_push(st.dkey, st.did, st.dlen, r, st.lst[i], i)
    batch_clear(st, r)
    # paused prefills, oldest first, in scr_b[r, head:tail]
    tail = 0
    for k in range(st.n_active[r]):
        i = st.active[r, k]
        if st.phase[i] == PREFILL:
            st.scr_b[r, tail] = i
            tail += 1
    head = 0
    tokens = 0
    n_dec = 0
    for step in range(2):
        critical_only = step == 0  # step 0: critical decodes; step 1: the rest
        while st.dlen[r] > 0 and tokens < cfg.token_budget and n_dec < cfg.max_decodes:
            if critical_only and now < st.dkey[r, 0]:
                break
            i = heap_pop(st.dkey, st.did, st.dlen, r)
            # reserve KV for decode i; when no block is free, preempt the newest
            # paused prefill left out of this batch, else i itself (the rule of
            # _batching.decode_running_in_order, written out: a shared inlined helper
            # that calls ``preempt`` made the engine 3.5-4x slower, four shapes measured)
            while True:
                if kv_try_append(st, cfg, r, i):
                    batch_add(st, r, i, 1)
                    n_dec += 1
                    tokens += 1
                    break
                if tail > head:
                    tail -= 1
                    preempt(spec, st, cfg, r, st.scr_b[r, tail])
                else:
                    preempt(spec, st, cfg, r, i)
                    break
        if critical_only:
            tokens, head = chunk_prefills(st, cfg, r, head, tail, tokens)
            tokens = admit_new_prefills(spec, st, cfg, r, tokens)


@njit(cache=True)
def run_slai(spec, st, rec, out_len, cfg):
    return drive_colocated(build_slai, spec, st, rec, out_len, cfg)
