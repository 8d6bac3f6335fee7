"""RAD (Resource-Aware Dynamic) scheduler: tile-aligned, dynamically split batches.

Units: tokens. Reconstruction of the throughput-optimal scheduler of Bari,
Hegde & de Veciana (arXiv 2508.01002) from its abstract and the spec; the
paper's exact definition is not available. What is kept, and how:

* *Optimal tiling.* The token budget ``B`` must be a whole number of tiles
  (``tile`` tokens: the GEMM tile along the token dimension, or the lcm of
  the tile sizes of the kernels involved; 128 by default, about where the
  calibrated model's memory-bound floor ends). While there is
  prefill work, every batch is filled to exactly ``B`` rows with prefill
  chunks, so every batch is a whole number of tiles; the last iteration of a
  drained backlog carries what is left.
* *Dynamic resource allocation.* Each iteration is in *prefill mode* (it
  carries every running decode plus tile-filling prompt chunks) when there is
  admissible prefill work, else in *decode mode* (a batch of all running
  decodes, at most ``B``). The split of GPU time between prompt and decode
  rows is not fixed: it is ``B - d`` versus ``d`` with ``d`` the decode
  population, so it follows the backlogs.
* *Resource awareness.* A cycle admits up to ``prefills_per_cycle`` requests
  to prefill at once, FCFS, only while their summed remaining prompt is less
  than the batch room (no request holds KV long before its prefill runs),
  only if the block manager admits the whole prompt (``queueing.kv``: its
  watermark stays free) with ``kv_reserve`` of the KV capacity left over
  for decode growth besides, and within ``max_active``.
  When a decode still finds no free block, the newest active request is
  preempted by recompute (the engine's rule, shared with Sarathi-Serve).

Reconstruction choice: the spec describes modes that alternate prefill-only
and decode-only batches of one tile width; that scheduler is
``"rad-alternating"`` (:mod:`queueing.sched_rad_alternating`). It is
throughput-optimal only if the iteration time is linear in whole tiles with
no per-iteration intercept
(:func:`queueing.latency.intercept_free_tile_latency`); on the calibrated
model (6.7 ms / 21.1 ms intercepts) a decode-only batch of <= 128 requests
costs about twice as much per row as a full 512-row batch, so the
throughput-optimal policy of :mod:`queueing.theory` must put decodes in the
prefill-mode batches, and this scheduler does (ShareGPT4, memory ample: fluid
capacity 2.035 req/s against 1.892 for ``"rad-alternating"``). Decode width
therefore equals the decode population (every decode runs every iteration,
which also minimises the KV and slots held per request, the Little's-law
memory bounds of the theory). The scheduler never reads output lengths (only
``spec`` and engine state).

When "rad" is Sarathi-Serve FCFS. With ``kv_reserve = 0`` and
``decode_budget = 0`` (the defaults) both build every batch alike: running
decodes oldest first under the same preemption rule, then started prefills,
then new requests FCFS with head-of-line blocking, chunked to the budget
(admitting while the started prompts leave room is Sarathi-Serve's "while
budget is left"). They differ only when

* a batch would carry chunks of more than ``prefills_per_cycle`` (8)
  prompts, started and new together: Sarathi-Serve takes them all (a burst
  of short prompts), RAD at most 8;
* ``kv_reserve > 0``: under KV pressure RAD holds admissions back to leave
  room for decode growth (fewer recomputes, longer waits); without it, KV
  pressure alone changes nothing (same admission, same preemption);
* the budget is not a multiple of ``tile``: RAD refuses it, Sarathi-Serve
  runs it and, on a tile-quantised GPU, pays for the padded rows
  (:func:`queueing.theory.tiling_loss_table`);
* ``decode_budget > 0`` (the static-split ablation).

So on ShareGPT4 at the paper's settings (tile-aligned budget 512, prompts
mostly longer than the budget, arrivals below 2 req/s, so never chunks of 9
prompts in one batch) "rad" and "sarathi" give identical runs, request by
request (``tests/queueing/test_rad_alternating.py``); the studies
``q_ttft_vs_qps`` and ``q_capacity`` say so where both are drawn, and
``q_rad_variants`` shows the cases above, the alternating variant and the
effect of the intercept.

Ablation: ``decode_budget = B_d > 0`` turns dynamic allocation off: every
iteration carries at most ``B_d`` decodes (oldest first; the others wait) and
at most ``B - B_d`` prompt tokens, the static split of
:func:`queueing.theory.static_split_capacity`.

Parameters (``cfg.sched_params``, registered as ``"rad"`` in
:mod:`queueing.registry`): ``tile`` (128 tokens), ``prefills_per_cycle`` (8),
``kv_reserve`` (0.0, fraction of KV blocks), ``decode_budget`` (0). A budget that is not a multiple
of ``tile`` raises ``ValueError`` when the run starts.
"""

from numba import njit

from ._batching import chunk_prefills, decode_running_in_order
from .cluster_engine import drive_colocated
from .engine import admit, batch_clear, waiting_peek, waiting_pop
from .kv import kv_fits

__all__ = ["build_rad", "run_rad", "check_rad_params"]


def check_rad_params(params, token_budget):
    """Raise ``ValueError`` naming the parameter when RAD's parameters are out of range.

    Parameters
    ----------
    params : dict
        ``tile`` (integer >= 1, tokens), ``prefills_per_cycle`` (integer
        >= 1), ``kv_reserve`` (fraction of the KV blocks in [0, 1)) and,
        for ``"rad"``, ``decode_budget`` (integer in [0, token_budget)).
    token_budget : int
        Must be a multiple of ``tile``.
    """
    for name in ("tile", "prefills_per_cycle"):
        v = params[name]
        if v != int(v) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    if not 0.0 <= params["kv_reserve"] < 1.0:
        raise ValueError(f"kv_reserve must be a fraction of the KV blocks in [0, 1), got {params['kv_reserve']!r}")
    if token_budget % int(params["tile"]):
        raise ValueError(f"RAD needs token_budget ({token_budget}) to be a multiple of tile ({int(params['tile'])})")
    bd = params.get("decode_budget", 0.0)
    if bd != int(bd) or not 0 <= bd < token_budget:
        raise ValueError(f"decode_budget must be an integer in [0, token_budget = {token_budget}), got {bd!r}")


@njit(cache=True)
def build_rad(spec, st, cfg, r):
    n_cycle = int(cfg.sched_params[1])
    reserve = int(cfg.sched_params[2] * cfg.n_blocks)
    batch_clear(st, r)
    static = int(cfg.sched_params[3])
    if static > 0:  # ablation: a static split, at most `static` decodes and B - static prompt tokens
        npf, tokens = decode_running_in_order(spec, st, cfg, r, 0, static)
        room = cfg.token_budget - static
    else:
        npf, tokens = decode_running_in_order(spec, st, cfg, r, 0, cfg.token_budget)
        room = cfg.token_budget - tokens
    backlog = 0
    for q in range(npf):
        i = st.scr_b[r, q]
        backlog += st.target[i] - st.prefilled[i]
    while backlog < room and npf < n_cycle and st.n_active[r] < cfg.max_active:
        i = waiting_peek(st, r)
        if i < 0:
            break
        # the reserve applies only beside active requests, so an empty replica admits
        # anything the block manager admits and nothing starves
        if not kv_fits(st, cfg, r, st.target[i], reserve if st.n_active[r] > 0 else 0):
            break
        waiting_pop(st, r)
        admit(spec, st, cfg, r, i)
        st.scr_b[r, npf] = i
        npf += 1
        backlog += st.target[i]
    chunk_prefills(st, cfg, r, 0, npf, cfg.token_budget - room)


@njit(cache=True)
def run_rad(spec, st, rec, out_len, cfg):
    tile = int(cfg.sched_params[0])
    if tile < 1 or cfg.token_budget % tile != 0:
        raise ValueError("RAD needs token_budget to be a positive multiple of tile (tokens)")
    if cfg.sched_params[1] < 1 or not 0.0 <= cfg.sched_params[2] < 1.0:
        raise ValueError("RAD needs prefills_per_cycle >= 1 and kv_reserve in [0, 1)")
    if cfg.sched_params[3] < 0 or cfg.sched_params[3] >= cfg.token_budget:
        raise ValueError("RAD needs 0 <= decode_budget < token_budget (0: dynamic split)")
    return drive_colocated(build_rad, spec, st, rec, out_len, cfg)
