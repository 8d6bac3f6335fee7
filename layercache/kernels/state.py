"""Cache state shared by all policies: one tuple of arrays.

``(links, slots, pos, count, isize, fstate, istate)``:

- ``links`` : int32, shape (2 * (n_items + 1),) -- doubly linked recency list
  of LRU/FIFO (:mod:`.recency`); ``links[2 * x] == -1`` means x is not
  cached; item ``n_items`` is the sentinel. Empty for heap policies.
- ``slots`` : int64, shape (3 * n_items,) -- the indexed min-heap of
  LFU/Belady (:mod:`.heap`); ``pos`` : int32, shape (n_items,), an item's
  slot or -1 when not cached. Empty for list policies.
- ``count`` : int64, shape (n_items,) -- LFU request counts; empty otherwise.
- ``isize`` : float64, shape (n_items,) -- size of each item when admitted;
  empty for unit sizes (every item has size 1 and nothing is stored).
- ``fstate`` : float64, shape (1,) -- ``[occupied]``, in capacity units.
- ``istate`` : int64, shape (2,) -- ``[heap length, access stamp]``.

Built in Python by :func:`new_state`; kernels only read and write it.
"""

from __future__ import annotations

import numpy as np

LIST_POLICIES = ("lru", "fifo")
COUNT_POLICIES = ("lfu", "perfect_lfu")


def new_state(n_items: int, policy: str, unit_sizes: bool = False):
    """Allocate an empty cache over ``n_items`` items for ``policy``."""
    n = int(n_items)
    if policy in LIST_POLICIES:
        links = np.full(2 * (n + 1), -1, dtype=np.int32)
        links[2 * n] = links[2 * n + 1] = n  # empty circular list: the sentinel alone
        m = 0
    else:
        links = np.empty(0, dtype=np.int32)
        m = n
    slots = np.zeros(3 * m, dtype=np.int64)
    pos = np.full(m, -1, dtype=np.int32)
    count = np.zeros(n if policy in COUNT_POLICIES else 0, dtype=np.int64)
    isize = np.zeros(0 if unit_sizes else n, dtype=np.float64)
    return (links, slots, pos, count, isize, np.zeros(1), np.zeros(2, dtype=np.int64))


def cached_items(state) -> np.ndarray:
    """Ids (int64, ascending) of the items cached in ``state``."""
    links, pos = state[0], state[2]
    if links.size:
        return np.flatnonzero(links[0:-2:2] >= 0)
    return np.flatnonzero(pos >= 0)
