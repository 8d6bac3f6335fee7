"""Belady's MIN on the indexed heap (:mod:`.heap`).

Key of a cached item: ``(-next_use, tie)``: the heap's minimum is the item
used farthest in the future (ties: smallest ``tie``; the driver passes minus
the layer number so that, at equal next use, higher layers leave first).
``next_use`` is a request index, ``n_requests`` meaning never again. A
lower layer still to be accessed in the current request has ``next_use``
equal to the current request, the nearest possible.

Demand paging (default): a missed item is always admitted (if it fits in an
empty cache), evicting farthest-next-use items until it fits -- the same
rule as libCacheSim's Belady. Bypass: only items used later than the new one
are evicted, and the new item is admitted only if that makes room.
"""

import numpy as np
from numba import njit

from .heap import heap_make_room, heap_push, heap_rekey


@njit(cache=True, inline="always")
def belady_access(slots, pos, isize, fstate, istate, item, size, capacity, next_use, tie, bypass):
    """Access ``item`` whose next request is at ``next_use``; return True on a hit."""
    if pos[item] >= 0:
        heap_rekey(slots, pos, istate, item, -next_use, tie)
        return True
    if size > capacity:
        return False
    # bypass: evict only items needed later than this one (key -next < -next_use)
    limit = -next_use if bypass else np.iinfo(np.int64).max
    occupied = heap_make_room(slots, pos, isize, istate, fstate[0], size, capacity, limit)
    fstate[0] = occupied
    if occupied + size > capacity:
        return False
    heap_push(slots, pos, istate, item, -next_use, tie)
    if isize.size > 0:
        isize[item] = size
    fstate[0] = occupied + size
    return False
