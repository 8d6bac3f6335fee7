"""Paged key-value (KV) memory accounting, written once for every scheduler.

Units: tokens; memory is handed out in blocks of ``block_size`` tokens
(default 16) per replica. Rules (spec "Engine model"):

* admission of a prefill attempt of ``target`` tokens needs
  ``ceil(target / block_size)`` free blocks for the whole prompt at once;
* a decode step writes one more token; it needs a new block exactly when the
  request's KV tokens fill its blocks (every ``block_size`` generated tokens);
* release (finish or recompute preemption) frees all of a request's blocks.

The kernels act on the engine state (``queueing.engine.State``): per-replica
``free_blocks`` and per-request ``kv_blocks``, ``kv_tokens``.
"""

from numba import njit

DEFAULT_BLOCK_SIZE = 16
DEFAULT_KV_CAPACITY_TOKENS = 235_728  # 14,733 blocks: Mistral-7B on a 48 GB card


@njit(cache=True, inline="always")
def blocks_for(tokens, block_size):
    """Blocks needed to hold ``tokens`` tokens."""
    return (tokens + block_size - 1) // block_size


@njit(cache=True, inline="always")
def kv_fits(st, cfg, r, tokens):
    """True when replica ``r`` has free blocks for ``tokens`` new tokens."""
    return st.free_blocks[r] >= blocks_for(tokens, cfg.block_size)


@njit(cache=True, inline="always")
def kv_allocate(st, cfg, r, i, tokens):
    """Give request ``i`` the blocks for a ``tokens``-token prefill (caller checked ``kv_fits``)."""
    b = blocks_for(tokens, cfg.block_size)
    st.free_blocks[r] -= b
    st.kv_blocks[i] = b
    st.kv_tokens[i] = 0


@njit(cache=True, inline="always")
def kv_decode_needs_block(st, cfg, i):
    """True when request ``i``'s next decode token needs a new block."""
    return st.kv_tokens[i] == st.kv_blocks[i] * cfg.block_size


@njit(cache=True, inline="always")
def kv_try_append(st, cfg, r, i):
    """Reserve the slot of request ``i``'s next decode token; False when no block is free."""
    if st.kv_tokens[i] == st.kv_blocks[i] * cfg.block_size:
        if st.free_blocks[r] == 0:
            return False
        st.free_blocks[r] -= 1
        st.kv_blocks[i] += 1
    st.kv_tokens[i] += 1
    return True


@njit(cache=True, inline="always")
def kv_release(st, r, i):
    """Free every block of request ``i``."""
    st.free_blocks[r] += st.kv_blocks[i]
    st.kv_blocks[i] = 0
    st.kv_tokens[i] = 0
