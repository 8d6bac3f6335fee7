"""Segmented LRU, as libCacheSim's ``SLRU`` (Karedla, Love and Wherry, IEEE Computer 1994).

``n`` LRU segments (:mod:`.lists`, queues ``0 .. n - 1``; default ``n = 4``
as libCacheSim), segment 0 the lowest (probationary), ``n - 1`` the highest
(protected); no ghosts. Every segment may hold ``m = int(C) // n`` bytes
(``fstate[PARAMS] = n``, ``fstate[PARAMS + 1] = m``), as libCacheSim's equal
default split.

- Hit in the highest segment: the item moves to that segment's head.
- Hit in segment k < n - 1: the item moves to the head of segment k + 1,
  then segment k + 1 is *cooled* while it holds more than m bytes.
  Cooling segment j > 0 moves its tail to the head of segment j - 1 and then
  cools segment j - 1 while that holds more than m bytes (depth first, as
  libCacheSim's recursion); cooling segment 0 evicts its tail. (The hit
  item itself is never cooled: it is at its segment's head, and alone it
  fits, since nothing larger than m is admitted.)
- Miss: an item larger than m is not admitted and evicts nothing.
  Otherwise, while the cached bytes plus its size exceed C, the tail of the
  lowest non-empty segment is evicted. The item then enters the head of the
  lowest segment that still has room for it (its bytes plus the size at most
  m), or segment 0 if none has (which may then hold more than m bytes until
  a later cooling).
"""

from numba import njit

from .lists import cached_bytes, PARAMS, q_bytes, q_move_to_head, q_pop_tail, q_push, q_tail, size_of


@njit(cache=True, inline="always")
def _cool_from(links, pos, isize, fstate, istate, top, seg_size):
    """Cool segment ``top`` and, depth first, every lower segment it overfills, while they exceed ``seg_size``.

    The recursion "cool j = move j's tail down, then cool j - 1 while it is
    too full", unrolled: ``j`` is the segment being checked; after a move
    the one below is checked first, and once it is fine, j again.
    """
    j = top
    while j <= top:
        if j >= 0 and q_bytes(fstate, j) > seg_size:
            victim, vsize = q_pop_tail(links, pos, isize, istate, fstate, j)
            if j > 0:
                q_push(links, pos, istate, fstate, j - 1, victim, vsize)
            j -= 1
        else:
            j += 1


@njit(cache=True, inline="always")  # into its own run_* only: see driver._queue_access
def slru_access(links, pos, keys, isize, fstate, istate, item, size, capacity):
    """Access ``item``; return True on a hit."""
    n_seg = int(fstate[PARAMS])
    seg_size = fstate[PARAMS + 1]
    where = pos[item]
    if where >= 0:
        if where == n_seg - 1:
            q_move_to_head(links, pos, istate, fstate, where, item, size_of(isize, item))
        else:
            q_move_to_head(links, pos, istate, fstate, where + 1, item, size_of(isize, item))
            _cool_from(links, pos, isize, fstate, istate, where + 1, seg_size)
        return True
    if size > seg_size:
        return False
    while cached_bytes(fstate) + size > capacity:
        lowest = 0
        while q_tail(istate, lowest) < 0:
            lowest += 1
        q_pop_tail(links, pos, isize, istate, fstate, lowest)
    seg = 0
    while seg < n_seg and q_bytes(fstate, seg) + size > seg_size:
        seg += 1
    q_push(links, pos, istate, fstate, seg if seg < n_seg else 0, item, size)
    if isize.size > 0:
        isize[item] = size
    return False
