"""LRU and FIFO as a sweep over the access sequence (see :mod:`.state` for the layout).

Number the item accesses of a simulation ``0, 1, 2, ...`` in the order the
driver makes them. ``keys[x]`` is the access that last (re)inserted item
``x`` (its *stamp*; -1 if never): LRU re-stamps an item on every hit, FIFO
only when it is admitted. Bit ``a`` of the bitmap ``live`` is set iff access
``a`` is still the stamp of its item. The cached items in increasing stamp
order are then exactly the LRU list (or FIFO queue) from the least recent
end, so victims are found by a *tail* that walks the accesses behind the
current one: the access at ``tail`` holds the next victim iff its bit is
set, and every access is passed once. An item is cached iff its stamp has
not been passed, ``keys[x] >= tail``, so nothing is written at eviction.

The tail reads only ``live`` (a sliding window of bits, cache-resident) and,
for variable sizes, the evicted item's size; each access reads and writes
one entry of ``keys`` (prefetched by the driver). The driver owns the access
sequence (the item mapping of layered requests) and moves the tail
(:func:`layercache.kernels.driver._loop`); this module holds the per-item
rules. An item larger than the capacity is never admitted. ``isize`` as in
:mod:`.state`.
"""

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _bit(a):
    return np.int64(1) << (a & 63)


@njit(cache=True, inline="always")
def recency_is_live(live, access):
    """True if ``access`` is still the stamp of the item it accessed."""
    return (live[access >> 6] & _bit(access)) != 0


@njit(cache=True, inline="always")
def recency_hit(keys, live, tail, item, access, promote):
    """True if ``item`` is cached; with ``promote`` (LRU) a hit re-stamps it."""
    stamp = keys[item]
    if stamp < tail:
        return False
    if promote:
        live[stamp >> 6] &= ~_bit(stamp)
        keys[item] = access
        live[access >> 6] |= _bit(access)
    return True


@njit(cache=True, inline="always")
def recency_insert(keys, live, isize, item, size, access):
    """Admit ``item`` (the caller has made room) with stamp ``access``."""
    keys[item] = access
    live[access >> 6] |= _bit(access)
    if isize.size > 0:
        isize[item] = size
