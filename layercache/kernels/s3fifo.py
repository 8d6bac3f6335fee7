"""S3-FIFO, as libCacheSim's ``S3FIFO`` (Yang et al., SOSP 2023).

Queues (:mod:`.lists`): 0 the small FIFO S, 1 the main FIFO M, ``GHOST_1``
the ghost FIFO G (ids only, not cached). Follows libCacheSim's S3FIFO.c at commit
035d832 (the version behind the ``libcachesim`` Python package 0.3.x).
Sizes in the capacity's unit, truncated to integers as libCacheSim does: ``|S| = int(C * small_ratio)`` (default 0.10),
``|M| = C - |S|``, ``|G| = int(C * ghost_ratio)`` (default 0.90);
``threshold`` (default 2) is the move-to-main frequency; |S| must be >= 1
(libCacheSim refuses a smaller cache). ``keys`` holds each item's
frequency; ``istate[FLAG]`` is 1 once anything has been evicted.

- Hit (item in S or M): frequency + 1 (uncapped).
- Miss: if the item is in G it leaves G (a ghost hit). If it is larger
  than |S| it is not admitted and evicts nothing. Otherwise, while
  ``bytes(S) + bytes(M) + size > C``: evict from M if ``bytes(M) > |M|`` or S
  is empty, else from S. Then a ghost-hit item enters M's head, any other
  enters S's head -- unless its size is >= |S| (libCacheSim's insert refuses
  it *after* making room) -- with frequency 0. Until the first eviction,
  a new item finds S full (``bytes(S) >= |S|``) enters M instead.
- Evict from S: take S's tail; if its frequency >= threshold it moves to
  M's head with frequency 0 and the next tail is taken, else it is evicted
  into G's head (G drops its own tail items until it fits in |G|; an item
  larger than |G| is not remembered) and the step ends.
- Evict from M: take M's tail; if its frequency f >= 1 it is reinserted at
  M's head with frequency ``min(f, 3) - 1`` and the next tail is taken, else
  it is evicted and the step ends.
"""

from numba import njit

from .lists import cached_bytes, FLAG, GHOST_1, PARAMS, q_bytes, q_pop_tail, q_push, q_remove, q_trim, size_of

SMALL, MAIN, GHOST = 0, 1, GHOST_1


@njit(cache=True, inline="always")
def _evict_small(links, pos, freq, isize, fstate, istate):
    while q_bytes(fstate, SMALL) > 0:
        victim, vsize = q_pop_tail(links, pos, isize, istate, fstate, SMALL)
        if freq[victim] >= fstate[PARAMS + 2]:
            q_push(links, pos, istate, fstate, MAIN, victim, vsize)
            freq[victim] = 0
        else:
            ghost_size = fstate[PARAMS + 1]
            if vsize <= ghost_size:
                q_trim(links, pos, isize, istate, fstate, GHOST, ghost_size, vsize)
                q_push(links, pos, istate, fstate, GHOST, victim, vsize)
            return


@njit(cache=True, inline="always")
def _evict_main(links, pos, freq, isize, fstate, istate):
    while q_bytes(fstate, MAIN) > 0:
        victim, vsize = q_pop_tail(links, pos, isize, istate, fstate, MAIN)
        f = freq[victim]
        if f >= 1:
            q_push(links, pos, istate, fstate, MAIN, victim, vsize)
            freq[victim] = min(f, 3) - 1
        else:
            return


@njit(cache=True, inline="always")  # into its own run_* only: see driver._queue_access
def s3fifo_access(links, pos, freq, isize, fstate, istate, item, size, capacity):
    """Access ``item``; return True on a hit."""
    where = pos[item]
    if where == SMALL or where == MAIN:
        freq[item] += 1
        return True
    ghost_hit = where == GHOST
    if ghost_hit:
        q_remove(links, pos, istate, fstate, item, size_of(isize, item))
    small_size = fstate[PARAMS]
    if size > small_size:
        return False
    main_size = capacity - small_size
    while cached_bytes(fstate) + size > capacity:
        istate[FLAG] = 1  # has evicted
        if q_bytes(fstate, MAIN) > main_size or q_bytes(fstate, SMALL) == 0:
            _evict_main(links, pos, freq, isize, fstate, istate)
        else:
            _evict_small(links, pos, freq, isize, fstate, istate)
    if ghost_hit:
        q = MAIN
    elif size >= small_size:
        return False
    elif istate[FLAG] != 1 and q_bytes(fstate, SMALL) >= small_size:
        q = MAIN  # S full before the first eviction: fill M
    else:
        q = SMALL
    q_push(links, pos, istate, fstate, q, item, size)
    freq[item] = 0
    if isize.size > 0:
        isize[item] = size
    return False
