"""Text traces (CSV and friends): a column mapping, streamed in chunks.

A text trace has one request per line. :class:`TraceColumns` says which
field holds what; the formats below are mappings of public traces:

- ``"csv"``: delimited text with a header naming its columns (``time``,
  ``id``/``obj_id``/``key``, ``size``/``obj_size``, ... in any order: the
  header is honoured) or, without a header, the three columns ``time, id,
  size``;
- ``"txt"``: libCacheSim's plain-text traces, one object id per line (size
  1, time = line index);
- ``"twitter"``: Twitter's cache traces (twitter/cache-trace), no header:
  ``timestamp, anonymized key, key size, value size, client id, operation,
  TTL``; the request size is key size + value size (the bytes an item
  takes, as libCacheSim's Twitter reader counts them);
- ``"cdn"``: whitespace-separated ``time id size`` lines without a header,
  as in the Wikipedia CDN traces used by LRB and other CDN studies.

Numeric ids are read as unsigned 64-bit integers (decimal, as libCacheSim's
``strtoull``); other ids are hashed to 64 bits exactly as libCacheSim's CSV
reader does (:mod:`layercache.idhash`), in every text format. (libCacheSim's
plain-text reader instead numbers string ids 1, 2, ... by first appearance;
the objects are the same, only their labels differ.) Every malformed line (too few or too many
fields, a non-numeric size or time, a negative or oversized id) raises
ValueError with its 1-based line number; nothing is skipped without being
counted (size-0 requests and filtered operations are counted in a warning).
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .user_warnings import warn_at_caller

__all__ = ["TraceColumns", "TEXT_FORMATS", "text_chunks", "sniff_text_format"]

#: Text formats and their fixed layouts (``"csv"`` reads its header).
TEXT_FORMATS = ("csv", "txt", "twitter", "cdn")
_WHITESPACE = r"\s+"
_MAX_LINE = 1 << 20  # characters read to sniff or resolve line 1
_NO_DELIMITER = "\x1f"  # a line is one field (libCacheSim's plain-text traces)
_OPERATIONS = ("get", "gets", "set", "add", "replace", "cas", "append", "prepend", "delete", "incr", "decr",
               "read", "write")
# header names recognised in "csv" files, by role
_ALIASES = {
    "time": ("time", "timestamp", "ts", "clock_time", "real_time", "op_time", "t"),
    "id": ("id", "obj_id", "object_id", "objid", "key", "block_id", "obj"),
    "size": ("size", "obj_size", "object_size", "io_size", "bytes", "req_size"),
    "operation": ("op", "operation", "op_name", "op_type"),
    "version": ("version", "ver", "layer"),
}


@dataclass(frozen=True)
class TraceColumns:
    """Where a text trace keeps each field: a 0-based column index or a header name.

    Parameters
    ----------
    id : int or str
        Object id column (required).
    size : int, str, tuple of those, or None
        Request size in bytes; a tuple is summed (e.g. key + value size);
        ``None``: every request has size 1.
    time : int, str or None
        Timestamp; ``None``: the request's 0-based index.
    operation : int, str or None
        Operation name (get, set, ...), used to filter requests
        (``operations=`` of the readers).
    version : int, str or None
        Requested version (1-based), for versioned traces
        (:func:`layercache.read_versioned_trace`).
    """

    id: int | str
    size: int | str | tuple | None = None
    time: int | str | None = None
    operation: int | str | None = None
    version: int | str | None = None

    def fields(self):
        """(role, column) pairs, a summed size giving one pair per column."""
        out = [("id", self.id)]
        sizes = self.size if isinstance(self.size, tuple) else (() if self.size is None else (self.size,))
        out += [("size", c) for c in sizes]
        for role in ("time", "operation", "version"):
            if getattr(self, role) is not None:
                out.append((role, getattr(self, role)))
        return out


@dataclass(frozen=True)
class _Layout:
    columns: TraceColumns
    delimiter: str
    header: bool | None
    id_type: str  # "auto", "int", "str"


def _preset(fmt: str, columns, delimiter, header, id_type) -> _Layout:
    if fmt == "txt":
        return _Layout(columns or TraceColumns(id=0), _NO_DELIMITER, bool(header), id_type)
    if fmt == "twitter":
        cols = columns or TraceColumns(id=1, size=(2, 3), time=0, operation=5)
        return _Layout(cols, ",", bool(header), "str" if id_type == "auto" else id_type)
    if fmt == "cdn":
        return _Layout(columns or TraceColumns(id=1, size=2, time=0), _WHITESPACE, bool(header), id_type)
    return _Layout(columns, delimiter, header, id_type)


# --------------------------------------------------------------------------- opening


def _open_text(path: Path, zstd: bool):
    if not zstd:
        return open(path, newline="", encoding="utf-8", errors="strict")
    import zstandard

    raw = zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), read_across_frames=True, closefd=True)
    return io.TextIOWrapper(raw, newline="", encoding="utf-8", errors="strict")


def _split(line: str, delimiter: str) -> list[str]:
    line = line.rstrip("\r\n")
    if delimiter == _NO_DELIMITER:
        return [line]
    if delimiter == _WHITESPACE:
        return line.split()
    return next(csv.reader([line], delimiter=delimiter), [])


def _first_line(path: Path, zstd: bool) -> str | None:
    try:
        with _open_text(path, zstd) as fh:
            line = fh.readline(_MAX_LINE)  # bounded: a binary file may have no newline at all
    except UnicodeDecodeError:
        raise ValueError(f"trace file {str(path)!r} is not UTF-8 text; expected a text (CSV) trace") from None
    except Exception as exc:  # zstd errors surface here for compressed text
        if type(exc).__name__ == "ZstdError":
            raise ValueError(f"trace file {str(path)!r}: corrupt zstd data ({exc})") from None
        raise
    return line if line else None


def _is_number(field: str) -> bool:
    try:
        return math.isfinite(float(field))
    except ValueError:
        return False


def sniff_text_format(path, zstd: bool = False) -> str | None:
    """Name the text format of a file from its first line, or None if it is not text.

    One field: ``"txt"``; whitespace-separated numbers: ``"cdn"``; seven
    comma-separated fields with an operation name sixth: ``"twitter"``;
    otherwise ``"csv"``.
    """
    try:
        line = _first_line(Path(os.fspath(path)), zstd)
    except ValueError:
        return None
    if line is None or not line.strip():
        return "csv"
    stripped = line.strip()
    commas = stripped.split(",")
    if len(commas) == 7 and commas[5].strip().lower() in _OPERATIONS:
        return "twitter"
    if "," in stripped or "\t" in stripped or ";" in stripped or "|" in stripped:
        return "csv"
    parts = stripped.split()
    if len(parts) == 1:
        return "txt"
    if len(parts) == 3 and all(_is_number(p) for p in parts):
        return "cdn"
    return "csv"


# --------------------------------------------------------------------------- layout resolution


def _resolve(path: Path, zstd: bool, layout: _Layout):
    """Return (column indices per role, header?, number of fields) for the file."""
    line = _first_line(path, zstd)
    where = f"trace file {str(path)!r}"
    if line is None:
        raise ValueError(f"{where} is empty (line 1 has no request); a trace needs at least one request")
    if not line.strip():
        raise ValueError(f"{where}: line 1 is empty; expected a request or a header")
    first = _split(line, layout.delimiter)
    n_fields = len(first)
    cols = layout.columns
    named = cols is not None and any(isinstance(c, str) for _, c in cols.fields())
    header = layout.header
    if header is None:
        if named:
            header = True
        elif cols is None:
            header = not all(_is_number(f) for f in first)
        else:
            numeric = [c for role, c in cols.fields() if role in ("size", "time", "version")]
            header = any(c < n_fields and not _is_number(first[c]) for c in numeric)
    if cols is None:  # "csv" without a mapping: the header names the columns, or time, id, size
        if header:
            cols = _columns_from_header(first, where)
        else:
            if n_fields != 3:
                raise ValueError(
                    f"{where}: line 1 has {n_fields} fields {first!r} and no header; a headerless CSV trace has "
                    "3 columns 'time, id, size' (pass columns=TraceColumns(...) for another layout)"
                )
            cols = TraceColumns(id=1, size=2, time=0)
    names = [f.strip() for f in first] if header else None
    index = {}
    for role, c in cols.fields():
        if isinstance(c, str):
            if names is None:
                raise ValueError(f"{where}: column {c!r} is named but the file has no header; use a 0-based index")
            if c not in names:
                raise ValueError(f"{where}: no column named {c!r} in the header {names!r} (line 1)")
            c = names.index(c)
        if not isinstance(c, (int, np.integer)) or not 0 <= c < n_fields:
            raise ValueError(
                f"{where}: the {role} column {c!r} is not among the {n_fields} fields of line 1 {first!r} "
                f"(0-based indices 0..{n_fields - 1})"
            )
        index.setdefault(role, []).append(int(c))
    return index, header, n_fields


def _columns_from_header(names, where) -> TraceColumns:
    lowered = [n.strip().lower() for n in names]
    found = {}
    for role, aliases in _ALIASES.items():
        hits = [i for i, n in enumerate(lowered) if n in aliases]
        if len(hits) > 1:
            raise ValueError(
                f"{where}: the header {names!r} has several {role} columns; pass columns=TraceColumns(...)"
            )
        if hits:
            found[role] = hits[0]
    if "id" not in found:
        raise ValueError(
            f"{where}: the header (line 1) {names!r} names no id column (one of {_ALIASES['id']}); "
            "pass columns=TraceColumns(id=..., size=..., time=...) by name or 0-based index"
        )
    return TraceColumns(**found)


# --------------------------------------------------------------------------- parsing


class _Malformed(Exception):
    pass


def _field_problem(role, field, id_is_int):
    f = field.strip()
    if role == "id":
        if id_is_int:
            if not f.isdigit():
                return f"id {field!r} is not a non-negative decimal integer (pass id_type='str' to hash string ids)"
            if int(f) >= 2**64:
                return f"id {field!r} is outside 0..2**64-1"
        elif f == "":
            return "id is empty"
        return None
    if role in ("size", "version"):
        try:
            v = int(f)
        except ValueError:
            return f"{role} {field!r} is not an integer"
        if role == "size" and not 0 <= v < 2**63:
            return f"size {field!r} is outside 0..2**63-1"
        if role == "version" and not 1 <= v <= 127:
            return f"version {field!r} is outside 1..127"
        return None
    if role == "time":
        try:
            if not math.isfinite(float(f)):
                return f"time {field!r} is not finite"
        except ValueError:
            return f"time {field!r} is not a number"
    return None


def _locate(path, zstd, layout, index, header, n_fields, id_is_int, cause) -> ValueError:
    """Find the first malformed line (slow path, only after a chunk failed)."""
    where = f"trace file {str(path)!r}"
    with _open_text(path, zstd) as fh:
        for line_no, line in enumerate(fh, start=1):
            if header and line_no == 1:
                continue
            fields = _split(line, layout.delimiter)
            if len(fields) != n_fields:
                what = "is empty" if not line.strip() else f"has {len(fields)} fields {fields!r}"
                return ValueError(f"{where}: line {line_no} {what}; expected {n_fields} fields like line 1")
            for role, cols in index.items():
                for c in cols:
                    problem = _field_problem(role, fields[c], id_is_int)
                    if problem:
                        return ValueError(f"{where}: line {line_no} {problem}")
    return ValueError(f"{where} could not be parsed ({cause})")


def text_chunks(path: Path, zstd: bool, fmt: str, chunk_requests: int, *, columns=None, delimiter=",",
                header=None, id_type="auto", operations=None):
    """Yield ``(ids, sizes, times, versions)`` chunks of a text trace.

    ``versions`` is None unless the layout has a version column. Raises
    ValueError with the line number of the first malformed line.
    """
    import pandas as pd

    if fmt not in TEXT_FORMATS:
        raise ValueError(f"text format must be one of {TEXT_FORMATS}, got {fmt!r}")
    if id_type not in ("auto", "int", "str"):
        raise ValueError(f"id_type must be 'auto', 'int' or 'str', got {id_type!r}")
    if columns is not None and not isinstance(columns, TraceColumns):
        raise ValueError(f"columns must be a layercache.TraceColumns, got {type(columns).__name__}")
    layout = _preset(fmt, columns, delimiter, header, id_type)
    index, has_header, n_fields = _resolve(path, zstd, layout)
    keep_ops = None if operations is None else {str(o).lower() for o in operations}
    if keep_ops is not None and "operation" not in index:
        raise ValueError("operations= needs an operation column (TraceColumns(operation=...))")
    id_col = index["id"][0]
    id_is_int = _ids_are_numeric(path, zstd, layout, has_header, id_col) if layout.id_type == "auto" else (
        layout.id_type == "int")
    # typed columns parse in C; every field is read, so a line with more fields than line 1 stops
    # the parser, and a line cut short leaves its last field empty: both are then located
    dtypes = {c: str for c in range(n_fields)}
    dtypes[id_col] = np.uint64 if id_is_int else str
    for role, kind in (("size", np.int64), ("time", np.float64), ("version", np.int64)):
        for c in index.get(role, ()):
            dtypes[c] = kind
    sep = layout.delimiter
    try:
        reader = pd.read_csv(
            path,
            sep=sep,
            header=None,
            names=range(n_fields),
            index_col=False,
            skiprows=1 if has_header else 0,
            dtype=dtypes,
            keep_default_na=False,
            skip_blank_lines=False,
            quoting=csv.QUOTE_NONE if sep == _NO_DELIMITER else csv.QUOTE_MINIMAL,
            engine="c",
            compression="zstd" if zstd else None,
            chunksize=chunk_requests,
            encoding="utf-8",
        )
    except pd.errors.EmptyDataError:
        raise ValueError(f"trace file {str(path)!r} has a header but no requests (line 2 is missing)") from None
    offset = 0  # data lines read so far
    dropped = 0

    def fail(cause):
        return _locate(path, zstd, layout, index, has_header, n_fields, id_is_int, cause)

    with reader:
        while True:
            try:
                frame = next(reader)
            except StopIteration:
                break
            except (ValueError, TypeError, OverflowError, pd.errors.ParserError, UnicodeDecodeError) as exc:
                raise fail(exc) from None
            m = len(frame)
            try:
                ids, sizes, times, versions = _convert(frame, index, n_fields, id_is_int, offset)
            except (_Malformed, ValueError, TypeError, OverflowError) as exc:
                raise fail(exc) from None
            offset += m
            if keep_ops is not None:
                keep = frame[index["operation"][0]].str.strip().str.lower().isin(keep_ops).to_numpy()
                dropped += m - int(keep.sum())
                ids, sizes, times = ids[keep], sizes[keep], times[keep]
                versions = None if versions is None else versions[keep]
            yield ids, sizes, times, versions
    if offset == 0:
        raise ValueError(f"trace file {str(path)!r} has a header but no requests (line 2 is missing)")
    if dropped:
        warn_at_caller(
            f"trace file {str(path)!r}: dropped {dropped} of {offset} requests whose operation is not in "
            f"{sorted(keep_ops)}"
        )


def _ids_are_numeric(path, zstd, layout, has_header, id_col) -> bool:
    """``id_type="auto"``: numeric ids if the first request's id is a decimal integer."""
    with _open_text(path, zstd) as fh:
        if has_header:
            fh.readline()
        fields = _split(fh.readline(), layout.delimiter)
    return len(fields) > id_col and fields[id_col].strip().isdigit()


def _empty(column) -> np.ndarray:
    if column.dtype.kind in "iuf":
        return column.isna().to_numpy()
    return (column.isna() | (column == "")).to_numpy(dtype=bool)


def _convert(frame, index, n_fields, id_is_int, offset):
    """Arrays of one parsed chunk; raise _Malformed on anything the parser let through."""
    m = len(frame)
    if m and _empty(frame[n_fields - 1]).any():
        raise _Malformed("field count")
    raw_ids = frame[index["id"][0]]
    ids = raw_ids.to_numpy(dtype=np.uint64) if id_is_int else _hash_ids(raw_ids.to_numpy(dtype=object))
    sizes = np.ones(m, dtype=np.int64)
    if "size" in index:
        sizes = np.zeros(m, dtype=np.int64)
        for c in index["size"]:
            part = frame[c].to_numpy(dtype=np.int64)
            if m and part.min() < 0:
                raise _Malformed("size")
            sizes += part
    times = np.arange(offset, offset + m, dtype=np.float64)
    if "time" in index:
        times = frame[index["time"][0]].to_numpy(dtype=np.float64)
        if not np.isfinite(times).all():
            raise _Malformed("time")
    versions = None
    if "version" in index:
        v = frame[index["version"][0]].to_numpy(dtype=np.int64)
        if m and (v.min() < 1 or v.max() > 127):
            raise _Malformed("version")
        versions = v.astype(np.int8)
    return ids, sizes, times, versions


def _hash_ids(raw: np.ndarray) -> np.ndarray:
    from .idhash import hash_string_ids

    import pandas as pd

    if pd.isna(raw).any() or (raw == "").any():
        raise _Malformed("empty id")
    return hash_string_ids(raw)
