"""LFU, in-cache and perfect, on the indexed heap (:mod:`.heap`).

Key of a cached item: ``(count, stamp)`` where ``stamp`` is the access stamp
at which the count reached its current value, so among equal counts the item
that got there first is evicted first (least recently used among equals, as
libCacheSim's LFU). ``count[item]`` is the request count: in-cache LFU
restarts it at 1 when the item is (re)admitted, perfect LFU counts every
request ever made for the item. ``isize`` as in :mod:`.state`.
"""

import numpy as np
from numba import njit

from .heap import heap_make_room, heap_push, heap_rekey


@njit(cache=True, inline="always")
def lfu_access(slots, pos, count, isize, fstate, istate, item, size, capacity, perfect):
    """Access ``item``; return True on a hit (see module docstring)."""
    stamp = istate[1] + 1
    istate[1] = stamp
    if pos[item] >= 0:
        c = count[item] + 1
        count[item] = c
        heap_rekey(slots, pos, istate, item, c, stamp)
        return True
    c = count[item] + 1 if perfect else 1
    count[item] = c
    if size > capacity:
        return False
    no_limit = np.iinfo(np.int64).max
    occupied = heap_make_room(slots, pos, isize, istate, fstate[0], size, capacity, no_limit)
    heap_push(slots, pos, istate, item, c, stamp)
    if isize.size > 0:
        isize[item] = size
    fstate[0] = occupied + size
    return False
