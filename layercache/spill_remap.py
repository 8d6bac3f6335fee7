"""Dense ids for a trace staged on disk, with the id table's memory bounded.

:func:`layercache.stream_trace` needs a dense id for every request of a
trace that may hold more distinct objects than an in-memory table can: a
hash table of 10^8 64-bit ids alone takes 1.6-3.2 GB (keys, values, the
table of original ids, and a doubling copy), more than the trace's window.
:class:`SpillingRemapper` keeps the first ``table_ids`` distinct ids in an
:class:`~layercache.IdRemapper` (first-appearance order, one pass, the
common case) and spills the rest to disk:

1. While staging, an id not in the full table is written, in request
   order, to one of ``2**8`` partition files chosen by a hash of the id
   (murmur3's 64-bit finaliser, independent of the tables' own hash), its
   partition number to a code file, and -1 to the staged ids.
2. :meth:`~SpillingRemapper.finish` remaps each partition file on its own
   with a fresh table (a partition holds 1/256 of the spilled ids), writes
   its local dense ids and appends its original ids to a file; partition
   ``p``'s ids are numbered after those of the table and of partitions
   ``0..p-1``.
3. A last pass over the staged ids replaces each -1 by its partition's
   next local id plus the partition's offset (the codes say which
   partition, and each partition file is read in order).

Memory: the table (``table_ids`` ids, ~200 MB at the default 2^22 with
its last doubling) while staging, then one partition's table (~40 bytes
per distinct id of the partition: ~16 MB per partition at 10^8 spilled
ids, ~400 MB at 2^31) and blocks of ``_BLOCK`` requests; disk: 13 bytes per
spilled request (id, code, local id) until the end of staging, 8 per
distinct spilled id (their original ids, kept with the staged trace).

Dense ids past the table are in first-appearance order within their
partition, not across partitions: the simulators never compare item
numbers (every tie is broken by access time or insertion order), so the
hits are those of any other numbering, and ``original_ids`` still maps each
dense id back to its raw id.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .remap import IdRemapper, _as_uint64_ids

__all__ = ["SpillingRemapper"]

_TABLE_IDS = 1 << 22  # distinct ids numbered in memory, in first-appearance order
_PARTITION_BITS = 8
_PARTITIONS = 1 << _PARTITION_BITS
_BLOCK = 1 << 22  # requests per step of the finishing passes
_INT32_MAX = int(np.iinfo(np.int32).max)


def _partition_of(ids: np.ndarray) -> np.ndarray:
    """Partition (uint8) of each id: the top bits of murmur3's fmix64 of the id."""
    z = ids ^ (ids >> np.uint64(33))
    z *= np.uint64(0xFF51AFD7ED558CCD)
    z ^= z >> np.uint64(33)
    z *= np.uint64(0xC4CEB9FE1A85EC53)
    z ^= z >> np.uint64(33)
    return (z >> np.uint64(64 - _PARTITION_BITS)).astype(np.uint8)


class SpillingRemapper:
    """Remap a staged trace's raw ids to dense int32 ids with bounded memory (see the module notes).

    Parameters
    ----------
    directory : pathlib.Path
        Where the spill files go (the staging directory).
    table_ids : int, optional
        Distinct ids numbered in memory before spilling, >= 1 (default
        ``2**22``).

    Use: ``out = remapper(ids)`` per chunk (int32 dense ids, -1 for ids
    spilled, to be filled in by :meth:`finish`), written in request order
    to one file; then :meth:`finish` on that file. A context manager:
    leaving it closes the spill files.
    """

    def __init__(self, directory: Path, table_ids: int | None = None):
        table_ids = _TABLE_IDS if table_ids is None else table_ids
        if int(table_ids) < 1:
            raise ValueError(f"table_ids must be >= 1, got {table_ids!r}")
        self._directory = Path(directory)
        self._table = IdRemapper(dtype=np.int32)
        self._table_ids = int(table_ids)
        self._codes = None  # the code file, open once spilling
        self.n_spilled = 0  # requests spilled

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._codes is not None:
            self._codes.close()

    def _path(self, name, p=None):
        return self._directory / (f"spill_{name}.bin" if p is None else f"spill_{name}_{p}.bin")

    def __call__(self, ids) -> np.ndarray:
        """Dense ids (int32, shape (n,)) of a chunk of raw ids; -1 where spilled."""
        keys = _as_uint64_ids(ids)
        out = self._table.map_or_spill(keys, self._table_ids)
        spilled = keys[out < 0]
        if spilled.size:
            if self._codes is None:  # the first spilled id
                self._codes = open(self._path("codes"), "wb")
            with np.errstate(over="ignore"):
                codes = _partition_of(spilled)
            codes.tofile(self._codes)
            order = np.argsort(codes, kind="stable")  # request order within each partition
            bounds = np.concatenate(([0], np.cumsum(np.bincount(codes, minlength=_PARTITIONS))))
            grouped = spilled[order]
            for p in np.flatnonzero(np.diff(bounds)):
                # opened per chunk: 256 files open at once would pass some systems' limit (macOS: 256)
                with open(self._path("ids", p), "ab") as partition:
                    grouped[bounds[p]: bounds[p + 1]].tofile(partition)
            self.n_spilled += spilled.size
        return out

    def finish(self, staged_ids: Path):
        """Number the spilled ids and fill them into ``staged_ids`` (int32, in place).

        Returns
        -------
        n_ids : int
            Distinct ids.
        original_ids : numpy.ndarray, shape (n_ids,), uint64
            Raw id of each dense id: in memory if nothing was spilled, else
            a read-only :class:`numpy.memmap` of a file in ``directory``.

        Raises
        ------
        ValueError
            More than ``2**31 - 1`` distinct ids.
        """
        self.__exit__()
        table, self._table = self._table, None
        if self._codes is None:
            return table.n_ids, table.original_ids
        originals_path = self._directory / "original_ids.bin"
        offsets = np.zeros(_PARTITIONS, dtype=np.int64)
        with open(originals_path, "wb") as originals:
            table.original_ids.tofile(originals)
            n_ids = table.n_ids
            del table  # its memory goes before the partitions' tables come
            for p in range(_PARTITIONS):
                offsets[p] = n_ids
                n_ids += self._remap_partition(p, originals, n_ids)
        self._fill(staged_ids, offsets)
        return n_ids, np.memmap(originals_path, dtype=np.uint64, mode="r", shape=(n_ids,))

    def _remap_partition(self, p, originals, n_before) -> int:
        """Partition ``p``'s local dense ids to a file, its original ids appended; return its distinct ids."""
        source = self._path("ids", p)
        if not source.exists():  # no id fell in this partition
            return 0
        remap = IdRemapper(dtype=np.int32)
        with open(source, "rb") as src, open(self._path("local", p), "wb") as dst:
            while (ids := np.fromfile(src, dtype=np.uint64, count=_BLOCK)).size:
                remap(ids).tofile(dst)
                if n_before + remap.n_ids > _INT32_MAX:
                    raise ValueError(f"a staged trace holds at most {_INT32_MAX} distinct objects; this one has more")
        source.unlink()
        remap.original_ids.tofile(originals)
        return remap.n_ids

    def _fill(self, staged_ids: Path, offsets: np.ndarray) -> None:
        """Replace the -1 of ``staged_ids`` by the spilled requests' dense ids, block by block."""
        done = np.zeros(offsets.size, dtype=np.int64)  # local ids taken from each partition's file
        with open(staged_ids, "r+b") as ids_file, open(self._path("codes"), "rb") as codes_file:
            position = 0
            while (block := np.fromfile(ids_file, dtype=np.int32, count=_BLOCK)).size:
                spilled = np.flatnonzero(block < 0)
                codes = np.fromfile(codes_file, dtype=np.uint8, count=spilled.size)
                counts = np.bincount(codes, minlength=offsets.size)
                local = [self._local_ids(p, done[p], counts[p]) for p in np.flatnonzero(counts)]
                dense = np.concatenate(local or [np.zeros(0, dtype=np.int32)]).astype(np.int64) + \
                    np.repeat(offsets, counts)
                if codes.size != spilled.size or dense.size != spilled.size:
                    raise ValueError(f"spill files in {str(self._directory)!r} are truncated")
                block[spilled[np.argsort(codes, kind="stable")]] = dense
                done += counts
                ids_file.seek(position * 4)
                block.tofile(ids_file)
                position += block.size
        for p in np.flatnonzero(done):
            self._path("local", p).unlink()
        self._path("codes").unlink()

    def _local_ids(self, p, start, count):
        """Local ids ``start .. start + count - 1`` of partition ``p`` (int32)."""
        with open(self._path("local", p), "rb") as fh:
            fh.seek(int(start) * 4)
            return np.fromfile(fh, dtype=np.int32, count=int(count))
