"""Hit-ratio curves: every capacity of a grid at once (:func:`hit_ratio_curve`).

``method="exact"`` with ``policy="lru"`` replays the trace once on Mattson's
LRU stack (:mod:`layercache.kernels.stack`). Layered LRU accesses the layers
l, l-1, ..., 1 of a request as LRU accesses of items, so the same stack
serves it, as it serves the non-layered and full-object modes.

Why one pass is exact, sizes included. An LRU cache of capacity C holds the
longest prefix of the recency stack (most recent first) whose sizes sum to
at most C, *counting only items that C admits*: a hit keeps that set, a miss
puts the item on top and evicts from the bottom exactly until it fits, and an
item that C does not admit (size > C; in layered mode ``S[i, j] > C``) is
neither cached nor evicts anything, so it is not on C's stack at all. Hence an
access hits at C iff its item is admitted and its byte stack distance among
the admitted items is <= C. Capacities that admit the same set of items share
one stack, so the curve takes one pass per group of grid capacities between
consecutive distinct admission thresholds: a single pass when every item
fits in the smallest capacity (always, for unit sizes outside layered mode).
Items larger than some capacities make LRU non-monotone in the capacity
(a large object that a small cache refuses cannot evict anything), which the
groups reproduce exactly. A flat trace's objects must keep one size
(otherwise the size an LRU cache holds depends on the capacity, and no
one-pass method is exact: ValueError).

Integer sizes (as in trace files; unit sizes) give bit-exact byte sums, so
the curve equals the simulator hit for hit at every capacity. Fractional
sizes that are not binary fractions (0.275 ...) round: the curve sums a
distance in another order than the simulator sums its cached bytes, so an
access whose exact distance *equals* the capacity may hit in one and miss
in the other. Only such ties can differ: at capacities away from them (e.g.
1/80 off the multiples of 1/40 for layers of 0.25 and 0.275) the two agree
hit for hit, and at a tie they differ by at most the requests at exactly
that distance (tested in ``tests/layercache/test_curve_exact.py``).

Other policies, ``method="exact"``: one :func:`~layercache.simulate` per
capacity. ``method="shards"`` / ``"minisim"``: sampled curves
(:mod:`layercache.sampling`).
"""

from __future__ import annotations

import numbers

import numpy as np

from .result import SimulationResult
from .simulation import _INT32_MAX, _MODES, POLICIES, _check_warmup, _prepare_trace

__all__ = ["hit_ratio_curve", "CURVE_METHODS"]

CURVE_METHODS = ("exact", "shards", "minisim")
_BUCKETS = 4096  # distance buckets that locate a capacity without a search


def check_capacities(capacities) -> np.ndarray:
    """float64 array of the capacities, each finite and > 0 (ValueError naming ``capacities``)."""
    if isinstance(capacities, numbers.Number):
        capacities = [capacities]
    try:
        caps = np.asarray(capacities, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"capacities must be a non-empty list of finite numbers > 0, got {capacities!r}") from None
    if caps.ndim != 1 or caps.size == 0:
        raise ValueError(f"capacities must be a non-empty 1-D list of finite numbers > 0, got shape {caps.shape}")
    bad = ~np.isfinite(caps) | (caps <= 0)
    if bad.any():
        raise ValueError(f"capacities must be finite numbers > 0, found {caps[bad][0]!r}")
    return caps


def check_policy_method(policy, method):
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    if method not in CURVE_METHODS:
        raise ValueError(f"method must be one of {CURVE_METHODS}, got {method!r}")


def hit_ratio_curve(objects, versions=None, *, policy: str = "lru", capacities, catalog=None, sizes=None,
                    layered: bool = True, warmup: int = 0, method: str = "exact", full_object_only: bool = False,
                    **sampling):
    """Hits of a cache at every capacity of a grid, as a tidy table.

    Parameters
    ----------
    objects, versions, catalog, sizes, layered, warmup, full_object_only
        The trace and its mode, as in :func:`layercache.simulate`.
    policy : str
        Any of :data:`layercache.POLICIES`.
    capacities : sequence of float, shape (K,)
        Cache sizes, each finite and > 0, in the unit of the sizes; any order
        (rows come back in this order), repeats allowed.
    method : {"exact", "shards", "minisim"}
        ``"exact"``: LRU (layered or not) on the one-pass stack (equal to
        :func:`~layercache.simulate` at every capacity; see the module
        docstring), any other policy by one simulation per capacity.
        ``"shards"`` (LRU only) and ``"minisim"`` (any policy): spatially
        sampled curves, see :func:`layercache.sampled_curve`, which also
        takes a trace file; ``sampling`` passes ``rate``, ``sample_size``,
        ``seed`` and ``estimator`` there.

    Returns
    -------
    pandas.DataFrame
        One row per capacity: ``capacity, policy, mode, requests, hits,
        hit_ratio, bytes_requested, bytes_hit, byte_hit_ratio`` and, in layered
        mode, ``layers_requested, layers_hit, layer_hit_ratio``. Sampled
        methods add ``sampling_rate`` and ``hit_ratio_error`` (see
        :func:`layercache.sampled_curve`).

    Raises
    ------
    ValueError
        Empty capacities, a capacity not finite and > 0, unknown policy or
        method, a flat trace whose objects change size (``method="exact"``,
        LRU), and every error of :func:`~layercache.simulate`.
    """
    check_policy_method(policy, method)
    caps = check_capacities(capacities)
    if method != "exact":
        from .sampling import sampled_curve

        return sampled_curve(objects, versions, policy=policy, capacities=caps, catalog=catalog, sizes=sizes,
                             layered=layered, warmup=warmup, method=method, full_object_only=full_object_only,
                             **sampling)
    if sampling:
        raise ValueError(f"{sorted(sampling)}: sampling options apply to method='shards' or 'minisim' only")
    if policy != "lru":
        return _simulated_curve(objects, versions, policy, caps, catalog, sizes, layered, warmup, full_object_only)
    return _stack_curve(objects, versions, caps, catalog, sizes, layered, warmup, full_object_only)


def _simulated_curve(objects, versions, policy, caps, catalog, sizes, layered, warmup, full_object_only):
    from .simulation import simulate

    rows = [simulate(objects, versions, policy=policy, capacity=c, catalog=catalog, sizes=sizes, layered=layered,
                     warmup=warmup, full_object_only=full_object_only) for c in caps]
    return curve_frame([r.as_dict() for r in rows])


def curve_frame(rows):
    """DataFrame of result dicts with the curve's column order (layer columns only if layered)."""
    import pandas as pd

    order = ["capacity", "policy", "mode", "requests", "hits", "hit_ratio", "bytes_requested", "bytes_hit",
             "byte_hit_ratio"]
    layer_columns = ["layers_requested", "layers_hit", "layer_hit_ratio"]
    if any(r["mode"] == "layered" for r in rows):
        order += layer_columns
    keys = list(dict.fromkeys(k for r in rows for k in r))  # every key, in order of first appearance
    order += [k for k in keys if k not in order and k not in layer_columns]
    return pd.DataFrame({k: [r.get(k) for r in rows] for k in order}, columns=order)


def _item_tables(trace):
    """(item_sizes, thresholds, version_sizes) of a prepared trace, float64."""
    if trace.mode == "flat":
        n_items = trace.n_items
        if trace.req_sizes.size == 0:
            sizes = np.ones(n_items)
        else:
            sizes = np.zeros(n_items)
            sizes[trace.objects] = trace.req_sizes
            if not np.array_equal(sizes[trace.objects], trace.req_sizes):
                raise ValueError("sizes: an object is requested with different sizes; the one-pass LRU curve "
                                 "needs one size per object (use simulate per capacity, or policy='lru' with "
                                 "method='minisim')")
        return sizes, sizes, np.empty(0)
    cat = trace.catalog
    if trace.mode == "layered":
        sizes = cat.layer_sizes.ravel()
        return np.array(sizes, dtype=np.float64), np.array(cat.layered_version_sizes.ravel()), np.empty(0)
    if trace.mode == "versions":
        sizes = np.array(cat.version_sizes.ravel(), dtype=np.float64)
        return sizes, sizes, np.empty(0)
    top = cat.layers_per_object - 1
    sizes = np.array(cat.version_sizes[np.arange(cat.n_objects), top], dtype=np.float64)
    return sizes, sizes, np.array(cat.version_sizes.ravel(), dtype=np.float64)


def _weighted(trace, item_sizes, weights):
    """Item sizes with each object's multiplied by its weight (``item_sizes`` itself if ``weights`` is None)."""
    if weights is None:
        return item_sizes
    n_objects = item_sizes.size // (1 if trace.mode in ("flat", "full") else trace.n_layers)
    per_object = np.zeros(n_objects)
    per_object[trace.objects] = weights
    return item_sizes * (per_object if trace.mode in ("flat", "full") else np.repeat(per_object, trace.n_layers))


def requested_totals(trace, warmup):
    """(requests, layers requested, bytes requested) of the counted requests."""
    objects = trace.objects[warmup:]
    n = objects.size
    if trace.mode == "flat":
        volume = float(trace.req_sizes[warmup:].sum()) if trace.req_sizes.size else float(n)
        return n, n, volume
    cat = trace.catalog
    table = (cat.layered_version_sizes if trace.mode == "layered" else cat.version_sizes).ravel()
    versions = trace.versions[warmup:]
    layers = int(np.sum(versions, dtype=np.int64)) if trace.mode == "layered" else n
    if trace.mode == "layered" and np.all(cat.layer_sizes == (cat.layer_sizes > 0)):
        return n, layers, float(layers)  # unit layers: a version of l layers is l bytes
    volume, step = 0.0, 1 << 20  # in chunks: no trace-sized temporaries
    for lo in range(0, n, step):
        index = objects[lo:lo + step].astype(np.int64) * cat.n_layers + versions[lo:lo + step] - 1
        volume += float(table[index].sum())
    return n, layers, volume


def _cumulate(histogram, starts, stops):
    """Hits at each capacity from the histogram of the smallest capacity that hits, pass by pass."""
    return np.concatenate([np.cumsum(histogram[:, a:b], axis=1) for a, b in zip(starts, stops)], axis=1)


def _stack_curve(objects, versions, caps, catalog, sizes, layered, warmup, full_object_only):
    trace = _prepare_trace(objects, versions, catalog, sizes, layered, full_object_only)
    return stack_frame(trace, caps, _check_warmup(warmup, trace.objects.shape[0]))


def stack_frame(trace, caps, warmup):
    """The LRU curve table of a prepared trace (see :func:`stack_counts`)."""
    grid, back, hits, layer_hits, bytes_hit = stack_counts(trace, caps, warmup)
    requests, layers_requested, bytes_requested = requested_totals(trace, warmup)
    rows = [SimulationResult(policy="lru", mode=trace.mode, capacity=float(grid[g]), requests=requests,
                             hits=int(hits[0, g]), layers_requested=layers_requested, layers_hit=int(layer_hits[0, g]),
                             bytes_requested=bytes_requested, bytes_hit=float(bytes_hit[0, g])).as_dict()
            for g in back]
    return curve_frame(rows)


def stack_counts(trace, caps, warmup, groups=None, n_groups=1, weights=None):
    """LRU hits of a prepared trace at every capacity, in one pass per admission group.

    Returns ``(grid, back, hits, layer_hits, bytes_hit)``: the sorted distinct
    capacities, the index into ``grid`` of each of ``caps``, and arrays of
    shape (n_groups, len(grid)) (rows: the ``groups`` of the requests, int64,
    default all 0). ``layer_hits`` equals ``hits`` outside layered mode.
    ``weights`` (float64, shape (n,), one value per object): a request's
    object weighs ``weight`` times its size in the stack distances of the
    *other* items (a sampled object standing for ``weight`` objects of the
    full trace); its own distance, its admission and ``bytes_hit`` use its
    size.
    """
    from .kernels.stack import single_pass, stack_pass

    own_sizes, thresholds, version_sizes = _item_tables(trace)
    item_sizes = _weighted(trace, own_sizes, weights)
    n_items = item_sizes.size
    if n_items >= _INT32_MAX:
        raise ValueError(f"at most 2**31 - 2 cacheable items are supported, this trace needs {n_items}")
    grid, back = np.unique(caps, return_inverse=True)
    k = grid.size
    # capacities that admit the same items share a pass
    admits = np.searchsorted(np.unique(thresholds) if thresholds.max() > grid[0] else thresholds[:1], grid,
                             side="right")
    starts = np.flatnonzero(np.r_[True, admits[1:] != admits[:-1]])
    stops = np.r_[starts[1:], k]
    hits = np.zeros(n_groups * k, dtype=np.int64)
    layer_hits = np.zeros_like(hits)
    bytes_hit = np.zeros(hits.size)
    slots = (2 * n_items // 64 + 2) * 64
    index = np.int32 if slots < _INT32_MAX else np.int64
    last = np.empty(n_items, dtype=index)
    weight = np.empty(0 if np.all(item_sizes == 1.0) else slots)
    live = np.empty(slots // 64, dtype=np.uint64)
    tree = np.empty(slots // 64 + 1)
    counts = np.empty(slots // 64, dtype=np.int64)
    groups = np.empty(0, dtype=np.int64) if groups is None else np.ascontiguousarray(groups, dtype=np.int64)
    mode_code = _MODES.index(trace.mode)
    for first, stop in zip(starts, stops):
        last.fill(-1)
        live.fill(0)
        tree.fill(0.0)
        weight.fill(0.0)
        admit_limit = float(grid[first])
        checked = thresholds if thresholds.max() > admit_limit else np.empty(0)
        edges = np.arange(_BUCKETS + 2) * (grid[stop - 1] / _BUCKETS)
        lookup = np.minimum(np.searchsorted(grid[first:stop], edges) + first, stop - 1)
        if weight.size == 0 and checked.size == 0 and trace.mode in ("flat", "versions"):  # one unit item a request
            single_pass(mode_code, trace.objects, trace.versions, trace.n_layers, grid, int(first), int(stop), lookup,
                        warmup, groups, last, weight, live, tree, counts, hits)
            continue
        stack_pass(mode_code, trace.objects, trace.versions, trace.n_layers, item_sizes, own_sizes, checked,
                   version_sizes,
                   admit_limit, grid, int(first), int(stop), lookup, warmup, groups, last, weight, live, tree, counts,
                   hits, layer_hits, bytes_hit)
    hits, layer_hits, bytes_hit = (_cumulate(a.reshape(n_groups, k), starts, stops)
                                   for a in (hits, layer_hits, bytes_hit))
    if trace.mode != "layered":
        layer_hits = hits
    if weight.size == 0 and trace.mode != "full":
        bytes_hit = layer_hits.astype(np.float64)
    return grid, back, hits, layer_hits, bytes_hit
