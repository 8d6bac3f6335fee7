"""The spatial-sampling hash of :mod:`layercache.sampling` as kernels (splitmix64 of id and seed).

An id's hash is ``z = splitmix64(id + (seed + 1) * golden)``; its unit value
is ``(z >> 11) / 2**53`` in [0, 1), and the id is sampled at rate R iff
``(z >> 11) < limit = ceil(R * 2**53)`` (the same test in integers).
splitmix64 is a bijection of 64-bit words, so ``z`` itself identifies the
id: the count table keys on it without keeping ids.
"""

import numpy as np
from numba import njit

from .prefetch import prefetch

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_SCALE = 2.0 ** -53
_SHIFT = np.uint64(11)


@njit(cache=True, inline="always")
def _mix(ident, offset):
    """splitmix64(ident + offset), uint64."""
    z = np.uint64(ident) + offset
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def _offset(seed):
    return np.uint64(seed) * _GOLDEN + _GOLDEN


@njit(cache=True)
def hash_unit(ids, seed, out):
    """``out[t]`` (float64, shape (n,)) = the unit value of ``ids[t]``'s hash, in [0, 1)."""
    offset = _offset(seed)
    for t in range(ids.size):
        out[t] = np.float64(_mix(ids[t], offset) >> _SHIFT) * _SCALE


@njit(cache=True)
def sampled_positions(ids, seed, limit):
    """int64, shape (s,): the positions t, in order, whose id's ``z >> 11`` is below ``limit``.

    One pass into a buffer sized for the expected sample, doubled if the
    sample overflows it: no per-request temporary.
    """
    offset = _offset(seed)
    bound = np.uint64(limit)
    out = np.empty(int(limit * _SCALE * ids.size * 1.25) + 1024, dtype=np.int64)
    t, count = 0, 0
    while True:
        t, count = _positions_run(ids, t, offset, bound, out, count)
        if t == ids.size:
            return out[:count].copy()
        out = _grown(out, 2 * out.size)


@njit(cache=True)
def _positions_run(ids, t, offset, bound, out, count):
    """Sampled positions from ``t`` on into ``out[count:]``, until the trace or ``out`` ends: (t, count)."""
    n = ids.size
    while t < n:
        if (_mix(ids[t], offset) >> _SHIFT) < bound:
            if count == out.size:
                return t, count
            out[count] = t
            count += 1
        t += 1
    return t, count


@njit(cache=True)
def _grown(a, size):
    """``a`` copied into an array of ``max(size, a.size)`` entries."""
    b = np.empty(max(size, a.size), dtype=a.dtype)
    b[:a.size] = a
    return b


# Count table: one 32-byte record per slot (id hash z, requests, requests after the warm-up, unused),
# a flat uint64 array of 4 * 2**k entries; requests == 0 marks an empty slot. Linear probing on z's low bits.
_WIDTH = 4
_PENDING = 16  # sampled requests between hashing one (and prefetching its slot) and counting it


@njit(cache=True, inline="always")
def _home(table, z):
    return np.int64(z & np.uint64(table.size // _WIDTH - 1))


@njit(cache=True, inline="always")
def _find(table, z):
    """Slot of key ``z`` (an empty slot if absent)."""
    mask = table.size // _WIDTH - 1
    slot = _home(table, z)
    while table[_WIDTH * slot + 1] != 0 and table[_WIDTH * slot] != z:
        slot = (slot + 1) & mask
    return slot


@njit(cache=True)
def _rehashed(table):
    """The table in twice the slots."""
    new = np.zeros(2 * table.size, dtype=np.uint64)
    for s in range(table.size // _WIDTH):
        if table[_WIDTH * s + 1] != 0:
            slot = _find(new, table[_WIDTH * s])
            for c in range(_WIDTH):
                new[_WIDTH * slot + c] = table[_WIDTH * s + c]
    return new


@njit(cache=True)
def count_sampled(ids, seed, limit, first, warmup, table, used, log, logged):
    """Positions of the requests whose id is sampled, their hashes, and every sampled id's request count.

    Parameters
    ----------
    ids : int64 or uint64 array, shape (n,)
        One chunk of the trace; its first request is request ``first`` of the trace.
    limit : int
        Sampling bound on ``z >> 11`` (``ceil(rate * 2**53)``).
    warmup : int
        Requests of the trace before it count in the requests only, not in
        the requests after the warm-up.
    table : uint64, shape (4 * 2**k,)
        Count table carried from chunk to chunk (see ``_WIDTH``).
    used : int
        Occupied slots.
    log : uint64, shape (m,); logged : int
        The hash ``z`` of every sampled request so far (``log[:logged]``),
        carried from chunk to chunk.

    Returns
    -------
    (positions, table, used, log, logged)
        Positions in the chunk (int64, in order), the table (a new one,
        twice the size, whenever it would pass half full) and the log (a new
        one when it fills).
    """
    offset = _offset(seed)
    bound = np.uint64(limit)
    out = np.empty(int(limit * _SCALE * ids.size * 1.25) + 1024, dtype=np.int64)
    if log.size < logged + out.size:
        log = _grown(log, 2 * (logged + out.size))
    pending_t = np.empty(_PENDING, dtype=np.int64)
    pending_z = np.empty(_PENDING, dtype=np.uint64)
    state = np.zeros(5, dtype=np.int64)  # t, count, used, head, size
    state[2] = used
    while True:
        status = _count_run(ids, offset, bound, first, warmup, out, table, log, logged, pending_t, pending_z, state)
        if status == _DONE:
            return out[:state[1]].copy(), table, state[2], log, logged + state[1]
        if status == _OUT_FULL:
            out = _grown(out, 2 * out.size)
            log = _grown(log, logged + out.size)
        else:
            table = _rehashed(table)


_DONE, _OUT_FULL, _TABLE_FULL = 0, 1, 2


@njit(cache=True)
def _count_run(ids, offset, bound, first, warmup, out, table, log, logged, pending_t, pending_z, state):
    """:func:`count_sampled` from ``state`` on, until the chunk ends, ``out`` is full or the table half full.

    A sampled request's slot is prefetched when it is hashed and counted
    ``_PENDING`` sampled requests later (a FIFO of its position and hash),
    so the table's cache misses overlap. ``state`` (t, count, used, head,
    size) is updated in place; returns ``_DONE``, ``_OUT_FULL`` or
    ``_TABLE_FULL``.
    """
    n = ids.size
    t, count, used, head, size = state[0], state[1], state[2], state[3], state[4]
    status = _DONE
    while True:
        if size == _PENDING or (t == n and size > 0):
            z = pending_z[head]
            slot = _find(table, z)
            record = _WIDTH * slot
            if count == out.size:
                status = _OUT_FULL
                break
            if table[record + 1] == 0:
                if 2 * (used + 1) > table.size // _WIDTH:
                    status = _TABLE_FULL
                    break
                table[record] = z
                used += 1
            out[count] = pending_t[head]
            log[logged + count] = z
            count += 1
            table[record + 1] += np.uint64(1)
            if first + pending_t[head] >= warmup:
                table[record + 2] += np.uint64(1)
            head = (head + 1) % _PENDING
            size -= 1
            continue
        if t == n:
            break
        z = _mix(ids[t], offset)
        if (z >> _SHIFT) < bound:
            prefetch(table, _WIDTH * _home(table, z))
            tail = (head + size) % _PENDING
            pending_t[tail] = t
            pending_z[tail] = z
            size += 1
        t += 1
    state[0], state[1], state[2], state[3], state[4] = t, count, used, head, size
    return status


@njit(cache=True)
def slots_of(table, keys):
    """int64, shape (k,): the slot of each of ``keys`` (hashes in the table)."""
    out = np.empty(keys.size, dtype=np.int64)
    for i in range(keys.size):
        if i + _PENDING < keys.size:
            prefetch(table, _WIDTH * _home(table, keys[i + _PENDING]))
        out[i] = _find(table, keys[i])
    return out
