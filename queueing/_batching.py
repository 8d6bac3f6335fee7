"""Batch-building steps shared by several schedulers (jitted).

Units: tokens. Each step appends entries to replica ``r``'s batch through the
engine's operations (``queueing.engine``) and returns the batch's token count.
"""

from numba import njit

from .engine import PREFILL, admit, batch_add, preempt, waiting_peek, waiting_pop
from .kv import kv_fits, kv_try_append


@njit(cache=True, inline="always")
def decode_running_in_order(spec, st, cfg, r, tokens, token_limit):
    """Give every running decode of ``r`` one token, in arrival order.

    Sarathi-Serve / vLLM phase 1: active requests are visited oldest first;
    a decode that needs a KV block when none is free preempts the newest
    not-yet-visited active request (decode or paused prefill), and itself when
    none is left. Decodes stop at ``token_limit`` batch tokens.
    Active prefills are collected, oldest first, into ``st.scr_b[r, :n]``.

    Returns ``(n, tokens)``: collected prefills and the batch's token count.
    """
    m = st.n_active[r]
    for k in range(m):
        st.scr_a[r, k] = st.active[r, k]
    end = m
    k = 0
    npf = 0
    while k < end:
        i = st.scr_a[r, k]
        k += 1
        if st.phase[i] == PREFILL:
            st.scr_b[r, npf] = i
            npf += 1
            continue
        if tokens >= token_limit:
            continue
        while True:
            if kv_try_append(st, cfg, r, i):
                batch_add(st, r, i, 1)
                tokens += 1
                break
            if end > k:
                end -= 1
                preempt(spec, st, cfg, r, st.scr_a[r, end])
            else:
                preempt(spec, st, cfg, r, i)
                break
    return npf, tokens


@njit(cache=True, inline="always")
def chunk_prefills(st, cfg, r, first, last, tokens):
    """Continue the prefills ``st.scr_b[r, first:last]`` in order with chunks of the leftover budget.

    Returns ``(tokens, q)``: the batch's token count and the index of the
    first prefill left out.
    """
    q = first
    while q < last and tokens < cfg.token_budget:
        i = st.scr_b[r, q]
        c = min(st.target[i] - st.prefilled[i], cfg.token_budget - tokens)
        batch_add(st, r, i, c)
        tokens += c
        q += 1
    return tokens, q


@njit(cache=True, inline="always")
def admit_new_prefills(spec, st, cfg, r, tokens):
    """Admit waiting requests in queue order, head-of-line blocking, chunked to the budget.

    Stops at the first request whose whole prompt does not fit in free KV,
    at the active cap, or when the budget is spent. Returns the token count.
    """
    while tokens < cfg.token_budget:
        i = waiting_peek(st, r)
        if i < 0 or st.n_active[r] >= cfg.max_active or not kv_fits(st, cfg, r, st.target[i]):
            break
        waiting_pop(st, r)
        admit(spec, st, cfg, r, i)
        c = min(st.target[i], cfg.token_budget - tokens)
        batch_add(st, r, i, c)
        tokens += c
    return tokens
