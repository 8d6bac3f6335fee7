"""Mattson's LRU stack distances on a Fenwick tree: every capacity's hits in one pass.

The driver's item accesses (:mod:`.driver`: layer l, l-1, ..., 1 of a layered
request) are replayed on a *stack*: each item's most recent access owns a
slot, slots are numbered in time order and a Fenwick (binary indexed) tree
sums the sizes of the items in slots after a given one. When item x of size
s is accessed again, the bytes of the distinct items accessed since its
previous access plus s is its *byte stack distance* D: x is still cached in
an LRU cache of capacity C iff D <= C (the cache is the longest prefix of the
recency stack that fits; see :mod:`layercache.curve` for why and for items
that do not fit). A first access has D = inf.

Slots are recycled: when all ``2 * n_items + 64`` are used, the live slots
(one per item ever accessed) are renumbered in order and the tree rebuilt in
O(slots), so memory is O(n_items), not O(accesses), and the tree stays small
enough for the CPU cache. Amortised cost per access: O(log n_items).
"""

import numpy as np
from numba import njit

from .driver import FULL, LAYERED, _request_items


@njit(cache=True, inline="always")
def _fenwick_add(tree, slot, value):
    i = slot + 1
    m = tree.size - 1
    while i <= m:
        tree[i] += value
        i += i & -i


@njit(cache=True, inline="always")
def _fenwick_prefix(tree, slot):
    """Sum of the weights in slots 0..slot."""
    total = 0.0
    i = slot + 1
    while i > 0:
        total += tree[i]
        i -= i & -i
    return total


@njit(cache=True, inline="always")
def _first_at_least(caps, first, stop, value):
    """Smallest g in first..stop with ``caps[g] >= value`` (``stop`` if none); caps sorted."""
    lo, hi = first, stop
    while lo < hi:
        mid = (lo + hi) >> 1
        if caps[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _compact(last, owner, weight, tree):
    """Renumber the live slots 0, 1, ... in order; rebuild the tree; return the next free slot."""
    m = owner.size
    nxt = 0
    for slot in range(m):
        item = owner[slot]
        if item >= 0 and last[item] == slot:
            owner[nxt] = item
            weight[nxt] = weight[slot]
            last[item] = nxt
            nxt += 1
    owner[nxt:] = -1
    weight[nxt:] = 0.0
    tree[:] = 0.0
    for slot in range(m):  # linear-time Fenwick build (every node passes its sum up)
        i = slot + 1
        tree[i] += weight[slot]
        j = i + (i & -i)
        if j < tree.size:
            tree[j] += tree[i]
    return nxt


@njit(cache=True, _nrt=False)
def stack_pass(mode, objects, versions, n_layers, item_sizes, thresholds, version_sizes, admit_limit,
               caps, first, stop, warmup, last, owner, weight, tree, hits, layer_hits, bytes_hit):
    """Replay the trace on the LRU stack of the items admissible at ``admit_limit``.

    Items with ``thresholds[item] > admit_limit`` are never admitted by any
    capacity of this pass, so they are left out of the stack (their accesses
    miss). For every counted request the smallest capacity at which it hits is
    located in ``caps`` and added to the difference arrays.

    Parameters
    ----------
    mode, objects, versions, n_layers, version_sizes
        As in :func:`layercache.kernels.driver._loop`.
    item_sizes : float64, shape (n_items,)
        Size of each item (for flat traces: of each object).
    thresholds : float64, shape (n_items,)
        The capacity an item needs to be admitted: its size, or in layered
        mode the bytes of layers 1..j of its object (``S[i, j]``).
    admit_limit : float
        Items with a threshold above it are left out.
    caps : float64, shape (K,)
        Sorted capacities; only ``caps[first:stop]`` are counted by this pass.
    first, stop : int
    warmup : int
    last : int64, shape (n_items,)
        Scratch, -1 on entry: each item's slot.
    owner : int64, shape (m,), weight : float64, shape (m,), tree : float64, shape (m + 1,)
        Scratch, ``owner`` -1, the others 0 on entry.
    hits, layer_hits : int64, shape (K + 1,); bytes_hit : float64, shape (K + 1,)
        Difference arrays, added to: a request (item, byte) that hits from
        ``caps[g]`` on adds at ``g`` and subtracts at ``stop``.
    """
    n = objects.size
    m = owner.size
    nxt = 0
    total = 0.0
    inf = np.inf
    for t in range(n):
        base, k = _request_items(mode, objects, versions, n_layers, t)
        need = 0.0  # the request hits at capacities >= need
        for j in range(k - 1, -1, -1):
            item = base + j
            size = item_sizes[item]
            if thresholds[item] > admit_limit:
                need = inf
                continue
            prev = last[item]
            if prev >= 0:
                dist = size + total - _fenwick_prefix(tree, prev)
                _fenwick_add(tree, prev, -weight[prev])
                weight[prev] = 0.0
                total -= size
            else:
                dist = inf
            if nxt == m:
                nxt = _compact(last, owner, weight, tree)
            last[item] = nxt
            owner[nxt] = item
            weight[nxt] = size
            _fenwick_add(tree, nxt, size)
            total += size
            nxt += 1
            if t >= warmup and dist < inf:
                g = _first_at_least(caps, first, stop, dist)
                if g < stop:
                    layer_hits[g] += 1
                    layer_hits[stop] -= 1
                    if mode == LAYERED:
                        bytes_hit[g] += size
                        bytes_hit[stop] -= size
            if dist > need:
                need = dist
        if t < warmup or need == inf:
            continue
        g = _first_at_least(caps, first, stop, need)
        if g < stop:
            hits[g] += 1
            hits[stop] -= 1
            if mode != LAYERED:
                if mode == FULL:
                    volume = version_sizes[objects[t] * n_layers + versions[t] - 1]
                else:
                    volume = item_sizes[base]
                bytes_hit[g] += volume
                bytes_hit[stop] -= volume
