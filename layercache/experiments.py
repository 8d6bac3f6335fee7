"""Ready-made sweep tasks: one simulation (and its Che model) per call, returning a dict of numbers.

These are what ``layercache sweep CONFIG.toml`` runs by name (``task =
"irm"`` or ``"trace"``) and what a grid passed to :func:`layercache.sweep`
can use directly; a study of your own is any function of the same shape.
Sizes are in units of one full object (IRM) or in the trace's unit (bytes
with ``byte=True``, else 1 per object).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["irm_experiment", "trace_experiment", "load_trace", "CHE_MODEL_OF"]

#: Che model of a (policy, layered) pair, for the policies that have one.
CHE_MODEL_OF = {("lru", True): "llru", ("lru", False): "lru", ("fifo", True): "lfifo", ("fifo", False): "fifo"}


@lru_cache(maxsize=4)
def _irm_setup(n_objects, n_layers, alpha, size_profile, overhead, version_kind, n_requests, seed):
    from .catalog import Catalog
    from .popularity import version_profile, zipf_popularity
    from .workload import irm_trace

    catalog = Catalog.from_profile(n_objects, n_layers, size_profile, overhead=overhead)
    popularity = zipf_popularity(n_objects, alpha)
    versions_pmf = version_profile(n_layers, version_kind)
    objects, versions = irm_trace(popularity, versions_pmf, n_requests, seed=seed)
    return catalog, popularity, versions_pmf, objects, versions


def irm_experiment(policy, capacity_fraction, *, n_objects=10_000, alpha=0.8, n_layers=1, size_profile="equal",
                   overhead=0.0, version_kind="uniform", layered=True, requests_per_object=30,
                   warmup_per_object=10, seed=0):
    """Simulate ``policy`` on a Zipf IRM trace of a layered catalog; add the Che model where one exists.

    Parameters
    ----------
    policy : str
        One of ``layercache.POLICIES``.
    capacity_fraction : float
        Cache size as a fraction of the N full objects (each of size 1), in (0, 1].
    n_objects, alpha : int, float
        Zipf catalog of N objects with exponent alpha.
    n_layers, size_profile, overhead, version_kind
        The catalog's layers (``Catalog.from_profile``) and version
        popularity (``version_profile``).
    layered : bool
        Cache layers (True) or stand-alone versions (False).
    requests_per_object, warmup_per_object : int
        Counted and warm-up requests, per object.
    seed : int
        Seed of the trace (a sweep fills it from the configuration).

    Returns
    -------
    dict
        ``capacity`` (size units), ``requests``, ``hits``, ``hit_ratio``,
        ``byte_hit_ratio`` and ``model_hit_ratio`` (the Che model: LRU, LLRU,
        FIFO or layered FIFO; NaN for other policies).
    """
    from .che import che_hit_ratio
    from .simulation import simulate

    if not 0 < capacity_fraction <= 1:
        raise ValueError(f"capacity_fraction must lie in (0, 1], got {capacity_fraction!r}")
    warmup = warmup_per_object * n_objects
    catalog, popularity, versions_pmf, objects, versions = _irm_setup(
        n_objects, n_layers, alpha, size_profile, overhead, version_kind,
        warmup + requests_per_object * n_objects, seed)
    capacity = capacity_fraction * float(catalog.version_sizes[:, -1].sum())
    res = simulate(objects, versions, policy=policy, capacity=capacity, catalog=catalog, layered=layered,
                   warmup=warmup)
    model = CHE_MODEL_OF.get((policy, bool(layered)))
    model_ratio = np.nan
    if model:
        sizes = catalog.layer_sizes if layered else catalog.version_sizes
        model_ratio = che_hit_ratio(popularity, versions_pmf, sizes, capacity, model=model).hit_ratio
    return {"capacity": capacity, "requests": res.requests, "hits": res.hits, "hit_ratio": res.hit_ratio,
            "byte_hit_ratio": res.byte_hit_ratio, "model_hit_ratio": float(model_ratio)}


@lru_cache(maxsize=2)
def load_trace(path, format=None, byte=False):
    """``(ids, sizes or None, working set)`` of a trace file, read once per process.

    ``ids`` are dense 0-based ids; ``sizes`` the request sizes (bytes) when
    ``byte``; the working set is the number of distinct objects, or with
    ``byte`` the sum of their sizes (each at its first request).
    """
    from .traces import read_trace

    ids, sizes, _, originals = read_trace(path, None if format in (None, "auto") else format, remap=True)
    if not byte:
        return ids, None, float(originals.size)
    first = np.unique(ids, return_index=True)[1]
    return ids, sizes, float(sizes[first].sum())


def trace_experiment(trace, policy, capacity=None, *, capacity_fraction=None, byte=False, warmup=0, format=None):
    """Simulate ``policy`` on a trace file at one cache size.

    Parameters
    ----------
    trace : str
        Path of an oracleGeneral, CSV or numpy trace (``layercache.read_trace``).
    policy : str
    capacity : float, optional
        Objects (or bytes with ``byte``), > 0.
    capacity_fraction : float, optional
        Instead of ``capacity``: a fraction of the working set, in (0, 1].
    byte : bool
        Use the trace's object sizes (byte capacity) instead of unit sizes.
    warmup : int
        Requests that warm the cache without being counted.
    format : str, optional
        ``"auto"`` (default: from the name) or one of ``layercache.trace_formats.TRACE_FORMATS``.

    Returns
    -------
    dict
        ``capacity``, ``requests``, ``hits``, ``hit_ratio``, ``byte_hit_ratio``.
    """
    from .simulation import simulate

    if (capacity is None) == (capacity_fraction is None):
        raise ValueError("give exactly one of capacity and capacity_fraction")
    ids, sizes, working_set = load_trace(str(trace), format, bool(byte))
    if capacity_fraction is not None:
        if not 0 < capacity_fraction <= 1:
            raise ValueError(f"capacity_fraction must lie in (0, 1], got {capacity_fraction!r}")
        capacity = capacity_fraction * working_set
    res = simulate(ids, policy=policy, capacity=capacity, sizes=sizes, warmup=warmup)
    return {"capacity": res.capacity, "requests": res.requests, "hits": res.hits, "hit_ratio": res.hit_ratio,
            "byte_hit_ratio": res.byte_hit_ratio}
