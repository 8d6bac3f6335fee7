"""String object ids hashed to 64 bits exactly as libCacheSim does.

libCacheSim's CSV reader turns a non-numeric object id into
``get_hash_value_str(key, len)``, which its default build (``HASH_TYPE`` =
XXHASH3, ``libCacheSim/dataStructure/hash/hash.h``) defines as
``XXH3_64bits(key, len)``: xxHash's XXH3, 64-bit, seed 0, default secret.
This module computes that hash in a small Numba kernel, written from the
XXH3 specification (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md);
the tests hold it against libcachesim's own reader for every length class
and against a pure-Python reference.

Keys are hashed once per distinct key of a chunk (pandas factorizes first).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["xxh3_64", "hash_string_ids"]

_U = np.uint64
_P32_1, _P32_2, _P32_3 = _U(0x9E3779B1), _U(0x85EBCA77), _U(0xC2B2AE3D)
_P64_1, _P64_2, _P64_3 = _U(0x9E3779B185EBCA87), _U(0xC2B2AE3D27D4EB4F), _U(0x165667B19E3779F9)
_P64_4, _P64_5 = _U(0x85EBCA77C2B2AE63), _U(0x27D4EB2F165667C5)
_MX1, _MX2 = _U(0x165667919E3779F9), _U(0x9FB21C651E98DF25)
_LO32 = _U(0xFFFFFFFF)
_SECRET = np.frombuffer(bytes.fromhex(
    "b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671f"
    "cb79e64eccc0e578825ad07dccff7221b8084674f743248ee03590e6813a264c"
    "3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8"
    "a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364"
    "eac5ac8334d3ebc3c581a0fffa1363eb170ddd51b7f0da49d316552629d4689e"
    "2b16be587d47a1fc8ff8b8d17ad031ce45cb3a8f95160428afd7fbcabb4b407e"
), dtype=np.uint8).copy()


@njit(cache=True, inline="always")
def _read_le(b, i, n_bytes):
    v = _U(0)
    for k in range(n_bytes):
        v |= _U(b[i + k]) << _U(8 * k)
    return v


@njit(cache=True, inline="always")
def _r64(b, i):
    return _read_le(b, i, 8)


@njit(cache=True, inline="always")
def _r32(b, i):
    return _read_le(b, i, 4)


@njit(cache=True, inline="always")
def _rotl(x, r):
    return (x << _U(r)) | (x >> _U(64 - r))


@njit(cache=True, inline="always")
def _fold(a, b):
    """Low 64 bits xor high 64 bits of the 128-bit product a * b (four 32x32 products)."""
    a_lo, a_hi, b_lo, b_hi = a & _LO32, a >> _U(32), b & _LO32, b >> _U(32)
    lo_lo, hi_lo, lo_hi, hi_hi = a_lo * b_lo, a_hi * b_lo, a_lo * b_hi, a_hi * b_hi
    cross = (lo_lo >> _U(32)) + (hi_lo & _LO32) + lo_hi
    upper = (hi_lo >> _U(32)) + (cross >> _U(32)) + hi_hi
    lower = (cross << _U(32)) | (lo_lo & _LO32)
    return lower ^ upper


@njit(cache=True, inline="always")
def _avalanche(h):
    h ^= h >> _U(37)
    h *= _MX1
    return h ^ (h >> _U(32))


@njit(cache=True, inline="always")
def _xxh64_avalanche(h):
    h ^= h >> _U(33)
    h *= _P64_2
    h ^= h >> _U(29)
    h *= _P64_3
    return h ^ (h >> _U(32))


@njit(cache=True, inline="always")
def _mix16(b, i, s):
    return _fold(_r64(b, i) ^ _r64(_SECRET, s), _r64(b, i + 8) ^ _r64(_SECRET, s + 8))


@njit(cache=True)
def _stripe(acc, b, i, s):
    for k in range(8):
        v = _r64(b, i + 8 * k)
        key = v ^ _r64(_SECRET, s + 8 * k)
        acc[k ^ 1] += v
        acc[k] += (key & _LO32) * (key >> _U(32))


@njit(cache=True)
def _long(b, p, n):
    acc = np.empty(8, dtype=np.uint64)
    acc[0], acc[1], acc[2], acc[3] = _P32_3, _P64_1, _P64_2, _P64_3
    acc[4], acc[5], acc[6], acc[7] = _P64_4, _P32_2, _P64_5, _P32_1
    per_block = (192 - 64) // 8
    block = 64 * per_block
    n_blocks = (n - 1) // block
    for blk in range(n_blocks):
        for st in range(per_block):
            _stripe(acc, b, p + blk * block + 64 * st, 8 * st)
        for k in range(8):
            a = acc[k]
            a ^= a >> _U(47)
            a ^= _r64(_SECRET, 192 - 64 + 8 * k)
            acc[k] = a * _P32_1
    for st in range(((n - 1) - block * n_blocks) // 64):
        _stripe(acc, b, p + n_blocks * block + 64 * st, 8 * st)
    _stripe(acc, b, p + n - 64, 192 - 64 - 7)
    h = _U(n) * _P64_1
    for k in range(4):
        h += _fold(acc[2 * k] ^ _r64(_SECRET, 11 + 16 * k), acc[2 * k + 1] ^ _r64(_SECRET, 11 + 16 * k + 8))
    return _avalanche(h)


@njit(cache=True)
def _xxh3(b, p, n):
    """XXH3-64 of ``b[p:p + n]``."""
    if n == 0:
        return _xxh64_avalanche(_r64(_SECRET, 56) ^ _r64(_SECRET, 64))
    if n <= 3:
        combined = (_U(b[p]) << _U(16)) | (_U(b[p + (n >> 1)]) << _U(24)) | _U(b[p + n - 1]) | (_U(n) << _U(8))
        return _xxh64_avalanche(combined ^ (_r32(_SECRET, 0) ^ _r32(_SECRET, 4)))
    if n <= 8:
        x = (_r32(b, p + n - 4) + (_r32(b, p) << _U(32))) ^ (_r64(_SECRET, 8) ^ _r64(_SECRET, 16))
        x ^= _rotl(x, 49) ^ _rotl(x, 24)
        x *= _MX2
        x ^= (x >> _U(35)) + _U(n)
        x *= _MX2
        return x ^ (x >> _U(28))
    if n <= 16:
        lo = _r64(b, p) ^ (_r64(_SECRET, 24) ^ _r64(_SECRET, 32))
        hi = _r64(b, p + n - 8) ^ (_r64(_SECRET, 40) ^ _r64(_SECRET, 48))
        swapped = _U(0)
        for k in range(8):
            swapped = (swapped << _U(8)) | ((lo >> _U(8 * k)) & _U(0xFF))
        return _avalanche(_U(n) + swapped + hi + _fold(lo, hi))
    acc = _U(n) * _P64_1
    if n <= 128:
        if n > 32:
            if n > 64:
                if n > 96:
                    acc += _mix16(b, p + 48, 96) + _mix16(b, p + n - 64, 112)
                acc += _mix16(b, p + 32, 64) + _mix16(b, p + n - 48, 80)
            acc += _mix16(b, p + 16, 32) + _mix16(b, p + n - 32, 48)
        acc += _mix16(b, p, 0) + _mix16(b, p + n - 16, 16)
        return _avalanche(acc)
    if n <= 240:
        for i in range(8):
            acc += _mix16(b, p + 16 * i, 16 * i)
        acc = _avalanche(acc)
        for i in range(8, n // 16):
            acc += _mix16(b, p + 16 * i, 16 * (i - 8) + 3)
        acc += _mix16(b, p + n - 16, 136 - 17)
        return _avalanche(acc)
    return _long(b, p, n)


@njit(cache=True)
def _hash_kernel(buf, offsets, out):
    for k in range(out.size):
        out[k] = _xxh3(buf, offsets[k], offsets[k + 1] - offsets[k])


def _hash_encoded(encoded) -> np.ndarray:
    lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    buf = np.frombuffer(b"".join(encoded) + b"\0" * 8, dtype=np.uint8)
    out = np.empty(lengths.size, dtype=np.uint64)
    _hash_kernel(buf, offsets, out)
    return out


def xxh3_64(data: bytes) -> int:
    """XXH3 64-bit hash (seed 0, default secret) of ``data``, as a Python int."""
    return int(_hash_encoded([bytes(data)])[0])


def hash_string_ids(keys) -> np.ndarray:
    """libCacheSim's 64-bit ids of string keys.

    Parameters
    ----------
    keys : array_like of str or bytes, shape (n,)
        Keys as they appear in the trace (str is encoded as UTF-8).

    Returns
    -------
    numpy.ndarray, shape (n,), uint64
    """
    import pandas as pd

    codes, uniques = pd.factorize(np.asarray(keys, dtype=object), sort=False, use_na_sentinel=False)
    encoded = [k.encode() if isinstance(k, str) else bytes(k) for k in uniques]
    return _hash_encoded(encoded)[codes]
