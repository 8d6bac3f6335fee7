"""Cache state shared by all policies: one tuple of arrays.

``(links, slots, pos, keys, isize, fstate, istate)``:

- ``links`` : int32, shape (2 * (n_items + 1),) -- the doubly linked bucket
  lists of in-cache LFU (:mod:`.buckets`); ``links[2 * x] == -1`` means x is
  not cached. Shape (4 * n_items,) for the queue policies (CLOCK, SIEVE,
  S3-FIFO, 2Q, ARC, SLRU): one record per item of their queues
  (:mod:`.lists`, which also gives their ``fstate`` and ``istate``); their
  ``pos`` (the item's queue) and ``keys`` (its counter) are strided int32
  views of two columns of it. Empty for the other policies.
- ``slots`` : int64 -- CLOCK's ring of queued items (:mod:`.lists`, shape
  (n_items,)), the indexed min-heap of perfect LFU/Belady
  (:mod:`.heap`, shape (3 * n_items,)), the bucket nodes of in-cache LFU
  (:mod:`.buckets`, shape (4 * (n_items + 2),)) or LRU/FIFO's bitmap of
  live accesses (:mod:`.recency`, shape (n_accesses // 64 + 1,)).
- ``pos`` : int32, shape (n_items,) -- an item's heap slot or bucket, -1 when
  not cached; empty for LRU/FIFO.
- ``keys`` : shape (n_items,) -- one number per item: LRU/FIFO's stamp
  (:mod:`.recency`; -1 if never cached; int32 when the accesses fit, else
  int64) or perfect LFU's request count (int64); empty otherwise.
- ``isize`` : float64, shape (n_items,) -- size of each item when admitted;
  empty for unit sizes (every item has size 1 and nothing is stored).
- ``fstate`` : float64, shape (1,) -- ``[occupied]``, in capacity units.
- ``istate`` : int64, shape (2,) -- ``[heap length, access stamp]``; for
  in-cache LFU ``[free node list, first unused node]``; for LRU/FIFO
  ``[tail, -]`` after a run (items with ``keys >= tail`` are cached).

Built in Python by :func:`new_state`; kernels only read and write it.
"""

from __future__ import annotations

import numpy as np

RECENCY_POLICIES = ("lru", "fifo")
BUCKET_POLICIES = ("lfu",)
QUEUE_POLICIES = ("clock", "sieve", "s3fifo", "twoq", "arc", "slru")


def new_state(n_items: int, policy: str, unit_sizes: bool = False, n_accesses: int = 0, params=()):
    """Allocate an empty cache over ``n_items`` items for ``policy``.

    ``n_accesses`` bounds the item accesses of the simulation (LRU/FIFO: one
    bit each; stamps are int32, half the memory traffic, when they fit, else
    int64). ``params``: a queue policy's parameters (:mod:`.lists`).
    """
    n = int(n_items)
    if policy in QUEUE_POLICIES:
        from .lists import HEADS, N_FSTATE, N_ISTATE, PARAMS, RECORD

        istate = np.full(N_ISTATE, -1, dtype=np.int64)
        ring = np.empty(0, dtype=np.int64)
        if policy == "clock":  # its queue is a ring (:mod:`.lists`)
            ring = np.zeros(n, dtype=np.int64)
            istate[HEADS:HEADS + 2] = 0
        fstate = np.zeros(N_FSTATE)
        fstate[PARAMS:PARAMS + len(params)] = params
        links = np.full(RECORD * n, -1, dtype=np.int32)
        pos, keys = links[2::RECORD], links[3::RECORD]  # views: one record per item
        keys[:] = 0
        isize = np.zeros(0 if unit_sizes else n, dtype=np.float64)
        return (links, ring, pos, keys, isize, fstate, istate)
    istate = np.zeros(2, dtype=np.int64)
    keys = np.zeros(n if policy == "perfect_lfu" else 0, dtype=np.int64)
    if policy in RECENCY_POLICIES:
        links = np.empty(0, dtype=np.int32)
        slots = np.zeros(int(n_accesses) // 64 + 1, dtype=np.int64)
        keys = np.full(n, -1, dtype=np.int32 if n_accesses < np.iinfo(np.int32).max else np.int64)
        m = 0
    elif policy in BUCKET_POLICIES:
        links = np.full(2 * (n + 1), -1, dtype=np.int32)
        slots = np.zeros(4 * (n + 2), dtype=np.int64)
        slots[1] = -1  # node 0, the sentinel, alone in the ring of buckets
        istate[:] = (-1, 1)  # no free node; node 1 is the first unused
        m = n
    else:
        links = np.empty(0, dtype=np.int32)
        slots = np.zeros(3 * n, dtype=np.int64)
        m = n
    pos = np.full(m, -1, dtype=np.int32)
    isize = np.zeros(0 if unit_sizes else n, dtype=np.float64)
    return (links, slots, pos, keys, isize, np.zeros(1), istate)


def cached_items(state) -> np.ndarray:
    """Ids (int64, ascending) of the items cached in ``state``."""
    from .lists import N_CACHED, RECORD

    links, pos, keys, istate = state[0], state[2], state[3], state[6]
    if links.size and links.size == RECORD * pos.size:  # queue policies: queues 0..N_CACHED - 1 cache
        return np.flatnonzero((pos >= 0) & (pos < N_CACHED))
    if links.size:
        return np.flatnonzero(links[0:-2:2] >= 0)
    if pos.size:
        return np.flatnonzero(pos >= 0)
    return np.flatnonzero(keys >= istate[0])

