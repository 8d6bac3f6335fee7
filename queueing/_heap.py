"""Binary min-heaps stored in row ``r`` of 2-D arrays (one heap per replica).

Entries are ``(key, id)``: smallest key first, ties broken by the smaller id
(request ids are 0-based in arrival order, so ties go to the earlier arrival).
``keys`` float64 (R, cap), ``ids`` int64 (R, cap), ``lens`` int64 (R,);
all three are overwritten in place. Callers guarantee ``lens[r] < cap`` on push.
"""

from numba import njit


@njit(cache=True, inline="always")
def _less(keys, ids, r, a, b):
    ka = keys[r, a]
    kb = keys[r, b]
    return ka < kb or (ka == kb and ids[r, a] < ids[r, b])


@njit(cache=True, inline="always")
def _swap(keys, ids, r, a, b):
    k = keys[r, a]
    keys[r, a] = keys[r, b]
    keys[r, b] = k
    i = ids[r, a]
    ids[r, a] = ids[r, b]
    ids[r, b] = i


@njit(cache=True, inline="always")
def heap_push(keys, ids, lens, r, key, ident):
    """Insert ``(key, ident)`` into heap ``r``."""
    k = lens[r]
    keys[r, k] = key
    ids[r, k] = ident
    lens[r] = k + 1
    while k > 0:
        parent = (k - 1) // 2
        if _less(keys, ids, r, k, parent):
            _swap(keys, ids, r, k, parent)
            k = parent
        else:
            break


@njit(cache=True, inline="always")
def heap_pop(keys, ids, lens, r):
    """Remove and return the id of the smallest entry of heap ``r`` (non-empty)."""
    top = ids[r, 0]
    n = lens[r] - 1
    lens[r] = n
    if n > 0:
        keys[r, 0] = keys[r, n]
        ids[r, 0] = ids[r, n]
        k = 0
        while True:
            left = 2 * k + 1
            if left >= n:
                break
            child = left
            if left + 1 < n and _less(keys, ids, r, left + 1, left):
                child = left + 1
            if _less(keys, ids, r, child, k):
                _swap(keys, ids, r, child, k)
                k = child
            else:
                break
    return top
