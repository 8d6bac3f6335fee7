"""The spatial-sampling hash of :mod:`layercache.sampling` as a kernel (splitmix64 of id and seed)."""

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_SCALE = 2.0 ** -53


@njit(cache=True)
def hash_unit(ids, seed, out):
    """``out[t]`` (float64, shape (n,)) = splitmix64(ids[t] + (seed + 1) * golden) / 2**64, in [0, 1)."""
    offset = np.uint64(seed) * _GOLDEN + _GOLDEN
    for t in range(ids.size):
        z = np.uint64(ids[t]) + offset
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        z = z ^ (z >> np.uint64(31))
        out[t] = np.float64(z >> np.uint64(11)) * _SCALE
