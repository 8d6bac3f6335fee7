"""Mattson's LRU stack distances: every capacity's hits in one pass.

The driver's item accesses (:mod:`.driver`: layers l, l-1, ..., 1 of a
layered request) are replayed on a *stack*: each item's most recent access
owns a slot, slots are handed out in time order, and bit ``slot`` of
``live`` is set iff it is still its item's most recent access. When item x
of size s is accessed again, s plus the bytes of the items in live slots
after x's previous slot is its *byte stack distance* D: x is still cached in
an LRU cache of capacity C iff D <= C (see :mod:`layercache.curve` for why,
and for items that a capacity does not admit). A first access has D = inf.

The bytes after a slot are counted in two levels: within the slot's 64-slot
word (a popcount for unit sizes, else the sizes of its slots, dead slots
weighing 0), and over the words after it as the total minus a prefix sum of
a Fenwick (binary indexed) tree of per-word sums. Slots are handed out in
order, so the word being filled (the *open* word) is summed apart and enters
the tree once, when it is full: moving an item to the top costs one tree
update (at its old word) and a query one prefix walk. A layered request
moves its layers l..1 to the top together, and all layers of a *run* (the
object's layers in consecutive slots) share one stack distance: one query
per run, not per layer (see :func:`stack_pass`).

Slots are recycled: when all ``2 * n_items + 64`` (rounded up to whole
words) are used, the live ones are renumbered in order (an item's new slot
is its old slot's rank among the live ones: one sequential pass over the
items, no slot-to-item table) and the tree rebuilt in O(slots). So memory
is O(n_items), not O(accesses), and the bitmap and the tree (one entry per
64 slots) stay in the CPU cache; the one random access per request is its
object's ``last`` entries, prefetched ahead.

Requests of one unit-size item (flat traces, non-layered versions) take
:func:`single_pass`, the same stack without runs, admission or weights:
20-30% faster than :func:`stack_pass` on such traces (measured on 10^7 Zipf requests).
"""

import numpy as np
from numba import njit

from .driver import AHEAD, FULL, LAYERED, _request_items
from .prefetch import prefetch


_ONE = np.uint64(1)
_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)


@njit(cache=True, inline="always")
def _popcount(x):
    """Set bits of the uint64 ``x``, as int64 (SWAR)."""
    x = x - ((x >> _ONE) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return np.int64((x * _H01) >> np.uint64(56))


@njit(cache=True, inline="always")
def _bit(slot):
    return _ONE << np.uint64(slot & 63)


@njit(cache=True, inline="always")
def _lowest(bits):
    """The lowest set bit of the uint64 ``bits`` (as a one-bit mask)."""
    return bits & (~bits + _ONE)


@njit(cache=True, inline="always")
def _fenwick_add(tree, word, value):
    i = word + 1
    m = tree.size - 1
    while i <= m:
        tree[i] += value
        i += i & -i


@njit(cache=True, inline="always")
def _fenwick_prefix(tree, word):
    """Sum over words 0..word (0 for word < 0)."""
    total = 0.0
    i = word + 1
    while i > 0:
        total += tree[i]
        i -= i & -i
    return total


@njit(cache=True, inline="always")
def _bytes_above(live, weight, slot):
    """Sizes of the live slots after ``slot`` in its word (a count for unit sizes; dead slots weigh 0)."""
    if weight.size == 0:
        return float(_popcount((live[slot >> 6] >> np.uint64(slot & 63)) >> _ONE))
    total = 0.0
    for s in range(slot + 1, (slot | 63) + 1):
        total += weight[s]
    return total


@njit(cache=True)
def _compact(last, weight, live, tree, counts):
    """Renumber the live slots 0, 1, ... in order; rebuild the bitmap, and the tree of the full words.

    Each item's new slot is its old slot's rank among the live slots (a
    sequential pass over ``last``, with ``counts``, shape (m // 64,), as
    scratch for the live slots before each word); weights move down in slot
    order. Returns the next free slot; the tree holds the words before its
    word (the open word is not in it).
    """
    nxt = 0
    for w in range(live.size):
        counts[w] = nxt
        nxt += _popcount(live[w])
    for item in range(last.size):
        slot = np.int64(last[item])
        if slot >= 0:
            w = slot >> 6
            last[item] = counts[w] + _popcount(live[w] & (_bit(slot) - _ONE))
    if weight.size > 0:
        to = 0
        for w in range(live.size):
            bits = live[w]
            while bits != 0:
                low = _lowest(bits)
                weight[to] = weight[(w << 6) + _popcount(low - _ONE)]
                bits ^= low
                to += 1
        weight[nxt:] = 0.0
    live[:] = 0
    tree[:] = 0.0
    for slot in range(nxt):
        live[slot >> 6] |= _bit(slot)
    for slot in range((nxt >> 6) << 6):
        tree[(slot >> 6) + 1] += weight[slot] if weight.size > 0 else 1.0
    for i in range(1, tree.size):  # linear-time Fenwick build: every node passes its sum up
        j = i + (i & -i)
        if j < tree.size:
            tree[j] += tree[i]
    return nxt


@njit(cache=True, _nrt=False)
def stack_pass(mode, objects, versions, n_layers, item_sizes, own_sizes, thresholds, version_sizes, admit_limit,
               caps, first, stop, lookup, warmup, groups, last, weight, live, tree, counts,
               hits, layer_hits, bytes_hit):
    """Replay the trace on the LRU stack of the items admissible at ``admit_limit``.

    Items with ``thresholds[item] > admit_limit`` are never admitted by any
    capacity of this pass, so they are left out of the stack (their accesses
    miss). For every counted request (and in layered mode every run of its
    layers) the smallest capacity at which it hits is located in ``caps`` and
    added to difference arrays.

    Layered requests are handled by *runs*: the layers of an object that sit
    in consecutive slots (layers accessed by one request stay together until
    a later request takes the upper ones away). Accessing layers k, ..., 1
    rotates the stack, and every layer j <= k of a run whose most recent
    layer is a has the same stack distance: the bytes live after a's slot
    plus the bytes of the object's layers a..k (those below a's slot were
    moved above it first, those above it are counted in place). So one
    query per run, not per layer.

    The tree holds the *full* words only: slots are handed out in order, so
    the open word (the one ``nxt`` is in) is summed apart (``open_bytes``)
    and enters the tree once, when it fills. A move to the top then costs one
    tree update (at the old word), not two.

    Parameters
    ----------
    mode, objects, versions, n_layers, version_sizes
        As in :func:`layercache.kernels.driver._loop`.
    item_sizes : float64, shape (n_items,)
        Size of each item (for flat traces: of each object) on the stack:
        what it adds to the distances of the items below it.
    own_sizes : float64, shape (n_items,)
        What an item adds to its *own* distance, and to ``bytes_hit``: the
        same array as ``item_sizes``, except for a weighted sample
        (:mod:`layercache.stratified`), where an item stands for
        ``weight`` items of the full trace on the stack but is one of them
        itself.
    thresholds : float64, shape (n_items,) or (0,)
        The capacity an item needs to be admitted: its size, or in layered
        mode the bytes of layers 1..j of its object (``S[i, j]``,
        non-decreasing in j, so the admitted layers are 1..J). Empty when
        every item is admitted.
    admit_limit : float
        Items with a threshold above it are left out.
    caps : float64, shape (K,)
        Sorted capacities; only ``caps[first:stop]`` are counted by this pass.
    first, stop : int
    lookup : int64, shape (B + 2,)
        Buckets of width ``caps[stop - 1] / B``: ``lookup[b]`` is the first g
        in first..stop with ``caps[g] >= b * width``, so a distance in bucket
        b has its g in ``lookup[b]..lookup[b + 1]`` (usually one candidate;
        the search takes a bucket of slack either side against rounding).
    warmup : int
    groups : int64, shape (n,) or (0,)
        Optional group of each request: its counts go to row ``groups[t]``.
    last : int32 or int64, shape (n_items,)
        Scratch, -1 on entry: each item's slot.
    weight : float64, shape (m,) or (0,) for unit sizes, m a multiple of 64
        Scratch, zero on entry: the size of each live slot's item, 0 elsewhere.
    live : uint64, shape (m // 64,); tree : float64, shape (m // 64 + 1,)
        Scratch, zero on entry.
    counts : int64, shape (m // 64,)
        Scratch.
    hits, layer_hits : int64, shape (G * K,); bytes_hit : float64, same shape
        Histograms, one row of K per group, added to: a request (in layered
        mode also each run of layers) that hits from ``caps[g]`` on (up to
        ``caps[stop - 1]``) adds at ``g`` of its row, so the hits at
        ``caps[g]`` are the sum over ``first..g``. ``layer_hits`` is left
        alone outside layered mode.
    """
    n = objects.size
    m = live.size << 6
    nxt = 0
    inf = np.inf
    top = caps[stop - 1]
    scale = (lookup.size - 2) / top  # distance buckets per unit
    near = np.int64(caps[first])  # unit sizes: slots this close hold fewer items than any capacity
    unit = weight.size == 0
    cur = 0  # the open word
    open_bytes = 0.0  # bytes of its live slots
    sealed = 0.0  # bytes of the live slots in full words (the tree's total)
    for t in range(n):
        if t + AHEAD < n:
            ahead, _ = _request_items(mode, objects, versions, n_layers, t + AHEAD)
            prefetch(last, ahead)
        base, k = _request_items(mode, objects, versions, n_layers, t)
        if nxt + k > m:  # recycle the slots (order-preserving, so distances stay)
            nxt = _compact(last, weight, live, tree, counts)
            cur = nxt >> 6
            open_bytes = 0.0
            for s in range(cur << 6, nxt):
                open_bytes += 1.0 if unit else weight[s]
            sealed = _fenwick_prefix(tree, cur - 1)
        row = groups[t] * caps.size if groups.size > 0 else 0
        counted = t >= warmup
        admitted = k
        if thresholds.size > 0:
            while admitted > 0 and thresholds[base + admitted - 1] > admit_limit:
                admitted -= 1
        need = inf if admitted < k else 0.0  # the request hits at capacities >= need
        need_g = first  # the index of the smallest capacity >= need
        volume = 0.0  # own bytes of the admitted layers
        if unit:
            volume = float(admitted)
        else:
            for q in range(admitted):
                volume += own_sizes[base + q]
        newer = 0.0  # own bytes of the layers above the current run
        q = 0
        while q < admitted:  # queries, on the stack before this request
            p = np.int64(last[base + q])
            if p < 0:  # this layer and the ones below are not on the stack
                need = inf
                break
            end = q + 1
            while end < admitted and last[base + end] == p - (end - q):
                end += 1
            run = float(end - q) if unit else 0.0
            if not unit:
                for r in range(q, end):
                    run += own_sizes[base + r]
            rest = volume - newer  # bytes of this run's top layer and the layers below it
            w = p >> 6
            close = unit and (nxt - 1 - p) + rest <= near  # then it hits at every capacity of the pass
            if close:
                dist = float(near)
            elif w == cur:
                dist = rest + _bytes_above(live, weight, p)
            else:
                dist = rest + _bytes_above(live, weight, p) + (sealed - _fenwick_prefix(tree, w)) + open_bytes
            if counted and dist <= top:
                g = first if close else _first_at_least(caps, first, stop, lookup, scale, dist)
                if mode == LAYERED:
                    layer_hits[row + g] += end - q
                    if not unit:  # unit sizes: bytes hit = layers hit (the caller copies them)
                        bytes_hit[row + g] += run
                if dist >= need:  # runs further down the object are further down the stack
                    need = dist
                    need_g = g
            elif dist > need:
                need = dist
            newer += run
            q = end
        # move the admitted layers to the top: layer `admitted` first, layer 1 last
        pending_word = -1
        pending = 0.0
        for q in range(admitted - 1, -1, -1):
            p = np.int64(last[base + q])
            size = 1.0 if unit else item_sizes[base + q]
            if p >= 0:
                w = p >> 6
                live[w] &= ~_bit(p)
                if not unit:
                    weight[p] = 0.0
                if w == cur:
                    open_bytes -= size
                else:
                    if w != pending_word:
                        if pending_word >= 0:
                            _fenwick_add(tree, pending_word, -pending)
                        pending_word = w
                        pending = 0.0
                    pending += size
                    sealed -= size
            if (nxt >> 6) != cur:  # the open word is full: into the tree
                _fenwick_add(tree, cur, open_bytes)
                sealed += open_bytes
                cur = nxt >> 6
                open_bytes = 0.0
            last[base + q] = nxt
            if not unit:
                weight[nxt] = size
            live[cur] |= _bit(nxt)
            open_bytes += size
            nxt += 1
        if pending_word >= 0:
            _fenwick_add(tree, pending_word, -pending)
        if not counted or need > top:
            continue
        g = need_g
        hits[row + g] += 1
        if mode == FULL or (mode != LAYERED and not unit):
            if mode == FULL:
                volume = version_sizes[objects[t] * n_layers + versions[t] - 1]
            bytes_hit[row + g] += volume


@njit(cache=True, _nrt=False)
def single_pass(mode, objects, versions, n_layers, caps, first, stop, lookup, warmup, groups, last, weight, live, tree,
                counts, hits):
    """:func:`stack_pass` for one unit-size item per request (flat or non-layered traces, unit sizes).

    The same stack, without layer runs, admission or weights: a stack
    distance is a count of live slots, and each request adds one hit at
    the smallest capacity that holds it (its bytes and layers hit are its
    hits). Arguments as in :func:`stack_pass`; ``mode`` is ``FLAT`` or
    ``VERSIONS``, every capacity admits every item and ``weight`` is
    empty.
    """
    n = objects.size
    m = live.size << 6
    nxt = 0
    top = caps[stop - 1]
    scale = (lookup.size - 2) / top  # distance buckets per unit
    near = np.int64(caps[first])  # slots this close hold fewer items than any capacity
    cur = 0  # the open word
    open_count = 0.0  # its live slots
    sealed = 0.0  # live slots in full words (the tree's total)
    for t in range(n):
        if t + AHEAD < n:
            ahead, _ = _request_items(mode, objects, versions, n_layers, t + AHEAD)
            prefetch(last, ahead)
        if nxt == m:  # recycle the slots (order-preserving, so distances stay)
            nxt = _compact(last, weight, live, tree, counts)
            cur = nxt >> 6
            open_count = float(nxt & 63)
            sealed = float(cur << 6)
        item, _ = _request_items(mode, objects, versions, n_layers, t)
        p = np.int64(last[item])
        if p >= 0:
            w = p >> 6
            if t >= warmup:
                row = groups[t] * caps.size if groups.size > 0 else 0
                if nxt - p <= near:
                    hits[row + first] += 1
                else:
                    dist = 1.0 + float(_popcount((live[w] >> np.uint64(p & 63)) >> _ONE))
                    if w != cur:
                        dist += (sealed - _fenwick_prefix(tree, w)) + open_count
                    if dist <= top:
                        hits[row + _first_at_least(caps, first, stop, lookup, scale, dist)] += 1
            live[w] &= ~_bit(p)
            if w == cur:
                open_count -= 1.0
            else:
                _fenwick_add(tree, w, -1.0)
                sealed -= 1.0
        if (nxt >> 6) != cur:  # the open word is full: into the tree
            _fenwick_add(tree, cur, open_count)
            sealed += open_count
            cur = nxt >> 6
            open_count = 0.0
        last[item] = nxt
        live[cur] |= _bit(nxt)
        open_count += 1.0
        nxt += 1


@njit(cache=True, inline="always")
def _first_at_least(caps, first, stop, lookup, scale, value):
    """Smallest g in first..stop with ``caps[g] >= value`` (``value <= caps[stop - 1]``); caps sorted.

    ``scale`` is buckets per unit, ``(lookup.size - 2) / caps[stop - 1]``.
    """
    b = np.int64(value * scale)
    lo = lookup[max(b - 1, 0)]  # one bucket of slack either side for rounding
    hi = lookup[min(b + 2, lookup.size - 1)]
    while lo < hi:
        mid = (lo + hi) >> 1
        if caps[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo
