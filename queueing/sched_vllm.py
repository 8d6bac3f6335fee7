"""vLLM (v0) prefill-first scheduling.

If waiting requests fit (KV for the whole prompt, at most ``max_prefill``
batched prompt tokens, active cap), run a prefill-only batch of them, FCFS,
stopping at the first that does not fit; otherwise a decode-only batch of
every running request, oldest first, preempting the newest when KV runs out.
Prompts are never chunked; ``simulate`` rejects (or flags) a prompt longer
than ``max_prefill``, and a recompute longer than it runs alone (the
testbed's ``VLLMScheduler`` would wait forever). Registered as "vllm".
"""

import numpy as np
from numba import njit

from ._batching import decode_running_in_order
from .cluster_engine import drive_colocated
from .engine import admit, batch_add, batch_clear, waiting_peek, waiting_pop
from .kv import kv_fits


@njit(cache=True, inline="always")
def build_vllm(spec, st, cfg, r):
    batch_clear(st, r)
    total = 0
    while True:
        i = waiting_peek(st, r)
        if i < 0 or st.n_active[r] >= cfg.max_active or not kv_fits(st, cfg, r, st.target[i]):
            break
        t = st.target[i]
        if total > 0 and total + t > cfg.max_prefill:
            break
        waiting_pop(st, r)
        admit(spec, st, cfg, r, i)
        batch_add(st, r, i, t)
        total += t
    if total == 0:
        decode_running_in_order(spec, st, cfg, r, 0, np.iinfo(np.int64).max)


@njit(cache=True)
def run_vllm(spec, st, rec, out_len, cfg):
    return drive_colocated(build_vllm, spec, st, rec, out_len, cfg)
