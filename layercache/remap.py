"""Remap arbitrary 64-bit object ids to dense 0-based ids.

Dense ids are assigned in order of first appearance: the first distinct id
seen becomes 0, the next new one 1, and so on. The table of original ids
(``original_ids[dense] == raw``) is kept, as ``uint64``. Signed input ids are
taken as their 64-bit two's-complement pattern, so ``-1`` is kept as
``2**64 - 1``; ``original_ids.view(np.int64)`` recovers signed values.

The work is an open-addressing hash table (linear probing, load factor at
most 1/2) in a small Numba kernel that prefetches the slot of the id 32
positions ahead; it is several times faster than ``np.unique`` (a sort) or
``pandas.factorize`` and keeps state across chunks, so a trace larger than
memory is remapped chunk by chunk with consistent ids (:class:`IdRemapper`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .kernels.prefetch import prefetch

__all__ = ["IdRemapper", "remap_ids"]

_EMPTY = -1  # value of an unused hash slot
_MIN_SLOTS = 1 << 12
_AHEAD = 32  # ids between prefetching a slot and probing it (hides cache misses on big tables)


@njit(cache=True)
def _slot(key, shift):
    # Fibonacci hashing: the top bits of key * 2**64/phi spread sequential and
    # strided ids evenly (Knuth, TAOCP vol. 3, 6.4)
    return (key * np.uint64(0x9E3779B97F4A7C15)) >> shift


@njit(cache=True)
def _remap_kernel(ids, start, out, keys, vals, shift, originals, count, limit, full):
    """Map ``ids[start:]`` into ``out``; stop early when ``count`` reaches ``limit``, unless ``full``.

    ``keys.size`` is ``2**(64 - shift)``. Returns (position reached, new count). New ids get ``count, count + 1, ...``
    and are appended to ``originals``. Once ``count`` reaches ``limit``, a ``full`` table gives new ids -1 (and
    does not add them) instead of stopping.
    """
    mask = np.uint64(keys.size - 1)
    n = ids.size
    for k in range(start, n):
        if k + _AHEAD < n:
            ahead = _slot(ids[k + _AHEAD], shift)
            prefetch(keys, ahead)
            prefetch(vals, ahead)
        key = ids[k]
        h = _slot(key, shift)
        while True:
            v = vals[h]
            if v == _EMPTY:
                if count >= limit:
                    if not full:
                        return k, count
                    out[k] = -1
                    break
                keys[h] = key
                vals[h] = count
                originals[count] = key
                out[k] = count
                count += 1
                break
            if keys[h] == key:
                out[k] = v
                break
            h = (h + np.uint64(1)) & mask
    return n, count


@njit(cache=True)
def _rebuild_kernel(originals, count, keys, vals, shift):
    """Insert ``originals[:count]`` (distinct) into empty ``keys``/``vals`` tables."""
    mask = np.uint64(keys.size - 1)
    for j in range(count):
        key = originals[j]
        h = _slot(key, shift)
        while vals[h] != _EMPTY:
            h = (h + np.uint64(1)) & mask
        keys[h] = key
        vals[h] = j


def _as_uint64_ids(ids) -> np.ndarray:
    arr = np.asarray(ids)
    if arr.ndim != 1:
        raise ValueError(f"ids must be a 1-D array, got shape {arr.shape}")
    if arr.dtype == np.uint64:
        return np.ascontiguousarray(arr)
    if arr.dtype.kind not in "iu" or arr.dtype == np.bool_:
        if arr.size == 0:
            return np.zeros(0, dtype=np.uint64)
        raise ValueError(f"ids must be integers (64-bit or narrower), got dtype {arr.dtype}")
    return arr.astype(np.uint64)


class IdRemapper:
    """Stateful remapper of raw 64-bit ids to dense ids, consistent across calls.

    Parameters
    ----------
    dtype : {numpy.int32, numpy.int64}
        Dtype of the dense ids returned. With int32, more than ``2**31 - 1``
        distinct ids raise ValueError.
    expected_ids : int, optional
        Expected number of distinct ids; sizes the table up front (it grows
        by doubling otherwise).

    Examples
    --------
    >>> remap = IdRemapper()
    >>> remap([900, 7, 900]), remap([7, 5])
    (array([0, 1, 0], dtype=int32), array([1, 2], dtype=int32))
    >>> remap.original_ids
    array([900,   7,   5], dtype=uint64)
    """

    def __init__(self, dtype=np.int32, expected_ids: int = 0):
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.int32), np.dtype(np.int64)):
            raise ValueError(f"dtype must be int32 or int64, got {self.dtype}")
        expected = int(expected_ids)
        if expected < 0:
            raise ValueError(f"expected_ids must be >= 0, got {expected_ids!r}")
        slots = max(_MIN_SLOTS, 1 << int(2 * max(expected, 1) - 1).bit_length())
        self._count = 0
        self._allocate(slots)

    def _allocate(self, slots: int) -> None:
        self._keys = np.zeros(slots, dtype=np.uint64)
        self._vals = np.full(slots, _EMPTY, dtype=self.dtype)
        self._shift = np.uint64(65 - slots.bit_length())
        originals = np.empty(slots // 2, dtype=np.uint64)
        if self._count:
            originals[: self._count] = self._originals[: self._count]
            with np.errstate(over="ignore"):
                _rebuild_kernel(originals, self._count, self._keys, self._vals, self._shift)
        self._originals = originals

    def widen(self) -> None:
        """Switch to int64 dense ids (for more than ``2**31 - 1`` distinct ids)."""
        if self.dtype != np.int64:
            self.dtype = np.dtype(np.int64)
            self._vals = self._vals.astype(np.int64)

    @property
    def n_ids(self) -> int:
        """Number of distinct ids seen so far."""
        return self._count

    @property
    def original_ids(self) -> np.ndarray:
        """Raw id of each dense id, shape (n_ids,), uint64 (a copy)."""
        return self._originals[: self._count].copy()

    def __call__(self, ids, out=None) -> np.ndarray:
        """Map a chunk of raw ids to dense ids.

        Parameters
        ----------
        ids : array_like of int, shape (n,)
            Raw ids; any integer dtype up to 64 bits.
        out : numpy.ndarray, shape (n,), optional
            Where to write the dense ids; dtype must equal ``self.dtype``.

        Returns
        -------
        numpy.ndarray, shape (n,), ``self.dtype``
            Dense 0-based ids, consistent with every earlier call.
        """
        keys = _as_uint64_ids(ids)
        if out is None:
            out = np.empty(keys.size, dtype=self.dtype)
        elif out.shape != keys.shape or out.dtype != self.dtype or not out.flags.c_contiguous:
            raise ValueError(
                f"out must be a contiguous {self.dtype} array of shape {keys.shape}, "
                f"got {out.dtype} of shape {out.shape}"
            )
        id_limit = int(np.iinfo(self.dtype).max) + 1
        if self._map(keys, out, id_limit, False) < keys.size:
            raise ValueError(
                f"more than {id_limit - 1} distinct ids do not fit dtype {self.dtype}; "
                "use IdRemapper(dtype=numpy.int64)"
            )
        return out

    def map_or_spill(self, ids, max_ids: int) -> np.ndarray:
        """Map ``ids`` while the table holds fewer than ``max_ids`` ids; -1 for new ids after that.

        The table never grows past what ``max_ids`` ids need; the ids
        marked -1 are not added (:class:`layercache.spill_remap.SpillingRemapper`
        numbers them on disk).

        Returns
        -------
        numpy.ndarray, shape (n,), ``self.dtype``
        """
        keys = _as_uint64_ids(ids)
        out = np.empty(keys.size, dtype=self.dtype)
        self._map(keys, out, min(int(max_ids), int(np.iinfo(self.dtype).max) + 1), True)
        return out

    def _map(self, keys, out, id_limit: int, spill: bool) -> int:
        """Map ``keys`` into ``out`` while at most ``id_limit`` distinct ids; return the position reached.

        With ``spill``, new ids past ``id_limit`` get -1 and the whole of ``keys`` is mapped.
        """
        pos = 0
        # uint64 wrap-around in the hash is intended; silence numpy when run without JIT
        with np.errstate(over="ignore"):
            while True:
                full = spill and id_limit <= self._vals.size // 2
                limit = id_limit if full else min(self._vals.size // 2, id_limit)
                pos, self._count = _remap_kernel(
                    keys, pos, out, self._keys, self._vals, self._shift, self._originals, self._count, limit, full
                )
                if pos == keys.size or self._count >= id_limit:
                    return pos
                self._allocate(2 * self._vals.size)


def remap_ids(ids, dtype=None):
    """Remap raw ids to dense 0-based ids in order of first appearance.

    Parameters
    ----------
    ids : array_like of int or str, shape (n,)
        Raw object ids, e.g. the uint64 ids of a real trace, or string
        labels (compared exactly, never hashed).
    dtype : {None, numpy.int32, numpy.int64}
        Dtype of the dense ids; ``None`` picks int32 when ``n < 2**31``.

    Returns
    -------
    dense : numpy.ndarray, shape (n,), int32 or int64
        ``dense[k]`` is the 0-based id of ``ids[k]``.
    original_ids : numpy.ndarray, shape (n_distinct,), uint64
        ``original_ids[dense] == ids`` (as uint64; for string ids, the
        labels as an object array).
    """
    if np.asarray(ids).dtype.kind in "USO":
        return _remap_labels(np.asarray(ids), dtype)
    keys = _as_uint64_ids(ids)
    if dtype is None:
        dtype = np.int32 if keys.size <= np.iinfo(np.int32).max else np.int64
    # the table starts small and doubles: memory follows the distinct ids, not the requests
    remapper = IdRemapper(dtype=dtype, expected_ids=min(keys.size, 1 << 14))
    dense = remapper(keys)
    return dense, remapper.original_ids


def _remap_labels(labels: np.ndarray, dtype):
    """String ids: dense ids in order of first appearance (pandas' hash table)."""
    import pandas as pd

    if labels.ndim != 1:
        raise ValueError(f"ids must be a 1-D array, got shape {labels.shape}")
    codes, uniques = pd.factorize(labels, sort=False, use_na_sentinel=True)
    if codes.size and codes.min() < 0:
        k = int(np.argmax(codes < 0))
        raise ValueError(f"ids must be integers or strings, request {k} (0-based) has id {labels[k]!r}")
    if dtype is None:
        dtype = np.int32 if labels.size <= np.iinfo(np.int32).max else np.int64
    return codes.astype(dtype), np.asarray(uniques, dtype=object)
