"""Traces larger than memory: simulate from disk, one window at a time.

A trace file (any format :func:`layercache.iter_trace_chunks` reads) or an
iterator of chunks is first *staged* (:func:`stream_trace`): one pass over
the source writes dense ids (a classic trace's raw ids remapped by a
:class:`~layercache.spill_remap.SpillingRemapper`: an in-memory table for
the first 2**22 distinct objects, partition files on disk past that, so
that staging's memory stays bounded) and the request sizes, or a versioned trace's versions, to files in
a temporary directory. Each simulation then reads those files in windows of
``chunk_requests`` requests and runs the same jitted driver as
:func:`layercache.simulate` on each window
(:mod:`layercache.stream_simulation`), with the cache state kept across
windows and the counts summed, so the hits are those of the in-memory run,
request for request. Memory: the cache state (per-item arrays), the
remapper's bounded table while staging, and one window -- never the trace.

How each policy's state crosses a window boundary:

- heap, bucket and queue policies (LFU, perfect LFU, Belady, CLOCK, SIEVE,
  S3-FIFO, 2Q, ARC): their state arrays hold everything; they are passed on
  unchanged.
- LRU and FIFO stamp each access with its position in the access sequence
  and find victims by walking that sequence (:mod:`.kernels.recency`), which
  a window does not hold. At each boundary the cached items are restamped
  ``0..c-1`` in their order (same sizes, same occupancy) and put at the head
  of the next window as warm-up requests, which hit without changing
  anything; the walk then finds them there. Cost: one request per cached
  item per window.
- Belady needs each request's next use: a backward pass over the staged
  windows (per item, the last index seen; memory proportional to the items)
  writes them to a further file, once per staged trace and mode. The
  ``next_access`` field of oracleGeneral files is not used: it refers to
  the file's own request numbers, which differ once size-0 requests are
  skipped, and it is not always filled in.
- Layered mode: a request for version l touches layers l, ..., 1. Each
  window runs them as one-item requests of the non-layered mode (the same
  item numbers, sizes and admission rule) and sums the requests' counts
  from the per-access hits; Belady's ``(next use, layer)`` key becomes the
  single key ``next use * L + layer - 1``, which orders items the same way.

Size-0 requests are handled by the readers' ``zero_sizes`` choice before
staging, exactly as in memory, so Belady's next uses are those of the trace
after that choice.

Per-request outcomes (``per_request``) are written window by window to a
file-backed ``.npy`` array (:mod:`layercache.stream_simulation`), the
windows' records without their LRU/FIFO head; in layered mode the
per-access hits summed per request.
"""

from __future__ import annotations

import collections.abc
import contextlib
import os
import shutil
import tempfile
import weakref
from pathlib import Path

import numpy as np
from numba import njit

__all__ = ["StagedTrace", "stream_trace", "is_stream_source"]

_DEFAULT_CHUNK = 1 << 22
_READ_CHUNK = 1 << 20  # requests read per step while staging (the reader's copies stay small)
_INT32_MAX = int(np.iinfo(np.int32).max)


class StagedTrace:
    """A trace staged on disk for :func:`layercache.simulate` (see :func:`stream_trace`).

    Attributes
    ----------
    n_requests : int
        Requests in the trace (after the ``zero_sizes`` choice).
    n_objects : int
        Distinct objects (classic traces) or the catalog's objects.
    original_ids : numpy.ndarray, shape (n_objects,), uint64, or None
        Classic traces: raw id of each dense id (first-appearance order for
        the first 2**22 distinct ids, see :mod:`layercache.spill_remap` for
        the rest; then a read-only :class:`numpy.memmap` of a staged file).
        None for a versioned trace (its ids are the catalog's).
    catalog : Catalog or None
        A versioned trace's catalog; None for a classic trace.
    has_sizes : bool
        Whether the source gave request sizes (needed for ``sizes="trace"``).
    chunk_requests : int
        Requests per window of the simulations.
    directory : pathlib.Path
        Where the staged files live; removed by :meth:`close` (or when the
        object is garbage-collected, or at interpreter exit).
    """

    def __init__(self, directory: Path, n_requests: int, n_objects: int, original_ids, catalog, has_sizes: bool,
                 chunk_requests: int):
        self.directory = directory
        self.n_requests = n_requests
        self.n_objects = n_objects
        self.original_ids = original_ids
        self.catalog = catalog
        self.has_sizes = has_sizes
        self.chunk_requests = chunk_requests
        self._finalizer = weakref.finalize(self, shutil.rmtree, directory, True)

    def close(self) -> None:
        """Delete the staged files."""
        self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return (f"StagedTrace(n_requests={self.n_requests}, n_objects={self.n_objects}, "
                f"versioned={self.catalog is not None}, has_sizes={self.has_sizes}, "
                f"chunk_requests={self.chunk_requests}, directory={str(self.directory)!r})")

    def _path(self, name):
        return self.directory / f"{name}.bin"

    def next_uses(self, mode: int):
        """Write Belady's next uses for driver mode ``mode`` once; return their dtype.

        Non-layered modes: entry ``t`` is the index of the next request for
        the item of request ``t``, or ``n_requests`` if there is none (what
        :func:`layercache.kernels.driver.next_requests` builds in memory;
        the same dtype, so the same compiled kernel). Layered mode: one
        entry per item access, in the driver's access order (layers l, ...,
        1 of each request), ``u * L + m`` for the next request ``u`` that
        uses layer ``m + 1`` of the object (``n_requests`` if none): an
        order-preserving single key for the in-memory ``(next use, layer)``
        pair (:mod:`layercache.kernels.belady`).
        """
        from .kernels.driver import LAYERED, VERSIONS

        path = self._path(f"next_uses_{mode}")
        n = self.n_requests
        if mode == LAYERED:
            dtype = np.dtype(np.int64)
        else:
            dtype = np.dtype(np.int32 if n <= _INT32_MAX else np.int64)
        if path.exists():
            return dtype
        n_layers = self.catalog.n_layers if self.catalog is not None else 1
        n_keys = max(self.n_objects, 1) * (n_layers if mode in (LAYERED, VERSIONS) else 1)
        last = np.full(n_keys, n, dtype=dtype)
        partial = self.directory / "next_uses.partial"
        windows = list(_window_bounds(n, self.chunk_requests, self._path("versions") if mode == LAYERED else None))
        with open(partial, "wb") as dst:
            dst.truncate(windows[-1][3] * dtype.itemsize if windows else 0)
            for start, stop, a_start, a_stop in reversed(windows):  # a backward pass, one window at a time
                objects = _read(self._path("objects"), np.int32, start, stop)
                if mode == LAYERED:
                    versions = _read(self._path("versions"), np.int8, start, stop)
                    out = np.empty(a_stop - a_start, dtype=dtype)
                    _backward_layer_next_uses(objects, versions, start, n_layers, last, out)
                else:
                    keys = objects
                    if mode == VERSIONS:
                        keys = objects.astype(np.int64) * n_layers + _read(self._path("versions"), np.int8,
                                                                            start, stop) - 1
                    out = np.empty(stop - start, dtype=dtype)
                    _backward_next_uses(keys, start, last, out)
                dst.seek(a_start * dtype.itemsize)
                out.tofile(dst)
        partial.rename(path)  # complete files only: an interrupted pass is redone
        return dtype

    def working_set(self, sizes: bool = False) -> float:
        """Distinct objects, or with ``sizes`` the bytes of the distinct objects (each at its first request).

        What :func:`layercache.experiments.load_trace` gives for the same
        trace in memory: capacities given as fractions of it agree. One pass
        over the staged windows for ``sizes`` (a flag per object in memory).
        """
        if not sizes:
            return float(self.n_objects)
        if not self.has_sizes:
            raise ValueError("the bytes of the working set need a classic trace with sizes")
        seen = np.zeros(self.n_objects, dtype=bool)
        total = 0.0
        for _, objects, _, req_sizes, _ in self.windows(True):
            distinct, first = np.unique(objects, return_index=True)
            new = ~seen[distinct]
            seen[distinct[new]] = True
            total += float(req_sizes[first[new]].sum())
        return total

    def windows(self, sizes: bool, nexts_mode=None, nexts_dtype=None):
        """Yield ``(start, objects, versions, req_sizes, nexts)`` for windows of ``chunk_requests`` requests.

        ``versions`` is empty for classic traces; ``req_sizes`` (float64)
        and ``nexts`` are empty unless asked for (``nexts_mode``: the
        driver mode of :meth:`next_uses`, which must have been written).
        """
        from .kernels.driver import LAYERED

        versioned = self.catalog is not None
        by_access = nexts_mode == LAYERED
        none_i8, none_f8, none_i4 = np.empty(0, dtype=np.int8), np.empty(0), np.empty(0, dtype=np.int32)
        with contextlib.ExitStack() as files:
            fo = files.enter_context(open(self._path("objects"), "rb"))
            fv = files.enter_context(open(self._path("versions"), "rb")) if versioned else None
            fs = files.enter_context(open(self._path("sizes"), "rb")) if sizes else None
            fn = files.enter_context(open(self._path(f"next_uses_{nexts_mode}"), "rb")) \
                if nexts_mode is not None else None
            for start in range(0, self.n_requests, self.chunk_requests):
                m = min(self.chunk_requests, self.n_requests - start)
                objects = _take(fo, np.int32, m, self.directory)
                versions = _take(fv, np.int8, m, self.directory) if versioned else none_i8
                req_sizes = _take(fs, np.float64, m, self.directory) if sizes else none_f8
                nexts = none_i4
                if fn is not None:
                    nexts = _take(fn, nexts_dtype, int(versions.sum(dtype=np.int64)) if by_access else m,
                                  self.directory)
                yield start, objects, versions, req_sizes, nexts


def _take(fh, dtype, count, where):
    arr = np.fromfile(fh, dtype=dtype, count=count)
    if arr.size != count:
        raise ValueError(f"staged trace in {str(where)!r} is truncated")
    return arr


def _read(path, dtype, start, stop):
    dtype = np.dtype(dtype)
    with open(path, "rb") as fh:
        fh.seek(start * dtype.itemsize)
        return _take(fh, dtype, stop - start, path)


def _window_bounds(n, step, versions_path):
    """(start, stop, first access, end access) per window; accesses count layers when ``versions_path`` is given."""
    accesses = 0
    for start in range(0, n, step):
        stop = min(start + step, n)
        k = int(_read(versions_path, np.int8, start, stop).sum(dtype=np.int64)) if versions_path else stop - start
        yield start, stop, accesses, accesses + k
        accesses += k


@njit(cache=True)
def _backward_next_uses(keys, offset, last, out):
    """``out[t]``: index of the next request for ``keys[t]``; ``last[key]``: the earliest seen so far."""
    for t in range(keys.size - 1, -1, -1):
        key = keys[t]
        out[t] = last[key]
        last[key] = offset + t


@njit(cache=True)
def _backward_layer_next_uses(objects, versions, offset, n_layers, last, out):
    """Layered :func:`_backward_next_uses`: one entry per access (layers l..1), ``u * L + m`` (see ``next_uses``)."""
    p = out.size
    for t in range(objects.size - 1, -1, -1):
        base = np.int64(objects[t]) * n_layers
        k = np.int64(versions[t])
        p -= k
        for m in range(k):
            out[p + k - 1 - m] = last[base + m] * n_layers + m
            last[base + m] = offset + t


def is_stream_source(source) -> bool:
    """True for what :func:`layercache.simulate` streams: a path, an iterator of chunks or a :class:`StagedTrace`."""
    return isinstance(source, (str, os.PathLike, StagedTrace, collections.abc.Iterator))


def _iterator_chunks(chunks, kinds):
    """A user's chunks as the readers' ``(ids, sizes, times)``; id-only chunks get size 1.

    Appends to ``kinds`` whether each chunk carried sizes.
    """
    for k, chunk in enumerate(chunks):
        if isinstance(chunk, tuple):
            if len(chunk) not in (2, 3):
                raise ValueError(f"chunk {k} (0-based): a chunk is an array of ids or a tuple (ids, sizes[, times]), "
                                 f"got a tuple of {len(chunk)}")
            ids, sizes = np.asarray(chunk[0]), np.asarray(chunk[1])
        else:
            ids = np.asarray(chunk)
            sizes = np.ones(ids.shape, dtype=np.int64)
        kinds.append(isinstance(chunk, tuple))
        if kinds[0] != kinds[-1]:
            raise ValueError(f"chunk {k} (0-based): every chunk must carry sizes, or none")
        if ids.ndim != 1 or sizes.shape != ids.shape:
            raise ValueError(f"chunk {k} (0-based): ids must be 1-D and sizes of the same shape, got shapes "
                             f"{ids.shape} and {sizes.shape}")
        if ids.size == 0:
            ids, sizes = ids.astype(np.uint64), sizes.astype(np.int64)
        yield ids, sizes, np.zeros(ids.size)


def _versioned_chunks(chunks, catalog):
    """Validate a versioned trace's ``(objects, versions)`` chunks against its catalog."""
    for k, chunk in enumerate(chunks):
        if not (isinstance(chunk, tuple) and len(chunk) == 2):
            raise ValueError(f"chunk {k} (0-based): a versioned trace's chunk is a tuple (objects, versions)")
        objects, versions = np.asarray(chunk[0]), np.asarray(chunk[1])
        if objects.ndim != 1 or versions.shape != objects.shape:
            raise ValueError(f"chunk {k} (0-based): objects must be 1-D and versions of the same shape, got shapes "
                             f"{objects.shape} and {versions.shape}")
        if objects.size and (objects.dtype.kind not in "iu" or versions.dtype.kind not in "iu"):
            raise ValueError(f"chunk {k} (0-based): objects and versions must be integers, got dtypes "
                             f"{objects.dtype} and {versions.dtype}")
        catalog.check_versions(objects, versions)
        yield objects.astype(np.int32), versions.astype(np.int8)


def stream_trace(source, format=None, *, chunk_requests: int = _DEFAULT_CHUNK, zero_sizes: str = "skip",
                 catalog=None, directory=None, **read_options) -> StagedTrace:
    """Stage a trace on disk for :func:`layercache.simulate` (traces larger than memory).

    One pass over ``source`` writes dense ids (remapped from a classic
    trace's raw ids), the request sizes or versions to a temporary
    directory; simulations then read them window by window. Stage once,
    simulate many policies and capacities.

    Parameters
    ----------
    source : str, os.PathLike or iterator
        A classic trace file (read with :func:`layercache.iter_trace_chunks`), or an
        iterator of chunks: for a classic trace each an array of ids (unit
        sizes) or a tuple ``(ids, sizes[, times])`` -- e.g.
        ``iter_trace_chunks(...)`` itself; ids are non-negative integers up
        to ``2**64 - 1``. With a ``catalog``, each chunk is a tuple
        ``(objects, versions)`` of a versioned trace (objects ``0..N-1`` of
        the catalog, versions 1-based), or the file is a text trace with a
        version column (``columns=TraceColumns(id=..., version=...)``, as
        :func:`layercache.read_versioned_trace` reads it; its ids are the
        catalog's objects, its sizes are not used).
    format : str, optional
        File format, as in :func:`layercache.iter_trace_chunks`.
    chunk_requests : int
        Requests read per step and simulated per window, >= 1. Memory of
        a simulation grows with it (about 16 bytes per request), time
        hardly (LRU/FIFO carry their cached items as one request each per window).
    zero_sizes : {"skip", "unit", "error"}
        Size-0 requests of a classic trace, as in
        :func:`layercache.iter_trace_chunks` (also applied to the chunks of
        an iterator).
    catalog : Catalog, optional
        The layer and version sizes of a versioned trace (see
        :func:`layercache.simulate`); its chunks then carry versions.
    directory : str or os.PathLike, optional
        Where to create the staging directory (default: the system's
        temporary directory). About 12 bytes per request (4 for the id,
        8 for the size; 5 for a versioned trace), plus 4 (8 past 2**31
        requests; 8 per layer accessed in layered mode) for Belady's next uses;
        past 2**22 distinct objects also 8 bytes per further object (their
        raw ids) and, while staging, 13 per request for one of them
        (:mod:`layercache.spill_remap`).
    **read_options
        Further options of :func:`layercache.iter_trace_chunks` for files
        (``delimiter``, ``columns``, ``header``, ``id_type``, ``operations``;
        with a ``catalog``, ``columns`` must name the version column).

    Returns
    -------
    StagedTrace
        Pass it to :func:`layercache.simulate` as ``objects``; use it as a
        context manager (or call ``close()``) to delete the files.

    Raises
    ------
    ValueError
        Bad ``chunk_requests`` or ``zero_sizes``, malformed chunks or files
        (as the readers), objects or versions outside the catalog, more
        than ``2**31 - 1`` distinct objects.
    """
    from .catalog import Catalog
    from .spill_remap import SpillingRemapper
    from .traces import _check_options, _checked, _versioned_text_chunks, iter_trace_chunks

    step = _check_options(chunk_requests, zero_sizes)
    is_file = isinstance(source, (str, os.PathLike))
    if not is_file and not isinstance(source, collections.abc.Iterator):
        raise ValueError(f"source must be a trace file path or an iterator of chunks, got {type(source).__name__}")
    if not is_file and (format is not None or read_options):
        raise ValueError("format and read options apply to trace files, not to an iterator of chunks")
    if catalog is not None:
        if not isinstance(catalog, Catalog):
            raise ValueError(f"catalog must be a layercache.Catalog, got {type(catalog).__name__}")
        if is_file:  # a text trace with a version column, as read_versioned_trace reads it
            source = ((ids, versions) for ids, _, _, versions in _versioned_text_chunks(
                source, format, chunk_requests=min(step, _READ_CHUNK), zero_sizes=zero_sizes, **read_options))
        chunks = _versioned_chunks(source, catalog)
    elif is_file:
        chunks = ((ids, sizes) for ids, sizes, _ in iter_trace_chunks(
            source, format, chunk_requests=min(step, _READ_CHUNK), zero_sizes=zero_sizes, **read_options))
    else:
        kinds = []  # whether each chunk carried sizes
        chunks = ((ids, sizes if kinds[0] else None)
                  for ids, sizes, _ in _checked("<chunks>", _iterator_chunks(source, kinds), zero_sizes))
    staging = Path(tempfile.mkdtemp(prefix="layercache-stream-", dir=directory))
    try:
        n = 0
        has_sizes = is_file  # files always carry sizes
        with contextlib.ExitStack() as files:
            remap = files.enter_context(SpillingRemapper(staging)) if catalog is None else None
            fo, fs, fv = (files.enter_context(open(staging / f"{name}.bin", "wb"))
                          for name in ("objects", "sizes", "versions"))
            for ids, extra in chunks:
                if remap is None:
                    ids.tofile(fo)
                    extra.tofile(fv)
                else:
                    remap(ids).tofile(fo)
                    has_sizes = extra is not None
                    if has_sizes:
                        np.asarray(extra, dtype=np.float64).tofile(fs)
                n += len(ids)
        if remap is None:
            return StagedTrace(staging, n, catalog.n_objects, None, catalog, False, step)
        n_ids, original_ids = remap.finish(staging / "objects.bin")
        return StagedTrace(staging, n, n_ids, original_ids, None, has_sizes, step)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
