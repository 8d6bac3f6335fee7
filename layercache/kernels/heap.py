"""Indexed binary min-heap of items keyed by ``(k1, k2)``, compared lexicographically.

``slots`` (int64, shape (3 * capacity,)) holds the heap in level order, one
slot of three words per node, ``slots[3k : 3k + 3] = (k1, k2, item)``, so a
node's keys and item share a cache line and its two children sit side by
side. ``pos[item]`` is the item's slot or -1 when absent; ``istate[0]`` the
heap length. Used by LFU and Belady so that a victim is found in O(log C),
never by a scan.
"""

from numba import njit


@njit(cache=True)
def _place(slots, pos, k, k1, k2, item):
    slots[3 * k] = k1
    slots[3 * k + 1] = k2
    slots[3 * k + 2] = item
    pos[item] = k


@njit(cache=True)
def _sift_up(slots, pos, k, k1, k2, item):
    while k > 0:
        parent = (k - 1) >> 1
        p1 = slots[3 * parent]
        p2 = slots[3 * parent + 1]
        if k1 > p1 or (k1 == p1 and k2 >= p2):
            break
        _place(slots, pos, k, p1, p2, slots[3 * parent + 2])
        k = parent
    _place(slots, pos, k, k1, k2, item)


@njit(cache=True)
def _sift_down(slots, pos, k, n, k1, k2, item):
    while True:
        child = 2 * k + 1
        if child >= n:
            break
        c1 = slots[3 * child]
        c2 = slots[3 * child + 1]
        if child + 1 < n:
            r1 = slots[3 * child + 3]
            r2 = slots[3 * child + 4]
            if r1 < c1 or (r1 == c1 and r2 < c2):
                child += 1
                c1 = r1
                c2 = r2
        if c1 > k1 or (c1 == k1 and c2 >= k2):
            break
        _place(slots, pos, k, c1, c2, slots[3 * child + 2])
        k = child
    _place(slots, pos, k, k1, k2, item)


@njit(cache=True)
def heap_min_key(slots):
    """k1 of the minimum (heap must be non-empty)."""
    return slots[0]


@njit(cache=True)
def heap_push(slots, pos, istate, item, k1, k2):
    """Insert ``item`` (not in the heap) with keys ``(k1, k2)``."""
    n = istate[0]
    istate[0] = n + 1
    _sift_up(slots, pos, n, k1, k2, item)


@njit(cache=True)
def heap_pop(slots, pos, istate):
    """Remove and return the item with the smallest key (heap must be non-empty)."""
    n = istate[0] - 1
    top = slots[2]
    pos[top] = -1
    istate[0] = n
    if n > 0:
        _sift_down(slots, pos, 0, n, slots[3 * n], slots[3 * n + 1], slots[3 * n + 2])
    return top


@njit(cache=True)
def heap_rekey(slots, pos, istate, item, k1, k2):
    """Give ``item`` (in the heap) the keys ``(k1, k2)`` and restore the order."""
    k = pos[item]
    o1 = slots[3 * k]
    if k1 < o1 or (k1 == o1 and k2 < slots[3 * k + 1]):
        _sift_up(slots, pos, k, k1, k2, item)
    else:
        _sift_down(slots, pos, k, istate[0], k1, k2, item)


@njit(cache=True)
def heap_make_room(slots, pos, isize, istate, occupied, size, capacity, k1_limit):
    """Pop items until ``occupied + size <= capacity``; return the new occupancy.

    Item sizes are ``isize[item]`` (1 each when ``isize`` is empty). Only
    items with ``k1 < k1_limit`` are popped: stops early otherwise or when
    the heap is empty (then the occupancy is exactly 0.0, dropping rounding
    drift of non-integer sizes).
    """
    while occupied + size > capacity:
        if istate[0] == 0:
            return 0.0
        if slots[0] >= k1_limit:
            break
        victim = heap_pop(slots, pos, istate)
        occupied -= isize[victim] if isize.size > 0 else 1.0
    return occupied
