"""String object ids hashed to 64 bits exactly as libCacheSim does.

libCacheSim's CSV and plain-text readers turn a non-numeric object id into
``get_hash_value_str(key, len)``, which its default build (``HASH_TYPE`` =
XXHASH3, ``libCacheSim/dataStructure/hash/hash.h``) defines as
``XXH3_64bits(key, len)``: xxHash's XXH3, 64-bit, seed 0, default secret.
This module computes that hash (written from the XXH3 specification,
https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md), so that
ids read here equal the ids libCacheSim gives the same trace; the tests hold
it against libcachesim's own CSV reader for every length class.

Hashing runs once per distinct key of a chunk (pandas factorizes first), so
its Python cost is per distinct object, not per request.
"""

from __future__ import annotations

import numpy as np

__all__ = ["xxh3_64", "hash_string_ids"]

_M = (1 << 64) - 1
_P32_1, _P32_2, _P32_3 = 0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D
_P64_1, _P64_2, _P64_3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
_P64_4, _P64_5 = 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5
_MX1, _MX2 = 0x165667919E3779F9, 0x9FB21C651E98DF25
_SECRET = bytes.fromhex(
    "b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671f"
    "cb79e64eccc0e578825ad07dccff7221b8084674f743248ee03590e6813a264c"
    "3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8"
    "a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364"
    "eac5ac8334d3ebc3c581a0fffa1363eb170ddd51b7f0da49d316552629d4689e"
    "2b16be587d47a1fc8ff8b8d17ad031ce45cb3a8f95160428afd7fbcabb4b407e"
)
assert len(_SECRET) == 192


def _r64(b, i):
    return int.from_bytes(b[i : i + 8], "little")


def _r32(b, i):
    return int.from_bytes(b[i : i + 4], "little")


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & _M


def _fold(a, b):
    p = a * b
    return (p ^ (p >> 64)) & _M


def _avalanche(h):
    h ^= h >> 37
    h = (h * _MX1) & _M
    return h ^ (h >> 32)


def _xxh64_avalanche(h):
    h ^= h >> 33
    h = (h * _P64_2) & _M
    h ^= h >> 29
    h = (h * _P64_3) & _M
    return h ^ (h >> 32)


def _rrmxmx(h, n):
    h ^= _rotl(h, 49) ^ _rotl(h, 24)
    h = (h * _MX2) & _M
    h ^= (h >> 35) + n
    h = (h * _MX2) & _M
    return h ^ (h >> 28)


def _mix16(b, i, s):
    return _fold(_r64(b, i) ^ _r64(_SECRET, s), _r64(b, i + 8) ^ _r64(_SECRET, s + 8))


def _long(b, n):
    acc = [_P32_3, _P64_1, _P64_2, _P64_3, _P64_4, _P32_2, _P64_5, _P32_1]

    def stripe(i, s):
        for k in range(8):
            v = _r64(b, i + 8 * k)
            key = v ^ _r64(_SECRET, s + 8 * k)
            acc[k ^ 1] = (acc[k ^ 1] + v) & _M
            acc[k] = (acc[k] + (key & 0xFFFFFFFF) * (key >> 32)) & _M

    per_block = (192 - 64) // 8
    block = 64 * per_block
    n_blocks = (n - 1) // block
    for blk in range(n_blocks):
        for st in range(per_block):
            stripe(blk * block + 64 * st, 8 * st)
        for k in range(8):
            a = acc[k]
            a ^= a >> 47
            a ^= _r64(_SECRET, 192 - 64 + 8 * k)
            acc[k] = (a * _P32_1) & _M
    for st in range(((n - 1) - block * n_blocks) // 64):
        stripe(n_blocks * block + 64 * st, 8 * st)
    stripe(n - 64, 192 - 64 - 7)
    h = (n * _P64_1) & _M
    for k in range(4):
        h = (h + _fold(acc[2 * k] ^ _r64(_SECRET, 11 + 16 * k), acc[2 * k + 1] ^ _r64(_SECRET, 11 + 16 * k + 8))) & _M
    return _avalanche(h)


def xxh3_64(data: bytes) -> int:
    """XXH3 64-bit hash (seed 0, default secret) of ``data``, as a Python int."""
    b, n = bytes(data), len(data)
    if n == 0:
        return _xxh64_avalanche(_r64(_SECRET, 56) ^ _r64(_SECRET, 64))
    if n <= 3:
        combined = (b[0] << 16) | (b[n >> 1] << 24) | b[n - 1] | (n << 8)
        return _xxh64_avalanche(combined ^ (_r32(_SECRET, 0) ^ _r32(_SECRET, 4)))
    if n <= 8:
        x = (_r32(b, n - 4) + (_r32(b, 0) << 32)) ^ (_r64(_SECRET, 8) ^ _r64(_SECRET, 16))
        return _rrmxmx(x, n)
    if n <= 16:
        lo = _r64(b, 0) ^ (_r64(_SECRET, 24) ^ _r64(_SECRET, 32))
        hi = _r64(b, n - 8) ^ (_r64(_SECRET, 40) ^ _r64(_SECRET, 48))
        swapped = int.from_bytes(lo.to_bytes(8, "little"), "big")
        return _avalanche((n + swapped + hi + _fold(lo, hi)) & _M)
    acc = (n * _P64_1) & _M
    if n <= 128:
        if n > 32:
            if n > 64:
                if n > 96:
                    acc += _mix16(b, 48, 96) + _mix16(b, n - 64, 112)
                acc += _mix16(b, 32, 64) + _mix16(b, n - 48, 80)
            acc += _mix16(b, 16, 32) + _mix16(b, n - 32, 48)
        acc += _mix16(b, 0, 0) + _mix16(b, n - 16, 16)
        return _avalanche(acc & _M)
    if n <= 240:
        for i in range(8):
            acc += _mix16(b, 16 * i, 16 * i)
        acc = _avalanche(acc & _M)
        for i in range(8, n // 16):
            acc += _mix16(b, 16 * i, 16 * (i - 8) + 3)
        acc += _mix16(b, n - 16, 136 - 17)
        return _avalanche(acc & _M)
    return _long(b, n)


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
    table = np.fromiter(
        (xxh3_64(k.encode() if isinstance(k, str) else bytes(k)) for k in uniques), dtype=np.uint64, count=len(uniques)
    )
    return table[codes]
