"""LRU and FIFO on a doubly linked list (see :mod:`.state` for the layout).

``links[2 * x]`` is the neighbour of ``x`` on the most recent side (the
sentinel for the most recent item), ``links[2 * x + 1]`` the one on the least
recent side; both share a cache line. The sentinel ``S`` closes the ring:
``links[2 * S + 1]`` is the most recent item, ``links[2 * S]`` the least
recent (the next victim). FIFO is LRU without promotion on a hit: one
implementation, a flag. Eviction pops the least recent (or first inserted)
item until the new one fits; an item larger than the capacity is never
admitted. ``isize`` as in :mod:`.state`.
"""

from numba import njit

from .prefetch import prefetch


@njit(cache=True, inline="always")
def _unlink(links, x):
    p = links[2 * x]
    s = links[2 * x + 1]
    links[2 * p + 1] = s
    links[2 * s] = p


@njit(cache=True, inline="always")
def _push_front(links, sentinel, x):
    first = links[2 * sentinel + 1]
    links[2 * x] = sentinel
    links[2 * x + 1] = first
    links[2 * first] = x
    links[2 * sentinel + 1] = x


@njit(cache=True, inline="always")
def recency_access(links, isize, fstate, item, size, capacity, promote):
    """Access ``item``; return True on a hit.

    On a miss the item goes to the front after evicting from the back until
    ``occupied + size <= capacity``; with ``promote`` (LRU) a hit moves the
    item to the front, without it (FIFO) a hit changes nothing.
    """
    sentinel = (links.size >> 1) - 1
    if links[2 * item] >= 0:
        if promote:
            _unlink(links, item)
            _push_front(links, sentinel, item)
        return True
    if size > capacity:
        return False
    occupied = fstate[0]
    while occupied + size > capacity:
        victim = links[2 * sentinel]
        if victim == sentinel:
            occupied = 0.0  # empty: drop rounding drift of non-integer sizes
            break
        _unlink(links, victim)
        links[2 * victim] = -1
        occupied -= isize[victim] if isize.size > 0 else 1.0
    _push_front(links, sentinel, item)
    if isize.size > 0:
        isize[item] = size
    fstate[0] = occupied + size
    # warm up the next eviction: the tail's size and its predecessor's links
    tail = links[2 * sentinel]
    prefetch(links, 2 * links[2 * tail])
    if isize.size > 0:
        prefetch(isize, tail)
    return False
