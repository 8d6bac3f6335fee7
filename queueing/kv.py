"""Paged key-value (KV) memory accounting, written once for every scheduler.

Units: tokens; memory is handed out in blocks of ``block_size`` tokens
(default 16) per replica. The rules are those of the block manager of the
paper's testbed, the SLAI fork of Sarathi-Serve (github.com/agrimUT/SLAI at
commit 5098a7aba05e3edbcfa3a509d6cc9cd248fc4380,
``sarathi/core/block_space_manager/base_block_space_manager.py``), each with
the alternative that mainstream vLLM or the earlier toolkit used:

* **admission** (``can_allocate``): a prefill attempt of ``target`` tokens
  takes ``ceil(target / block_size)`` blocks at once, and is admitted only if
  at least ``watermark`` blocks stay free afterwards,
  ``free - need >= int(kv_watermark * n_blocks)`` (testbed and vLLM v0:
  ``kv_watermark = 0.01``; 0 gives ``free >= need``);
* **append** (``can_append_slot``): before a decode runs, the testbed asks
  whether *any* block is free and otherwise preempts, even when this decode
  would not need a new block (``append_rule="any_free"``); the alternative
  asks only when the decode needs a block (``"when_needed"``);
* **token convention** (``sarathi/core/sequence_manager/base_sequence_manager.py``
  ``_process_seq_output``, ``sarathi/core/datatypes/sequence.py``): in the
  testbed the iteration that completes a prefill emits no token
  (``prefill_silent = 1``), so a request runs D decodes and decode k holds
  ``P + k - 1`` tokens in its blocks (the token emitted by decode k - 1 is
  written by decode k); mainstream vLLM samples the first output token from
  the prefill (``prefill_silent = 0``), runs D - 1 decodes, and decode k
  holds ``P + k`` tokens. In both, request i's largest KV footprint is
  ``ceil((P + D - 1) / block_size)`` blocks;
* release (finish or recompute preemption) frees all of a request's blocks.

The kernels act on the engine state (``queueing.engine.State``): per-replica
``free_blocks`` and per-request ``kv_blocks``, ``kv_tokens`` (tokens whose KV
the request's decodes have run over: ``P`` after the prefill, one more per
decode).
"""

from numba import njit

DEFAULT_BLOCK_SIZE = 16
DEFAULT_KV_CAPACITY_TOKENS = 235_728  # 14,733 blocks: Mistral-7B on a 48 GB card
DEFAULT_KV_WATERMARK = 0.01  # testbed's BaseBlockSpaceManager(watermark=0.01)
APPEND_ANY_FREE, APPEND_WHEN_NEEDED = 0, 1
APPEND_RULES = {"any_free": APPEND_ANY_FREE, "when_needed": APPEND_WHEN_NEEDED}


@njit(cache=True, inline="always")
def blocks_for(tokens, block_size):
    """Blocks needed to hold ``tokens`` tokens."""
    return (tokens + block_size - 1) // block_size


@njit(cache=True, inline="always")
def kv_fits(st, cfg, r, tokens, extra_blocks=0):
    """True when replica ``r`` may admit ``tokens`` new tokens (and hold ``extra_blocks`` more).

    The testbed's ``can_allocate``: ``free - need >= cfg.watermark`` blocks.
    """
    return st.free_blocks[r] - blocks_for(tokens, cfg.block_size) - extra_blocks >= cfg.watermark


@njit(cache=True)
def _append_min_free(need, rule):
    # Free blocks a decode requires. A separate, non-inlined kernel on purpose:
    # written inline, this second way to fail made the SLAI driver 2.5x slower
    # (measured: 1.2 s -> 3.0 s CPU for 16,384 requests); a scalar call costs nothing.
    return 1 if need or rule == APPEND_ANY_FREE else 0


@njit(cache=True, inline="always")
def kv_try_append(st, cfg, r, i):
    """Reserve the slot of request ``i``'s next decode token; False means preempt first.

    A new block is needed when the tokens the decode holds fill its blocks.
    Under ``APPEND_ANY_FREE`` (testbed) the decode also fails when no block is
    free although it needs none.
    """
    need = st.kv_tokens[i] - cfg.prefill_silent == st.kv_blocks[i] * cfg.block_size
    if st.free_blocks[r] < _append_min_free(need, cfg.append_rule):
        return False
    if need:
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
