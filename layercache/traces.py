"""Real cache traces: libCacheSim's oracleGeneral binary format, CSV and numpy arrays.

An oracleGeneral file is a headerless sequence of 24-byte little-endian records
``(uint32 time, uint64 id, uint32 size, int64 next_access_vtime)``, optionally
zstd-compressed (``.zst``). Times are in the trace's own unit (usually
seconds), sizes in bytes, ids arbitrary 64-bit integers.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ORACLE_GENERAL_DTYPE", "write_oracle_general"]

#: One oracleGeneral record (packed, 24 bytes).
ORACLE_GENERAL_DTYPE = np.dtype(
    [("time", "<u4"), ("id", "<u8"), ("size", "<u4"), ("next_access", "<i8")], align=False
)
assert ORACLE_GENERAL_DTYPE.itemsize == 24


def write_oracle_general(path, ids, sizes=None, times=None) -> None:
    """Write a trace as an uncompressed oracleGeneral file.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.
    ids : array_like, shape (n,)
        Object ids, non-negative integers < 2**64.
    sizes : array_like, shape (n,), optional
        Request sizes in bytes, 1 <= size < 2**32; defaults to 1.
    times : array_like, shape (n,), optional
        Timestamps, 0 <= t < 2**32; defaults to ``0, 1, 2, ...``.

    Notes
    -----
    The next-access field is written as -1 (unknown): readers of this
    toolkit never trust it, and libCacheSim's Belady computes its own.
    """
    ids = np.asarray(ids)
    n = ids.shape[0]
    records = np.zeros(n, dtype=ORACLE_GENERAL_DTYPE)
    records["id"] = ids
    records["size"] = 1 if sizes is None else np.asarray(sizes)
    records["time"] = np.arange(n) if times is None else np.asarray(times)
    records["next_access"] = -1
    records.tofile(path)
