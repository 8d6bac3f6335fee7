"""Slow reference for layercache.idhash: XXH3-64 in pure Python, big integers, no Numba.

Written from the XXH3 specification, independently of the jitted kernel; the tests hold both
against libcachesim's own CSV reader.

Original notes:
String object ids hashed to 64 bits exactly as libCacheSim does.

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

from layercache.idhash import _SECRET as _SECRET_ARRAY

__all__ = ["xxh3_64"]

_M = (1 << 64) - 1
_P32_1, _P32_2, _P32_3 = 0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D
_P64_1, _P64_2, _P64_3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
_P64_4, _P64_5 = 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5
_MX1, _MX2 = 0x165667919E3779F9, 0x9FB21C651E98DF25
_SECRET = _SECRET_ARRAY.tobytes()  # a constant of the algorithm, shared with the kernel
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
