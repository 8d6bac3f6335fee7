"""Characteristic-time (Che) models of LRU, Layered LRU and FIFO under IRM.

Conventions
-----------
* Objects are 0-based (``i = 0..N-1``); column ``j - 1`` of an (N, L) array
  holds layer or version ``j`` (1-based), as in :mod:`layercache.catalog`.
* ``popularity`` is a pmf over objects: the rate of requests for object i per
  request, so the characteristic time ``T`` is measured in requests.
* Sizes and ``capacity`` share one unit (bytes, or 1 per item).

Models (all on *items* that are touched at rate ``r`` and have size ``s``)
--------------------------------------------------------------------------
* ``llru``: items are layers ``(i, j)`` of size ``s[i, j]`` touched at rate
  ``lambda_i Q[i, j]`` with ``Q[i, j] = sum_{l >= j} p[i, l]``. A request
  for version l hits iff layer l is cached (LLRU keeps prefixes).
* ``lru``: items are stand-alone versions ``(i, l)`` of size ``v[i, l]``
  touched at rate ``lambda_i p[i, l]``.
* ``full``: the "full object only" baseline: one item per object, the full
  version ``v[i, L_i]``, touched by every request for i and serving every
  version.
* ``fifo`` / ``lfifo``: the same items as ``lru`` / ``llru`` under FIFO.

LRU: item hit probability ``h = 1 - exp(-r T)``; FIFO: ``h = r T / (1 + r T)``
(Martina, Garetto, Leonardi 2014). ``T`` solves ``sum s h(r T) = C`` by ONE
bracketed scalar root (:func:`scipy.optimize.brentq`). An item larger than
the cache is never admitted (``h = 0``, no occupancy), and in the layered
models neither is layer j of an object whose layers 1..j together exceed the
cache (``S[i, j] > C``), as in :func:`layercache.simulate`. Objects of zero
popularity are never requested and take no memory. When the admissible items
fit in the cache altogether, the limit ``T = inf`` is returned (every
admissible item cached: hit ratio 1 when all are admissible, e.g. when the
capacity exceeds the whole catalog).

Layered FIFO does not keep prefixes: a request for version l needs every layer
``1..l`` and the layers' presences are correlated. ``lfifo`` gives exact
model byte and layer hit ratios (they need only each layer's marginal) but
its request hit ratio is the probability that layer l is cached, an UPPER
BOUND: against simulation it overestimates by up to about 0.05 (N = 10^4,
measured with :func:`layercache.compare_model_simulation`).

Speed: one pass (a Numba kernel) puts every item in a bin of 1/128 of an
octave of its rate (from the float's exponent and top mantissa bits) and
accumulates seven Taylor moments ``sum w u**m``, ``u = r / c - 1``, around the
bin centre c; ``sum w h(r T)`` is then a short polynomial per bin, with
truncation error below ``256**-7`` (about 1e-17) relative to each bin's
weight. The root solve and any number of capacities cost O(bins), not
O(items); per-item probabilities are computed exactly on request.

Hit ratios
----------
* request: fraction of requests all of whose layers (or whose version) are
  served from cache;
* byte: bytes served from cache over bytes requested (a layered request for
  version l asks for layers ``1..l``; a non-layered one for ``v[i, l]``;
  under ``full`` a hit serves ``v[i, l]``);
* layer (layered models only, else None): fraction of requested layers
  served from cache, a request for version l asking for layers ``1..l``.

These are the definitions of :class:`~layercache.SimulationResult`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit
from scipy.optimize import brentq

from .catalog import Catalog
from .popularity import check_pmf

__all__ = [
    "CheResult",
    "CheCurve",
    "CHE_MODELS",
    "che_characteristic_time",
    "che_hit_ratio",
    "che_lru_hit_ratio",
    "che_llru_hit_ratio",
    "che_fifo_hit_ratio",
    "che_lfifo_hit_ratio",
    "che_full_object_hit_ratio",
    "che_hit_ratio_curve",
]

#: model name -> (structure: 0 layered, 1 non-layered, 2 full object; hit form: 0 LRU, 1 FIFO)
CHE_MODELS = {
    "llru": (0, 0),
    "lru": (1, 0),
    "full": (2, 0),
    "lfifo": (0, 1),
    "fifo": (1, 1),
}
_LAYERED, _FLAT, _FULL = 0, 1, 2

_N_MOMENTS = 7  # Taylor terms per bin; truncation error below 256 ** -7 relative
_XTOL = 1e-300
_RTOL = 4 * np.finfo(float).eps
_MAXITER = 200

# rows of the weight matrices: occupancy (sizes), request, byte and layer hit weights
_OCC, _REQ, _BYTE, _LAYER = 0, 1, 2, 3
_N_ROWS = 4


# --------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Inputs:
    """Validated float64 inputs: ``lam`` (N,), ``P`` (N, L) or (1, L), ``s`` (N, L)."""

    model: str
    lam: np.ndarray
    P: np.ndarray
    s: np.ndarray

    @property
    def structure(self) -> int:
        return CHE_MODELS[self.model][0]

    @property
    def kind(self) -> int:
        return CHE_MODELS[self.model][1]


def _as_sizes(sizes, layered: bool, n: int, L: int | None) -> np.ndarray:
    if isinstance(sizes, Catalog):
        return np.ascontiguousarray(sizes.layer_sizes if layered else sizes.version_sizes, dtype=np.float64)
    if sizes is None:
        return np.ones((n, 1 if L is None else L))
    arr = np.ascontiguousarray(sizes, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"sizes must have shape (N, L), got {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("sizes must be finite and >= 0 (0 marks an absent layer)")
    return arr


def _validate(popularity, version_probs, sizes, model: str) -> _Inputs:
    if model not in CHE_MODELS:
        raise ValueError(f"model must be one of {tuple(CHE_MODELS)}, got {model!r}")
    lam = check_pmf(popularity, "popularity")
    if lam.ndim != 1:
        raise ValueError(f"popularity must be 1-D (one probability per object), got shape {lam.shape}")
    n = lam.size
    L_p = None
    if version_probs is not None:
        P = check_pmf(version_probs, "version_probs")
        if P.ndim not in (1, 2) or (P.ndim == 2 and P.shape[0] != n):
            raise ValueError(f"version_probs must have shape (L,) or (N, L) with N = {n}, got {P.shape}")
        L_p = P.shape[-1]
    s = _as_sizes(sizes, CHE_MODELS[model][0] == _LAYERED, n, L_p)
    if s.shape[0] != n:
        raise ValueError(f"sizes has {s.shape[0]} rows but popularity has {n} objects; they must match")
    L = s.shape[1]
    if version_probs is None:
        P = np.zeros((1, L))
        P[0, 0] = 1.0
    elif L_p != L:
        raise ValueError(f"version_probs has {L_p} versions but sizes has {L} columns; they must match")
    P = np.ascontiguousarray(P.reshape(-1, L))
    if isinstance(sizes, Catalog):  # validated by the Catalog: only absent versions are left to check
        if L > 1 and np.any(s[:, -1] <= 0) and np.any((P > 0) & (s <= 0)):
            raise ValueError("version_probs gives probability > 0 to a version that sizes marks absent (size 0)")
        return _Inputs(model, lam, P, s)
    if np.any(s[:, 0] <= 0):
        raise ValueError("sizes: every object needs a first layer/version of size > 0 (column 0)")
    if L > 1:
        present = s > 0
        if np.any(present[:, 1:] & ~present[:, :-1]):
            raise ValueError("sizes: a zero size (absent layer) may only be followed by zeros")
        if not present.all() and np.any((P > 0) & ~present):
            raise ValueError("version_probs gives probability > 0 to a version that sizes marks absent (size 0)")
    return _Inputs(model, lam, P, s)


def _tail_sums(P: np.ndarray) -> np.ndarray:
    """``Q[..., j] = sum_{l >= j} P[..., l]`` (touch probability of layer j + 1)."""
    return np.flip(np.cumsum(np.flip(P, axis=-1), axis=-1), axis=-1)


@dataclass(frozen=True, eq=False)
class _Items:
    """Per-item arrays of a model, in the per-item shape (N, L) or (N,) for ``full``.

    An item is admissible iff ``span <= capacity``: its size, or in the
    layered models ``S[i, j]``, the bytes of layers 1..j. Absent items have
    rate 0.
    """

    rates: np.ndarray
    sizes: np.ndarray
    span: np.ndarray
    weights: np.ndarray  # (4, *shape): occupancy, request, byte, layer weights


def _items(inp: _Inputs) -> _Items:
    """Per-item arrays (numpy; the O(items) path used for per-item answers)."""
    lam, P, s = inp.lam, inp.P, inp.s
    L = s.shape[1]
    req = lam[:, None] * P * (s > 0)
    levels = np.arange(1, L + 1, dtype=np.float64)
    if inp.structure == _FULL:
        full = s[np.arange(lam.size), np.count_nonzero(s, axis=1) - 1]
        w = (full, lam, (req * s).sum(axis=1), req @ levels)
        return _Items(lam, full, full, np.stack(w))
    if inp.structure == _LAYERED:
        touch = lam[:, None] * _tail_sums(P) * (s > 0)
        w = (s, req, touch * s, touch)
        return _Items(touch, s, np.cumsum(s, axis=1), np.stack(w))
    w = (s, req, req * s, req * levels)
    return _Items(req, s, s, np.stack(w))


# --------------------------------------------------------------------------
# binned moments (numba kernel + numpy evaluation)
# --------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _add_item(out, r, w0, w1, w2, w3, shift, key_lo, inv_centres, cell, cell_bits):
    """Add ``w * u**m`` (m < 7) of one item of rate ``r`` > 0 to its bin, for the four weights."""
    cell[0] = r
    b = min(max((cell_bits[0] >> shift) - key_lo, 0), out.shape[0] - 1)
    u = r * inv_centres[b] - 1.0
    u2 = u * u
    u4 = u2 * u2
    u3 = u2 * u
    u5 = u4 * u
    u6 = u4 * u2
    for o, w in ((0, w0), (7, w1), (14, w2), (21, w3)):
        out[b, o] += w
        out[b, o + 1] += w * u
        out[b, o + 2] += w * u2
        out[b, o + 3] += w * u3
        out[b, o + 4] += w * u4
        out[b, o + 5] += w * u5
        out[b, o + 6] += w * u6


@njit(cache=True)
def _moments_kernel(lam, P, s, structure, shift, key_lo, inv_centres, tail, cell, cell_bits, out):
    """Accumulate binned moments of the items of a model; return ``(sum r s, largest span)``.

    Every item with rate ``r > 0`` falls in bin ``b = (bits(r) >> shift) -
    key_lo`` (``bits`` the IEEE-754 pattern, so a bin spans ``2**-7`` of an
    octave); with ``u = r / c_b - 1`` it adds ``weight_w * u**m`` to
    ``out[b, 7 w + m]`` for the four weight rows ``w`` (occupancy, request,
    byte, layer) and ``m < 7`` (``_N_MOMENTS``). ``lam`` (N,), ``P`` (N or 1, L), ``s`` (N, L)
    float64; ``tail`` (L,) scratch; ``cell`` a float64 array of length 1 and
    ``cell_bits`` its int64 view; ``out`` (n_bins, 28) float64 is added to.
    The span of an item is its size, or ``S[i, j]`` in the layered models.
    """
    n, L = s.shape
    per_object = P.shape[0] > 1
    rs = 0.0
    max_span = 0.0
    for i in range(n):
        li = lam[i]
        if li <= 0.0:
            continue
        row = i if per_object else 0
        acc = 0.0
        for j in range(L - 1, -1, -1):
            acc += P[row, j]
            tail[j] = acc
        full = 0.0
        served = 0.0
        layers = 0.0
        span = 0.0
        for j in range(L):
            sj = s[i, j]
            if sj <= 0.0:
                break
            span = span + sj if structure == 0 else sj
            max_span = max(max_span, span)
            req = li * P[row, j]
            if structure == 2:  # full object: one item per object, added below
                full = sj
                served += req * sj
                layers += req * (j + 1)
                continue
            if structure == 0:
                r = li * tail[j]
                wl = r
            else:
                r = req
                wl = r * (j + 1)
            if r <= 0.0:
                continue
            rs += r * sj
            _add_item(out, r, sj, req, r * sj, wl, shift, key_lo, inv_centres, cell, cell_bits)
        if structure == 2:
            rs += li * full
            _add_item(out, li, full, li, served, layers, shift, key_lo, inv_centres, cell, cell_bits)
    return rs, max_span


_SHIFT = 45  # keep 7 mantissa bits: 128 bins per octave, |u| <= 1/256


class _Binned:
    """``sum_k w_k h(r_k T)`` for the four weight rows, from binned moments."""

    def __init__(self, inp: _Inputs):
        lam, P = inp.lam, inp.P
        lam_pos = lam[lam > 0]
        if lam_pos.size == 0:
            raise ValueError("popularity has no positive entry")
        r_lo = lam_pos.min() * (1.0 if inp.structure == _FULL else P[P > 0].min())
        keys = np.array([r_lo, lam_pos.max()]).view(np.int64) >> _SHIFT
        key_lo = int(keys[0])
        edges = (np.arange(key_lo, int(keys[1]) + 2, dtype=np.int64) << _SHIFT).view(np.float64)
        centres = 0.5 * (edges[:-1] + edges[1:])
        moments = np.zeros((centres.size, _N_ROWS * _N_MOMENTS))
        cell = np.zeros(1)
        self.rate_size, self.max_span = _moments_kernel(
            lam, P, inp.s, inp.structure, _SHIFT, key_lo, 1.0 / centres,
            np.empty(inp.s.shape[1]), cell, cell.view(np.int64), moments,
        )  # fmt: skip
        keep = moments[:, 0] > 0
        self.centres = centres[keep]
        # (rows, bins, moments)
        self.moments = np.ascontiguousarray(moments[keep].reshape(-1, _N_ROWS, _N_MOMENTS).transpose(1, 0, 2))
        fact = np.array([math.factorial(m) for m in range(_N_MOMENTS)], dtype=np.float64)
        self.coef = self.moments / fact
        self.total = self.moments[:, :, 0].sum(axis=1)

    def value(self, T: float, kind: int, rows=slice(None)) -> np.ndarray:
        """``sum_k w_k h(r_k T)`` for the weight rows ``rows``."""
        if np.isinf(T):
            return self.total[rows].copy()
        x = self.centres * T
        if kind == 0:  # LRU: sum w e^{-rT} = sum_b e^{-x} sum_m (-x)^m / m! M_m
            xc = np.minimum(x, 800.0)  # e^{-x} underflows there; keep the polynomial finite
            coef = self.coef[rows]
            acc = coef[..., -1]
            for m in range(_N_MOMENTS - 2, -1, -1):
                acc = acc * -xc + coef[..., m]
            miss = np.exp(-x) * acc
        else:  # FIFO: sum w / (1 + rT) = sum_b sum_m M_m y^m / (1 + x), y = -x / (1 + x)
            y = -x / (1.0 + x)
            mom = self.moments[rows]
            acc = mom[..., -1]
            for m in range(_N_MOMENTS - 2, -1, -1):
                acc = acc * y + mom[..., m]
            miss = acc / (1.0 + x)
        return self.total[rows] - miss.sum(axis=-1)


def _hit(x: np.ndarray, kind: int) -> np.ndarray:
    return -np.expm1(-x) if kind == 0 else x / (1.0 + x)


class _Model:
    """A model's binned items: answers any capacity in O(bins)."""

    def __init__(self, popularity, version_probs, sizes, model: str):
        self.inputs = _validate(popularity, version_probs, sizes, model)
        self.model = model
        self.kind = self.inputs.kind
        self.binned = _Binned(self.inputs)
        self.max_span = self.binned.max_span
        self._items = None

    @property
    def items(self) -> _Items:
        if self._items is None:
            self._items = _items(self.inputs)
        return self._items

    def _inadmissible(self, capacity: float):
        """Flat rates (M,) and weights (4, M) of the items never admitted at ``capacity``."""
        it = self.items
        big = np.flatnonzero((it.span.reshape(-1) > capacity) & (it.rates.reshape(-1) > 0))
        return it.rates.reshape(-1)[big], it.weights.reshape(_N_ROWS, -1)[:, big]

    def sums(self, T: float, capacity: float, big=None) -> np.ndarray:
        """``sum w h(r T)`` over admissible items for the four weight rows."""
        total = self.binned.value(T, self.kind)
        if big is not None and big[0].size:
            rates, weights = big
            h = np.ones(rates.size) if np.isinf(T) else _hit(rates * T, self.kind)
            total -= (weights * h).sum(axis=1)
        return total

    def solve(self, capacity) -> "CheResult":
        capacity = _check_capacity(capacity)
        big = self._inadmissible(capacity) if self.max_span > capacity else None
        admissible = self.sums(np.inf, capacity, big)[_OCC]
        rate_size = self.binned.rate_size
        if big is not None:
            rate_size -= float(big[0] @ big[1][_OCC])

        if big is None:
            def occupancy(T):
                return self.binned.value(T, self.kind, _OCC)
        else:
            def occupancy(T):
                return self.sums(T, capacity, big)[_OCC]

        root = _solve(occupancy, capacity, admissible, rate_size)
        s = self.sums(root.root, capacity, big)
        totals = self.binned.total  # requests (1), bytes and layers requested
        ratios = np.divide(s, totals, out=np.zeros(_N_ROWS), where=totals > 0)
        return CheResult(
            model=self.model,
            capacity=capacity,
            root=root.root,
            converged=root.converged,
            iterations=root.iterations,
            function_calls=root.function_calls,
            flag=root.flag,
            hit_ratio=float(min(ratios[_REQ], 1.0)),
            byte_hit_ratio=float(min(ratios[_BYTE], 1.0)),
            layer_hit_ratio=float(min(ratios[_LAYER], 1.0)) if self.inputs.structure == _LAYERED else None,
            occupancy=float(s[_OCC]),
            _model=self,
        )


def _check_capacity(capacity) -> float:
    c = float(capacity)
    if not np.isfinite(c) or c <= 0:
        raise ValueError(f"capacity must be finite and > 0 (in the unit of the sizes), got {capacity!r}")
    return c


# --------------------------------------------------------------------------
# root solve
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class _Root:
    root: float
    converged: bool
    iterations: int
    function_calls: int
    flag: str


def _solve(occupancy, capacity: float, admissible_total: float, rate_size: float) -> _Root:
    """T with ``occupancy(T) = capacity``; one bracketed Brent solve."""
    if capacity >= admissible_total * (1 - 1e-12):
        return _Root(np.inf, True, 0, 0, "capacity holds every admissible item")

    def f(T):
        return occupancy(T) - capacity

    # h(x) <= x, so occupancy(T) <= T * sum(r s): T0 = C / sum(r s) brackets from below
    lo = capacity / rate_size
    calls = 1
    if f(lo) >= 0:
        return _Root(lo, True, 0, calls, "converged")
    hi = 2.0 * lo
    calls += 1
    while f(hi) < 0:
        lo, hi = hi, 2.0 * hi
        calls += 1
        if calls > 2100:  # unreachable for capacity < admissible total
            raise RuntimeError("characteristic time: failed to bracket the root")
    root, info = brentq(f, lo, hi, xtol=_XTOL, rtol=_RTOL, maxiter=_MAXITER, full_output=True, disp=False)
    return _Root(float(root), bool(info.converged), int(info.iterations), calls + int(info.function_calls), info.flag)


# --------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CheResult:
    """Solution of a characteristic-time model at one capacity (scipy-like).

    Attributes
    ----------
    model : str
        One of :data:`CHE_MODELS`.
    capacity : float
        Cache size, in the unit of the sizes.
    root : float
        Characteristic time T in requests (also ``characteristic_time``);
        ``inf`` when every admissible item fits in the cache.
    converged : bool
        Brent's convergence flag.
    iterations, function_calls : int
        Brent iterations; occupancy evaluations including the bracketing.
    flag : str
    hit_ratio, byte_hit_ratio : float
        Request and byte hit ratios (module docstring).
    layer_hit_ratio : float or None
        Layered models: fraction of requested layers served from the cache;
        None otherwise (as :class:`~layercache.SimulationResult`).
    occupancy : float
        Model occupancy ``sum s h`` at T: ``capacity`` unless T is inf.
    """

    model: str
    capacity: float
    root: float
    converged: bool
    iterations: int
    function_calls: int
    flag: str
    hit_ratio: float
    byte_hit_ratio: float
    layer_hit_ratio: float | None
    occupancy: float
    _model: _Model = field(repr=False)

    @property
    def characteristic_time(self) -> float:
        return self.root

    @property
    def item_hit_probability(self) -> np.ndarray:
        """Probability that each item is cached, float64.

        Shape (N, L) (layers for layered models, versions otherwise) or (N,)
        for ``full``. Absent, zero-rate and oversize items get 0.
        """
        it = self._model.items
        if np.isinf(self.root):
            h = (it.rates > 0).astype(np.float64)
        else:
            h = _hit(it.rates * self.root, self._model.kind)
        h[it.span > self.capacity] = 0.0
        return h

    @property
    def request_hit_probability(self) -> np.ndarray:
        """Shape (N, L) float64: probability that a request for version l of object i hits.

        Layered FIFO (``lfifo``): the probability that layer l is cached, an
        upper bound (module docstring).
        """
        h = self.item_hit_probability
        if self._model.inputs.structure == _FULL:
            return np.repeat(h[:, None], self._model.inputs.s.shape[1], axis=1)
        return h

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "capacity": self.capacity,
            "characteristic_time": self.root,
            "converged": self.converged,
            "iterations": self.iterations,
            "hit_ratio": self.hit_ratio,
            "byte_hit_ratio": self.byte_hit_ratio,
            "layer_hit_ratio": self.layer_hit_ratio,
        }

    def to_frame(self):
        """One-row :class:`pandas.DataFrame` of :meth:`to_dict`."""
        import pandas as pd

        return pd.DataFrame([self.to_dict()])


@dataclass(frozen=True, eq=False)
class CheCurve:
    """A model solved at many capacities: arrays of shape (K,), float64 unless stated."""

    model: str
    capacity: np.ndarray
    characteristic_time: np.ndarray
    converged: np.ndarray  # bool
    iterations: np.ndarray  # int64
    hit_ratio: np.ndarray
    byte_hit_ratio: np.ndarray
    layer_hit_ratio: np.ndarray  # NaN for non-layered models

    def to_frame(self):
        """Tidy :class:`pandas.DataFrame`, one row per capacity."""
        import pandas as pd

        return pd.DataFrame(
            {
                "model": self.model,
                "capacity": self.capacity,
                "characteristic_time": self.characteristic_time,
                "converged": self.converged,
                "iterations": self.iterations,
                "hit_ratio": self.hit_ratio,
                "byte_hit_ratio": self.byte_hit_ratio,
                "layer_hit_ratio": self.layer_hit_ratio,
            }
        )


# --------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------
_PARAMS_DOC = """
    Parameters
    ----------
    popularity : array_like, shape (N,)
        Object request probabilities lambda_i (a pmf; zero entries allowed).
    version_probs : array_like, shape (L,) or (N, L), optional
        Version popularity p[i, l-1] (rows are pmfs); ``None``: version 1 only.
    sizes : Catalog or array_like, shape (N, L), optional
        A :class:`~layercache.Catalog` (layer sizes for layered models,
        stand-alone version sizes otherwise) or explicit sizes (trailing
        zeros for absent layers); ``None``: every item has size 1.
    capacity : float
        Cache size > 0 in the unit of the sizes.
"""


def che_hit_ratio(popularity, version_probs=None, sizes=None, capacity=1.0, *, model: str = "llru") -> CheResult:
    """Solve the characteristic-time model ``model`` (one of :data:`CHE_MODELS`).
    {params}
    model : {{"llru", "lru", "lfifo", "fifo", "full"}}

    Returns
    -------
    CheResult

    Raises
    ------
    ValueError
        On shapes that do not match, probabilities that do not sum to one,
        negative sizes or a capacity that is not finite and > 0.
    """
    return _Model(popularity, version_probs, sizes, model).solve(capacity)


che_hit_ratio.__doc__ = che_hit_ratio.__doc__.format(params=_PARAMS_DOC)


def che_characteristic_time(popularity, version_probs=None, sizes=None, capacity=1.0, *, model: str = "llru") -> float:
    """Characteristic time T (in requests) of ``model``; ``inf`` when every admissible item fits.

    See :func:`che_hit_ratio` for the parameters.
    """
    return che_hit_ratio(popularity, version_probs, sizes, capacity, model=model).root


def che_llru_hit_ratio(popularity, version_probs, layer_sizes, capacity) -> CheResult:
    """Layered LRU: layer (i, j) touched at ``lambda_i Q[i, j]``; version l hits iff layer l is cached.

    See :func:`che_hit_ratio` (``model="llru"``).
    """
    return che_hit_ratio(popularity, version_probs, layer_sizes, capacity, model="llru")


def che_lru_hit_ratio(popularity, version_probs, version_sizes, capacity) -> CheResult:
    """Non-layered LRU: version (i, l) is an item touched at ``lambda_i p[i, l]``.

    See :func:`che_hit_ratio` (``model="lru"``).
    """
    return che_hit_ratio(popularity, version_probs, version_sizes, capacity, model="lru")


def che_fifo_hit_ratio(popularity, version_probs, version_sizes, capacity) -> CheResult:
    """Non-layered FIFO: hit probability ``r T / (1 + r T)``. See :func:`che_hit_ratio`."""
    return che_hit_ratio(popularity, version_probs, version_sizes, capacity, model="fifo")


def che_lfifo_hit_ratio(popularity, version_probs, layer_sizes, capacity) -> CheResult:
    """Layered FIFO: per-layer FIFO form; the request hit ratio is an upper bound (module docstring).

    See :func:`che_hit_ratio`.
    """
    return che_hit_ratio(popularity, version_probs, layer_sizes, capacity, model="lfifo")


def che_full_object_hit_ratio(popularity, version_probs, version_sizes, capacity) -> CheResult:
    """LRU caching only full objects (version L serves every version). See :func:`che_hit_ratio`."""
    return che_hit_ratio(popularity, version_probs, version_sizes, capacity, model="full")


def che_hit_ratio_curve(popularity, version_probs=None, sizes=None, capacities=(1.0,), *, model: str = "llru") -> CheCurve:
    """Solve ``model`` at many capacities, sharing the O(items) work.

    The items are binned once; each capacity then costs one Brent solve over
    the bins. Parameters as :func:`che_hit_ratio`, with ``capacities`` an
    array_like of shape (K,).
    """
    caps = np.atleast_1d(np.asarray(capacities, dtype=np.float64))
    if caps.ndim != 1 or caps.size == 0:
        raise ValueError(f"capacities must be a non-empty 1-D array, got shape {caps.shape}")
    solver = _Model(popularity, version_probs, sizes, model)
    res = [solver.solve(c) for c in caps]
    return CheCurve(
        model=model,
        capacity=caps,
        characteristic_time=np.array([r.root for r in res]),
        converged=np.array([r.converged for r in res]),
        iterations=np.array([r.iterations for r in res], dtype=np.int64),
        hit_ratio=np.array([r.hit_ratio for r in res]),
        byte_hit_ratio=np.array([r.byte_hit_ratio for r in res]),
        layer_hit_ratio=np.array([np.nan if r.layer_hit_ratio is None else r.layer_hit_ratio for r in res]),
    )
