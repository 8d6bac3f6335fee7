"""Object and version popularity under the independent reference model (IRM).

Indices are 0-based for objects (``i = 0..N-1``) and for the columns of version
arrays (column ``l - 1`` holds version ``l``); versions themselves are 1-based
(``l = 1..L``) wherever they appear as values, as in traces.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "zipf_popularity",
    "version_profile",
    "touch_probabilities",
    "check_pmf",
]

#: Absolute tolerance on ``sum(p) == 1``.
PMF_ATOL = 1e-8

VERSION_PROFILES = ("uniform", "low", "high")


def check_pmf(p, name: str = "popularity", axis: int = -1) -> np.ndarray:
    """Validate and return a probability mass function as float64.

    Parameters
    ----------
    p : array_like
        Probabilities; each slice along ``axis`` must be one pmf.
    name : str
        Parameter name used in error messages.
    axis : int
        Axis along which the entries sum to one.

    Returns
    -------
    numpy.ndarray
        ``p`` as a contiguous float64 array of the same shape.

    Raises
    ------
    ValueError
        If ``p`` is empty, holds NaN, infinite or negative entries, or does
        not sum to one within ``PMF_ATOL``.
    """
    arr = np.ascontiguousarray(p, dtype=np.float64)
    if arr.size == 0:
        raise ValueError(f"{name} is empty; it needs at least one probability")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or infinite entries; probabilities must lie in [0, 1]")
    if np.any(arr < 0):
        raise ValueError(f"{name} holds negative entries; probabilities must lie in [0, 1]")
    sums = arr.sum(axis=axis)
    error = np.atleast_1d(np.abs(sums - 1.0))
    if np.any(error > PMF_ATOL):
        worst = float(np.atleast_1d(sums)[np.argmax(error)])
        raise ValueError(f"{name} must sum to 1 along axis {axis}; found a sum of {worst!r}")
    return arr


def zipf_popularity(n_objects: int, alpha: float) -> np.ndarray:
    """Zipf popularity: object ``i`` (0-based rank) has probability proportional to ``(i + 1) ** -alpha``.

    Parameters
    ----------
    n_objects : int
        Catalog size N >= 1.
    alpha : float
        Zipf exponent, finite and >= 0 (0 gives the uniform distribution).

    Returns
    -------
    numpy.ndarray, shape (N,), float64
        Probabilities summing to one, non-increasing in ``i``.
    """
    n = int(n_objects)
    if n != n_objects or n < 1:
        raise ValueError(f"n_objects must be an integer >= 1, got {n_objects!r}")
    alpha = float(alpha)
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be finite and >= 0, got {alpha!r}")
    weights = np.arange(1, n + 1, dtype=np.float64) ** -alpha
    return weights / weights.sum()


def version_profile(n_layers: int, kind: str = "uniform", n_objects: int | None = None) -> np.ndarray:
    """Version popularity profile ``p[l-1]`` = P(version l | object requested).

    Parameters
    ----------
    n_layers : int
        Number of versions L >= 1.
    kind : {"uniform", "low", "high"}
        ``uniform``: ``1/L``; ``low`` (low versions popular): proportional to
        ``L - l + 1``; ``high`` (high versions popular): proportional to ``l``.
    n_objects : int, optional
        If given, the profile is repeated into an (N, L) matrix.

    Returns
    -------
    numpy.ndarray, shape (L,) or (N, L), float64
    """
    L = int(n_layers)
    if L != n_layers or L < 1:
        raise ValueError(f"n_layers must be an integer >= 1, got {n_layers!r}")
    levels = np.arange(1, L + 1, dtype=np.float64)
    if kind == "uniform":
        w = np.ones(L)
    elif kind == "low":
        w = L - levels + 1
    elif kind == "high":
        w = levels
    else:
        raise ValueError(f"kind must be one of {VERSION_PROFILES}, got {kind!r}")
    p = w / w.sum()
    if n_objects is not None:
        p = np.tile(p, (int(n_objects), 1))
    return p


def touch_probabilities(version_probs) -> np.ndarray:
    """Probability ``Q[..., j-1] = sum_{l >= j} p[..., l-1]`` that a request touches layer j.

    Parameters
    ----------
    version_probs : array_like, shape (L,) or (N, L)
        Version popularity; rows are pmfs.

    Returns
    -------
    numpy.ndarray, same shape, float64
        Non-increasing along the last axis, ``Q[..., 0] == 1``.
    """
    p = check_pmf(version_probs, "version_probs")
    return np.flip(np.cumsum(np.flip(p, axis=-1), axis=-1), axis=-1)
