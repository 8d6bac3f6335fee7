"""Result of a trace simulation: a small frozen record and its ratios."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SimulationResult"]


def _ratio(num, den) -> float:
    return float(num) / float(den) if den else float("nan")


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Counts of one simulation run (requests after the warm-up window only).

    Attributes
    ----------
    policy : str
        ``"lru"``, ``"fifo"``, ``"lfu"``, ``"perfect_lfu"`` or ``"belady"``.
    mode : str
        ``"layered"`` (items are layers), ``"versions"`` (items are
        stand-alone versions), ``"full"`` (only the full version of each
        object is cached and serves every version) or ``"flat"`` (classic
        trace of object ids).
    capacity : float
        Cache size, in the unit of the sizes.
    requests : int
        Requests counted (``len(trace) - warmup``).
    hits : int
        Requests served entirely from the cache: in layered mode every layer
        1..l of the requested version l was cached.
    layers_requested, layers_hit : int
        Layered mode: sum over requests of l, and of the number of those
        layers found in the cache. Other modes: equal to ``requests`` and
        ``hits``.
    bytes_requested, bytes_hit : float
        Size units asked for and served from the cache. Layered mode: the
        layered version size ``S[i, l] = sum_{j<=l} s[i, j]`` and the sizes
        of its cached layers. Non-layered and full-object modes: the
        stand-alone size ``v[i, l]``, served in full on a hit or not at all.
        Flat mode: the request sizes (1 each without sizes).
    per_request : numpy.ndarray or None
        With ``per_request=True`` in :func:`layercache.simulate`: int8, shape
        (len(trace),), the number of the request's items served from the cache
        (layers in layered mode, else 0 or 1), warm-up requests included; a
        read-only :class:`numpy.memmap` for a streamed trace.
    """

    policy: str
    mode: str
    capacity: float
    requests: int
    hits: int
    layers_requested: int
    layers_hit: int
    bytes_requested: float
    bytes_hit: float
    per_request: np.ndarray | None = field(default=None, repr=False)

    @property
    def hit_ratio(self) -> float:
        """``hits / requests`` (NaN without requests)."""
        return _ratio(self.hits, self.requests)

    @property
    def byte_hit_ratio(self) -> float:
        """``bytes_hit / bytes_requested``."""
        return _ratio(self.bytes_hit, self.bytes_requested)

    @property
    def layer_hit_ratio(self) -> float | None:
        """Layered mode: fraction of requested layers served from the cache,
        ``layers_hit / layers_requested`` (a request for version l asks for
        layers 1..l; partial hits count their cached layers). None otherwise.
        """
        if self.mode != "layered":
            return None
        return _ratio(self.layers_hit, self.layers_requested)

    def as_dict(self) -> dict:
        """Counts and ratios as a flat dict (``per_request`` left out)."""
        return {
            "policy": self.policy,
            "mode": self.mode,
            "capacity": self.capacity,
            "requests": self.requests,
            "hits": self.hits,
            "layers_requested": self.layers_requested,
            "layers_hit": self.layers_hit,
            "bytes_requested": self.bytes_requested,
            "bytes_hit": self.bytes_hit,
            "hit_ratio": self.hit_ratio,
            "byte_hit_ratio": self.byte_hit_ratio,
            "layer_hit_ratio": self.layer_hit_ratio,
        }

    def to_frame(self):
        """One-row :class:`pandas.DataFrame` of :meth:`as_dict`."""
        import pandas as pd

        return pd.DataFrame([self.as_dict()])
