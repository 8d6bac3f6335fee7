"""Catalog of layered data objects: layer sizes and non-layered version sizes.

Object ``i`` (0-based) has up to L layers. Column ``j - 1`` of ``layer_sizes``
holds the size of layer ``j`` (1-based, layer 1 is the base layer); column
``l - 1`` of ``version_sizes`` holds the size of the stand-alone (non-layered)
version ``l``. Sizes are in any consistent unit (bytes, or 1 for unit sizes)
and the cache capacity is given in the same unit.

A layered version ``l`` costs ``S[i, l] = sum_{j <= l} s[i, j]``, which with
layering overhead is more than the stand-alone ``v[i, l]``. An object with
fewer than L layers has trailing zero layer sizes (and zero version sizes).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["Catalog", "SIZE_PROFILES", "OVERHEAD_MODELS"]

SIZE_PROFILES = ("equal", "increasing", "decreasing")
OVERHEAD_MODELS = ("enhancement", "total")


def _as_size_matrix(sizes, name: str) -> np.ndarray:
    arr = np.array(sizes, dtype=np.float64, copy=True)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} must have shape (n_objects, n_layers) with both >= 1, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or infinite entries; sizes must be finite and > 0")
    if np.any(arr < 0):
        raise ValueError(f"{name} holds negative entries; sizes must be > 0")
    present = arr > 0
    if not np.all(present[:, 0]):
        raise ValueError(f"{name}: every object needs a base layer of size > 0 (column 0)")
    # Absent layers must be trailing: once a size is 0, all later ones are 0.
    if np.any(present[:, 1:] & ~present[:, :-1]):
        raise ValueError(f"{name}: a zero size (absent layer) may only be followed by zeros")
    arr.setflags(write=False)
    return arr


def _read_only(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


def _profile_weights(n_layers: int, profile: str) -> np.ndarray:
    levels = np.arange(1, n_layers + 1, dtype=np.float64)
    if profile == "equal":
        return np.ones(n_layers)
    if profile == "increasing":
        return levels
    if profile == "decreasing":
        return n_layers - levels + 1
    raise ValueError(f"profile must be one of {SIZE_PROFILES}, got {profile!r}")


@dataclass(frozen=True, eq=False)
class Catalog:
    """Sizes of N layered objects with up to L layers each.

    Parameters
    ----------
    layer_sizes : array_like, shape (N, L)
        ``s[i, j-1]``: size of layer j of object i, > 0, trailing zeros for
        absent layers. A 1-D array is one layer per object.
    version_sizes : array_like, shape (N, L), optional
        ``v[i, l-1]``: size of the stand-alone version l. Defaults to the
        cumulative layer sizes (no layering overhead).
    object_ids : array_like, shape (N,), optional
        Original id of each object (row), e.g. the raw id in a real trace
        (:func:`layercache.layer_trace` sets it), to key per-object answers
        back to the trace; ``None``: the rows are the ids.
    """

    layer_sizes: np.ndarray
    version_sizes: np.ndarray | None = None
    object_ids: np.ndarray | None = None

    def __post_init__(self):
        s = _as_size_matrix(self.layer_sizes, "layer_sizes")
        object.__setattr__(self, "layer_sizes", s)
        if self.version_sizes is None:
            v = np.cumsum(s, axis=1) * (s > 0)
            v.setflags(write=False)
        else:
            v = _as_size_matrix(self.version_sizes, "version_sizes")
            if v.shape != s.shape:
                raise ValueError(
                    f"version_sizes has shape {v.shape} but layer_sizes has shape {s.shape}; they must match"
                )
            if np.any((v > 0) != (s > 0)):
                raise ValueError("version_sizes and layer_sizes must have the same absent (zero) entries")
        object.__setattr__(self, "version_sizes", v)
        if self.object_ids is not None:
            ids = np.asarray(self.object_ids)
            if ids.shape != (s.shape[0],):
                raise ValueError(f"object_ids must have shape ({s.shape[0]},) (one per object), got {ids.shape}")
            object.__setattr__(self, "object_ids", _read_only(ids.copy()))

    # -- constructors -------------------------------------------------------
    @classmethod
    def from_profile(
        cls,
        n_objects: int,
        n_layers: int,
        profile: str = "equal",
        full_size: float = 1.0,
        overhead: float = 0.0,
        overhead_model: str = "enhancement",
    ) -> "Catalog":
        """Identical objects whose layer sizes follow a standard profile.

        Without overhead the layers of an object sum to ``full_size``: the
        stand-alone version l has size ``v_l = sum_{j<=l} w_j / sum_j w_j *
        full_size`` with weights ``w_j`` equal (``equal``), ``j``
        (``increasing``) or ``L - j + 1`` (``decreasing``).

        Parameters
        ----------
        n_objects, n_layers : int
            N >= 1 objects with L >= 1 layers.
        profile : {"equal", "increasing", "decreasing"}
        full_size : float
            Size of the full stand-alone version L, > 0.
        overhead : float
            Layering overhead theta >= 0.
        overhead_model : {"enhancement", "total"}
            ``enhancement``: every enhancement layer (j >= 2) is ``1 + theta``
            times its share; ``total``: layered version l costs
            ``(1 + theta) v_l``, i.e. every layer is ``1 + theta`` times its share.
        """
        n, L = int(n_objects), int(n_layers)
        if n < 1 or n != n_objects:
            raise ValueError(f"n_objects must be an integer >= 1, got {n_objects!r}")
        if L < 1 or L != n_layers:
            raise ValueError(f"n_layers must be an integer >= 1, got {n_layers!r}")
        if not np.isfinite(full_size) or full_size <= 0:
            raise ValueError(f"full_size must be finite and > 0, got {full_size!r}")
        share = _profile_weights(L, profile)
        share = share / share.sum() * full_size
        versions = np.cumsum(share)
        return cls.from_version_sizes(np.tile(versions, (n, 1)), overhead, overhead_model)

    @classmethod
    def from_version_sizes(cls, version_sizes, overhead: float = 0.0, overhead_model: str = "enhancement") -> "Catalog":
        """Layered catalog built from stand-alone version sizes and an overhead.

        Layer j's content is ``v_j - v_{j-1}`` (so ``version_sizes`` must be
        increasing along each row); the overhead model is as in
        :meth:`from_profile`.
        """
        v = _as_size_matrix(version_sizes, "version_sizes")
        theta = float(overhead)
        if not np.isfinite(theta) or theta < 0:
            raise ValueError(f"overhead must be finite and >= 0, got {overhead!r}")
        present = v > 0
        content = np.diff(v, axis=1, prepend=0.0) * present
        if np.any(content[present] <= 0):
            raise ValueError("version_sizes must be strictly increasing along each row to define layers")
        if overhead_model == "enhancement":
            factor = np.full(v.shape[1], 1.0 + theta)
            factor[0] = 1.0
            s = content * factor
        elif overhead_model == "total":
            s = content * (1.0 + theta)
        else:
            raise ValueError(f"overhead_model must be one of {OVERHEAD_MODELS}, got {overhead_model!r}")
        return cls(s, v)

    @classmethod
    def unit(cls, n_objects: int, n_layers: int = 1) -> "Catalog":
        """Every layer and every stand-alone version has size 1."""
        return cls(np.ones((int(n_objects), int(n_layers))), np.ones((int(n_objects), int(n_layers))))

    # -- derived quantities --------------------------------------------------
    @property
    def n_objects(self) -> int:
        return self.layer_sizes.shape[0]

    @property
    def n_layers(self) -> int:
        """L, the largest number of layers of any object."""
        return self.layer_sizes.shape[1]

    @cached_property
    def layers_per_object(self) -> np.ndarray:
        """Shape (N,) int64, read-only: number of layers of each object."""
        return _read_only((self.layer_sizes > 0).sum(axis=1))

    @cached_property
    def layered_version_sizes(self) -> np.ndarray:
        """Shape (N, L), read-only: ``S[i, l-1] = sum_{j <= l} s[i, j-1]``, the bytes of layered version l."""
        return _read_only(np.cumsum(self.layer_sizes, axis=1) * (self.layer_sizes > 0))

    def check_versions(self, objects: np.ndarray, versions: np.ndarray) -> None:
        """Raise ValueError unless every request names an object and a version it has.

        Works in chunks, so long traces need no per-request temporaries.
        """
        if objects.size and (objects.min() < 0 or objects.max() >= self.n_objects):
            raise ValueError(f"objects must lie in 0..{self.n_objects - 1} for this catalog")
        if versions.size:
            lo, hi = int(versions.min()), int(versions.max())
            if lo < 1 or hi > self.n_layers:
                raise ValueError(f"versions must lie in 1..{self.n_layers} (1-based), found {lo}..{hi}")
            layers = self.layers_per_object
            if np.any(layers < self.n_layers):
                for start in range(0, objects.size, 1 << 22):
                    stop = start + (1 << 22)
                    if np.any(versions[start:stop] > layers[objects[start:stop]]):
                        raise ValueError("a request asks for a version above its object's number of layers")

    def __repr__(self) -> str:
        return f"Catalog(n_objects={self.n_objects}, n_layers={self.n_layers})"
