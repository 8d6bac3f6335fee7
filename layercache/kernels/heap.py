"""Indexed binary min-heap of items keyed by ``(k1, k2)``, compared lexicographically.

Slot arrays (heap order, so a node's children sit side by side in memory):
``hitem[k]`` the item in slot ``k``, ``hk1[k], hk2[k]`` its keys; per item:
``pos[item]``, its slot or -1 when absent; ``istate[0]`` the heap length.
Used by LFU and Belady so that a victim is found in O(log C), never by a scan.
"""

from numba import njit


@njit(cache=True, inline="always")
def _place(hitem, hk1, hk2, pos, k, item, k1, k2):
    hitem[k] = item
    hk1[k] = k1
    hk2[k] = k2
    pos[item] = k


@njit(cache=True, inline="always")
def _sift_up(hitem, hk1, hk2, pos, k, item, k1, k2):
    while k > 0:
        parent = (k - 1) >> 1
        p1 = hk1[parent]
        if k1 > p1 or (k1 == p1 and k2 >= hk2[parent]):
            break
        _place(hitem, hk1, hk2, pos, k, hitem[parent], p1, hk2[parent])
        k = parent
    _place(hitem, hk1, hk2, pos, k, item, k1, k2)


@njit(cache=True, inline="always")
def _sift_down(hitem, hk1, hk2, pos, k, n, item, k1, k2):
    while True:
        child = 2 * k + 1
        if child >= n:
            break
        c1 = hk1[child]
        c2 = hk2[child]
        right = child + 1
        if right < n:
            r1 = hk1[right]
            if r1 < c1 or (r1 == c1 and hk2[right] < c2):
                child = right
                c1 = r1
                c2 = hk2[right]
        if c1 > k1 or (c1 == k1 and c2 >= k2):
            break
        _place(hitem, hk1, hk2, pos, k, hitem[child], c1, c2)
        k = child
    _place(hitem, hk1, hk2, pos, k, item, k1, k2)


@njit(cache=True, inline="always")
def heap_push(hitem, hk1, hk2, pos, istate, item, k1, k2):
    """Insert ``item`` (not in the heap) with keys ``(k1, k2)``."""
    n = istate[0]
    istate[0] = n + 1
    _sift_up(hitem, hk1, hk2, pos, n, item, k1, k2)


@njit(cache=True, inline="always")
def heap_pop(hitem, hk1, hk2, pos, istate):
    """Remove and return the item with the smallest key (heap must be non-empty)."""
    n = istate[0] - 1
    top = hitem[0]
    pos[top] = -1
    istate[0] = n
    if n > 0:
        _sift_down(hitem, hk1, hk2, pos, 0, n, hitem[n], hk1[n], hk2[n])
    return top


@njit(cache=True, inline="always")
def heap_rekey(hitem, hk1, hk2, pos, istate, item, k1, k2):
    """Give ``item`` (in the heap) the keys ``(k1, k2)`` and restore the order."""
    k = pos[item]
    o1 = hk1[k]
    if k1 < o1 or (k1 == o1 and k2 < hk2[k]):
        _sift_up(hitem, hk1, hk2, pos, k, item, k1, k2)
    else:
        _sift_down(hitem, hk1, hk2, pos, k, istate[0], item, k1, k2)


@njit(cache=True, inline="always")
def heap_make_room(hitem, hk1, hk2, pos, isize, istate, occupied, size, capacity, k1_limit):
    """Pop items of sizes ``isize`` until ``occupied + size <= capacity``.

    Only items with ``k1 < k1_limit`` are popped; stops early otherwise or when
    the heap is empty. Returns the new occupancy (exactly 0.0 when emptied,
    dropping rounding drift of non-integer sizes).
    """
    while occupied + size > capacity:
        if istate[0] == 0:
            return 0.0
        if hk1[0] >= k1_limit:
            break
        occupied -= isize[heap_pop(hitem, hk1, hk2, pos, istate)]
    return occupied
