"""The one simulation loop shared by every policy: requests -> item accesses.

Layering is written here once. A request ``t`` for object ``i = objects[t]``
(version ``l = versions[t]``, 1-based) touches the items ``base + k - 1,
..., base + 1, base`` in that order, where per mode

- ``LAYERED``: ``base = i * L``, ``k = l``: layers l, l-1, ..., 1 (item
  ``i * L + j - 1`` is layer j), so layer 1 ends most recent;
- ``VERSIONS`` (non-layered): ``base = i * L + l - 1``, ``k = 1``;
- ``FULL`` (full object only): ``base = i``, ``k = 1`` -- the object's full
  version serves every version;
- ``FLAT`` (classic trace): ``base = i``, ``k = 1``.

A request is a hit iff all its item accesses hit. Item sizes come from
``req_sizes[t]`` when given (classic traces), else ``item_sizes[item]``,
else 1. In layered mode layer j is admissible only if layers 1..j fit
together (``spans[item] = S[i, j] <= capacity``); a layer that cannot sit
with its base is never cached, which keeps LLRU's cached layers a prefix.
Requests ``t < warmup`` update the cache but are not counted.
"""

import numpy as np
from numba import njit
from numba.core import errors, types
from numba.extending import overload

from .arc import arc_access
from .belady import belady_access
from .clock import clock_access
from .lfu import lfu_access, perfect_lfu_access
from .lists import RECORD
from .prefetch import prefetch
from .recency import recency_hit, recency_insert, recency_is_live
from .s3fifo import s3fifo_access
from .sieve import sieve_access
from .slru import slru_access
from .twoq import twoq_access

# policy codes (the order of layercache.simulation.POLICIES)
LRU, FIFO, LFU, PERFECT_LFU, BELADY = 0, 1, 2, 3, 4
CLOCK, SIEVE, S3FIFO, TWOQ, ARC, SLRU = 5, 6, 7, 8, 9, 10
# mode codes
LAYERED, VERSIONS, FULL, FLAT = 0, 1, 2, 3
# requests between prefetching an item's table entries and using them, and
# between prefetching a Belady chain's second step and using it
AHEAD = 16
NEAR = 8


@njit(cache=True, inline="always")
def _request_items(mode, objects, versions, n_layers, t):
    """(base, k): request ``t`` touches items ``base + k - 1`` down to ``base``."""
    i = np.int64(objects[t])
    if mode == LAYERED:
        return i * n_layers, np.int64(versions[t])
    if mode == VERSIONS:
        return i * n_layers + versions[t] - 1, np.int64(1)
    return i, np.int64(1)


@njit(cache=True, inline="always")
def version_bits(mode, n_layers):
    """Bits of the version packed into each link of the request chain: 0 unless layered."""
    bits = 0
    if mode == LAYERED:
        while (1 << bits) <= n_layers:
            bits += 1
    return bits


@njit(cache=True)
def next_requests(mode, objects, versions, n_layers, n_keys, out):
    """Fill ``out`` (shape (n,)) with the chain of each key's requests.

    The key is the object in layered mode and the item otherwise.
    ``out[t] >> b`` is the next request after ``t`` for the same key (``n``
    meaning none) and ``out[t] & (2**b - 1)`` that request's version (0 for
    none), ``b = version_bits(mode, n_layers)`` (0 unless layered). Belady's
    next uses follow from it (see :func:`_layer_next_uses`): one word per
    request instead of one per item access.
    """
    n = objects.size
    bits = version_bits(mode, n_layers)
    last = np.full(n_keys, n << bits, dtype=out.dtype)
    for t in range(n - 1, -1, -1):
        if mode == LAYERED:
            key = np.int64(objects[t])
            link = (t << bits) | np.int64(versions[t])
        else:
            key, _ = _request_items(mode, objects, versions, n_layers, t)
            link = t
        out[t] = last[key]
        last[key] = link


@njit(cache=True)
def next_uses(mode, objects, versions, n_layers, n_items, n_accesses, out):
    """Non-layered modes: ``out[t]`` (shape (n,)) is the next request after ``t`` for its item.

    :func:`next_requests` under the name :func:`layercache.traces.next_access`
    calls (one access per request, so ``n_accesses == n``).
    """
    if mode == LAYERED or n_accesses != objects.size:
        raise ValueError("next_uses: one access per request only (non-layered modes)")
    next_requests(mode, objects, versions, n_layers, n_items, out)


@njit(cache=True, inline="always")
def _layer_next_uses(chain, bits, t, k, out):
    """Fill ``out[m]`` (m < k) with the next use of the (m+1)-th item of request ``t``.

    In layered mode layer j of object i is next used by the next request for
    i with version >= j: one walk along the object's chain (versions packed
    in its links, see :func:`next_requests`), nearest layer first, serves
    all k layers. Other modes have k = 1: the next request of the chain.
    """
    n = chain.size
    mask = (1 << bits) - 1
    link = chain[t]
    u = link >> bits
    out[0] = u  # every request for the object uses its layer 1
    m = 1
    while m < k:
        if u >= n:
            while m < k:
                out[m] = u
                m += 1
            break
        v = link & mask
        while m < k and m < v:
            out[m] = u
            m += 1
        link = chain[u]
        u = link >> bits


QUEUE_ACCESS = {SIEVE: sieve_access, S3FIFO: s3fifo_access, TWOQ: twoq_access, ARC: arc_access, SLRU: slru_access}


def _queue_access(policy, links, slots, pos, keys, isize, fstate, istate, item, size, capacity):
    """Access ``item`` under the queue policy ``policy``; return True on a hit.

    Compiled through the overload below, which inlines only that policy's
    access function (``policy`` is a compile-time constant in each
    ``run_*``): inlined, the access costs no call with dozens of exploded
    array arguments (measured 1.3-1.9x for ARC), while the other entry
    points do not compile it. This body runs under ``NUMBA_DISABLE_JIT=1``.
    """
    if policy == CLOCK:
        return clock_access(links, pos, keys, slots, isize, fstate, istate, item, size, capacity)
    return QUEUE_ACCESS[policy](links, pos, keys, isize, fstate, istate, item, size, capacity)


@overload(_queue_access, inline="always", prefer_literal=True)
def _queue_access_overload(policy, links, slots, pos, keys, isize, fstate, istate, item, size, capacity):
    if not isinstance(policy, types.IntegerLiteral):
        raise errors.TypingError("_queue_access: the policy must be a compile-time constant")
    code = policy.literal_value
    if code == CLOCK:

        def clock(policy, links, slots, pos, keys, isize, fstate, istate, item, size, capacity):
            return clock_access(links, pos, keys, slots, isize, fstate, istate, item, size, capacity)

        return clock
    access = QUEUE_ACCESS.get(code)
    if access is None:  # another policy's entry point: a branch it never takes

        def never(policy, links, slots, pos, keys, isize, fstate, istate, item, size, capacity):
            return False

        return never

    def impl(policy, links, slots, pos, keys, isize, fstate, istate, item, size, capacity):
        return access(links, pos, keys, isize, fstate, istate, item, size, capacity)

    return impl


@njit(cache=True, inline="always")
def _access(policy, slots, pos, keys, links, isize, fstate, istate, item, size, capacity, next_use, tie, bypass):
    """Access ``item`` under a heap, bucket or queue policy; return True on a hit."""
    if policy >= CLOCK:
        return _queue_access(policy, links, slots, pos, keys, isize, fstate, istate, item, size, capacity)
    if policy == BELADY:
        return belady_access(slots, pos, isize, fstate, istate, item, size, capacity, next_use, tie, bypass)
    if policy == LFU:
        return lfu_access(links, pos, slots, isize, fstate, istate, item, size, capacity)
    return perfect_lfu_access(slots, pos, keys, isize, fstate, istate, item, size, capacity)


@njit(cache=True, inline="always")
def _loop(policy, mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes,
          capacity, warmup, nexts, bypass, state, per_request, uses, counts, volumes):
    """Simulate the whole trace; write the totals to ``counts`` and ``volumes``.

    Parameters
    ----------
    policy : int
        Policy code defined in this module (a constant in each ``run_*``).
    mode : int
        Mode code defined in this module.
    objects : int32 or int64 array, shape (n,)
        Dense 0-based object ids.
    versions : int8 array, shape (n,) or (0,) in FLAT mode
        1-based versions.
    n_layers : int
        L, the row length of the catalog's size matrices.
    item_sizes : float64, shape (n_items,) or (0,)
        Size of each item (flattened layer or version sizes, or full sizes).
    spans : float64, shape (n_items,) or (0,)
        Layered mode: flattened ``S[i, j]``, the bytes of layers 1..j.
    version_sizes : float64, shape (N * L,) or (0,)
        Flattened stand-alone version sizes; FULL mode counts ``v[i, l]`` as
        the bytes a request asks for.
    req_sizes : float64, shape (n,) or (0,)
        Per-request sizes of a classic trace.
    capacity : float
    warmup : int
    nexts : int32 or int64, shape (n,) or (0,)
        Belady only: the chain of each object's (item's) requests, from
        :func:`next_requests`.
    bypass : bool
        Belady without demand paging.
    state : tuple
        From :func:`layercache.kernels.state.new_state`; updated in place.
    per_request : int8 array, shape (n,) or (0,)
        If non-empty, receives the number of items of each request served
        from the cache.
    uses : int64 array, shape (L,)
        Scratch for Belady's next uses of one request's items.
    counts : int64 array, shape (4,)
        Out: [requests, hits, items requested, items hit].
    volumes : float64 array, shape (2,)
        Out: [bytes requested, bytes hit].

    The run_* entry points are compiled without Numba's reference counting
    (nothing here allocates): with it, every inlined access function would
    pay for atomic increments of the state arrays it is passed.
    """
    links, slots, pos, keys, isize, fstate, istate = state
    recency = policy == LRU or policy == FIFO
    record = per_request.size > 0
    n_counted = n_full = n_items_req = n_items_hit = 0
    bytes_requested = bytes_served = 0.0
    n = objects.size
    bits = version_bits(mode, n_layers)
    # LRU/FIFO (see .recency): the current item access and the tail; with
    # variable sizes also the tail's item, ``tail_base + tail_m`` of request ``tail_t``
    access = tail = tail_t = tail_m = tail_base = 0
    occupied = fstate[0]
    if recency and n > 0:
        tail_base, tail_k = _request_items(mode, objects, versions, n_layers, 0)
        tail_m = tail_k - 1
    for t in range(n):
        if t + AHEAD < n:
            ahead, _ = _request_items(mode, objects, versions, n_layers, t + AHEAD)
            if recency:
                prefetch(keys, ahead)
                if isize.size > 0:
                    prefetch(isize, ahead)  # written if the access misses
                    if tail_t + AHEAD < n:
                        behind, _ = _request_items(mode, objects, versions, n_layers, tail_t + AHEAD)
                        prefetch(isize, behind)  # read if the tail evicts
            else:
                if policy >= CLOCK:
                    prefetch(links, RECORD * ahead)  # the item's queue record, with its pos and keys
                else:
                    prefetch(pos, ahead)
                if policy == LFU:
                    prefetch(links, 2 * ahead)
                if policy == PERFECT_LFU:
                    prefetch(keys, ahead)
                if isize.size > 0:
                    prefetch(isize, ahead)
            if item_sizes.size > 0:
                prefetch(item_sizes, ahead)
            if spans.size > 0:
                prefetch(spans, ahead)
            if policy == BELADY and mode == LAYERED and (nexts[t + AHEAD] >> bits) < n:
                prefetch(nexts, nexts[t + AHEAD] >> bits)  # the walk's first step
        if policy == BELADY and mode == LAYERED and t + NEAR < n:
            # the walk's second step, if the request NEAR ahead will need it
            link = nexts[t + NEAR]
            if (link >> bits) < n and (link & ((1 << bits) - 1)) < versions[t + NEAR]:
                second = nexts[link >> bits] >> bits
                if second < n:
                    prefetch(nexts, second)
        if (policy == ARC or policy == TWOQ or policy == SLRU) and t + NEAR < n:
            # a hit moves its item to a head: fetch the neighbours it will unlink (the item's record
            # itself was prefetched AHEAD requests ago)
            near, _ = _request_items(mode, objects, versions, n_layers, t + NEAR)
            newer = links[RECORD * near]
            older = links[RECORD * near + 1]
            if newer >= 0:
                prefetch(links, RECORD * newer)
            if older >= 0:
                prefetch(links, RECORD * older)
        base, k = _request_items(mode, objects, versions, n_layers, t)
        if policy == BELADY:
            _layer_next_uses(nexts, bits, t, k, uses)
        n_hit = 0
        bytes_req = 0.0
        bytes_hit = 0.0
        for m in range(k - 1, -1, -1):
            item = base + m
            if req_sizes.size > 0:
                size = req_sizes[t]
            elif item_sizes.size > 0:
                size = item_sizes[item]
            else:
                size = 1.0
            admit_size = size
            if spans.size > 0 and spans[item] > capacity:
                admit_size = np.inf  # cannot be cached together with its lower layers
            if recency:
                hit = recency_hit(keys, slots, tail, item, access, policy == LRU)
                if not hit and admit_size <= capacity:
                    # make room: the tail evicts in stamp order
                    while occupied + admit_size > capacity:
                        if tail == access:
                            occupied = 0.0  # empty: drop rounding drift of non-integer sizes
                            break
                        if recency_is_live(slots, tail):
                            occupied -= isize[tail_base + tail_m] if isize.size > 0 else 1.0
                        tail += 1
                        if isize.size > 0:
                            tail_m -= 1
                            if tail_m < 0:
                                tail_t += 1
                                tail_base, tail_k = _request_items(mode, objects, versions, n_layers, tail_t)
                                tail_m = tail_k - 1
                    recency_insert(keys, slots, isize, item, admit_size, access)
                    occupied += admit_size
                access += 1
            else:
                next_use = uses[m] if policy == BELADY else 0
                hit = _access(policy, slots, pos, keys, links, isize, fstate, istate, item, admit_size, capacity,
                              next_use, -m, bypass)
            if hit:
                n_hit += 1
                bytes_hit += size
            bytes_req += size
        if record:
            per_request[t] = n_hit
        if t < warmup:
            continue
        if mode == FULL:
            bytes_req = version_sizes[objects[t] * n_layers + versions[t] - 1]
            bytes_hit = bytes_req if n_hit == k else 0.0
        n_counted += 1
        n_full += n_hit == k
        n_items_req += k
        n_items_hit += n_hit
        bytes_requested += bytes_req
        bytes_served += bytes_hit
    if recency:
        fstate[0] = occupied
        istate[0] = tail
    counts[0] = n_counted
    counts[1] = n_full
    counts[2] = n_items_req
    counts[3] = n_items_hit
    volumes[0] = bytes_requested
    volumes[1] = bytes_served


# One entry point per policy, each a specialised copy of the one loop: with
# the policy a constant, the compiler drops the other policies' code from the
# hot loop, and a process compiles only the policies it uses. ``_nrt=False``:
# see :func:`_loop`.
@njit(cache=True, _nrt=False)
def run_lru(mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes, capacity, warmup,
            nexts, bypass, state, per_request, uses, counts, volumes):
    """lru policy: see :func:`_loop`."""
    _loop(LRU, mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes,
          capacity, warmup, nexts, bypass, state, per_request, uses, counts, volumes)


@njit(cache=True, _nrt=False)
def run_fifo(mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes, capacity, warmup,
             nexts, bypass, state, per_request, uses, counts, volumes):
    """fifo policy: see :func:`_loop`."""
    _loop(FIFO, mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes,
          capacity, warmup, nexts, bypass, state, per_request, uses, counts, volumes)


@njit(cache=True, _nrt=False)
def run_lfu(mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes, capacity, warmup,
            nexts, bypass, state, per_request, uses, counts, volumes):
    """lfu policy: see :func:`_loop`."""
    _loop(LFU, mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes,
          capacity, warmup, nexts, bypass, state, per_request, uses, counts, volumes)


@njit(cache=True, _nrt=False)
def run_perfect_lfu(mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes, capacity, warmup,
                    nexts, bypass, state, per_request, uses, counts, volumes):
    """perfect_lfu policy: see :func:`_loop`."""
    _loop(PERFECT_LFU, mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes,
          capacity, warmup, nexts, bypass, state, per_request, uses, counts, volumes)


@njit(cache=True, _nrt=False)
def run_belady(mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes, capacity, warmup,
               nexts, bypass, state, per_request, uses, counts, volumes):
    """belady policy: see :func:`_loop`."""
    _loop(BELADY, mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes,
          capacity, warmup, nexts, bypass, state, per_request, uses, counts, volumes)


@njit(cache=True, _nrt=False)
def run_clock(mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes, capacity, warmup,
              nexts, bypass, state, per_request, uses, counts, volumes):
    """clock policy: see :func:`_loop`."""
    _loop(CLOCK, mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes,
          capacity, warmup, nexts, bypass, state, per_request, uses, counts, volumes)


@njit(cache=True, _nrt=False)
def run_sieve(mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes, capacity, warmup,
              nexts, bypass, state, per_request, uses, counts, volumes):
    """sieve policy: see :func:`_loop`."""
    _loop(SIEVE, mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes,
          capacity, warmup, nexts, bypass, state, per_request, uses, counts, volumes)


@njit(cache=True, _nrt=False)
def run_s3fifo(mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes, capacity, warmup,
               nexts, bypass, state, per_request, uses, counts, volumes):
    """s3fifo policy: see :func:`_loop`."""
    _loop(S3FIFO, mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes,
          capacity, warmup, nexts, bypass, state, per_request, uses, counts, volumes)


@njit(cache=True, _nrt=False)
def run_twoq(mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes, capacity, warmup,
             nexts, bypass, state, per_request, uses, counts, volumes):
    """twoq policy: see :func:`_loop`."""
    _loop(TWOQ, mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes,
          capacity, warmup, nexts, bypass, state, per_request, uses, counts, volumes)


@njit(cache=True, _nrt=False)
def run_slru(mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes, capacity, warmup,
             nexts, bypass, state, per_request, uses, counts, volumes):
    """slru policy: see :func:`_loop`."""
    _loop(SLRU, mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes,
          capacity, warmup, nexts, bypass, state, per_request, uses, counts, volumes)


@njit(cache=True, _nrt=False)
def run_arc(mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes, capacity, warmup,
            nexts, bypass, state, per_request, uses, counts, volumes):
    """arc policy: see :func:`_loop`."""
    _loop(ARC, mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes,
          capacity, warmup, nexts, bypass, state, per_request, uses, counts, volumes)


RUNNERS = (run_lru, run_fifo, run_lfu, run_perfect_lfu, run_belady, run_clock, run_sieve, run_s3fifo, run_twoq,
           run_arc, run_slru)  # indexed by policy code
