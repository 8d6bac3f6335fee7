"""Sampled hit-ratio curves: SHARDS and MiniSim on a spatial sample of the objects.

Spatial sampling (Waldspurger et al., SHARDS, FAST 2015): an object is in the
sample iff ``h(id) < R`` for a 64-bit hash h of its id mapped to [0, 1). All
requests of a sampled object are kept (in layered mode all its layers, since
the object is the unit of sampling), so the sample is a trace of about R N of
the N objects, and a cache of capacity C behaves on it like a cache of R C.

- ``method="shards"`` (LRU, layered or not): the one-pass LRU stack of the
  sample.
- ``method="minisim"`` (any policy; Waltz et al., ATC 2017): one simulation of
  the sample per capacity, at capacity R C.

Two estimators of the full trace's hit ratio from the sample:

- ``estimator="stratified"`` (the default, :mod:`layercache.stratified`):
  the sampled objects are stratified by popularity, whose strata a five
  times larger sample counted in the same pass; their misses are expanded
  stratum by stratum and, for SHARDS, their stack distances weighted alike.
  About half the error of the classic estimate at R = 0.01 (figures there).
- ``estimator="classic"``: for SHARDS, SHARDS-adj: the exact curve of the
  sample at capacities R C, with the difference between the expected (R n)
  and the actual number of sampled requests counted as hits at every
  capacity (the shortest reuse distances), which removes part of the bias of
  a sample that holds a few too many or too few popular objects; for
  MiniSim, the sample's own hit ratio.

Fixed rate: ``rate=R`` in (0, 1]. Fixed sample size: ``sample_size=s`` keeps
the s objects of smallest hash (a first pass over the trace holds only the
hashes below the running s-th smallest), i.e. R = the s-th smallest hash.

Error estimate (``hit_ratio_error``) of the classic estimates: the sampled objects are split by a
second hash into G = 16 groups, each a spatial sample at rate R / G. For
SHARDS-adj the estimate is the mean of the groups' own SHARDS-adj estimates
``1 - G m_g / (R n)`` (m_g the group's misses), and the error is their
standard error, ``sqrt(G) std(m_g) / (R n)``; for MiniSim it is the standard
error of the ratio estimator over groups, ``sqrt(G / (G - 1) * sum_g (h_g -
H r_g)**2) / sum_g r_g`` (h_g, r_g the group's hits and requests, H the
sample's hit ratio). Both are multiplied by ``sqrt(1 - R)`` (finite
population; 0 for the whole trace). They measure the variance from *which*
objects were sampled, not the bias of a scaled-down cache of a few items
(R C small), and with 16 groups they are rough: on Zipf traces the error
stays within 3 stated errors in >= 90% of seeds (tested), within 2 in about
80-90%. The stratified estimator states a jackknife error over the same
groups.

Accuracy of the classic SHARDS-adj at R = 0.01 (``python benchmarks/bench_layercache_curve.py``,
10^7 requests, Zipf(0.8) over 10^6 objects, 100 capacities 0.1%..50%): the
mean absolute error over the curve is 0.002-0.016 depending on the seed
(about 0.0057 on average over 20 seeds). It is a shift of the whole curve:
at R = 0.01 the sample holds ~10^4 objects, and the tail and middle of the
popularity distribution it happens to hold set its compulsory and capacity
misses, which is what the stratified estimator corrects. The smallest
capacities (R C ~ 10 items) add a bias of a few hundredths to both.
SHARDS reports 0.001-0.01 at R = 0.01 on real traces with more objects.

A trace file (path) is read in chunks (:func:`layercache.iter_trace_chunks`):
memory holds one chunk plus the sample, never the whole trace.
"""

from __future__ import annotations

import numbers
import os

import numpy as np

from .curve import check_capacities, check_policy_method, curve_frame, requested_totals, stack_counts
from .simulation import _check_warmup, _prepare_trace, simulate

__all__ = ["sampled_curve", "spatial_hash"]

N_GROUPS = 16


def spatial_hash(ids, seed: int = 0) -> np.ndarray:
    """float64 in [0, 1), shape of ``ids``: splitmix64 of each id (as uint64) and ``seed``; the sampling hash."""
    from .kernels.sample import hash_unit

    ids = np.ascontiguousarray(ids)
    if ids.dtype.kind not in "iu":
        ids = ids.astype(np.int64)
    out = np.empty(ids.shape[0])
    hash_unit(ids, int(seed), out)
    return out


def _group(ids, seed):
    """Group of each id (low bits of a second hash, independent of the sampling hash)."""
    return (spatial_hash(ids, seed + 1) * N_GROUPS).astype(np.int64)


ESTIMATORS = ("stratified", "classic")


def _check_estimator(estimator):
    if estimator is None:
        return "stratified"
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    return estimator


def _check_sampling(rate, sample_size):
    if (rate is None) == (sample_size is None):
        if rate is None:
            return 0.01, None
        raise ValueError("give either rate or sample_size, not both")
    if rate is not None:
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 < rate <= 1:
            raise ValueError(f"rate must be a sampling rate in (0, 1], got {rate!r}")
        return float(rate), None
    if isinstance(sample_size, bool) or not isinstance(sample_size, numbers.Integral) or sample_size < 1:
        raise ValueError(f"sample_size must be an integer >= 1 (objects kept), got {sample_size!r}")
    return None, int(sample_size)


def _rate_for_size(hash_chunks, sample_size):
    """Rate that keeps the ``sample_size`` distinct ids of smallest hash (1.0 if there are fewer)."""
    smallest = np.empty(0)
    for h in hash_chunks:
        smallest = np.unique(np.concatenate([smallest, h]))[:sample_size]
    if smallest.size < sample_size:
        return 1.0
    return float(np.nextafter(smallest[-1], 2.0))


def sampled_curve(source, versions=None, *, policy: str = "lru", capacities, catalog=None, sizes=None,
                  layered: bool = True, warmup: int = 0, method: str = "shards", rate=None, sample_size=None,
                  seed: int = 0, estimator: str | None = None, full_object_only: bool = False, format=None,
                  chunk_requests: int = 1 << 20):
    """Hit-ratio curve estimated on a spatial sample of the objects (SHARDS or MiniSim).

    Parameters
    ----------
    source : array_like of int, shape (n,), or str / os.PathLike
        Object ids (with ``versions``, ``catalog``, ``sizes`` as in
        :func:`layercache.simulate`), or a trace file (a classic trace with
        sizes; ``format`` and ``chunk_requests`` as in
        :func:`layercache.iter_trace_chunks`).
    policy : str
        ``"lru"`` for SHARDS; any of :data:`layercache.POLICIES` for MiniSim.
    capacities : sequence of float
        Cache sizes (finite, > 0) of the full trace; rows in this order.
    method : {"shards", "minisim"}
    rate : float in (0, 1], optional
        Fixed sampling rate (default 0.01 when neither it nor ``sample_size``
        is given).
    sample_size : int, optional
        Fixed number of sampled objects instead of a rate.
    seed : int
        Seed of the hash (another seed, another sample).
    estimator : {"stratified", "classic"}, optional
        Default ``"stratified"``: the estimate stratified by object
        popularity (module docstring); ``"classic"``: SHARDS-adj for SHARDS,
        the sample's own hit ratio for MiniSim.
    warmup : int
        Requests of the full trace that update the cache but are not counted.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`layercache.hit_ratio_curve` (counts are those
        of the sample: ``requests`` and ``hits`` are the sampled requests
        and their hits; ``hit_ratio``, ``byte_hit_ratio`` and
        ``layer_hit_ratio`` are the estimates), plus ``sampling_rate``,
        ``sampled_requests`` and ``hit_ratio_error`` (standard error, see
        the module docstring).

    Raises
    ------
    ValueError
        Empty or non-positive capacities, rate outside (0, 1], sample_size
        < 1, unknown policy, method or estimator, SHARDS with a policy other
        than LRU, and the errors of :func:`layercache.simulate` and
        :func:`layercache.iter_trace_chunks`.
    """
    check_policy_method(policy, method)
    if method == "exact":
        raise ValueError("method must be 'shards' or 'minisim' for a sampled curve")
    if method == "shards" and policy != "lru":
        raise ValueError(f"policy must be 'lru' for method='shards' (an LRU stack), got {policy!r}; "
                         "use method='minisim' for other policies")
    estimator = _check_estimator(estimator)
    caps = check_capacities(capacities)
    rate, sample_size = _check_sampling(rate, sample_size)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if isinstance(source, (str, os.PathLike)):
        if versions is not None or catalog is not None or sizes is not None:
            raise ValueError("a trace file carries its own ids and sizes; versions, catalog and sizes apply to arrays")
        chunks = _file_chunks(source, format, chunk_requests)
        catalog = None
    else:
        chunks = _array_chunks(source, versions, sizes)
    if sample_size is not None:
        rate = _rate_for_size(chunks, seed, sample_size)
    if estimator == "stratified":
        from .stratified import stratified_curve

        return stratified_curve(chunks, caps, rate, seed, warmup, catalog, layered, full_object_only, policy, method)
    objects, versions, sizes, n, warmup, groups = _sample(chunks, seed, rate, warmup)
    trace = _prepare_trace(objects, versions, catalog, sizes, layered, full_object_only)
    warmup = _check_warmup(warmup, trace.objects.shape[0])
    if method == "shards":
        grid, back, hits, layer_hits, bytes_hit = stack_counts(trace, caps * rate, warmup, groups, N_GROUPS)
        rows = [(hits[:, g], layer_hits[:, g], bytes_hit[:, g]) for g in back]
    else:
        rows = [_scaled_simulation(trace, policy, c, rate, warmup, groups, N_GROUPS, layered, full_object_only)
                for c in caps]
    requests, layers_requested, bytes_requested = requested_totals(trace, warmup)
    per_group = np.bincount(groups[warmup:], minlength=N_GROUPS)
    expected = rate * n
    out = []
    for cap, (h, lh, bh) in zip(caps, rows):
        total = int(h.sum())
        estimate = (total + expected - requests) / expected if method == "shards" else total / max(requests, 1)
        error = _adjusted_error(per_group - h, expected) if method == "shards" else _group_error(h, per_group)
        out.append(_row(cap, policy, trace.mode, requests, total, estimate, bytes_requested, float(bh.sum()),
                        layers_requested, int(lh.sum()), rate, np.sqrt(1.0 - rate) * error))
    return curve_frame(out)


def _row(cap, policy, mode, requests, hits, estimate, bytes_requested, bytes_hit, layers_requested, layers_hit,
         rate, error, byte_estimate=None, layer_estimate=None):
    """One curve row; the byte and layer ratios default to the sample's own."""
    if byte_estimate is None:
        byte_estimate = bytes_hit / bytes_requested if bytes_requested else float("nan")
    if layer_estimate is None:
        layer_estimate = layers_hit / layers_requested if layers_requested else float("nan")
    clip = lambda x: min(max(x, 0.0), 1.0) if requests else float("nan")  # noqa: E731
    return {"capacity": float(cap), "policy": policy, "mode": mode, "requests": requests, "hits": hits,
            "hit_ratio": clip(estimate), "bytes_requested": bytes_requested, "bytes_hit": bytes_hit,
            "byte_hit_ratio": clip(byte_estimate) if bytes_requested else float("nan"),
            "layers_requested": layers_requested, "layers_hit": layers_hit,
            "layer_hit_ratio": (clip(layer_estimate) if layers_requested else float("nan"))
            if mode == "layered" else None,
            "sampling_rate": rate, "sampled_requests": requests, "hit_ratio_error": error}


def _adjusted_error(misses, expected):
    """Standard error of 1 - sum(misses) / expected over the groups.

    Each group is a spatial sample at rate R / G, whose SHARDS-adj estimate
    is ``1 - G misses_g / expected``; the estimate is their mean.
    """
    g = misses.size
    if expected <= 0:
        return float("nan")
    return float(np.sqrt(g) * np.std(misses, ddof=1) / expected)


def _group_error(hits, requests):
    """Standard error of sum(hits) / sum(requests) over the groups (delta method)."""
    total = requests.sum()
    used = requests > 0
    g = int(used.sum())
    if g < 2 or total == 0:
        return float("nan")
    ratio = hits.sum() / total
    resid = hits[used] - ratio * requests[used]
    return float(np.sqrt(g / (g - 1) * np.sum(resid ** 2)) / total)


def _scaled_simulation(trace, policy, capacity, rate, warmup, groups, n_groups, layered, full_object_only):
    """MiniSim at one capacity (the sample's cache is ``rate * capacity``): hits, layers and bytes hit per group."""
    try:
        return _simulated_groups(trace, policy, rate * capacity, warmup, groups, n_groups, layered, full_object_only)
    except ValueError as err:
        raise ValueError(f"capacities: {float(capacity):g}, scaled by the sampling rate {rate:g} to the sample's "
                         f"{rate * capacity:g}: {err}") from None


def _simulated_groups(trace, policy, capacity, warmup, groups, n_groups, layered, full_object_only):
    res = simulate(trace.objects, trace.versions if trace.mode != "flat" else None, policy=policy,
                   capacity=capacity, catalog=trace.catalog, sizes=trace.req_sizes if trace.req_sizes.size else None,
                   layered=layered, warmup=warmup, full_object_only=full_object_only, per_request=True)
    served = res.per_request[warmup:].astype(np.int64)
    k = trace.versions[warmup:].astype(np.int64) if trace.mode == "layered" else np.ones_like(served)
    counted = groups[warmup:]
    hits = np.bincount(counted, weights=served == k, minlength=n_groups)
    layers = np.bincount(counted, weights=served, minlength=n_groups)
    bytes_hit = np.bincount(counted, weights=_bytes_served(trace, warmup, served, served == k), minlength=n_groups)
    return hits, layers, bytes_hit


def _bytes_served(trace, warmup, served, hit):
    """Bytes each counted request got from the cache (float64, shape (n - warmup,)), as the simulator counts them."""
    if trace.mode == "flat":
        return hit * (trace.req_sizes[warmup:] if trace.req_sizes.size else 1.0)
    cat = trace.catalog
    objects = trace.objects[warmup:].astype(np.int64) * cat.n_layers
    if trace.mode == "layered":  # the served layers 1..s of the object
        table = np.asarray(cat.layered_version_sizes, dtype=np.float64).ravel()
        return np.where(served > 0, table[objects + np.maximum(served, 1) - 1], 0.0)
    table = np.asarray(cat.version_sizes, dtype=np.float64).ravel()
    return hit * table[objects + trace.versions[warmup:] - 1]


class _Source:
    """A trace to sample, readable more than once: ``chunks()`` yields ``(ids, versions, sizes)``.

    ``versions`` / ``sizes`` are None when the trace has none. A file's
    sampled ids are remapped to dense ones (:class:`~layercache.remap.IdRemapper`);
    an array's are kept (they index a catalog).
    """

    def __init__(self, chunks, is_file):
        self.chunks, self.is_file = chunks, is_file

    def objects(self, raw):
        if not self.is_file:
            return raw
        from .remap import IdRemapper

        return IdRemapper(np.int64)(raw)


def _array_chunks(objects, versions, sizes, step=1 << 22):
    objects = np.asarray(objects)
    if objects.ndim != 1 or (objects.size and objects.dtype.kind not in "iu"):
        raise ValueError(f"objects must be a 1-D array of integer ids, got shape {objects.shape}, "
                         f"dtype {objects.dtype}")
    arrays = []
    for name, a in (("versions", versions), ("sizes", sizes)):
        if a is not None:
            a = np.asarray(a)
            if a.shape != objects.shape:
                raise ValueError(f"{name} must have one entry per request ({objects.size}), got shape {a.shape}")
        arrays.append(a)

    def chunks():
        for lo in range(0, max(objects.size, 1), step):
            yield (objects[lo:lo + step],) + tuple(None if a is None else a[lo:lo + step] for a in arrays)
    return _Source(chunks, False)


def _file_chunks(path, format, chunk_requests):
    from .traces import iter_trace_chunks

    def chunks():
        for ids, sizes, _ in iter_trace_chunks(path, format, chunk_requests=chunk_requests):
            yield ids, None, sizes
    return _Source(chunks, True)


def _limit(rate):
    """Integer bound on ``z >> 11`` equivalent to ``unit hash < rate``."""
    return min(int(np.ceil(rate * 2.0 ** 53)), 1 << 53)


def _ids(ids):
    ids = np.ascontiguousarray(ids)
    return ids if ids.dtype.kind in "iu" else ids.astype(np.int64)


def _rate_for_size(source, seed, sample_size):
    """Rate that keeps the ``sample_size`` distinct ids of smallest hash (1.0 if there are fewer).

    Chunk by chunk, only hashes below the running s-th smallest are kept.
    """
    smallest, cutoff = np.empty(0), np.inf
    for ids, _, _ in source.chunks():
        h = spatial_hash(ids, seed)
        h = h[h < cutoff]
        if h.size:
            smallest = np.unique(np.concatenate([smallest, h]))[:sample_size]
            if smallest.size == sample_size:
                cutoff = smallest[-1]
    if smallest.size < sample_size:
        return 1.0
    return float(np.nextafter(smallest[-1], 2.0))


def _sample(source, seed, rate, warmup):
    """(objects, versions, sizes, counted requests, sampled warm-up, groups) of the rate-R sample."""
    from .kernels.sample import count_sampled

    limit = _limit(rate)
    kept, n, kept_warmup = [], 0, 0
    for ids, versions, sizes in source.chunks():
        pos = count_sampled(_ids(ids), int(seed), limit, 0, 0, 0, np.zeros(2, np.uint64), 0)[0]  # no counts
        kept_warmup += int(np.searchsorted(pos, max(0, warmup - n)))
        n += ids.size
        kept.append((ids[pos], None if versions is None else versions[pos], None if sizes is None else sizes[pos]))
    warmup = _check_warmup(warmup, n)
    raw, versions, sizes = (None if not kept or kept[0][k] is None else np.concatenate([c[k] for c in kept])
                            for k in range(3))
    raw = np.empty(0, np.int64) if raw is None else raw
    return source.objects(raw), versions, sizes, n - warmup, kept_warmup, _group(raw, seed)
