"""Simulation of a staged trace, one window at a time (see :mod:`layercache.streaming`).

The same jitted driver as :func:`layercache.simulate` runs on each window
with the cache state kept across windows and the counts summed; the
module notes of :mod:`layercache.streaming` say how each policy's state
crosses a window boundary and how layered requests are run.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from .streaming import _INT32_MAX, StagedTrace, stream_trace

__all__ = ["simulate_stream"]


def simulate_stream(source, *, policy, capacity, sizes, layered, warmup, full_object_only, bypass, params,
                    per_request=False):
    """:func:`layercache.simulate` of a streamed trace (arguments validated there).

    Returns (SimulationResult, final state).
    """
    is_path = isinstance(per_request, (str, os.PathLike))
    if not (is_path or isinstance(per_request, (bool, np.bool_))):
        raise ValueError(f"per_request must be a bool or a file path, got {type(per_request).__name__}")
    if not is_path and per_request and not isinstance(source, StagedTrace):
        raise ValueError("per_request=True keeps its file in a StagedTrace's directory: stage the trace with "
                         "stream_trace() first, or give per_request a file path")
    args = (policy, capacity, sizes, layered, warmup, full_object_only, bypass, params, per_request)
    if isinstance(source, StagedTrace):
        return _simulate_staged(source, *args)
    with stream_trace(source) as staged:
        return _simulate_staged(staged, *args)


def _per_request_file(staged: StagedTrace, per_request):
    """The file-backed int8 array (an ``.npy`` file) the windows' per-request outcomes go to, or None."""
    if isinstance(per_request, (str, os.PathLike)):
        path = os.fspath(per_request)
    elif per_request:
        fd, path = tempfile.mkstemp(prefix="per_request-", suffix=".npy", dir=staged.directory)
        os.close(fd)
    else:
        return None
    if staged.n_requests == 0:  # a memory map cannot be empty
        np.save(path, np.zeros(0, dtype=np.int8))
        return np.load(path)
    return np.lib.format.open_memmap(path, mode="w+", dtype=np.int8, shape=(staged.n_requests,))


def _simulate_staged(staged: StagedTrace, policy, capacity, sizes, layered, warmup, full_object_only, bypass, params,
                     per_request):
    from .kernels import driver
    from .kernels.state import RECENCY_POLICIES, new_state
    from .simulation import _MODES, POLICIES, _check_warmup, _item_tables

    catalog = staged.catalog
    use_sizes = isinstance(sizes, str) and sizes == "trace"
    if sizes is not None and not use_sizes:
        shown = repr(sizes) if isinstance(sizes, str) else f"a {type(sizes).__name__}"
        raise ValueError(f"sizes must be None (unit sizes) or 'trace' (the trace's own sizes) when streaming, "
                         f"got {shown}")
    if use_sizes and not staged.has_sizes:
        raise ValueError("sizes='trace' needs a classic trace with sizes; these chunks carry "
                         + ("versions (a catalog gives their sizes)" if catalog is not None else "ids only"))
    warmup = _check_warmup(warmup, staged.n_requests)
    if catalog is None:
        if full_object_only:
            raise ValueError("full_object_only needs a versioned trace (stream_trace(..., catalog=...))")
        mode, n_layers, n_items = "flat", 1, max(staged.n_objects, 1)
        item_sizes = spans = version_sizes = np.empty(0)
    else:
        mode = "full" if full_object_only else ("layered" if layered else "versions")
        n_layers = catalog.n_layers
        n_items, item_sizes, spans, version_sizes = _item_tables(mode, catalog, capacity)
    if n_items >= _INT32_MAX:
        raise ValueError(f"at most 2**31 - 2 cacheable items are supported, this trace needs {n_items}")
    # a layered request's item accesses run as one-item requests of VERSIONS mode (the same item
    # numbers); the requests' counts are then summed here from the per-access record
    expanded = mode == "layered"
    if expanded and bypass:
        raise ValueError("bypass is not available when streaming a layered trace")
    run_mode = driver.VERSIONS if expanded else _MODES.index(mode)
    nexts_dtype = None
    nexts_mode = _MODES.index(mode) if policy == "belady" else None
    if nexts_mode is not None:
        nexts_dtype = staged.next_uses(nexts_mode)
    recency = policy in RECENCY_POLICIES
    unit = not use_sizes and item_sizes.size == 0
    run = driver.RUNNERS[POLICIES.index(policy)]
    state = None if recency else new_state(n_items, policy, unit_sizes=unit, params=params)
    outcomes = _per_request_file(staged, per_request)
    none_i8 = np.empty(0, dtype=np.int8)
    uses = np.zeros(n_layers, dtype=np.int64)
    counts, volumes = np.zeros(4, dtype=np.int64), np.zeros(2)
    total_counts, total_volumes = np.zeros(4, dtype=np.int64), np.zeros(2)
    for start, objects, versions, req_sizes, nexts in staged.windows(use_sizes, nexts_mode, nexts_dtype):
        window_warmup = min(max(warmup - start, 0), objects.size)
        requested = versions
        if expanded:
            objects, versions = _expand_layers(objects, versions)
        head = 0
        if recency and state is None:
            state = new_state(n_items, policy, unit_sizes=unit, n_accesses=objects.size, params=params)
        elif recency:
            state, objects, versions, req_sizes, head = _recency_window(state, run_mode, n_layers, objects, versions,
                                                                        req_sizes)
        record = np.zeros(objects.size, dtype=np.int8) if expanded or outcomes is not None else none_i8
        run(run_mode, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes, capacity,
            head if expanded else head + window_warmup, nexts, bool(bypass), state, record, uses, counts, volumes)
        served = record[head:]
        if expanded:
            served = _layered_counts(record[head:], objects[head:], versions[head:], requested, window_warmup,
                                     n_layers, item_sizes, counts, volumes)
        if outcomes is not None:
            outcomes[start: start + served.size] = served
        total_counts += counts
        total_volumes += volumes
    if state is None:  # empty trace
        state = new_state(n_items, policy, unit_sizes=unit, params=params)
    if isinstance(outcomes, np.memmap):
        outcomes.flush()
        outcomes = np.load(outcomes.filename, mmap_mode="r")  # read-only from here
    return _result(policy, mode, capacity, total_counts, total_volumes, outcomes), state


def _result(policy, mode, capacity, counts, volumes, per_request):
    from .result import SimulationResult

    return SimulationResult(
        policy=policy, mode=mode, capacity=capacity, requests=int(counts[0]), hits=int(counts[1]),
        layers_requested=int(counts[2]), layers_hit=int(counts[3]), bytes_requested=float(volumes[0]),
        bytes_hit=float(volumes[1]), per_request=per_request,
    )


def _expand_layers(objects, versions):
    """Layered requests as their item accesses: request (i, l) becomes (i, l), (i, l - 1), ..., (i, 1)."""
    k = versions.astype(np.int64)
    first = np.cumsum(k) - k  # first access of each request
    within = np.arange(int(k.sum())) - np.repeat(first, k)
    return np.repeat(objects, k), (np.repeat(k, k) - within).astype(np.int8)


def _layered_counts(hit, objects, layers, requested, warmup, n_layers, item_sizes, counts, volumes):
    """The driver's counts of layered requests from their accesses' hits (``hit``: 0/1 per access).

    Returns the layers served of each request (int8, warm-up included), as the driver's per-request record.
    """
    k = requested.astype(np.int64)
    first = np.cumsum(k) - k
    counted = slice(warmup, None)
    served = np.add.reduceat(hit.astype(np.int64), first) if hit.size else np.zeros(k.size, dtype=np.int64)
    n_hit = served[counted]
    if item_sizes.size:
        size = item_sizes[objects.astype(np.int64) * n_layers + layers - 1]
        bytes_requested = np.add.reduceat(size, first)[counted].sum() if hit.size else 0.0
        bytes_hit = np.add.reduceat(size * hit, first)[counted].sum() if hit.size else 0.0
    else:
        bytes_requested, bytes_hit = k[counted].sum(), n_hit.sum()
    counts[:] = (k[counted].size, np.count_nonzero(n_hit == k[counted]), k[counted].sum(), n_hit.sum())
    volumes[:] = (bytes_requested, bytes_hit)
    return served.astype(np.int8)


def _recency_window(state, mode, n_layers, objects, versions, req_sizes):
    """LRU/FIFO: the state for the next window, its cached items carried over as a head of requests.

    The stamps of ``state`` number accesses of earlier windows, which the
    next window does not hold (see the module notes). The cached items are
    restamped ``0..c-1`` in their old order, with the same sizes and the
    same occupancy (the float itself, so that rounding of non-integer sizes
    matches the in-memory run); the window gets those items as its first
    ``c`` requests, which hit without changing anything and are passed as
    warm-up. The per-item arrays are reused (layout: :mod:`.kernels.state`).

    Returns (state, objects, versions, req_sizes, c).
    """
    from .kernels.driver import VERSIONS

    links, _, pos, keys, isize, fstate, istate = state
    cached = np.flatnonzero(keys >= istate[0])
    order = cached[np.argsort(keys[cached], kind="stable")]
    c = order.size
    if mode == VERSIONS:  # item i * L + l - 1 is version l of object i
        head_objects, head_versions = order // n_layers, order % n_layers + 1
    else:  # FLAT, FULL: the item is the object (a FULL request's version only counts its bytes)
        head_objects, head_versions = order, np.ones(c)
    objects = np.concatenate((head_objects.astype(objects.dtype), objects))
    if versions.size:
        versions = np.concatenate((head_versions.astype(np.int8), versions))
    if req_sizes.size:
        req_sizes = np.concatenate((isize[order], req_sizes))
    keys.fill(-1)
    keys[order] = np.arange(c)
    live = np.zeros(objects.size // 64 + 1, dtype=np.int64)  # one bit per access of the window
    live[: c >> 6] = -1  # bits 0..c-1
    live[c >> 6] = (1 << (c & 63)) - 1 if c & 63 else 0
    istate[0] = 0  # the tail
    return (links, live, pos, keys, isize, fstate, istate), objects, versions, req_sizes, c
