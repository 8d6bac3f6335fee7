"""Turn a real (classic) trace into a layered study: :func:`layer_trace`.

A classic trace names an object and its size per request. A layered study
needs a catalog (layer and version sizes per object) and a requested version
per request. :func:`layer_trace` builds both from the trace in one call:

1. object ids (any 64-bit integers or strings) are remapped to dense ids
   ``0..N-1`` in order of first appearance (:func:`layercache.remap_ids`);
   ``catalog.object_ids`` keeps the original id of each row, so any
   per-object answer (a static allocation, a per-object hit ratio) can be
   keyed back to the trace's ids;
2. each object's full size is one of its observed request sizes: the
   largest (``object_size="max"``, the default: the object as a whole must
   fit), the first or the last one seen;
3. the full size is split into L layers by a size profile (equal,
   increasing, decreasing layer shares, or explicit fractions) and the
   layering overhead is added (:meth:`layercache.Catalog.from_version_sizes`);
4. each request gets a version drawn from the version popularity, per
   request or once per object, from a seeded generator.

With L = 1 and no overhead the result is the classic trace itself: for a
trace whose objects keep one size, ``simulate(objects, versions,
catalog=catalog, ...)`` equals ``simulate(raw_ids, sizes=sizes, ...)`` for
every policy and capacity (tested against libCacheSim).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .catalog import SIZE_PROFILES, Catalog, _profile_weights
from .popularity import check_pmf

__all__ = ["layer_trace", "OBJECT_SIZE_RULES", "VERSION_DRAWS"]

#: How an object's size is taken from its requests' sizes.
OBJECT_SIZE_RULES = ("max", "first", "last")
#: Whether versions are drawn for every request or once for every object.
VERSION_DRAWS = ("request", "object")


@njit(cache=True)
def _object_sizes_kernel(dense, sizes, rule, out):
    """Fill ``out[i]`` (initialised to 0) with object i's max (0), first (1) or last (2) size."""
    for k in range(dense.size):
        i = dense[k]
        s = sizes[k]
        if rule == 0:
            if s > out[i]:
                out[i] = s
        elif rule == 1:
            if out[i] == 0:
                out[i] = s
        else:
            out[i] = s


def _layer_fractions(size_profile, n_layers: int) -> np.ndarray:
    """Cumulative share of the full size held by versions 1..L (last entry exactly 1)."""
    if isinstance(size_profile, str):
        if size_profile not in SIZE_PROFILES:
            raise ValueError(f"size_profile must be one of {SIZE_PROFILES} or L fractions, got {size_profile!r}")
        shares = _profile_weights(n_layers, size_profile)  # the shares of Catalog.from_profile
    else:
        shares = np.asarray(size_profile, dtype=np.float64)
        if shares.shape != (n_layers,) or not np.all(np.isfinite(shares)) or np.any(shares <= 0):
            raise ValueError(
                f"size_profile fractions must be {n_layers} finite numbers > 0 (one per layer), got {size_profile!r}"
            )
        if abs(shares.sum() - 1.0) > 1e-9:
            raise ValueError(f"size_profile fractions must sum to 1, got sum {shares.sum()!r}")
    cum = np.cumsum(shares / shares.sum())
    cum[-1] = 1.0  # the full version is exactly the object's size
    return cum


def _draw_versions(version_probs, n_layers, n_draws, rng) -> np.ndarray:
    p = np.full(n_layers, 1.0 / n_layers) if version_probs is None else check_pmf(version_probs, "version_probs")
    if p.shape != (n_layers,):
        raise ValueError(f"version_probs must have shape ({n_layers},) (one probability per version), got {p.shape}")
    cdf = np.cumsum(p)
    cdf[-1] = 1.0
    draws = np.searchsorted(cdf, rng.random(n_draws), side="right") + 1
    return np.minimum(draws, n_layers).astype(np.int8)


def layer_trace(
    objects,
    sizes,
    n_layers: int,
    *,
    size_profile="equal",
    overhead: float = 0.0,
    version_probs=None,
    seed=None,
    object_size: str = "max",
    versions_per: str = "request",
    overhead_model: str = "enhancement",
):
    """Make a layered study of a real classic trace.

    Parameters
    ----------
    objects : array_like of int or str, shape (n,)
        Object id of each request (raw ids: any 64-bit integers or strings).
    sizes : array_like of number, shape (n,), or None
        Size of each request (bytes), > 0; ``None``: unit sizes (every object
        has full size 1, for capacities counted in objects).
    n_layers : int
        L, 1..127.
    size_profile : {"equal", "increasing", "decreasing"} or array_like, shape (L,)
        Shares of the full size carried by layers 1..L: equal, proportional
        to j, proportional to L - j + 1, or explicit fractions (> 0, summing
        to 1). Version l without overhead has size ``full * sum_{j<=l} share_j``.
    overhead : float
        Layering overhead theta >= 0 (see ``overhead_model``).
    version_probs : array_like, shape (L,), optional
        Version popularity ``p[l-1]`` (a pmf); default uniform.
    seed : int or numpy.random.Generator, optional
        Seed of the version draws.
    object_size : {"max", "first", "last"}
        Which of an object's observed request sizes is its full size.
    versions_per : {"request", "object"}
        Draw a version for every request, or one for every object that all
        its requests then ask for.
    overhead_model : {"enhancement", "total"}
        As in :meth:`layercache.Catalog.from_profile`.

    Returns
    -------
    objects : numpy.ndarray, shape (n,), int32 (int64 beyond 2**31 - 1 objects)
        Dense ids ``0..N-1`` in order of first appearance.
    versions : numpy.ndarray, shape (n,), int8
        Requested versions, 1-based.
    catalog : Catalog
        N objects, L layers; ``catalog.object_ids[i]`` is the original id of
        dense object i (uint64, or an object array for string ids).

    Raises
    ------
    ValueError
        Shapes that do not match, sizes not finite and > 0, L outside
        1..127, an unknown profile or rule, version_probs not a pmf of
        length L, overhead < 0.

    Examples
    --------
    A layered study of a trace, and the static optimum keyed by the trace's own ids::

        objects, versions, catalog = layer_trace(raw_ids, sizes, 3, size_profile="increasing", seed=1)
        result = simulate(objects, versions, policy="lru", capacity=c, catalog=catalog)
        best = static_optimum(np.bincount(objects) / objects.size, None, catalog, c)
        pandas.Series(best.layers, index=catalog.object_ids)  # layers cached, per raw id

    Notes
    -----
    A classic simulation keeps an object at the size it had when admitted;
    a catalog gives it one size. The two agree exactly when every object
    keeps one size in the trace (with L = 1, no overhead, any rule); when
    sizes change, the rule decides which size the layered study uses.
    """
    from .remap import remap_ids

    L = int(n_layers)
    if L != n_layers or not 1 <= L <= 127:
        raise ValueError(f"n_layers must be an integer in 1..127, got {n_layers!r}")
    if object_size not in OBJECT_SIZE_RULES:
        raise ValueError(f"object_size must be one of {OBJECT_SIZE_RULES}, got {object_size!r}")
    if versions_per not in VERSION_DRAWS:
        raise ValueError(f"versions_per must be one of {VERSION_DRAWS}, got {versions_per!r}")
    raw = np.asarray(objects)
    if raw.ndim != 1 or raw.size == 0:
        raise ValueError(f"objects must be a non-empty 1-D array, got shape {raw.shape}")
    if raw.dtype.kind == "i" and raw.min() < 0:
        raise ValueError(f"objects must be non-negative integer ids or strings, found {int(raw.min())}")
    dense, original = remap_ids(raw)
    n_obj = original.shape[0]
    if sizes is None:
        full = np.ones(n_obj)
    else:
        req = np.asarray(sizes)
        if req.shape != raw.shape:
            raise ValueError(f"sizes must have shape {raw.shape} (one per request), got {req.shape}")
        if req.dtype.kind not in "iuf":
            raise ValueError(f"sizes must be numbers, got dtype {req.dtype}")
        req = np.ascontiguousarray(req, dtype=np.float64)
        if not np.all(np.isfinite(req)) or req.min() <= 0:
            k = int(np.argmax(~np.isfinite(req) | (req <= 0)))
            raise ValueError(f"sizes must be finite and > 0; request {k} (0-based) has size {req[k]}")
        full = np.zeros(n_obj)
        _object_sizes_kernel(dense, req, OBJECT_SIZE_RULES.index(object_size), full)
    version_sizes = full[:, None] * _layer_fractions(size_profile, L)[None, :]
    layered = Catalog.from_version_sizes(version_sizes, overhead, overhead_model)
    catalog = Catalog(layered.layer_sizes, layered.version_sizes, object_ids=original)
    rng = np.random.default_rng(seed)
    if versions_per == "request":
        versions = _draw_versions(version_probs, L, dense.size, rng)
    else:
        versions = _draw_versions(version_probs, L, n_obj, rng)[dense]
    return dense, versions, catalog
