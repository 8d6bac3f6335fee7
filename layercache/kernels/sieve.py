"""SIEVE, as libCacheSim's ``Sieve``.

One queue (:mod:`.lists`, queue 0; new items at the head) and a visited bit
per item (``keys``). A hit sets the bit; nothing moves. A miss inserts at
the head with the bit clear. To make room, the *hand* (``istate[HAND]``;
-1 means "start at the tail") walks from the tail towards the head: a set
bit is cleared and the hand moves on (from the head it wraps to the tail);
the first item with a clear bit is evicted and the hand rests on its newer
neighbour (-1 if it was the head, so the next walk starts at the tail).
Repeated until the new item fits. An item larger than the capacity is not
admitted and evicts nothing.
"""

from numba import njit

from .lists import cached_bytes, HAND, q_prev, q_push, q_remove, q_tail, size_of


@njit(cache=True, inline="always")  # into its own run_* only: see driver._queue_access
def sieve_access(links, pos, visited, isize, fstate, istate, item, size, capacity):
    """Access ``item``; return True on a hit."""
    if pos[item] >= 0:
        visited[item] = 1
        return True
    if size > capacity:
        return False
    while cached_bytes(fstate) + size > capacity:
        hand = istate[HAND]
        if hand < 0:
            hand = q_tail(istate, 0)
        while visited[hand] > 0:
            visited[hand] = 0
            hand = q_prev(links, hand)
            if hand < 0:
                hand = q_tail(istate, 0)
        istate[HAND] = q_prev(links, hand)
        vsize = size_of(isize, hand)
        q_remove(links, pos, istate, fstate, hand, vsize)
    q_push(links, pos, istate, fstate, 0, item, size)
    visited[item] = 0
    if isize.size > 0:
        isize[item] = size
    return False
