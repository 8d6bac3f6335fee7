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
word (a popcount for unit sizes, else the sizes of its set bits), and over
the words after it with a Fenwick (binary indexed) tree of per-word sums.
Slots are recycled: when all ``2 * n_items + 64`` (rounded up to whole
words) are used, the live ones are renumbered in order and the tree rebuilt
in O(slots). So memory is O(n_items), not O(accesses), and the bitmap and
the tree (one entry per 64 slots) stay in the CPU cache; the one random
access per item access is its ``last`` entry, prefetched ahead.
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
def _fenwick_range(tree, lo, hi):
    """Sum over words lo+1..hi (lo <= hi): both prefix walks stop where they meet."""
    total = 0.0
    i = hi + 1
    j = lo + 1
    while i != j:
        if i > j:
            total += tree[i]
            i -= i & -i
        else:
            total -= tree[j]
            j -= j & -j
    return total


@njit(cache=True, inline="always")
def _fenwick_move(tree, lo, hi, value):
    """Move ``value`` from word lo to word hi (lo <= hi): both update walks stop where they meet."""
    m = tree.size - 1
    i = lo + 1
    j = hi + 1
    while i != j:
        if i < j:
            if i > m:
                break
            tree[i] -= value
            i += i & -i
        else:
            if j > m:
                break
            tree[j] += value
            j += j & -j


@njit(cache=True, inline="always")
def _bytes_above(live, weight, slot):
    """Sizes of the live slots after ``slot`` in its word (a count for unit sizes)."""
    above = (live[slot >> 6] >> np.uint64(slot & 63)) >> _ONE
    if weight.size == 0:
        return float(_popcount(above))
    total = 0.0
    first = slot + 1
    while above != 0:
        low = _lowest(above)
        total += weight[first + _popcount(low - _ONE)]
        above ^= low
    return total


@njit(cache=True)
def _compact(last, owner, weight, live, tree):
    """Renumber the live slots 0, 1, ... in order; rebuild bitmap and tree; return the next free slot."""
    nxt = 0
    for w in range(live.size):
        bits = live[w]
        live[w] = 0
        while bits != 0:
            low = _lowest(bits)
            slot = (w << 6) + _popcount(low - _ONE)
            bits ^= low
            item = owner[slot]
            owner[nxt] = item
            if weight.size > 0:
                weight[nxt] = weight[slot]
            last[item] = nxt
            nxt += 1
    tree[:] = 0.0
    for slot in range(nxt):
        live[slot >> 6] |= _bit(slot)
        tree[(slot >> 6) + 1] += weight[slot] if weight.size > 0 else 1.0
    for i in range(1, tree.size):  # linear-time Fenwick build: every node passes its sum up
        j = i + (i & -i)
        if j < tree.size:
            tree[j] += tree[i]
    return nxt


@njit(cache=True, _nrt=False)
def stack_pass(mode, objects, versions, n_layers, item_sizes, thresholds, version_sizes, admit_limit,
               caps, first, stop, lookup, warmup, groups, last, owner, weight, live, tree, hits, layer_hits, bytes_hit):
    """Replay the trace on the LRU stack of the items admissible at ``admit_limit``.

    Items with ``thresholds[item] > admit_limit`` are never admitted by any
    capacity of this pass, so they are left out of the stack (their accesses
    miss). For every counted request (and item) the smallest capacity at which
    it hits is located in ``caps`` and added to difference arrays.

    Parameters
    ----------
    mode, objects, versions, n_layers, version_sizes
        As in :func:`layercache.kernels.driver._loop`.
    item_sizes : float64, shape (n_items,)
        Size of each item (for flat traces: of each object).
    thresholds : float64, shape (n_items,) or (0,)
        The capacity an item needs to be admitted: its size, or in layered
        mode the bytes of layers 1..j of its object (``S[i, j]``). Empty
        when every item is admitted.
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
    owner : int32 or int64, shape (m,), m a multiple of 64
        Scratch: the item of each slot.
    weight : float64, shape (m,) or (0,) for unit sizes
        Scratch: the size of each slot's item.
    live : uint64, shape (m // 64,); tree : float64, shape (m // 64 + 1,)
        Scratch, zero on entry.
    hits, layer_hits : int64, shape (G * (K + 1),); bytes_hit : float64, same shape
        Difference arrays, one row of K + 1 per group, added to: a request
        (in layered mode also each item) that hits from ``caps[g]`` on adds at
        ``g`` and subtracts at ``stop`` of its row. ``layer_hits`` is left
        alone outside layered mode.
    """
    n = objects.size
    m = owner.size
    nxt = 0
    inf = np.inf
    top = caps[stop - 1]
    near = np.int64(caps[first])  # unit sizes: slots this close hold fewer items than any capacity
    unit = weight.size == 0
    for t in range(n):
        if t + AHEAD < n:
            ahead, _ = _request_items(mode, objects, versions, n_layers, t + AHEAD)
            prefetch(last, ahead)
        base, k = _request_items(mode, objects, versions, n_layers, t)
        row = groups[t] * (caps.size + 1) if groups.size > 0 else 0
        need = 0.0  # the request hits at capacities >= need
        for j in range(k - 1, -1, -1):
            item = base + j
            size = 1.0 if unit else item_sizes[item]
            if thresholds.size > 0 and thresholds[item] > admit_limit:
                need = inf
                continue
            if nxt == m:  # recycle the slots (order-preserving, so distances stay)
                nxt = _compact(last, owner, weight, live, tree)
            prev = last[item]
            if prev >= 0:
                w = prev >> 6
                if unit and nxt - prev <= near:
                    dist = float(near)  # at most nxt - prev items since: a hit at every capacity of the pass
                else:
                    dist = size + _bytes_above(live, weight, prev) + _fenwick_range(tree, w, (nxt - 1) >> 6)
                live[w] &= ~_bit(prev)
                _fenwick_move(tree, w, nxt >> 6, size)
            else:
                dist = inf
                _fenwick_add(tree, nxt >> 6, size)
            last[item] = nxt
            owner[nxt] = item
            if not unit:
                weight[nxt] = size
            live[nxt >> 6] |= _bit(nxt)
            nxt += 1
            if mode == LAYERED and t >= warmup and dist <= top:
                g = _first_at_least(caps, first, stop, lookup, dist)
                layer_hits[row + g] += 1
                layer_hits[row + stop] -= 1
                if not unit:  # unit sizes: bytes hit = layers hit (the caller copies them)
                    bytes_hit[row + g] += size
                    bytes_hit[row + stop] -= size
            if dist > need:
                need = dist
        if t < warmup or need > top:
            continue
        g = _first_at_least(caps, first, stop, lookup, need)
        hits[row + g] += 1
        hits[row + stop] -= 1
        if mode == FULL or (mode != LAYERED and not unit):
            if mode == FULL:
                volume = version_sizes[objects[t] * n_layers + versions[t] - 1]
            else:
                volume = size  # the request's one item
            bytes_hit[row + g] += volume
            bytes_hit[row + stop] -= volume


@njit(cache=True, inline="always")
def _first_at_least(caps, first, stop, lookup, value):
    """Smallest g in first..stop with ``caps[g] >= value`` (``value <= caps[stop - 1]``); caps sorted."""
    b = np.int64(value * ((lookup.size - 2) / caps[stop - 1]))
    lo = lookup[max(b - 1, 0)]  # one bucket of slack either side for rounding
    hi = lookup[min(b + 2, lookup.size - 1)]
    while lo < hi:
        mid = (lo + hi) >> 1
        if caps[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo
