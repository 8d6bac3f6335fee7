"""ARC, as libCacheSim's ``ARC`` (Megiddo and Modha, FAST 2003), in bytes.

Queues (:mod:`.lists`), all LRU order: 0 T1 and 1 T2 (cached: seen once /
at least twice recently), ``GHOST_1`` B1 and ``GHOST_2`` B2 (their ghosts:
ids and sizes, not cached). ``p = fstate[ARC_P]`` (bytes, starts at 0) is T1's target size.

- Hit in T1: the item moves to T2's head; in T2: to T2's head.
- Ghost hit in B1: ``p = min(p + max(|B2| / |B1|, 1), C)`` (byte sizes before
  removal); in B2: ``p = max(p - max(|B1| / |B2|, 1), 0)``; the item leaves
  its ghost list. A ghost hit is a miss.
- Miss: an item larger than C is not admitted and evicts nothing.
  Otherwise, while ``|T1| + |T2| + size > C``, one step: after a ghost hit,
  REPLACE; else if ``|T1| + |B1| + size > C``: drop B1's tail then REPLACE
  if B1 is not empty, else evict T1's tail without a ghost; else drop B2's
  tail if ``|T1| + |B1| + |T2| + |B2| >= 2C`` and B2 is not empty, then
  REPLACE. Then a ghost-hit item enters T2's head, any other T1's head.
- REPLACE: if ``|T1| > 0`` and (``|T1| > p`` or (``|T1| == p`` after a B2 hit)),
  or T2 is empty, T1's tail goes to B1's head, else T2's tail to B2's head.
"""

from numba import njit

from .lists import (cached_bytes, ARC_P, GHOST_1, GHOST_2, q_bytes, q_move_to_head, q_pop_tail, q_push, q_remove,
                    size_of)

T1, T2, B1, B2 = 0, 1, GHOST_1, GHOST_2


@njit(cache=True, inline="always")
def _replace(links, pos, isize, fstate, istate, after_b2_hit):
    t1 = q_bytes(fstate, T1)
    if (t1 > 0 and (t1 > fstate[ARC_P] or (t1 == fstate[ARC_P] and after_b2_hit))) or q_bytes(fstate, T2) == 0:
        data, ghost = T1, B1
    else:
        data, ghost = T2, B2
    victim, vsize = q_pop_tail(links, pos, isize, istate, fstate, data)
    q_push(links, pos, istate, fstate, ghost, victim, vsize)


@njit(cache=True, inline="always")  # into its own run_* only: see driver._queue_access
def arc_access(links, pos, keys, isize, fstate, istate, item, size, capacity):
    """Access ``item``; return True on a hit."""
    where = pos[item]
    if where == T1 or where == T2:
        q_move_to_head(links, pos, istate, fstate, T2, item, size_of(isize, item))
        return True
    ghost_hit = where == B1 or where == B2
    if ghost_hit:
        b1 = q_bytes(fstate, B1)
        b2 = q_bytes(fstate, B2)
        if where == B1:
            fstate[ARC_P] = min(fstate[ARC_P] + max(b2 / b1, 1.0), capacity)
        else:
            fstate[ARC_P] = max(fstate[ARC_P] - max(b1 / b2, 1.0), 0.0)
        q_remove(links, pos, istate, fstate, item, size_of(isize, item))
    if size > capacity:
        return False
    while cached_bytes(fstate) + size > capacity:
        if not ghost_hit:
            drop = -1  # the ghost list whose tail is dropped before REPLACE
            if q_bytes(fstate, T1) + q_bytes(fstate, B1) + size > capacity:
                if q_bytes(fstate, B1) == 0:
                    q_pop_tail(links, pos, isize, istate, fstate, T1)  # evicted without a ghost
                    continue
                drop = B1
            elif q_bytes(fstate, B2) > 0:
                total = q_bytes(fstate, T1) + q_bytes(fstate, B1) + q_bytes(fstate, T2) + q_bytes(fstate, B2)
                if total >= 2 * capacity:
                    drop = B2
            if drop >= 0:
                q_pop_tail(links, pos, isize, istate, fstate, drop)
        _replace(links, pos, isize, fstate, istate, ghost_hit and where == B2)
    q_push(links, pos, istate, fstate, T2 if ghost_hit else T1, item, size)
    if isize.size > 0:
        isize[item] = size
    return False
