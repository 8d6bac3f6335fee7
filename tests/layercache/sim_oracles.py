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
               "s3fifo": "S3FIFO", "twoq": "TwoQ", "arc": "ARC", "slru": "SLRU"}


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


# ---------------------------------------------------------------------------
# Slow references of the queue policies (OrderedDicts, first = oldest), written
# from libCacheSim's C sources, independently of the kernels.


class _Clock:
    def __init__(self, capacity, n_bit_counter=1, init_freq=0):
        self.cap, self.max_freq, self.init = capacity, 2 ** n_bit_counter - 1, init_freq
        self.q, self.freq = OrderedDict(), {}

    def access(self, x, size):
        if x in self.q:
            self.freq[x] = min(self.freq[x] + 1, self.max_freq)
            return True
        if size > self.cap:
            return False
        while sum(self.q.values()) + size > self.cap:
            old, old_size = next(iter(self.q.items()))
            del self.q[old]
            if self.freq[old] >= 1:
                self.freq[old] -= 1
                self.q[old] = old_size
        self.q[x] = size
        self.freq[x] = self.init
        return False


class _Sieve:
    def __init__(self, capacity):
        self.cap, self.order, self.size, self.visited, self.hand = capacity, [], {}, {}, None

    def access(self, x, size):
        if x in self.size:
            self.visited[x] = True
            return True
        if size > self.cap:
            return False
        while sum(self.size.values()) + size > self.cap:
            # order[0] is the tail (oldest); the hand moves towards the end (newer)
            i = self.order.index(self.hand) if self.hand is not None else 0
            while self.visited[self.order[i]]:
                self.visited[self.order[i]] = False
                i = i + 1 if i + 1 < len(self.order) else 0
            victim = self.order.pop(i)
            self.hand = self.order[i] if i < len(self.order) else None
            del self.size[victim], self.visited[victim]
        self.order.append(x)
        self.size[x], self.visited[x] = size, False
        return False


class _S3FIFO:
    def __init__(self, capacity, small_size_ratio=0.1, ghost_size_ratio=0.9, move_to_main_threshold=2):
        self.cap = capacity
        self.s_cap = int(capacity * small_size_ratio)
        self.m_cap = capacity - self.s_cap
        self.g_cap = int(capacity * ghost_size_ratio)
        self.threshold = move_to_main_threshold
        self.small, self.main, self.ghost, self.freq = OrderedDict(), OrderedDict(), OrderedDict(), {}
        self.evicted_once = False

    def _used(self):
        return sum(self.small.values()) + sum(self.main.values())

    def access(self, x, size):
        if x in self.small or x in self.main:
            self.freq[x] += 1
            return True
        ghost = self.ghost.pop(x, None) is not None
        if size > self.s_cap:
            return False
        while self._used() + size > self.cap:
            self.evicted_once = True
            if sum(self.main.values()) > self.m_cap or not self.small:
                while self.main:
                    old, old_size = self.main.popitem(last=False)
                    if self.freq[old] >= 1:
                        self.main[old] = old_size
                        self.freq[old] = min(self.freq[old], 3) - 1
                    else:
                        break
            else:
                while self.small:
                    old, old_size = self.small.popitem(last=False)
                    if self.freq[old] >= self.threshold:
                        self.main[old] = old_size
                        self.freq[old] = 0
                    else:
                        if old_size <= self.g_cap:
                            while sum(self.ghost.values()) + old_size > self.g_cap:
                                self.ghost.popitem(last=False)
                            self.ghost[old] = old_size
                        break
        if ghost:
            self.main[x] = size
        elif size >= self.s_cap:
            return False
        elif not self.evicted_once and sum(self.small.values()) >= self.s_cap:
            self.main[x] = size
        else:
            self.small[x] = size
        self.freq[x] = 0
        return False


class _TwoQ:
    def __init__(self, capacity, a_in_size_ratio=0.25, a_out_size_ratio=0.5):
        self.cap = capacity
        self.in_cap = int(capacity * a_in_size_ratio)
        self.out_cap = int(capacity * a_out_size_ratio)
        self.m_cap = capacity - self.in_cap
        self.a_in, self.a_m, self.a_out = OrderedDict(), OrderedDict(), OrderedDict()

    def access(self, x, size):
        if x in self.a_in:
            return True
        ghost = self.a_out.pop(x, None) is not None
        if x in self.a_m:
            self.a_m.move_to_end(x)
            return True
        if size > self.in_cap:
            return False
        while sum(self.a_in.values()) + sum(self.a_m.values()) + size > self.cap:
            if sum(self.a_in.values()) > self.in_cap:
                old, old_size = self.a_in.popitem(last=False)
                if old_size <= self.out_cap:
                    while sum(self.a_out.values()) + old_size > self.out_cap:
                        self.a_out.popitem(last=False)
                    self.a_out[old] = old_size
            else:
                self.a_m.popitem(last=False)
        if ghost:
            if size <= self.m_cap:
                while sum(self.a_m.values()) + size > self.m_cap:
                    self.a_m.popitem(last=False)
                self.a_m[x] = size
        else:
            self.a_in[x] = size
        return False


class _ARC:
    def __init__(self, capacity):
        self.c, self.p = capacity, 0.0
        self.t1, self.t2, self.b1, self.b2 = OrderedDict(), OrderedDict(), OrderedDict(), OrderedDict()

    def _replace(self, after_b2_hit):
        t1 = sum(self.t1.values())
        if (t1 > 0 and (t1 > self.p or (t1 == self.p and after_b2_hit))) or not self.t2:
            old, s = self.t1.popitem(last=False)
            self.b1[old] = s
        else:
            old, s = self.t2.popitem(last=False)
            self.b2[old] = s

    def access(self, x, size):
        for data in (self.t1, self.t2):
            if x in data:
                self.t2[x] = data.pop(x)
                return True
        b1, b2 = sum(self.b1.values()), sum(self.b2.values())
        in_b1, in_b2 = x in self.b1, x in self.b2
        if in_b1:
            self.p = min(self.p + max(b2 / b1, 1), self.c)
            del self.b1[x]
        elif in_b2:
            self.p = max(self.p - max(b1 / b2, 1), 0)
            del self.b2[x]
        if size > self.c:
            return False
        while sum(self.t1.values()) + sum(self.t2.values()) + size > self.c:
            if in_b1 or in_b2:
                self._replace(in_b2)
            elif sum(self.t1.values()) + sum(self.b1.values()) + size > self.c:
                if self.b1:
                    self.b1.popitem(last=False)
                    self._replace(False)
                else:
                    self.t1.popitem(last=False)
            else:
                total = sum(sum(q.values()) for q in (self.t1, self.t2, self.b1, self.b2))
                if total >= 2 * self.c and self.b2:
                    self.b2.popitem(last=False)
                self._replace(False)
        (self.t2 if in_b1 or in_b2 else self.t1)[x] = size
        return False


class _SLRU:
    """Segments as OrderedDicts (first = LRU end); ``segs[0]`` the lowest, written from libCacheSim's SLRU.c."""

    def __init__(self, capacity, n_segments=4):
        self.cap = capacity
        self.m = int(capacity) // n_segments
        self.segs = [OrderedDict() for _ in range(n_segments)]

    def _used(self):
        return sum(sum(seg.values()) for seg in self.segs)

    def _evict(self):
        lowest = next(seg for seg in self.segs if seg)
        lowest.popitem(last=False)

    def _cool(self, j):
        if j == 0:
            return self._evict()
        old, old_size = self.segs[j].popitem(last=False)
        self.segs[j - 1][old] = old_size
        while sum(self.segs[j - 1].values()) > self.m:
            self._cool(j - 1)

    def access(self, x, size):
        for k, seg in enumerate(self.segs):
            if x in seg:
                if k == len(self.segs) - 1:
                    seg.move_to_end(x)
                else:
                    self.segs[k + 1][x] = seg.pop(x)
                    while sum(self.segs[k + 1].values()) > self.m:
                        self._cool(k + 1)
                return True
        if size > self.m:
            return False
        while self._used() + size > self.cap:
            self._evict()
        room = [seg for seg in self.segs if sum(seg.values()) + size <= self.m]
        (room[0] if room else self.segs[0])[x] = size
        return False


QUEUE_REFERENCES = {"clock": _Clock, "sieve": _Sieve, "s3fifo": _S3FIFO, "twoq": _TwoQ, "arc": _ARC, "slru": _SLRU}


def queue_reference(objects, versions=None, *, policy, capacity, mode="flat", size_of=None, span_of=None, **options):
    """Per-request number of items served by a queue policy (list of int).

    ``size_of(t, item)`` as in :func:`reference`; ``span_of(item)`` (layered
    mode) the bytes of the item's layers 1..j: a layer whose span exceeds the
    capacity is never admitted.
    """
    size_of = size_of or (lambda t, item: 1)
    cache = QUEUE_REFERENCES[policy](capacity, **options)
    out = []
    for t in range(len(objects)):
        served = 0
        for item in _items_of_request(mode, int(objects[t]), None if versions is None else int(versions[t])):
            size = size_of(t, item)
            if span_of is not None and span_of(item) > capacity:
                size = float("inf")
            served += cache.access(item, size)
        out.append(served)
    return out


def policies_for(capacity):
    """The policies that accept ``capacity`` (S3-FIFO needs int(0.1 * capacity) >= 1, as in libCacheSim; SLRU
    segments int(capacity) // 4 >= 1)."""
    import layercache as lc

    return [p for p in lc.POLICIES if (p != "s3fifo" or capacity >= 10) and (p != "slru" or capacity >= 4)]
