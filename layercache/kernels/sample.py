"""The spatial-sampling hash of :mod:`layercache.sampling` as kernels (splitmix64 of id and seed)."""

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_SCALE = 2.0 ** -53


@njit(cache=True, inline="always")
def _unit(ident, offset):
    """splitmix64(ident + offset) / 2**64 (top 53 bits), in [0, 1)."""
    z = np.uint64(ident) + offset
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    z = z ^ (z >> np.uint64(31))
    return np.float64(z >> np.uint64(11)) * _SCALE


@njit(cache=True, inline="always")
def _offset(seed):
    return np.uint64(seed) * _GOLDEN + _GOLDEN


@njit(cache=True)
def hash_unit(ids, seed, out):
    """``out[t]`` (float64, shape (n,)) = splitmix64(ids[t] + (seed + 1) * golden) / 2**64, in [0, 1)."""
    offset = _offset(seed)
    for t in range(ids.size):
        out[t] = _unit(ids[t], offset)


@njit(cache=True)
def sampled_positions(ids, seed, rate):
    """int64, shape (s,): the positions t, in order, with ``hash_unit`` of ``ids[t]`` below ``rate``.

    One pass into a buffer sized for the expected sample (a second, counting
    pass only if the sample overflows it): no per-request temporary.
    """
    offset = _offset(seed)
    n = ids.size
    out = np.empty(int(rate * n * 1.25) + 1024, dtype=np.int64)
    count = 0
    for t in range(n):
        if _unit(ids[t], offset) < rate:
            if count == out.size:
                count = -1
                break
            out[count] = t
            count += 1
    if count >= 0:
        return out[:count].copy()
    count = 0
    for t in range(n):
        count += _unit(ids[t], offset) < rate
    out = np.empty(count, dtype=np.int64)
    count = 0
    for t in range(n):
        if _unit(ids[t], offset) < rate:
            out[count] = t
            count += 1
    return out
