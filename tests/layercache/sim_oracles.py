"""Test oracles for the trace simulators, written independently of the kernels.

- :func:`libcachesim_hits`: libCacheSim (peer) hit count on a classic trace.
- :func:`reference`: a slow, plain-Python simulator of every policy and
  mode (OrderedDict for LRU/FIFO, linear scans for LFU victims, forward
  scans of the trace for Belady's next uses), returning per-request hits.
"""

from __future__ import annotations

import os
import tempfile
from collections import OrderedDict

import numpy as np

from layercache.traces import ORACLE_GENERAL_DTYPE


def next_access_times(ids) -> np.ndarray:
    """int64 index of the next request for the same id, -1 if none (by a dict scan)."""
    ids = np.asarray(ids)
    out = np.full(ids.size, -1, dtype=np.int64)
    seen = {}
    for t in range(ids.size - 1, -1, -1):
        key = int(ids[t])
        out[t] = seen.get(key, -1)
        seen[key] = t
    return out


def write_oracle_file(path, ids, sizes=None):
    """oracleGeneral file with correct next-access fields (libCacheSim's Belady reads them)."""
    ids = np.asarray(ids)
    rec = np.zeros(ids.size, dtype=ORACLE_GENERAL_DTYPE)
    rec["time"] = np.arange(ids.size)
    rec["id"] = ids + 1  # keep ids away from 0
    rec["size"] = 1 if sizes is None else np.asarray(sizes)
    rec["next_access"] = next_access_times(ids)
    rec.tofile(path)


_LCS_POLICY = {"lru": "LRU", "fifo": "FIFO", "lfu": "LFU", "belady": "Belady", "clock": "Clock", "sieve": "Sieve",
               "s3fifo": "S3FIFO", "twoq": "TwoQ", "arc": "ARC"}


def libcachesim_hits(ids, policy, capacity, sizes=None) -> int:
    """Number of hits of libCacheSim's ``policy`` on the trace ``ids``."""
    import libcachesim as lcs

    fd, path = tempfile.mkstemp(suffix=".oracleGeneral")
    os.close(fd)
    try:
        write_oracle_file(path, ids, sizes)
        reader = lcs.TraceReader(path, lcs.TraceType.ORACLE_GENERAL_TRACE)
        cache = getattr(lcs, _LCS_POLICY[policy])(int(capacity))
        miss_ratio, _ = cache.process_trace(reader)
    finally:
        os.remove(path)
    return int(round((1.0 - miss_ratio) * len(ids)))


# ---------------------------------------------------------------------------
# Slow reference simulator


def _items_of_request(mode, obj, ver, n_layers_unused=None):
    """Items a request touches, in access order, as hashable keys."""
    if mode == "layered":
        return [(obj, j) for j in range(ver, 0, -1)]  # layer l first, layer 1 last
    if mode == "versions":
        return [(obj, ver)]
    if mode == "full":
        return [(obj, "full")]
    return [obj]


def reference(objects, versions=None, *, policy, capacity, mode="flat", size_of=None, bypass=False):
    """Per-request number of items served from the cache (list of int).

    ``size_of(t, item)`` gives the size of ``item`` requested at time t
    (default 1). Hits happen on the items as they are looked up in access
    order; a miss inserts after evicting victims until the item fits.
    """
    n = len(objects)
    size_of = size_of or (lambda t, item: 1)
    reqs = [_items_of_request(mode, int(objects[t]), None if versions is None else int(versions[t])) for t in range(n)]

    def next_use(item, t):
        if item in pending:  # accessed later in the current request
            return t
        for u in range(t + 1, n):
            if item in reqs[u]:
                return u
        return n  # never

    def farness(item, t):
        # farther next use leaves first; at equal next use the higher layer leaves first
        return (next_use(item, t), item[1] if mode == "layered" else 0)

    cache = OrderedDict()  # item -> size; order: first = least recent / first in
    count, stamp_of, ever = {}, {}, {}
    stamp = 0
    out = []
    for t in range(n):
        served = 0
        for k, item in enumerate(reqs[t]):
            pending = reqs[t][k + 1:]
            size = size_of(t, item)
            stamp += 1
            ever[item] = ever.get(item, 0) + 1
            if item in cache:
                served += 1
                if policy == "lru":
                    cache.move_to_end(item)
                if policy in ("lfu", "perfect_lfu"):
                    count[item] = count[item] + 1 if policy == "lfu" else ever[item]
                    stamp_of[item] = stamp
                continue
            if size > capacity:
                continue
            if mode == "layered" and sum(size_of(t, (item[0], j)) for j in range(1, item[1] + 1)) > capacity:
                continue  # a layer is only cached if it fits together with its lower layers
            if policy == "belady" and bypass:
                mine = next_use(item, t)
                victims = sorted(cache, key=lambda x: farness(x, t), reverse=True)
                freed, used = 0, sum(cache.values())
                chosen = []
                for v in victims:
                    if used - freed + size <= capacity or next_use(v, t) <= mine:
                        break
                    chosen.append(v)
                    freed += cache[v]
                for v in chosen:
                    del cache[v]
                if sum(cache.values()) + size > capacity:
                    continue
            while sum(cache.values()) + size > capacity:
                if policy in ("lru", "fifo"):
                    victim = next(iter(cache))
                elif policy in ("lfu", "perfect_lfu"):
                    victim = min(cache, key=lambda x: (count[x], stamp_of[x]))
                else:
                    victim = max(cache, key=lambda x: farness(x, t))
                del cache[victim]
            cache[item] = size
            count[item] = 1 if policy == "lfu" else ever[item]
            stamp_of[item] = stamp
        out.append(served)
    return out
