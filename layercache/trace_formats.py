"""Trace file formats: open a file and yield its requests in raw chunks.

Used by :mod:`layercache.traces`, which validates the chunks and builds
arrays. Formats:

- oracleGeneral (libCacheSim): headerless 24-byte little-endian records
  ``(uint32 time, uint64 id, uint32 size, int64 next_access_vtime)``, plain
  (read in chunks) or zstd-compressed (streamed, multi-frame);
- text traces (:mod:`layercache.text_traces`): CSV with a header naming its
  columns or headerless ``time, id, size``, libCacheSim's plain text (one id
  per line), Twitter's cache-trace CSV, ``time id size`` CDN text; any column
  layout with :class:`~layercache.TraceColumns`; plain or zstd, via pandas;
- ``.npy`` (structured array with fields time/id/size, or integer ids) and
  ``.npz`` (arrays ``ids`` and optionally ``sizes``, ``times``).

Binary data are checked for truncation and misalignment, zstd streams for
corruption and for ending inside a frame; CSV errors are traced to the first
malformed line. Every error is a ValueError naming the file.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["ORACLE_GENERAL_DTYPE", "TRACE_FORMATS", "detect_trace_format", "open_trace"]

#: One oracleGeneral record (packed, 24 bytes).
ORACLE_GENERAL_DTYPE = np.dtype(
    [("time", "<u4"), ("id", "<u8"), ("size", "<u4"), ("next_access", "<i8")], align=False
)
assert ORACLE_GENERAL_DTYPE.itemsize == 24

#: Accepted values of the ``format`` argument.
TRACE_FORMATS = ("oracleGeneral", "csv", "txt", "twitter", "cdn", "npy", "npz")
_TEXT = ("csv", "txt", "twitter", "cdn")

RECORD_BYTES = ORACLE_GENERAL_DTYPE.itemsize
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_ZSTD_INPUT_BLOCK = 1 << 20  # compressed bytes fed to the decompressor at a time


# --------------------------------------------------------------------------- paths, formats


def _check_path(path) -> Path:
    p = Path(os.fspath(path))
    if not p.exists():
        raise FileNotFoundError(f"trace file not found: {str(p)!r}")
    if not p.is_file():
        raise ValueError(f"trace path {str(p)!r} is not a regular file")
    return p


def detect_trace_format(path) -> tuple[str, bool]:
    """Format and compression of a trace file, from its name and, for text, its first line.

    Names: ``*.bin`` or ``*oracleGeneral*`` (oracleGeneral), ``*.npy``,
    ``*.npz``, ``*.csv`` / ``*.txt`` (text); a trailing ``.zst`` means zstd.
    A text file that exists is told apart by its first line
    (:func:`layercache.text_traces.sniff_text_format`): one field per line is
    libCacheSim's plain text (``"txt"``), whitespace-separated ``time id
    size`` is ``"cdn"``, seven fields with an operation sixth is Twitter's
    format, anything else ``"csv"``. A file with another name is sniffed the
    same way if it is text.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    format : str
        One of :data:`TRACE_FORMATS`.
    zstd : bool
        Whether the name ends in ``.zst``.

    Raises
    ------
    ValueError
        The name does not tell and the file is missing or not text; the
        message says why and lists the names understood.
    """
    from .text_traces import sniff_text_format

    p = Path(os.fspath(path))
    name = p.name.lower()
    zstd = name.endswith(".zst")
    if zstd:
        name = name[: -len(".zst")]
    if name.endswith(".npy") and not zstd:
        return "npy", False
    if name.endswith(".npz") and not zstd:
        return "npz", False
    if name.endswith(".bin") or "oraclegeneral" in name:
        return "oracleGeneral", zstd
    text = name.endswith((".csv", ".txt"))
    sniffed = sniff_text_format(p, zstd) if p.is_file() and (text or not _looks_binary(p, zstd)) else None
    if sniffed is not None:
        if name.endswith(".csv") and sniffed in ("txt", "cdn"):
            sniffed = "csv"  # a .csv name means delimited text, even of one column
        return sniffed, zstd
    if text:
        return "csv", zstd
    why = "it does not exist" if not p.exists() else "it is not text and its name names no binary format"
    raise ValueError(
        f"cannot tell the format of trace {os.fspath(path)!r} ({why}); pass format= one of "
        f"{TRACE_FORMATS} (names: *.bin or *oracleGeneral* [.zst], *.csv/*.txt [.zst], *.npy, *.npz)"
    )


def _looks_binary(path: Path, zstd: bool) -> bool:
    if zstd:
        return False
    with open(path, "rb") as fh:
        head = fh.read(4096)
    return b"\x00" in head


def _resolve_format(path, format):
    if format is None:
        return detect_trace_format(path)
    zstd = Path(os.fspath(path)).name.lower().endswith(".zst")
    if format not in TRACE_FORMATS:
        raise ValueError(f"format must be one of {TRACE_FORMATS} or None, got {format!r}")
    if zstd and format in ("npy", "npz"):
        raise ValueError(f"format {format!r} cannot be zstd-compressed ({os.fspath(path)!r})")
    return format, zstd


# --------------------------------------------------------------------------- oracleGeneral


def _zstd_pieces(path: Path):
    """Decompressed pieces of a (multi-frame) zstd file, in order.

    Raises ValueError on an empty file, corrupt data (our writer adds
    checksums, so damaged payloads are caught too) or a stream that ends
    inside a frame (a truncated file, which zstd's stream readers accept
    silently).
    """
    import zstandard

    if path.stat().st_size == 0:
        raise ValueError(f"trace file {str(path)!r} is empty; expected a zstd stream (name ends in .zst)")
    decompressor = zstandard.ZstdDecompressor()
    dobj, in_frame = decompressor.decompressobj(), False
    with open(path, "rb") as fh:
        while data := fh.read(_ZSTD_INPUT_BLOCK):
            while data:
                try:
                    out = dobj.decompress(data)
                except zstandard.ZstdError as exc:
                    raise ValueError(
                        f"trace file {str(path)!r}: corrupt zstd data ({exc}); expected a zstd-compressed "
                        "oracleGeneral trace"
                    ) from None
                in_frame, data = not dobj.eof, dobj.unused_data if dobj.eof else b""
                if dobj.eof:
                    dobj = decompressor.decompressobj()
                if out:
                    yield out
    if in_frame:
        raise ValueError(
            f"trace file {str(path)!r}: the zstd stream ends inside a frame (file truncated); "
            "expected a complete zstd-compressed oracleGeneral trace"
        )


def _zstd_blocks(path: Path, block_bytes: int):
    """Decompressed data in blocks of ``block_bytes`` (a multiple of the record size).

    Each block is a view of one reused buffer, valid until the next one is
    requested. Raises ValueError if the total size is not a whole number of
    records.
    """
    buf = memoryview(bytearray(block_bytes))
    fill = total = 0
    for piece in _zstd_pieces(path):
        piece, pos = memoryview(piece), 0
        while pos < len(piece):
            take = min(block_bytes - fill, len(piece) - pos)
            buf[fill : fill + take] = piece[pos : pos + take]
            fill, pos = fill + take, pos + take
            if fill == block_bytes:
                yield buf
                total, fill = total + fill, 0
    if fill % RECORD_BYTES:
        size = total + fill
        raise ValueError(
            f"trace file {str(path)!r}: decompressed size {size} bytes is not a multiple of the "
            f"{RECORD_BYTES}-byte oracleGeneral record ({size // RECORD_BYTES} records and "
            f"{size % RECORD_BYTES} trailing bytes); the trace is truncated or not oracleGeneral"
        )
    if fill:
        yield buf[:fill]


def _oracle_record_chunks(path: Path, zstd: bool, chunk_requests: int):
    """Record arrays of ``ORACLE_GENERAL_DTYPE``, in order.

    They are views of a reused buffer, valid until the next one is
    requested. Plain files are read into it rather than memory-mapped: the
    pages of a mapped file count in the process's resident memory until it
    ends, which for a file larger than memory looks like a file held whole.
    """
    if zstd:
        for block in _zstd_blocks(path, chunk_requests * RECORD_BYTES):
            yield np.frombuffer(block, dtype=ORACLE_GENERAL_DTYPE)
        return
    size = path.stat().st_size
    if size % RECORD_BYTES:
        raise ValueError(
            f"trace file {str(path)!r} has {size} bytes, not a multiple of the {RECORD_BYTES}-byte "
            f"oracleGeneral record ({size // RECORD_BYTES} records and {size % RECORD_BYTES} trailing bytes); "
            "the file is truncated or not an oracleGeneral trace"
        )
    if size == 0:
        return
    with open(path, "rb") as fh:
        if fh.read(4) == _ZSTD_MAGIC:
            raise ValueError(
                f"trace file {str(path)!r} starts with the zstd magic number: it is compressed; "
                "name it *.zst or pass a decompressed oracleGeneral file"
            )
        fh.seek(0)
        records = np.empty(min(chunk_requests, size // RECORD_BYTES), dtype=ORACLE_GENERAL_DTYPE)
        raw = records.view(np.uint8)
        while True:
            filled = 0
            while filled < raw.size:
                got = fh.readinto(raw[filled:])
                if not got:
                    break
                filled += got
            if filled % RECORD_BYTES:
                raise ValueError(f"trace file {str(path)!r} changed while it was read (a partial record at its end)")
            if filled:
                yield records[: filled // RECORD_BYTES]
            if filled < raw.size:
                return


def _oracle_count_hint(path: Path, zstd: bool):
    if not zstd:
        return path.stat().st_size // RECORD_BYTES
    import zstandard

    with open(path, "rb") as fh:
        head = fh.read(18)
    try:
        size = zstandard.frame_content_size(head)
    except zstandard.ZstdError:
        return None  # reported with context when the stream is read
    return size // RECORD_BYTES if size >= 0 else None


# --------------------------------------------------------------------------- numpy files


def _npy_array(path: Path):
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"trace file {str(path)!r} is not a readable .npy array ({exc})") from None
    if arr.ndim != 1:
        raise ValueError(f"trace file {str(path)!r}: expected a 1-D array, got shape {arr.shape}")
    names = arr.dtype.names or ()
    if names and not {"time", "id", "size"} <= set(names):
        raise ValueError(
            f"trace file {str(path)!r}: structured array needs fields 'time', 'id', 'size', got {names}"
        )
    if not names and arr.dtype.kind not in "iu":
        raise ValueError(f"trace file {str(path)!r}: expected integer ids or a structured array, got {arr.dtype}")
    return arr


def _npy_chunks(arr: np.ndarray, chunk_requests: int):
    names = arr.dtype.names
    for start in range(0, arr.size, chunk_requests):
        part = arr[start : start + chunk_requests]
        if names:
            yield part["id"], part["size"], part["time"]
        else:
            yield part, np.ones(part.size, dtype=np.int64), np.arange(start, start + part.size, dtype=np.float64)


def _npz_arrays(path: Path):
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"trace file {str(path)!r} is not a readable .npz archive ({exc})") from None
    with archive:
        if "ids" not in archive.files:
            raise ValueError(f"trace file {str(path)!r}: .npz needs an array 'ids', has {archive.files}")
        ids = archive["ids"]
        n = ids.shape[0] if ids.ndim == 1 else -1
        sizes = archive["sizes"] if "sizes" in archive.files else np.ones(max(n, 0), dtype=np.int64)
        times = archive["times"] if "times" in archive.files else np.arange(max(n, 0), dtype=np.float64)
    for name, arr in (("ids", ids), ("sizes", sizes), ("times", times)):
        if arr.ndim != 1 or arr.shape[0] != n:
            raise ValueError(
                f"trace file {str(path)!r}: '{name}' must be 1-D with one entry per request ({n}), "
                f"got shape {arr.shape}"
            )
    return ids, sizes, times


def _npz_chunks(ids, sizes, times, chunk_requests: int):
    for start in range(0, ids.size, chunk_requests):
        stop = start + chunk_requests
        yield ids[start:stop], sizes[start:stop], times[start:stop]


def open_trace(path, format, chunk_requests, delimiter=",", **text_options):
    """Open a trace.

    ``text_options`` (``columns``, ``header``, ``id_type``, ``operations``)
    go to :func:`layercache.text_traces.text_chunks` for text formats.

    Returns ``(chunks, hint, bound)``: an iterator of unvalidated ``(ids,
    sizes, times)`` array-likes (possibly strided views), the expected number
    of requests (or None) and an upper bound on it (or None).
    """
    p = _check_path(path)
    fmt, zstd = _resolve_format(p, format)
    if fmt == "oracleGeneral":
        chunks = ((rec["id"], rec["size"], rec["time"]) for rec in _oracle_record_chunks(p, zstd, chunk_requests))
        hint = _oracle_count_hint(p, zstd)
        return chunks, hint, (None if zstd else hint)
    if fmt in _TEXT:
        from .text_traces import text_chunks

        bound = None if zstd else (p.stat().st_size + 1) // 2  # shortest line: one digit and a newline
        chunks = text_chunks(p, zstd, fmt, chunk_requests, delimiter=delimiter, **text_options)
        return ((ids, sizes, times) for ids, sizes, times, _ in chunks), None, bound
    if fmt == "npy":
        arr = _npy_array(p)
        return _npy_chunks(arr, chunk_requests), arr.size, arr.size
    ids, sizes, times = _npz_arrays(p)
    return _npz_chunks(ids, sizes, times, chunk_requests), ids.size, ids.size
