"""LRU and FIFO as a sweep over the access sequence (see :mod:`.state` for the layout).

Number the item accesses of a simulation ``0, 1, 2, ...`` in the order the
driver makes them. ``keys[x]`` is the access that last (re)inserted item
``x``, -1 when x is not cached: LRU re-stamps an item on every hit, FIFO
only when it is admitted. The cached items in increasing stamp order are
then exactly the LRU list (or FIFO queue) from the least recent end, so the
next victim is found by a *tail* cursor that walks the access sequence
behind the current access: the item accessed at ``tail`` is the victim iff
its stamp is still ``tail`` (otherwise that access was superseded by a later
hit or the item left), and every access is passed by the tail once. No list
is linked or unlinked; each access reads and writes one entry of ``keys``,
which the driver prefetches, for the current access and for the tail.

The driver owns the access sequence (the item mapping of layered requests),
so it moves the tail (:func:`layercache.kernels.driver`); this module holds
the per-item rules. An item larger than the capacity is never admitted.
``isize`` as in :mod:`.state`.
"""

from numba import njit


@njit(cache=True, inline="always")
def recency_hit(keys, item, access, promote):
    """True if ``item`` is cached; with ``promote`` (LRU) a hit re-stamps it."""
    if keys[item] < 0:
        return False
    if promote:
        keys[item] = access
    return True


@njit(cache=True, inline="always")
def recency_expire(keys, isize, item, access):
    """Size freed by evicting ``item`` if its stamp is ``access`` (the tail's), else 0."""
    if keys[item] != access:
        return 0.0
    keys[item] = -1
    if isize.size > 0:
        return isize[item]
    return 1.0


@njit(cache=True, inline="always")
def recency_insert(keys, isize, item, size, access):
    """Admit ``item`` (the caller has made room) with stamp ``access``."""
    keys[item] = access
    if isize.size > 0:
        isize[item] = size
