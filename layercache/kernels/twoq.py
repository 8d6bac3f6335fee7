"""2Q, as libCacheSim's ``TwoQ`` (Johnson and Shasha, VLDB 1994, full version).

Queues (:mod:`.lists`): 0 A1in (FIFO), 1 Am (LRU), ``GHOST_1`` A1out (ghost
FIFO of ids, not cached). Sizes truncated to integers as libCacheSim does:
``|A1in| = int(C * in_ratio)`` (default 0.25), ``|Am| = C - |A1in|``,
``|A1out| = int(C * out_ratio)`` (default 0.50).

- Hit in A1in: nothing changes. Otherwise, if the item is in A1out it
  leaves it (a ghost hit); a hit in Am moves the item to Am's head.
- Miss: an item larger than |A1in| is not admitted and evicts nothing.
  Otherwise, while ``bytes(A1in) + bytes(Am) + size > C``: if
  ``bytes(A1in) > |A1in|``, A1in's tail is evicted into A1out's head (A1out
  drops its own tail items until it fits in |A1out|; an item larger than
  |A1out| is not remembered), else Am's tail is evicted. Then a ghost-hit
  item enters Am (first evicting Am's tail items while ``bytes(Am) + size >
  |Am|``; not at all if larger than |Am|), any other enters A1in's head.
"""

from numba import njit

from .lists import cached_bytes, GHOST_1, PARAMS, q_bytes, q_move_to_head, q_pop_tail, q_push, q_remove, q_trim, size_of

A_IN, A_M, A_OUT = 0, 1, GHOST_1


@njit(cache=True, inline="always")  # into its own run_* only: see driver._queue_access
def twoq_access(links, pos, keys, isize, fstate, istate, item, size, capacity):
    """Access ``item``; return True on a hit."""
    where = pos[item]
    if where == A_IN:
        return True
    if where == A_M:
        q_move_to_head(links, pos, istate, fstate, A_M, item, size_of(isize, item))
        return True
    ghost_hit = where == A_OUT
    if ghost_hit:
        q_remove(links, pos, istate, fstate, item, size_of(isize, item))
    in_size = fstate[PARAMS]
    if size > in_size:
        return False
    out_size = fstate[PARAMS + 1]
    while cached_bytes(fstate) + size > capacity:
        from_in = q_bytes(fstate, A_IN) > in_size
        victim, vsize = q_pop_tail(links, pos, isize, istate, fstate, A_IN if from_in else A_M)
        if from_in and vsize <= out_size:
            q_trim(links, pos, isize, istate, fstate, A_OUT, out_size, vsize)
            q_push(links, pos, istate, fstate, A_OUT, victim, vsize)
    q = A_IN
    if ghost_hit:
        m_size = capacity - in_size
        if size > m_size:
            return False
        q_trim(links, pos, isize, istate, fstate, A_M, m_size, size)
        q = A_M
    q_push(links, pos, istate, fstate, q, item, size)
    if isize.size > 0:
        isize[item] = size
    return False
