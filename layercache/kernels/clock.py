"""CLOCK (FIFO with reinsertion), as libCacheSim's ``Clock``.

One FIFO queue (a ring of :mod:`.lists` in ``slots``: items leave it only at
its tail) with a frequency counter per item (``keys``). A hit raises the counter by one up to ``max_freq =
2**n_bit_counter - 1`` (default 1 bit: the reference bit). A miss inserts
at the head with counter 0. To make room, the tail is examined: a counter
>= 1 is decremented and the item moved to the head (a second chance), a
counter of 0 is evicted; repeated until the new item fits. An item larger
than the capacity is not admitted and evicts nothing. Parameters:
``fstate[PARAMS] = max_freq``, ``fstate[PARAMS + 1] = init_freq`` (the
counter of a new item, default 0).
"""

from numba import njit

from .lists import BYTES, PARAMS, r_pop, r_push


@njit(cache=True, inline="always")  # into its own run_* only: see driver._queue_access
def clock_access(links, pos, freq, ring, isize, fstate, istate, item, size, capacity):
    """Access ``item``; return True on a hit."""
    if pos[item] >= 0:
        if freq[item] < fstate[PARAMS]:
            freq[item] += 1
        return True
    if size > capacity:
        return False
    while fstate[BYTES] + size > capacity:
        victim, vsize = r_pop(ring, links, pos, isize, istate, fstate)
        if freq[victim] >= 1:  # a second chance; otherwise it stays evicted
            freq[victim] -= 1
            r_push(ring, pos, istate, fstate, victim, vsize)
    r_push(ring, pos, istate, fstate, item, size)
    freq[item] = fstate[PARAMS + 1]
    if isize.size > 0:
        isize[item] = size
    return False
