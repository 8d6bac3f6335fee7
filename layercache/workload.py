"""Synthetic IRM traces: i.i.d. (object, version) requests.

Objects are 0-based ids (int32); versions are 1-based (int8, ``1..L``).
Randomness comes only from the ``seed`` argument (an int or a
``numpy.random.Generator``); the same seed gives the same trace.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .popularity import check_pmf

__all__ = ["irm_trace"]

_CHUNK = 1 << 22  # requests drawn per vectorised step; bounds temporary memory


def _sample_index(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    idx = np.searchsorted(cdf, u, side="right")
    np.minimum(idx, cdf.size - 1, out=idx)
    return idx


@njit(cache=True)
def _alias_table(p):
    """Walker/Vose alias table of the pmf ``p`` (shape (N,)).

    Returns ``(accept, alias)``: column ``k`` keeps ``k`` with probability
    ``accept[k]`` and otherwise gives ``alias[k]``.
    """
    n = p.size
    scaled = p * (n / p.sum())
    accept = np.ones(n)
    alias = np.arange(n).astype(np.int32)
    small = np.empty(n, dtype=np.int32)
    large = np.empty(n, dtype=np.int32)
    ns = nl = 0
    for k in range(n):
        if scaled[k] < 1.0:
            small[ns] = k
            ns += 1
        else:
            large[nl] = k
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        g = large[nl - 1]
        accept[s] = scaled[s]
        alias[s] = g
        scaled[g] = (scaled[g] + scaled[s]) - 1.0
        if scaled[g] < 1.0:
            nl -= 1
            small[ns] = g
            ns += 1
    # leftovers (rounding) keep themselves with probability 1
    return accept, alias


def _alias_draw(accept, alias, rng, size: int, out: np.ndarray) -> None:
    """Write ``size`` alias-method draws into ``out`` (int32)."""
    u = rng.random(size)
    u *= accept.size
    col = u.astype(np.int32)  # u < N, so col in 0..N-1
    np.minimum(col, accept.size - 1, out=col)
    u -= col  # fractional part: the second uniform
    out[:] = np.where(u < accept[col], col, alias[col])


def irm_trace(popularity, version_probs=None, n_requests: int = 1_000_000, seed=None):
    """Draw an IRM trace of (object, version) requests.

    Parameters
    ----------
    popularity : array_like, shape (N,)
        Object request probabilities (a pmf), e.g. from :func:`zipf_popularity`.
    version_probs : array_like, shape (L,) or (N, L), optional
        Version popularity, a pmf per row; ``None`` draws version 1 only.
    n_requests : int
        Trace length, >= 0.
    seed : int or numpy.random.Generator, optional
        Source of randomness.

    Returns
    -------
    objects : numpy.ndarray, shape (n_requests,), int32
        0-based object ids.
    versions : numpy.ndarray, shape (n_requests,), int8
        1-based versions.

    Notes
    -----
    Objects are drawn by the alias method (Walker; the table is built once
    in O(N)), versions by inverse-cdf sampling, vectorised in chunks of
    ``2**22`` requests: 10^8 requests take seconds and little memory beyond
    the output. One uniform per object draw: its integer part (scaled by N)
    picks the column, its fractional part accepts or aliases.
    """
    p = check_pmf(popularity, "popularity")
    if p.ndim != 1:
        raise ValueError(f"popularity must be 1-D (one probability per object), got shape {p.shape}")
    n = int(n_requests)
    if n != n_requests or n < 0:
        raise ValueError(f"n_requests must be an integer >= 0, got {n_requests!r}")
    if p.size > np.iinfo(np.int32).max:
        raise ValueError("at most 2**31 - 1 objects are supported")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    accept, alias = _alias_table(p)
    if version_probs is None:
        vcdf = None
    else:
        q = check_pmf(version_probs, "version_probs")
        if q.ndim == 2 and q.shape[0] != p.size:
            raise ValueError(f"version_probs has {q.shape[0]} rows but popularity has {p.size} objects")
        if q.ndim not in (1, 2) or q.shape[-1] > 127:
            raise ValueError(f"version_probs must have shape (L,) or (N, L) with L <= 127, got {q.shape}")
        vcdf = np.cumsum(q, axis=-1)
        vcdf /= vcdf[..., -1:]

    objects = np.empty(n, dtype=np.int32)
    versions = np.ones(n, dtype=np.int8)
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        obj = objects[start:stop]
        _alias_draw(accept, alias, rng, stop - start, obj)
        if vcdf is None:
            continue
        u = rng.random(stop - start)
        if vcdf.ndim == 1:
            versions[start:stop] = _sample_index(vcdf, u) + 1
        else:
            rows = vcdf[obj]
            versions[start:stop] = np.minimum((u[:, None] >= rows).sum(axis=1), vcdf.shape[1] - 1) + 1
    return objects, versions
