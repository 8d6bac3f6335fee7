"""LFU: in-cache on frequency buckets (:mod:`.buckets`), perfect on the indexed heap (:mod:`.heap`).

Both evict the item with the fewest requests; among equal counts the item
whose count reached its current value first leaves first (least recently
used among equals, as libCacheSim's LFU). In-cache LFU counts requests since
the item's admission (a re-admitted item restarts at 1): its counts only
ever grow by one, so a bucket per count gives O(1) accesses. Perfect LFU
counts every request ever made for an item (``count[item]``); an admitted
item may enter at any count, so it keeps the heap keyed by ``(count,
stamp)``, ``stamp`` being the access at which the count reached its value.
``isize`` as in :mod:`.state`.
"""

import numpy as np
from numba import njit

from .buckets import buckets_hit, buckets_insert, buckets_pop
from .heap import heap_make_room, heap_push, heap_rekey


@njit(cache=True, inline="always")
def lfu_access(links, pos, nodes, isize, fstate, istate, item, size, capacity):
    """In-cache LFU: access ``item``; return True on a hit."""
    if pos[item] >= 0:
        buckets_hit(links, pos, nodes, istate, item)
        return True
    if size > capacity:
        return False
    occupied = fstate[0]
    while occupied + size > capacity:
        victim = buckets_pop(links, pos, nodes, istate)
        if victim < 0:
            occupied = 0.0  # empty: drop rounding drift of non-integer sizes
            break
        occupied -= isize[victim] if isize.size > 0 else 1.0
    buckets_insert(links, pos, nodes, istate, item)
    if isize.size > 0:
        isize[item] = size
    fstate[0] = occupied + size
    return False


@njit(cache=True, inline="always")
def perfect_lfu_access(slots, pos, count, isize, fstate, istate, item, size, capacity):
    """Perfect LFU: access ``item``; return True on a hit."""
    stamp = istate[1] + 1
    istate[1] = stamp
    c = count[item] + 1
    count[item] = c
    if pos[item] >= 0:
        heap_rekey(slots, pos, istate, item, c, stamp)
        return True
    if size > capacity:
        return False
    no_limit = np.iinfo(np.int64).max
    occupied = heap_make_room(slots, pos, isize, istate, fstate[0], size, capacity, no_limit)
    heap_push(slots, pos, istate, item, c, stamp)
    if isize.size > 0:
        isize[item] = size
    fstate[0] = occupied + size
    return False
