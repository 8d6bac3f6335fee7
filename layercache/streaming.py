"""Classic traces larger than memory: simulate from disk, one chunk at a time.

A trace file (any format :func:`layercache.iter_trace_chunks` reads) or an
iterator of chunks is first *staged* (:func:`stream_trace`): one pass over
the source remaps its raw ids to dense ids (an :class:`~layercache.IdRemapper`,
memory proportional to the distinct objects) and writes them, and the
request sizes, to files in a temporary directory. Each simulation then reads
those files in windows of ``chunk_requests`` requests and runs the same
jitted driver as :func:`layercache.simulate` on each window, with the cache
state kept across windows and the counts summed, so the hits are those of the
in-memory run, request for request. Memory: the cache state (per-object
arrays), the remapper's table while staging, and one window -- never the
trace.

How each policy's state crosses a window boundary:

- heap, bucket and queue policies (LFU, perfect LFU, Belady, CLOCK, SIEVE,
  S3-FIFO, 2Q, ARC): their state arrays hold everything; they are passed on
  unchanged.
- LRU and FIFO stamp each access with its position in the access sequence
  and find victims by walking that sequence (:mod:`.kernels.recency`), which
  a window does not hold. At each boundary the cached objects, in stamp
  order (least recent or oldest first), are replayed into an empty cache at
  the head of the next window as warm-up requests (not counted): a replay
  into an empty cache admits them all, in that order, with the sizes they
  were admitted with, which rebuilds the same queue. Cost: one request per
  cached object per window.
- Belady needs each request's next use: a backward pass over the staged ids
  (per object, the last index seen; memory proportional to the distinct
  objects) writes them to a further file, once per staged trace. The
  ``next_access`` field of oracleGeneral files is not used: it refers to
  the file's own request numbers, which differ once size-0 requests are
  skipped, and it is not always filled in.

Size-0 requests are handled by the readers' ``zero_sizes`` choice before
staging, exactly as in memory, so Belady's next uses are those of the trace
after that choice.
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
_INT32_MAX = int(np.iinfo(np.int32).max)


class StagedTrace:
    """A classic trace staged on disk for :func:`layercache.simulate` (see :func:`stream_trace`).

    Attributes
    ----------
    n_requests : int
        Requests in the trace (after the ``zero_sizes`` choice).
    n_objects : int
        Distinct objects.
    original_ids : numpy.ndarray, shape (n_objects,), uint64
        Raw id of each dense id (first-appearance order).
    has_sizes : bool
        Whether the source gave request sizes (needed for ``sizes="trace"``).
    chunk_requests : int
        Requests per window of the simulations.
    directory : pathlib.Path
        Where the staged files live; removed by :meth:`close` (or when the
        object is garbage-collected, or at interpreter exit).
    """

    def __init__(self, directory: Path, n_requests: int, original_ids: np.ndarray, has_sizes: bool,
                 chunk_requests: int, owned: bool):
        self.directory = directory
        self.n_requests = n_requests
        self.original_ids = original_ids
        self.n_objects = int(original_ids.size)
        self.has_sizes = has_sizes
        self.chunk_requests = chunk_requests
        self.id_dtype = np.dtype(np.int32 if self.n_objects <= _INT32_MAX else np.int64)
        # the same dtype as the in-memory Belady chain (one compiled kernel for both)
        self.next_dtype = np.dtype(np.int32 if n_requests <= _INT32_MAX else np.int64)
        self._finalizer = weakref.finalize(self, shutil.rmtree, directory, True) if owned else None

    def close(self) -> None:
        """Delete the staged files (if this object created their directory)."""
        if self._finalizer is not None:
            self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return (f"StagedTrace(n_requests={self.n_requests}, n_objects={self.n_objects}, "
                f"has_sizes={self.has_sizes}, chunk_requests={self.chunk_requests}, directory={str(self.directory)!r})")

    @property
    def _objects_path(self):
        return self.directory / "objects.bin"

    @property
    def _sizes_path(self):
        return self.directory / "sizes.bin"

    @property
    def _nexts_path(self):
        return self.directory / "next_uses.bin"

    def write_next_uses(self) -> None:
        """Belady's next uses: a backward pass over the staged ids into ``next_uses.bin``.

        Entry ``t`` is the index of the next request for the object of
        request ``t``, or ``n_requests`` if there is none (the chain
        :func:`layercache.kernels.driver.next_requests` builds in memory).
        """
        if self._nexts_path.exists():
            return
        step = self.chunk_requests
        last = np.full(self.n_objects, self.n_requests, dtype=self.next_dtype)
        partial = self.directory / "next_uses.partial"
        with open(self._objects_path, "rb") as src, open(partial, "wb") as dst:
            dst.truncate(self.n_requests * self.next_dtype.itemsize)
            stop = self.n_requests
            while stop > 0:
                start = max(0, stop - step)
                src.seek(start * self.id_dtype.itemsize)
                objects = np.fromfile(src, dtype=self.id_dtype, count=stop - start)
                out = np.empty(stop - start, dtype=self.next_dtype)
                _backward_next_uses(objects, start, last, out)
                dst.seek(start * self.next_dtype.itemsize)
                out.tofile(dst)
                stop = start
        partial.rename(self._nexts_path)  # complete files only: an interrupted pass is redone

    def windows(self, sizes: bool, next_uses: bool):
        """Yield ``(start, objects, req_sizes, nexts)`` windows of ``chunk_requests`` requests.

        ``req_sizes`` (float64) and ``nexts`` are empty arrays unless asked for.
        """
        empty_sizes = np.empty(0)
        empty_nexts = np.empty(0, dtype=np.int32)
        with open(self._objects_path, "rb") as fo, \
                (open(self._sizes_path, "rb") if sizes else contextlib.nullcontext()) as fs, \
                (open(self._nexts_path, "rb") if next_uses else contextlib.nullcontext()) as fn:
            start = 0
            while start < self.n_requests:
                m = min(self.chunk_requests, self.n_requests - start)
                objects = np.fromfile(fo, dtype=self.id_dtype, count=m)
                req_sizes = np.fromfile(fs, dtype=np.float64, count=m) if sizes else empty_sizes
                nexts = np.fromfile(fn, dtype=self.next_dtype, count=m) if next_uses else empty_nexts
                if objects.size != m or (sizes and req_sizes.size != m) or (next_uses and nexts.size != m):
                    raise ValueError(f"staged trace in {str(self.directory)!r} is truncated at request {start}")
                yield start, objects, req_sizes, nexts
                start += m


@njit(cache=True)
def _backward_next_uses(objects, offset, last, out):
    """``out[t]``: index of the next request for ``objects[t]``; ``last[i]``: the earliest seen so far for i."""
    for t in range(objects.size - 1, -1, -1):
        i = objects[t]
        out[t] = last[i]
        last[i] = offset + t


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


def stream_trace(source, format=None, *, chunk_requests: int = _DEFAULT_CHUNK, zero_sizes: str = "skip",
                 directory=None, **read_options) -> StagedTrace:
    """Stage a classic trace on disk for :func:`layercache.simulate` (traces larger than memory).

    One pass over ``source`` remaps its ids to dense ids and writes them and
    the request sizes to a temporary directory; simulations then read them
    window by window. Stage once, simulate many policies and capacities.

    Parameters
    ----------
    source : str, os.PathLike or iterator
        A trace file (read with :func:`layercache.iter_trace_chunks`), or an
        iterator of chunks, each an array of ids (unit sizes) or a tuple
        ``(ids, sizes[, times])`` -- e.g. ``iter_trace_chunks(...)`` itself.
        Ids: non-negative integers up to ``2**64 - 1``.
    format : str, optional
        File format, as in :func:`layercache.iter_trace_chunks`.
    chunk_requests : int
        Requests read per step and simulated per window, >= 1. Memory of
        a simulation grows with it (about 16 bytes per request), time
        hardly (LRU/FIFO replay the cached objects once per window).
    zero_sizes : {"skip", "unit", "error"}
        Size-0 requests, as in :func:`layercache.iter_trace_chunks` (also
        applied to the chunks of an iterator).
    directory : str or os.PathLike, optional
        Where to create the staging directory (default: the system's
        temporary directory). About 12 bytes per request (4 for the id,
        8 for the size), plus 4 (or 8 past 2**31 requests) for Belady's next uses.
    **read_options
        Further options of :func:`layercache.iter_trace_chunks` for files
        (``delimiter``, ``columns``, ``header``, ``id_type``, ``operations``).

    Returns
    -------
    StagedTrace
        Pass it to :func:`layercache.simulate` as ``objects``; use it as a
        context manager (or call ``close()``) to delete the files.

    Raises
    ------
    ValueError
        Bad ``chunk_requests`` or ``zero_sizes``, malformed chunks or files
        (as the readers), more than ``2**31 - 1`` distinct objects.
    """
    from .remap import IdRemapper
    from .traces import _check_options, _checked, iter_trace_chunks

    step = _check_options(chunk_requests, zero_sizes)
    if isinstance(source, (str, os.PathLike)):
        chunks = ((ids, sizes) for ids, sizes, _ in iter_trace_chunks(
            source, format, chunk_requests=step, zero_sizes=zero_sizes, **read_options))
    elif isinstance(source, collections.abc.Iterator):
        if format is not None or read_options:
            raise ValueError("format and read options apply to trace files, not to an iterator of chunks")
        name = "<chunks>"
        kinds = []  # whether each chunk carried sizes
        chunks = ((ids, sizes if kinds[0] else None)
                  for ids, sizes, _ in _checked(name, _iterator_chunks(source, kinds), zero_sizes))
    else:
        raise ValueError(f"source must be a trace file path or an iterator of chunks, got {type(source).__name__}")
    staging = Path(tempfile.mkdtemp(prefix="layercache-stream-", dir=directory))
    try:
        remap = IdRemapper(dtype=np.int32)
        n = 0
        has_sizes = isinstance(source, (str, os.PathLike))  # files always carry sizes
        with open(staging / "objects.bin", "wb") as fo, open(staging / "sizes.bin", "wb") as fs:
            for ids, sizes in chunks:
                has_sizes = sizes is not None
                remap(ids).tofile(fo)
                if has_sizes:
                    np.asarray(sizes, dtype=np.float64).tofile(fs)
                n += len(ids)
        return StagedTrace(staging, n, remap.original_ids, has_sizes, step, owned=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise



def simulate_stream(source, *, policy, capacity, sizes, warmup, bypass, params):
    """:func:`layercache.simulate` of a streamed classic trace (arguments validated there).

    Returns (SimulationResult, final state).
    """
    if isinstance(source, StagedTrace):
        return _simulate_staged(source, policy, capacity, sizes, warmup, bypass, params)
    with stream_trace(source) as staged:
        return _simulate_staged(staged, policy, capacity, sizes, warmup, bypass, params)


def _simulate_staged(staged: StagedTrace, policy, capacity, sizes, warmup, bypass, params):
    from .kernels import driver
    from .kernels.state import RECENCY_POLICIES, new_state
    from .result import SimulationResult
    from .simulation import POLICIES, _check_warmup

    use_sizes = isinstance(sizes, str) and sizes == "trace"
    if sizes is not None and not use_sizes:
        shown = repr(sizes) if isinstance(sizes, str) else f"a {type(sizes).__name__}"
        raise ValueError(f"sizes must be None (unit sizes) or 'trace' (the trace's own sizes) when streaming, "
                         f"got {shown}")
    if use_sizes and not staged.has_sizes:
        raise ValueError("sizes='trace' needs a trace with sizes; these chunks carry ids only")
    warmup = _check_warmup(warmup, staged.n_requests)
    n_items = max(staged.n_objects, 1)
    if n_items >= _INT32_MAX:
        raise ValueError(f"at most 2**31 - 2 cacheable items are supported, this trace needs {n_items}")
    belady = policy == "belady"
    if belady:
        staged.write_next_uses()
    recency = policy in RECENCY_POLICIES
    unit = not use_sizes
    run = driver.RUNNERS[POLICIES.index(policy)]
    state = None if recency else new_state(n_items, policy, unit_sizes=unit, params=params)
    none_i8 = np.empty(0, dtype=np.int8)
    none_f8 = np.empty(0)
    uses = np.zeros(1, dtype=np.int64)
    counts, volumes = np.zeros(4, dtype=np.int64), np.zeros(2)
    total_counts, total_volumes = np.zeros(4, dtype=np.int64), np.zeros(2)
    for start, objects, req_sizes, nexts in staged.windows(use_sizes, belady):
        window_warmup = min(max(warmup - start, 0), objects.size)
        if recency:
            if state is not None:
                objects, req_sizes, head = _replay_head(state, objects, req_sizes)
                window_warmup += head
            state = new_state(n_items, policy, unit_sizes=unit, n_accesses=objects.size, params=params)
        run(driver.FLAT, objects, none_i8, 1, none_f8, none_f8, none_f8, req_sizes, capacity, window_warmup, nexts,
            bool(bypass), state, none_i8, uses, counts, volumes)
        total_counts += counts
        total_volumes += volumes
    if state is None:  # empty trace
        state = new_state(n_items, policy, unit_sizes=unit, params=params)
    result = SimulationResult(
        policy=policy, mode="flat", capacity=capacity, requests=int(total_counts[0]), hits=int(total_counts[1]),
        layers_requested=int(total_counts[2]), layers_hit=int(total_counts[3]),
        bytes_requested=float(total_volumes[0]), bytes_hit=float(total_volumes[1]), per_request=None,
    )
    return result, state


def _replay_head(state, objects, req_sizes):
    """Prepend LRU/FIFO's cached objects, in stamp order, to a window (see the module notes).

    Returns (objects, req_sizes, number prepended).
    """
    keys, isize, tail = state[3], state[4], state[6][0]
    cached = np.flatnonzero(keys >= tail)
    order = cached[np.argsort(keys[cached], kind="stable")]
    objects = np.concatenate((order.astype(objects.dtype), objects))
    if req_sizes.size:
        req_sizes = np.concatenate((isize[order], req_sizes))
    return objects, req_sizes, order.size
