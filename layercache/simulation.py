"""Trace-driven cache simulation: the public entry point :func:`simulate`.

Objects are 0-based ids, versions 1-based (``1..L``), sizes and the capacity
in one consistent unit (bytes, or 1 per item for unit sizes). This module
validates and converts the inputs, builds the item mapping's size tables and
hands everything to the jitted driver (:mod:`layercache.kernels.driver`);
nothing unchecked reaches a kernel.
"""

from __future__ import annotations

import numbers
import weakref
from dataclasses import dataclass

import numpy as np

from .catalog import Catalog
from .result import SimulationResult

__all__ = ["simulate", "POLICIES"]

POLICIES = ("lru", "fifo", "lfu", "perfect_lfu", "belady", "clock", "sieve", "s3fifo", "twoq", "arc", "slru")
# documented options of the queue policies and libCacheSim's defaults
POLICY_OPTIONS = {
    "clock": {"n_bit_counter": 1, "init_freq": 0},
    "sieve": {},
    "s3fifo": {"small_size_ratio": 0.10, "ghost_size_ratio": 0.90, "move_to_main_threshold": 2},
    "twoq": {"a_in_size_ratio": 0.25, "a_out_size_ratio": 0.50},
    "arc": {},
    "slru": {"n_segments": 4},
}
_MODES = ("layered", "versions", "full", "flat")
_INT32_MAX = np.iinfo(np.int32).max


def _as_int_array(values, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}")
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")
    return arr


def _check_capacity(capacity) -> float:
    if isinstance(capacity, (bool, np.bool_)) or not isinstance(capacity, numbers.Real):
        raise ValueError(f"capacity must be a finite number > 0, got {capacity!r}")
    c = float(capacity)
    if not np.isfinite(c) or c <= 0:
        raise ValueError(f"capacity must be a finite number > 0, got {capacity!r}")
    return c


def _check_warmup(warmup, n: int) -> int:
    if isinstance(warmup, (bool, np.bool_)) or not isinstance(warmup, numbers.Integral):
        raise ValueError(f"warmup must be an integer in 0..{n} (the trace length), got {warmup!r}")
    w = int(warmup)
    if not 0 <= w <= n:
        raise ValueError(f"warmup must be an integer in 0..{n} (the trace length), got {warmup!r}")
    return w


def _dense_objects(objects: np.ndarray) -> np.ndarray:
    """Objects as int32/int64 ids that index a table; remapped if sparse."""
    if objects.size == 0:
        return objects.astype(np.int32)
    lo, hi = int(objects.min()), int(objects.max())
    if lo < 0:
        raise ValueError(f"objects must be non-negative integer ids, found {lo}")
    if hi >= max(objects.size, 1 << 20):
        # Sparse ids: as many table slots as distinct ids, not as the largest id.
        from .remap import remap_ids

        objects, originals = remap_ids(objects)
        hi = originals.size
    return _id_array(objects, hi)


def _id_array(objects: np.ndarray, largest: int) -> np.ndarray:
    """int32 ids (the one type the kernels are compiled for) unless they need int64."""
    dtype = np.int32 if largest <= _INT32_MAX else np.int64
    return np.ascontiguousarray(objects, dtype=dtype)


def _check_sizes(sizes, n: int) -> np.ndarray:
    arr = np.asarray(sizes)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"sizes must be a 1-D array with one size per request ({n}), got shape {arr.shape}")
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"sizes must be numbers, got dtype {arr.dtype}")
    if n and arr.dtype.kind in "iu":
        if arr.min() <= 0:
            raise ValueError("sizes must be finite and > 0")
    elif n and not (np.all(np.isfinite(arr)) and arr.min() > 0):
        raise ValueError("sizes must be finite and > 0")
    return np.ascontiguousarray(arr, dtype=np.float64)


def _versioned_inputs(objects, versions, catalog, layered, full_object_only):
    """Validate a versioned trace; return (mode, objects, versions, catalog)."""
    if catalog is None:
        # sparse or 64-bit ids are remapped as in classic traces: the unit
        # catalog then has one row per distinct object, not per id value
        objects = _dense_objects(objects)
        n_obj = int(objects.max()) + 1 if objects.size else 1
        n_lay = int(versions.max()) if versions.size else 1
        if versions.size and int(versions.min()) < 1:
            raise ValueError(f"versions must lie in 1..L (1-based), found {int(versions.min())}")
        if n_lay > 127:
            raise ValueError(f"versions must lie in 1..127, found {n_lay}")
        catalog = Catalog.unit(n_obj, n_lay)
    elif not isinstance(catalog, Catalog):
        raise ValueError(f"catalog must be a layercache.Catalog, got {type(catalog).__name__}")
    if versions.shape != objects.shape:
        raise ValueError(f"versions has shape {versions.shape} but objects has shape {objects.shape}; they must match")
    catalog.check_versions(objects, versions)
    objects = _id_array(objects, catalog.n_objects)
    versions = np.ascontiguousarray(versions, dtype=np.int8)
    if full_object_only:
        mode = "full"
    else:
        mode = "layered" if layered else "versions"
    return mode, objects, versions, catalog


# per catalog and mode: the driver's item tables (catalogs are immutable)
_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _item_tables(mode, catalog, capacity):
    """(n_items, item_sizes, spans, version_sizes) for the driver.

    Tables the driver does not need are empty: ``item_sizes`` for unit
    sizes, ``spans`` unless some layer cannot sit with its lower layers
    (layered mode), ``version_sizes`` outside FULL mode. Built once per
    catalog and mode; the arrays are writable copies, as a read-only
    argument would make numba compile a second version of the kernels
    (the driver never writes to them).
    """
    tables = _TABLES.setdefault(catalog, {})
    if mode not in tables:
        spans = version_sizes = np.empty(0)
        if mode == "layered":
            sizes = catalog.layer_sizes.ravel()
            spans = np.array(catalog.layered_version_sizes.ravel(), dtype=np.float64)
        elif mode == "versions":
            sizes = catalog.version_sizes.ravel()
        else:  # full: the largest version of each object stands for all
            top = catalog.layers_per_object - 1
            sizes = catalog.version_sizes[np.arange(catalog.n_objects), top]
            version_sizes = np.array(catalog.version_sizes.ravel(), dtype=np.float64)
        item_sizes = np.array(sizes, dtype=np.float64)
        if np.all(item_sizes == 1.0):
            item_sizes = np.empty(0)  # the driver then uses size 1 without a table lookup
        largest_span = float(spans.max()) if spans.size else 0.0
        tables[mode] = (sizes.size, item_sizes, spans, largest_span, version_sizes)
    n_items, item_sizes, spans, largest_span, version_sizes = tables[mode]
    if largest_span <= capacity:
        spans = np.empty(0)  # every layer fits with its lower layers: skip the check
    return n_items, item_sizes, spans, version_sizes


def policy_params(policy: str, capacity: float, options) -> tuple:
    """A queue policy's kernel parameters (:mod:`layercache.kernels.lists`) from its options."""
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise ValueError(f"options must be a dict, got {type(options).__name__}")
    known = POLICY_OPTIONS.get(policy, {})
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(f"options {unknown} do not apply to policy {policy!r}; it takes {sorted(known) or 'none'}")
    opts = {**known, **options}
    for name, value in opts.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
            raise ValueError(f"option {name} must be a finite number, got {value!r}")
    if policy == "clock":
        bits, init = opts["n_bit_counter"], opts["init_freq"]
        if bits != int(bits) or not 1 <= bits <= 30:
            raise ValueError(f"option n_bit_counter must be an integer in 1..30, got {bits!r}")
        if init != int(init) or not 0 <= init < 2 ** int(bits):
            raise ValueError(f"option init_freq must be an integer in 0..2**n_bit_counter - 1, got {init!r}")
        return (float(2 ** int(bits) - 1), float(init))
    ratios = [k for k in opts if k.endswith("_ratio")]
    for name in ratios:
        if not 0 < opts[name] < 1:
            raise ValueError(f"option {name} must lie in (0, 1), got {opts[name]!r}")
    whole = np.floor(capacity)  # libCacheSim's cache sizes are integers
    if policy == "s3fifo":
        threshold = opts["move_to_main_threshold"]
        if threshold != int(threshold) or threshold < 1:
            raise ValueError(f"option move_to_main_threshold must be an integer >= 1, got {threshold!r}")
        small = float(np.floor(whole * opts["small_size_ratio"]))
        if small < 1:
            raise ValueError(f"capacity {capacity!r} is too small for s3fifo: its small queue, "
                             f"int(capacity * small_size_ratio), must be >= 1 (as in libCacheSim)")
        return (small, float(np.floor(whole * opts["ghost_size_ratio"])), float(threshold))
    if policy == "twoq":
        return (float(np.floor(whole * opts["a_in_size_ratio"])), float(np.floor(whole * opts["a_out_size_ratio"])))
    if policy == "slru":
        from .kernels.lists import N_CACHED

        n_seg = opts["n_segments"]
        if n_seg != int(n_seg) or not 1 <= n_seg <= N_CACHED:
            raise ValueError(f"option n_segments must be an integer in 1..{N_CACHED}, got {n_seg!r}")
        seg_size = float(whole // int(n_seg))
        if seg_size < 1:
            raise ValueError(f"capacity {capacity!r} is too small for slru: each segment, "
                             f"int(capacity) // n_segments, must be >= 1")
        return (float(n_seg), seg_size)
    return ()


@dataclass(frozen=True)
class _Trace:
    """A validated trace in the driver's form (see :func:`_prepare_trace`)."""

    mode: str
    objects: np.ndarray  # int32/int64 dense ids
    versions: np.ndarray  # int8, empty in flat mode
    n_layers: int
    n_items: int  # flat mode; versioned modes take it from the item tables
    catalog: Catalog | None
    req_sizes: np.ndarray  # float64 per request (flat mode with sizes), else empty


def _prepare_trace(objects, versions, catalog, sizes, layered, full_object_only) -> _Trace:
    """Validate and convert a trace once (shared by :func:`simulate` and the curves)."""
    if np.asarray(objects).dtype.kind in "USO":  # string ids (labels), a classic or unit-catalog trace
        if catalog is not None:
            raise ValueError("objects must be integer ids 0..N-1 with a catalog; string ids need catalog=None")
        from .remap import remap_ids

        objects, _ = remap_ids(objects)
    objects = _as_int_array(objects, "objects")
    n = objects.shape[0]
    if versions is None and catalog is not None:
        if catalog.n_layers != 1:
            raise ValueError(f"versions are required with a catalog of L = {catalog.n_layers} layers")
        versions = np.ones(n, dtype=np.int8)
    if versions is None:
        if full_object_only:
            raise ValueError("full_object_only needs a versioned trace (versions and/or a catalog)")
        if objects.size and int(objects.min()) < 0:
            raise ValueError(f"objects must be non-negative integer ids, found {int(objects.min())}")
        objects = _dense_objects(objects)
        req_sizes = np.empty(0) if sizes is None else _check_sizes(sizes, n)
        n_items = int(objects.max()) + 1 if n else 1
        return _Trace("flat", objects, np.empty(0, dtype=np.int8), 1, n_items, None, req_sizes)
    if sizes is not None:
        raise ValueError("sizes are per-request sizes of classic traces; give versioned traces a catalog "
                         "(layercache.layer_trace builds one from a real trace's request sizes)")
    versions = _as_int_array(versions, "versions")
    mode, objects, versions, catalog = _versioned_inputs(objects, versions, catalog, layered, full_object_only)
    return _Trace(mode, objects, versions, catalog.n_layers, 0, catalog, np.empty(0))


def simulate(
    objects,
    versions=None,
    *,
    policy: str,
    capacity: float,
    catalog: Catalog | None = None,
    sizes=None,
    layered: bool = True,
    warmup: int = 0,
    full_object_only: bool = False,
    bypass: bool = False,
    per_request: bool = False,
    options: dict | None = None,
) -> SimulationResult:
    """Simulate a cache on a trace and count hits.

    Parameters
    ----------
    objects : array_like of int, shape (n,), or a trace file, iterator of chunks or StagedTrace
        Requested object ids, 0-based, or string labels (no catalog). A
        path (str or os.PathLike), an iterator of chunks (arrays of ids, or
        tuples ``(ids, sizes[, times])``) or a :class:`~layercache.StagedTrace`
        is simulated from disk one window at a time, with memory bounded by
        the cache state and one window, never the trace
        (:func:`layercache.stream_trace`, which also stages versioned
        traces; the hits equal the in-memory run's). With a catalog they must lie in
        ``0..N-1`` (build one from a real trace with
        :func:`layercache.layer_trace`); without one, any non-negative ids up
        to ``2**64 - 1`` (sparse ids are remapped to dense ones in order of
        first appearance, so memory grows with the distinct objects, not with
        the largest id). Versioned traces without a catalog are remapped
        the same way.
    versions : array_like of int, shape (n,), optional
        Requested versions, 1-based (``1..L``). ``None``: a classic trace of
        object ids, unless ``catalog`` is given with ``L == 1``.
    policy : {"lru", "fifo", "lfu", "perfect_lfu", "belady", "clock", "sieve", "s3fifo", "twoq", "arc", "slru"}
        ``lfu`` counts in-cache requests only (count restarts at
        admission; ties: the item whose count reached its value first leaves
        first); ``perfect_lfu`` counts every request ever made for an item.
        ``belady`` evicts the item used farthest in the future, computed from
        this trace. The queue policies follow libCacheSim's implementations
        exactly (each module of :mod:`layercache.kernels` states its
        algorithm): CLOCK, SIEVE, S3-FIFO, 2Q, ARC, SLRU.
    capacity : float
        Cache size in size units, finite and > 0. An item larger than it is
        never admitted; in layered mode neither is a layer j whose object's
        layers 1..j together exceed it (``S[i, j] > capacity``).
    catalog : Catalog, optional
        Layer and version sizes of a versioned trace; default: unit sizes
        with ``N = max(objects) + 1`` and ``L = max(versions)``.
    sizes : array_like, shape (n,), or "trace", optional
        Per-request sizes of a classic trace (> 0); default 1. A streamed
        trace takes ``"trace"`` (its own sizes) or None (unit sizes). An object keeps
        the size it had when admitted until it is evicted.
    layered : bool
        Versioned traces: True caches layers (item = layer (i, j) of size
        ``s[i, j]``; a request for version l accesses layers l, l-1, ..., 1),
        False caches stand-alone versions (item = (i, l) of size ``v[i, l]``).
    warmup : int
        The first ``warmup`` requests update the cache but are not counted.
    full_object_only : bool
        Versioned traces: the "full object only" baseline -- only the full
        version (L) of each object is cached (size ``v[i, L]``) and it
        serves every version.
    bypass : bool
        Belady only: do not admit an item needed later than everything it
        would displace (default: demand paging, as libCacheSim).
    per_request : bool or str or os.PathLike
        Also return the number of items served per request (see
        :class:`~layercache.SimulationResult`). A streamed trace writes
        them to a file-backed array (a read-only :class:`numpy.memmap` of
        an ``.npy`` file): at this path, or with True in the directory of
        the :class:`~layercache.StagedTrace` (deleted with it; a path or
        iterator staged by this call needs a path here).
    options : dict, optional
        Parameters of a queue policy, default libCacheSim's (:data:`POLICY_OPTIONS`):
        clock ``n_bit_counter`` (1), ``init_freq`` (0); s3fifo
        ``small_size_ratio`` (0.10), ``ghost_size_ratio`` (0.90),
        ``move_to_main_threshold`` (2); twoq ``a_in_size_ratio`` (0.25),
        ``a_out_size_ratio`` (0.50); slru ``n_segments`` (4, at most 8; equal
        segments of ``int(capacity) // n_segments``). Queue sizes are
        ``int(capacity * ratio)`` as in libCacheSim.

    Returns
    -------
    SimulationResult
        ``requests``, ``hits``, ``hit_ratio``, ``byte_hit_ratio`` and, in
        layered mode, ``layer_hit_ratio`` (fraction of requested layers served
        from the cache).

    Raises
    ------
    ValueError
        Unknown policy or option, capacity not finite and > 0, versions outside 1..L,
        objects outside the catalog, sizes not > 0 or of the wrong length,
        warmup outside 0..n.
    """
    result, _ = _simulate(
        objects, versions, policy, capacity, catalog, sizes, layered, warmup, full_object_only, bypass, per_request,
        options,
    )
    return result


def _simulate(objects, versions, policy, capacity, catalog, sizes, layered, warmup, full_object_only, bypass,
              per_request, options=None):
    """:func:`simulate`, also returning the final cache state (for tests)."""
    from .kernels import driver  # numba loads on first simulation, not on import
    from .kernels.state import new_state

    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    if bypass and policy != "belady":
        raise ValueError("bypass applies to policy='belady' only")
    capacity = _check_capacity(capacity)
    params = policy_params(policy, capacity, options)
    from .streaming import is_stream_source

    if is_stream_source(objects):
        from .stream_simulation import simulate_stream

        if versions is not None or catalog is not None:
            raise ValueError("a streamed trace (a path, an iterator of chunks or a StagedTrace) carries its versions "
                             "and catalog (stream_trace(chunks, catalog=...))")
        return simulate_stream(objects, policy=policy, capacity=capacity, sizes=sizes, layered=layered,
                               warmup=warmup, full_object_only=full_object_only, bypass=bypass, params=params,
                               per_request=per_request)
    if not isinstance(per_request, (bool, np.bool_)):
        raise ValueError(f"per_request must be True or False for in-memory arrays (a file path applies to streamed "
                         f"traces), got {per_request!r}")
    trace = _prepare_trace(objects, versions, catalog, sizes, layered, full_object_only)
    mode, objects, versions, n_layers, req_sizes = trace.mode, trace.objects, trace.versions, trace.n_layers, trace.req_sizes
    n = objects.shape[0]
    warmup = _check_warmup(warmup, n)
    if mode == "flat":
        n_items = trace.n_items
        item_sizes = spans = version_sizes = np.empty(0)
    else:
        n_items, item_sizes, spans, version_sizes = _item_tables(mode, trace.catalog, capacity)
    if n_items >= _INT32_MAX:
        raise ValueError(f"at most 2**31 - 2 cacheable items are supported, this trace needs {n_items}")
    code = POLICIES.index(policy)
    mode_code = _MODES.index(mode)
    if policy == "belady":
        # chain links pack (request index, version) in version_bits bits
        top = ((n + 1) << int(driver.version_bits(mode_code, n_layers))) - 1
        nexts = np.empty(n, dtype=np.int32 if top <= _INT32_MAX else np.int64)
        n_keys = n_items // n_layers if mode == "layered" else n_items
        driver.next_requests(mode_code, objects, versions, n_layers, n_keys, nexts)
    else:
        nexts = np.empty(0, dtype=np.int32)
    unit = req_sizes.size == 0 and item_sizes.size == 0
    n_accesses = int(versions.sum(dtype=np.int64)) if mode == "layered" else n
    state = new_state(n_items, policy, unit_sizes=unit, n_accesses=n_accesses, params=params)
    record = np.zeros(n if per_request else 0, dtype=np.int8)
    counts = np.zeros(4, dtype=np.int64)
    volumes = np.zeros(2)
    driver.RUNNERS[code](
        mode_code, objects, versions, n_layers, item_sizes, spans, version_sizes, req_sizes,
        capacity, warmup, nexts, bool(bypass), state, record, np.zeros(n_layers, dtype=np.int64), counts, volumes,
    )
    result = SimulationResult(
        policy=policy,
        mode=mode,
        capacity=capacity,
        requests=int(counts[0]),
        hits=int(counts[1]),
        layers_requested=int(counts[2]),
        layers_hit=int(counts[3]),
        bytes_requested=float(volumes[0]),
        bytes_hit=float(volumes[1]),
        per_request=record if per_request else None,
    )
    return result, state
