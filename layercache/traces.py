"""Real cache traces: libCacheSim's oracleGeneral binary format, CSV and numpy files.

A trace is three plain arrays, one entry per request in file order:

- ``ids``: raw object ids, ``uint64`` (or dense 0-based ids after
  :func:`layercache.remap_ids`, or with ``read_trace(..., remap=True)``);
- ``sizes``: request sizes in bytes, ``int64``, >= 1 (size-0 requests are
  dropped by default, see ``zero_sizes`` in :func:`iter_trace_chunks`);
- ``times``: timestamps in the trace's own unit (usually seconds), ``float64``.

Formats (``format=`` argument; by default chosen from the file name):

- ``"oracleGeneral"`` (``*.bin``, ``*.oracleGeneral*``): headerless 24-byte
  little-endian records ``(uint32 time, uint64 id, uint32 size, int64
  next_access_vtime)``. The next-access field is never read as truth.
- text (``*.csv``, ``*.txt``, told apart by their first line):
  ``"csv"`` with a header naming its columns (honoured, in any order) or
  headerless ``time, id, size``; ``"txt"`` (libCacheSim's one id per line);
  ``"twitter"`` (Twitter's cache-trace CSV); ``"cdn"`` (``time id size``
  text); any layout with ``columns=TraceColumns(...)``. String ids are
  hashed to 64 bits exactly as libCacheSim does.
- ``"npy"``: a 1-D structured array with fields ``time, id, size`` (e.g. of
  :data:`ORACLE_GENERAL_DTYPE`) or a 1-D integer array of ids;
  ``"npz"``: arrays ``ids`` and optionally ``sizes`` and ``times``.

A trailing ``.zst`` means zstd compression (oracleGeneral and CSV), read as a
stream. Every reader works in chunks of ``chunk_requests`` requests, so files
larger than memory can be processed with :func:`iter_trace_chunks` and an
:class:`layercache.IdRemapper`, whose dense ids stay consistent across chunks::

    remap = IdRemapper()
    for ids, sizes, times in iter_trace_chunks("w.oracleGeneral.zst"):
        dense = remap(ids)          # int32, 0-based, first-appearance order
    remap.original_ids              # raw id of each dense id
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .remap import IdRemapper, remap_ids
from .trace_formats import (
    ORACLE_GENERAL_DTYPE,
    RECORD_BYTES,
    TRACE_FORMATS,
    _check_path,
    detect_trace_format,
    open_trace,
)
from .user_warnings import warn_at_caller

__all__ = [
    "ORACLE_GENERAL_DTYPE",
    "TRACE_FORMATS",
    "detect_trace_format",
    "iter_trace_chunks",
    "oracle_next_access",
    "read_csv_trace",
    "read_oracle_general",
    "read_trace",
    "read_versioned_trace",
    "write_oracle_general",
    "ZERO_SIZE_CHOICES",
    "ZeroSizeWarning",
]

_INT32_MAX = int(np.iinfo(np.int32).max)
_DEFAULT_CHUNK = 1 << 20


def _check_chunk(path, ids, sizes, times, offset: int, zero_sizes: str):
    """Validate one chunk; return a keep-mask when zero sizes are skipped, else None."""
    if ids.dtype.kind not in "iu" or sizes.dtype.kind not in "iuf" or times.dtype.kind not in "iuf":
        raise ValueError(
            f"trace file {os.fspath(path)!r}: ids must be integers and sizes/times numbers, got dtypes "
            f"{ids.dtype}, {sizes.dtype}, {times.dtype}"
        )
    if ids.dtype.kind == "i" and ids.size and ids.min() < 0:
        k = int(np.argmax(ids < 0))
        raise ValueError(
            f"trace file {os.fspath(path)!r}: request {offset + k} (0-based) has negative id {ids[k]}; "
            "ids must be integers in 0..2**64-1"
        )
    if sizes.dtype.kind == "f" and not np.array_equal(sizes, np.floor(sizes)):
        k = int(np.argmax(sizes != np.floor(sizes)))
        raise ValueError(
            f"trace file {os.fspath(path)!r}: request {offset + k} (0-based) has non-integer size {sizes[k]}; "
            "sizes must be integers >= 1"
        )
    bad = sizes <= 0 if sizes.dtype.kind != "u" else sizes == 0
    keep = None
    if bad.any():
        if zero_sizes != "error" and not (sizes < 0).any():
            keep = ~bad
        else:
            k = int(np.argmax(bad))
            raise ValueError(
                f"trace file {os.fspath(path)!r}: request {offset + k} (0-based) has size {sizes[k]}; "
                "sizes must be >= 1 (zero_sizes='skip' drops size-0 requests as libCacheSim does, "
                "zero_sizes='unit' counts them as size 1)"
            )
    if times.dtype.kind == "f" and not np.isfinite(times).all():
        k = int(np.argmax(~np.isfinite(times)))
        raise ValueError(
            f"trace file {os.fspath(path)!r}: request {offset + k} (0-based) has time {times[k]}; "
            "times must be finite numbers"
        )
    return keep


def _checked(path, chunks, zero_sizes):
    """Validate raw chunks; drop size-0 requests or give them size 1, as asked.

    Skipped requests are counted and reported in one warning at the end.
    """
    offset = skipped = 0
    for ids, sizes, times, *extra in chunks:  # extra: per-request arrays filtered alike (versions)
        keep = _check_chunk(path, ids, sizes, times, offset, zero_sizes)
        offset += ids.shape[0]
        if keep is not None and zero_sizes == "skip":
            skipped += ids.shape[0] - int(keep.sum())
            ids, sizes, times = ids[keep], sizes[keep], times[keep]
            extra = [arr[keep] for arr in extra]
        elif keep is not None:  # "unit"
            sizes = np.where(keep, sizes, 1)
        yield ids, sizes, times, *extra
    if skipped:
        warn_at_caller(
            f"trace file {os.fspath(path)!r}: skipped {skipped} of {offset} requests of size 0 "
            "(zero_sizes='skip', as libCacheSim does; 'unit' counts them as size 1, 'error' refuses them)",
            ZeroSizeWarning,
        )


class ZeroSizeWarning(UserWarning):
    """Size-0 requests were dropped from a trace (their number is in the message)."""


#: Accepted values of ``zero_sizes``: drop (default, libCacheSim's choice), size 1, or ValueError.
ZERO_SIZE_CHOICES = ("skip", "unit", "error")


def _check_options(chunk_requests, zero_sizes):
    n = int(chunk_requests)
    if n != chunk_requests or n < 1:
        raise ValueError(f"chunk_requests must be an integer >= 1, got {chunk_requests!r}")
    if zero_sizes not in ZERO_SIZE_CHOICES:
        raise ValueError(f"zero_sizes must be one of {ZERO_SIZE_CHOICES}, got {zero_sizes!r}")
    return n


def _text_options(columns, header, id_type, operations) -> dict:
    given = {"columns": columns, "header": header, "operations": operations}
    options = {k: v for k, v in given.items() if v is not None}
    if id_type != "auto":
        options["id_type"] = id_type
    return options


def _open(path, format, n, delimiter, options):
    fmt = format
    if options:
        fmt = format if format is not None else detect_trace_format(path)[0]
        if fmt not in ("csv", "txt", "twitter", "cdn"):
            raise ValueError(f"columns, header, id_type and operations apply to text traces, not format {fmt!r}")
    return open_trace(path, fmt, n, delimiter, **options)


def iter_trace_chunks(path, format=None, *, chunk_requests: int = _DEFAULT_CHUNK, zero_sizes="skip",
                      delimiter=",", columns=None, header=None, id_type="auto", operations=None):
    """Read a trace in chunks of at most ``chunk_requests`` requests.

    Memory use is bounded by the chunk size (plus the zstd window), so any
    file size works. Pair with :class:`layercache.IdRemapper` for dense ids
    that are consistent across chunks.

    Parameters
    ----------
    path : str or os.PathLike
        Trace file.
    format : {None, "oracleGeneral", "csv", "txt", "twitter", "cdn", "npy", "npz"}
        ``None`` chooses from the file name and, for text, its first line
        (:func:`detect_trace_format`). Text formats are described in
        :mod:`layercache.text_traces`.
    chunk_requests : int
        Requests per chunk, >= 1.
    zero_sizes : {"skip", "unit", "error"}
        Requests of size 0 (real traces have them, e.g. metadata operations):
        ``"skip"`` (default) drops them, as libCacheSim's readers do by
        default, and warns once with their number (:class:`ZeroSizeWarning`);
        ``"unit"`` keeps them as requests of size 1; ``"error"`` raises
        ValueError naming the first one. Every reader applies the same
        choice before anything else sees the trace, so Belady's next uses
        (computed by :func:`layercache.simulate`) are those of the trace
        after the choice.
    delimiter : str
        CSV field separator (format ``"csv"``).
    columns : TraceColumns, optional
        Text traces: which column (0-based index, or header name) holds
        the id, size (one column or a tuple summed), time and operation;
        default: the format's layout (``"csv"``: its header's names, or
        ``time, id, size`` without a header).
    header : bool, optional
        Text traces: whether line 1 is a header; default: detected (a
        non-numeric time or size field, or columns given by name).
    id_type : {"auto", "int", "str"}
        Text traces: decimal 64-bit ids, or strings hashed to 64 bits as
        libCacheSim does (XXH3); ``"auto"`` decides from line 1.
    operations : iterable of str, optional
        Text traces with an operation column: keep only these operations
        (case-insensitive; e.g. ``{"get", "gets"}``); the number dropped is
        reported in a warning.

    Yields
    ------
    ids : numpy.ndarray, shape (m,), uint64
    sizes : numpy.ndarray, shape (m,), int64
    times : numpy.ndarray, shape (m,), float64

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        Unknown format, truncated or misaligned binary data, corrupt zstd,
        malformed CSV lines, sizes < 1, ids outside 0..2**64-1.
    """
    n = _check_options(chunk_requests, zero_sizes)
    chunks, _, _ = _open(path, format, n, delimiter, _text_options(columns, header, id_type, operations))
    for ids, sizes, times in _checked(path, chunks, zero_sizes):
        # copies: the raw chunks may be views of a reused buffer
        yield np.array(ids, dtype=np.uint64), np.array(sizes, dtype=np.int64), np.array(times, dtype=np.float64)


def read_trace(path, format=None, *, remap: bool = False, zero_sizes="skip", delimiter=",",
               chunk_requests: int = _DEFAULT_CHUNK, columns=None, header=None, id_type="auto", operations=None):
    """Read a whole trace into arrays.

    Parameters
    ----------
    path, format, zero_sizes, delimiter, columns, header, id_type, operations
        As in :func:`iter_trace_chunks` (same errors).
    remap : bool
        Return dense 0-based ids (first-appearance order) and the table of
        original ids instead of the raw ids. The raw ids of the whole trace
        are then never held in memory at once.
    chunk_requests : int
        Requests converted per step (bounds temporary memory).

    Returns
    -------
    ids : numpy.ndarray, shape (n,)
        Raw ids (uint64), or with ``remap=True`` dense ids: int32, or int64
        when more than 2**31 - 1 distinct ids are possible.
    sizes : numpy.ndarray, shape (n,), int64
        Bytes.
    times : numpy.ndarray, shape (n,), float64
        The file's time unit.
    original_ids : numpy.ndarray, shape (n_objects,), uint64
        Only with ``remap=True``: ``original_ids[ids]`` are the raw ids.

    Notes
    -----
    oracleGeneral files are read in chunks and each field is copied once
    into its output; when the final length is known in advance (plain files,
    or a zstd frame that records its size) the outputs are allocated once.
    """
    n_chunk = _check_options(chunk_requests, zero_sizes)
    chunks, hint, bound = _open(path, format, n_chunk, delimiter, _text_options(columns, header, id_type, operations))
    capacity = hint if hint is not None else 0
    id_dtype = np.uint64
    remapper = None
    if remap:
        id_dtype = np.int64 if (bound or 0) > _INT32_MAX else np.int32
        remapper = IdRemapper(dtype=id_dtype, expected_ids=min(capacity or n_chunk, 1 << 20))
    out_ids = np.empty(capacity, dtype=id_dtype)
    out_sizes = np.empty(capacity, dtype=np.int64)
    out_times = np.empty(capacity, dtype=np.float64)
    n = 0
    for ids, sizes, times in _checked(path, chunks, zero_sizes):
        m = ids.shape[0]
        if n + m > capacity:
            capacity = max(2 * capacity, n + m)
            for arr in (out_ids, out_sizes, out_times):
                arr.resize(capacity, refcheck=False)
        if remapper is None:
            out_ids[n : n + m] = ids
        else:
            if remapper.dtype == np.int32 and remapper.n_ids + m > _INT32_MAX:
                out_ids = out_ids.astype(np.int64)  # more distinct ids than int32 holds may come
                remapper.widen()
            remapper(np.ascontiguousarray(ids, dtype=np.uint64), out=out_ids[n : n + m])
        out_sizes[n : n + m] = sizes
        out_times[n : n + m] = times
        n += m
    if n < capacity:
        for arr in (out_ids, out_sizes, out_times):
            arr.resize(n, refcheck=False)
    if remapper is None:
        return out_ids, out_sizes, out_times
    return out_ids, out_sizes, out_times, remapper.original_ids


def read_versioned_trace(path, format=None, *, columns, zero_sizes="skip", delimiter=",", header=None,
                         id_type="auto", operations=None, chunk_requests: int = _DEFAULT_CHUNK):
    """Read a text trace with a version column: the input of a layered study.

    Parameters
    ----------
    path, format, zero_sizes, delimiter, header, id_type, operations, chunk_requests
        As in :func:`iter_trace_chunks` (text formats only).
    columns : TraceColumns
        Must name a ``version`` column (1-based versions, 1..127).

    Returns
    -------
    ids : numpy.ndarray, shape (n,), uint64
        Raw ids; pass them to :func:`layercache.simulate` as they are
        (sparse and 64-bit ids are remapped there).
    versions : numpy.ndarray, shape (n,), int8
    sizes : numpy.ndarray, shape (n,), int64
    times : numpy.ndarray, shape (n,), float64
    """
    parts = list(_versioned_text_chunks(path, format, columns=columns, zero_sizes=zero_sizes,
                                        delimiter=delimiter, header=header, id_type=id_type,
                                        operations=operations, chunk_requests=chunk_requests))
    ids, sizes, times, versions = (np.concatenate(col) for col in zip(*parts))
    return ids, versions, sizes, times


def _versioned_text_chunks(path, format=None, *, columns=None, zero_sizes="skip", delimiter=",", header=None,
                      id_type="auto", operations=None, chunk_requests: int = _DEFAULT_CHUNK):
    """Checked ``(ids, sizes, times, versions)`` chunks of a text trace with a version column."""
    from .text_traces import text_chunks

    if columns is None or columns.version is None:
        raise ValueError("columns must name a version column: TraceColumns(id=..., version=...)")
    n = _check_options(chunk_requests, zero_sizes)
    fmt, zstd = detect_trace_format(path) if format is None else (format, os.fspath(path).lower().endswith(".zst"))
    chunks = text_chunks(_check_path(path), zstd, fmt, n, columns=columns, delimiter=delimiter, header=header,
                         id_type=id_type, operations=operations)
    return _checked(path, chunks, zero_sizes)


def read_oracle_general(path, *, remap: bool = False, zero_sizes="skip"):
    """Read an oracleGeneral trace (plain or ``.zst``); see :func:`read_trace`."""
    return read_trace(path, "oracleGeneral", remap=remap, zero_sizes=zero_sizes)


def read_csv_trace(path, *, remap: bool = False, zero_sizes="skip", delimiter=",", columns=None, header=None,
                   id_type="auto", operations=None):
    """Read a CSV trace (plain or ``.zst``): header names honoured, or ``time, id, size``; see :func:`read_trace`."""
    return read_trace(path, "csv", remap=remap, zero_sizes=zero_sizes, delimiter=delimiter, columns=columns,
                      header=header, id_type=id_type, operations=operations)


# --------------------------------------------------------------------------- writing


def oracle_next_access(ids) -> np.ndarray:
    """libCacheSim's next-access field for a trace.

    Parameters
    ----------
    ids : array_like of int, shape (n,)
        Object ids (raw or dense).

    Returns
    -------
    numpy.ndarray, shape (n,), int64
        For request ``t`` (0-based), ``u + 1`` where ``u`` is the index of
        the next request for the same id, or -1 if there is none: the
        1-based virtual time libCacheSim's trace converter writes.
    """
    from .kernels.driver import FLAT, next_uses  # the simulators' own next-use pass

    dense, original = remap_ids(ids)
    n = dense.size
    nxt = np.empty(n, dtype=np.int64)
    next_uses(FLAT, dense, np.zeros(0, dtype=np.int8), 1, original.size, n, nxt)
    nxt += 1
    nxt[nxt > n] = -1
    return nxt


def _uint_field(values, n, name, hi, default):
    if values is None:
        if n > hi + 1:
            raise ValueError(f"{name} must be given for traces longer than {hi + 1} requests")
        return default
    arr = np.asarray(values)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) (one per request), got {arr.shape}")
    if n == 0:
        return arr
    if arr.dtype.kind == "f" and not np.array_equal(arr, np.floor(arr)):
        raise ValueError(f"{name} must be integers for oracleGeneral")
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be integers, got dtype {arr.dtype}")
    lo = 1 if name == "sizes" else 0
    if arr.min() < lo or arr.max() > hi:
        raise ValueError(f"{name} must lie in {lo}..{hi} to fit oracleGeneral, got {arr.min()}..{arr.max()}")
    return arr


def write_oracle_general(path, ids, sizes=None, times=None, *, next_access=None, level: int = 3,
                         chunk_requests: int = _DEFAULT_CHUNK) -> None:
    """Write a trace as an oracleGeneral file; ``*.zst`` paths are zstd-compressed.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file; a name ending in ``.zst`` is written as one zstd
        frame with its content size and a checksum.
    ids : array_like, shape (n,)
        Object ids, non-negative integers < 2**64.
    sizes : array_like, shape (n,), optional
        Request sizes in bytes, 1 <= size < 2**32; defaults to 1.
    times : array_like, shape (n,), optional
        Timestamps, integers 0 <= t < 2**32; defaults to ``0, 1, 2, ...``.
    next_access : None, True or array_like of int, shape (n,)
        ``None`` writes -1 (unknown); ``True`` computes the field as
        libCacheSim's converter does (:func:`oracle_next_access`), which its
        Belady needs; an array is written as given.
    level : int
        zstd compression level.
    chunk_requests : int
        Records built per step (bounds temporary memory).

    Notes
    -----
    Readers of this toolkit never trust the next-access field; libCacheSim's
    Belady does, so write ``next_access=True`` for files meant for it.
    """
    raw = np.asarray(ids)
    if raw.ndim != 1:
        raise ValueError(f"ids must be a 1-D array, got shape {raw.shape}")
    n = raw.shape[0]
    if n and (raw.dtype.kind not in "iu" or (raw.dtype.kind == "i" and raw.min() < 0)):
        raise ValueError(f"ids must be non-negative integers < 2**64, got dtype {raw.dtype}")
    sizes = _uint_field(sizes, n, "sizes", 2**32 - 1, 1)
    times = _uint_field(times, n, "times", 2**32 - 1, None)
    if next_access is True:
        next_access = oracle_next_access(raw)
    elif next_access is None or next_access is False:
        next_access = -1
    else:
        next_access = np.asarray(next_access, dtype=np.int64)
        if next_access.shape != (n,):
            raise ValueError(f"next_access must have shape ({n},), got {next_access.shape}")
    step = _check_options(chunk_requests, "error")
    zstd = Path(os.fspath(path)).name.lower().endswith(".zst")
    with open(path, "wb") as fh:
        sink = fh
        if zstd:
            import zstandard

            compressor = zstandard.ZstdCompressor(level=level, write_checksum=True, write_content_size=True)
            sink = compressor.stream_writer(fh, size=n * RECORD_BYTES, closefd=False)
        records = np.empty(min(step, n), dtype=ORACLE_GENERAL_DTYPE)
        for start in range(0, n, step):
            stop = min(start + step, n)
            rec = records[: stop - start]
            rec["id"] = raw[start:stop]
            rec["size"] = sizes if np.ndim(sizes) == 0 else sizes[start:stop]
            rec["time"] = np.arange(start, stop) if times is None else times[start:stop]
            rec["next_access"] = next_access if np.ndim(next_access) == 0 else next_access[start:stop]
            sink.write(rec.tobytes())
        if zstd:
            sink.close()
