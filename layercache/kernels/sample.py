"""The spatial-sampling hash of :mod:`layercache.sampling` as kernels (splitmix64 of id and seed).

An id's hash is ``z = splitmix64(id + (seed + 1) * golden)``; its unit value
is ``(z >> 11) / 2**53`` in [0, 1), and the id is sampled at rate R iff
``(z >> 11) < limit = ceil(R * 2**53)`` (the same test in integers).
splitmix64 is a bijection of 64-bit words, so ``z`` itself identifies the
id: the count table keys on it without keeping ids.
"""

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

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


_BLOCK = 4096  # requests hashed at a time (a loop the compiler vectorizes), then scanned


@njit(cache=True)
def _hash_block(ids, offset, out):
    """``out[i] = splitmix64(ids[i] + offset)`` for the ids of one block (kept apart: it vectorizes)."""
    for i in range(ids.size):
        out[i] = _mix(ids[i], offset)


@njit(cache=True)
def _grown(a, size):
    """``a`` copied into an array of ``max(size, a.size)`` entries."""
    b = np.empty(max(size, a.size), dtype=a.dtype)
    b[:a.size] = a
    return b


# Count table: one 16-byte record per slot, a flat uint64 array of 2 * 2**k entries: the id hash z, then
# its requests in the low 32 bits and its requests after the warm-up in the high 32 bits (both saturate
# at 2**32 - 1); 0 marks an empty slot. Linear probing on z's low bits.
_WIDTH = 2
_ONE_BOTH = np.uint64((1 << 32) + 1)
_FULL = np.uint64(0xFFFFFFFF)


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
def count_sampled(ids, seed, limit, count_limit, first, warmup, table, used):
    """The requests of the ids sampled at one rate, and the request counts of those sampled at a larger one.

    Parameters
    ----------
    ids : int64 or uint64 array, shape (n,)
        One chunk of the trace; its first request is request ``first`` of the trace.
    limit, count_limit : int
        Sampling bounds on ``z >> 11`` (``ceil(rate * 2**53)``): the sample,
        and the sample whose ids are counted (0: none, ``table`` untouched).
    warmup : int
        Requests of the trace before it count in the requests only, not in
        the requests after the warm-up.
    table : uint64, shape (2 * 2**k,)
        Count table carried from chunk to chunk (see ``_WIDTH``).
    used : int
        Occupied slots.

    Returns
    -------
    (positions, hashes, table, used)
        Positions in the chunk (int64, in order) of the sampled requests and
        their ids' hashes ``z`` (uint64), and the table (a new one, twice the
        size, whenever it would pass half full).
    """
    offset = _offset(seed)
    bound = np.uint64(limit)
    count_bound = np.uint64(count_limit)
    n = ids.size
    out = np.empty(int(limit * _SCALE * n * 1.25) + 2 * _BLOCK, dtype=np.int64)
    keys = np.empty(out.size, dtype=np.uint64)
    hashes = np.empty(_BLOCK, dtype=np.uint64)
    members = np.empty(_BLOCK, dtype=np.int64)
    flags = np.zeros(_BLOCK, dtype=np.uint8)
    count = 0
    for lo in range(0, n, _BLOCK):
        m = min(_BLOCK, n - lo)
        if count + m > out.size:  # room for the whole block
            out = _grown(out, 2 * out.size)
            keys = _grown(keys, out.size)
        while count_limit > 0 and 2 * (used + m) > table.size // _WIDTH:
            table = _rehashed(table)
        _hash_block(ids[lo:lo + m], offset, hashes)
        k = _members(hashes, m, max(bound, count_bound), flags, members)
        count, used = _count_block(hashes, members, k, lo, bound, count_bound, first, warmup, table, used, out, keys,
                                   count)
    return out[:count].copy(), keys[:count].copy(), table, used


@njit(cache=True)
def _members(hashes, m, bound, flags, members):
    """Offsets (into ``members``) of the block's hashes below ``bound``; their number.

    The tests are written as bytes (a loop the compiler vectorizes) and read
    eight at a time, so a run of unsampled requests costs no branch each:
    at a rate of a few percent the branch per request mispredicts often.
    """
    for i in range(m):
        flags[i] = (hashes[i] >> _SHIFT) < bound
    flags[m:] = 0
    words = flags.view(np.uint64)
    k = 0
    for w in range(words.size):
        x = words[w]
        while x != 0:
            members[k] = 8 * w + (trailing_zeros(x) >> 3)
            k += 1
            x &= x - np.uint64(1)
    return k


@njit(cache=True)
def _count_block(hashes, members, k, lo, bound, count_bound, first, warmup, table, used, out, keys, count):
    """Count the block's requests ``members[:k]`` (offsets in it) below ``count_bound`` in the table;
    append those below ``bound``.

    Their slots are prefetched first, so the table's cache misses overlap.
    Returns ``(count, used)``.
    """
    for j in range(k):
        if (hashes[members[j]] >> _SHIFT) < count_bound:
            prefetch(table, _WIDTH * _home(table, hashes[members[j]]))
    for j in range(k):
        z = hashes[members[j]]
        t = lo + members[j]
        if (z >> _SHIFT) < count_bound:
            record = _WIDTH * _find(table, z)
            if table[record + 1] == 0:
                table[record] = z
                used += 1
            counts = table[record + 1]
            if (counts & _FULL) != _FULL:
                table[record + 1] = counts + (_ONE_BOTH if first + t >= warmup else np.uint64(1))
        if (z >> _SHIFT) < bound:
            out[count] = t
            keys[count] = z
            count += 1
    return count, used


@njit(cache=True)
def slots_of(table, keys):
    """int64, shape (k,): the slot of each of ``keys`` (hashes in the table)."""
    out = np.empty(keys.size, dtype=np.int64)
    for i in range(keys.size):
        if i + 64 < keys.size:
            prefetch(table, _WIDTH * _home(table, keys[i + 64]))
        out[i] = _find(table, keys[i])
    return out
