"""Synthetic IRM traces: i.i.d. (object, version) requests.

Objects are 0-based ids (int32); versions are 1-based (int8, ``1..L``).
Randomness comes only from the ``seed`` argument (an int or a
``numpy.random.Generator``); the same seed gives the same trace.
"""

from __future__ import annotations

import numpy as np

from .popularity import check_pmf

__all__ = ["irm_trace"]

_CHUNK = 1 << 22  # requests drawn per vectorised step; bounds temporary memory


def _sample_index(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    idx = np.searchsorted(cdf, u, side="right")
    np.minimum(idx, cdf.size - 1, out=idx)
    return idx


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
    Vectorised in chunks of ``2**22`` requests (inverse-cdf sampling), so
    10^8 requests take seconds and little memory beyond the output.
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

    cdf = np.cumsum(p)
    cdf /= cdf[-1]
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
        obj = _sample_index(cdf, rng.random(stop - start))
        objects[start:stop] = obj
        if vcdf is None:
            continue
        u = rng.random(stop - start)
        if vcdf.ndim == 1:
            versions[start:stop] = _sample_index(vcdf, u) + 1
        else:
            rows = vcdf[obj]
            versions[start:stop] = np.minimum((u[:, None] >= rows).sum(axis=1), vcdf.shape[1] - 1) + 1
    return objects, versions
