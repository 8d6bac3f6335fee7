"""The characteristic-time models as sympy expressions, and when splitting a layer helps.

Conventions as in :mod:`layercache.che` (objects 0-based, layers/versions
1-based in names and 0-based in array columns, T in requests). sympy is
imported inside the functions, so importing this module stays cheap.

Part 1: per-item expressions (:func:`che_item_expressions`), the fixed-point
equation and hit ratio of a small explicit catalog
(:func:`che_fixed_point_equation`, :func:`che_hit_ratio_expression`) and
their lambdified numeric twins (:func:`lambdify_che`).

Part 2: splitting layer k of every object into a lower part ``a`` (size
``x s_k``) and an upper part ``b`` (size ``(1 - x)(1 + theta) s_k``, theta the
overhead of the extra layer), a share ``phi`` of the requests for version k
moving to the new intermediate version (served by layers ``1..k-1, a``).
Under LLRU (model of :func:`layercache.che_llru_hit_ratio`), at a fixed T:

* part ``a`` is touched as the old layer was, ``lambda Q_k``; part ``b`` at
  ``lambda (Q_k - phi p_k)``, so it holds less memory;
* requests for versions ``> k`` hit as before (layer prefixes), the ``phi``
  share of version k hits as before, the other ``1 - phi`` share hits less.

So at fixed T the split loses hits ``-dH(T) >= 0`` and changes the
occupancy by ``dO(T)`` (negative unless theta is large). The cache then
re-balances: T moves to T' with ``O(T') + dO(T') = C``. To first order
(implicit function theorem)::

    H_new - H_old ~= dH(T) - eta(T) dO(T),   eta(T) = H'(T) / O'(T),

``eta`` being the marginal hit ratio per unit of cache. Splitting helps iff
the memory it frees, valued at ``eta``, exceeds the hits it loses:
``-dO(T) eta(T) > -dH(T)``. More layers hurt when most requests want high
versions (``phi p_k`` small relative to ``Q_k``: little memory is freed)
while the lost share ``(1 - phi) p_k`` is large, when theta makes the split
bytes dearer, and when eta is small (a large cache). :func:`split_derivation`
returns these expressions; :func:`layer_split_effect` evaluates them and
the exact model change (two root solves).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .che import _tail_sums, _validate, che_llru_hit_ratio

__all__ = [
    "che_item_expressions",
    "che_fixed_point_equation",
    "che_hit_ratio_expression",
    "lambdify_che",
    "split_derivation",
    "split_layer",
    "layer_split_effect",
    "LayerSplitEffect",
]

_MODELS = ("llru", "lru", "lfifo", "fifo")


def _hit_expr(rate_T, model: str):
    import sympy as sp

    if model in ("llru", "lru"):
        return 1 - sp.exp(-rate_T)
    return rate_T / (1 + rate_T)


def che_item_expressions(model: str = "llru") -> dict:
    """Per-item expressions of a characteristic-time model.

    Symbols: ``lam`` (object rate), ``q`` (touch probability of the item:
    ``Q[i, j]`` for a layer, ``p[i, l]`` for a stand-alone version), ``p``
    (probability of the version the item serves as its top layer), ``l``
    (its layer/version number), ``s`` (size), ``T``.

    Returns
    -------
    dict
        ``symbols`` (tuple lam, q, p, l, s, T) and expressions ``hit``
        (probability the item is cached), ``occupancy`` (``s * hit``),
        ``request`` (request hits per request it earns), ``byte`` (bytes
        served per request) and ``layer`` (layers served per request).
    """
    import sympy as sp

    if model not in _MODELS:
        raise ValueError(f"model must be one of {_MODELS}, got {model!r}")
    lam, q, p, s, T = sp.symbols("lam q p s T", positive=True)
    l = sp.Symbol("l", positive=True, integer=True)  # noqa: E741
    h = _hit_expr(lam * q * T, model)
    layered = model in ("llru", "lfifo")
    return {
        "symbols": (lam, q, p, l, s, T),
        "hit": h,
        "occupancy": s * h,
        "request": lam * p * h,
        "byte": lam * q * s * h,
        "layer": lam * q * h if layered else lam * q * l * h,
    }


def _catalog_symbols(n_objects: int, n_layers: int):
    import sympy as sp

    n, L = int(n_objects), int(n_layers)
    if n < 1 or L < 1:
        raise ValueError(f"n_objects and n_layers must be >= 1, got {n_objects}, {n_layers}")
    lam = sp.symbols(f"lam0:{n}", positive=True)
    p = sp.Matrix(n, L, lambda i, j: sp.Symbol(f"p{i}_{j + 1}", nonnegative=True))
    s = sp.Matrix(n, L, lambda i, j: sp.Symbol(f"s{i}_{j + 1}", positive=True))
    T, C = sp.symbols("T C", positive=True)
    return lam, p, s, T, C


def _rates(lam, p, model):
    """Touch probability of item (i, j): tail sum (layered) or the version's own."""
    import sympy as sp

    n, L = p.shape
    if model in ("llru", "lfifo"):
        return sp.Matrix(n, L, lambda i, j: sum(p[i, k] for k in range(j, L)))
    return p


def che_fixed_point_equation(n_objects: int, n_layers: int, model: str = "llru"):
    """``sum_{i,j} s_ij h(lam_i q_ij T) = C`` for an explicit catalog, as ``sympy.Eq``.

    Returns
    -------
    (sympy.Eq, dict)
        The equation and the symbols: ``lam`` (tuple), ``p`` and ``s``
        (Matrices N x L), ``T``, ``C``.
    """
    import sympy as sp

    lam, p, s, T, C = _catalog_symbols(n_objects, n_layers)
    q = _rates(lam, p, model)
    occ = sum(s[i, j] * _hit_expr(lam[i] * q[i, j] * T, model) for i in range(len(lam)) for j in range(p.shape[1]))
    return sp.Eq(occ, C), {"lam": lam, "p": p, "s": s, "T": T, "C": C}


def che_hit_ratio_expression(n_objects: int, n_layers: int, model: str = "llru"):
    """Request hit ratio ``sum_{i,l} lam_i p_il h(lam_i q_il T)`` of an explicit catalog.

    Same symbols as :func:`che_fixed_point_equation`; returns (expression, symbols).
    """
    _, sym = che_fixed_point_equation(n_objects, n_layers, model)
    lam, p, T = sym["lam"], sym["p"], sym["T"]
    q = _rates(lam, p, model)
    expr = sum(lam[i] * p[i, j] * _hit_expr(lam[i] * q[i, j] * T, model)
               for i in range(len(lam)) for j in range(p.shape[1]))  # fmt: skip
    return expr, sym


@dataclass(frozen=True)
class _Lambdified:
    """Numeric twins of the per-item expressions (numpy-vectorised)."""

    model: str
    hit: object
    occupancy: object
    request: object
    byte: object
    layer: object

    def _items(self, popularity, version_probs, sizes, T):
        lam = np.asarray(popularity, dtype=np.float64)[:, None]
        s = np.asarray(sizes, dtype=np.float64)
        p = np.broadcast_to(np.asarray(version_probs, dtype=np.float64), s.shape)
        layered = self.model in ("llru", "lfifo")
        q = _tail_sums(p) if layered else p
        level = np.arange(1, s.shape[1] + 1, dtype=np.float64)
        return lam, q, p, level, s, float(T)

    def occupancy_at(self, popularity, version_probs, sizes, T) -> float:
        """``sum s h`` at characteristic time ``T``."""
        return float(np.sum(self.occupancy(*self._items(popularity, version_probs, sizes, T))))

    def hit_ratio_at(self, popularity, version_probs, sizes, T) -> float:
        """Request hit ratio at ``T`` (popularity and version_probs pmfs)."""
        return float(np.sum(self.request(*self._items(popularity, version_probs, sizes, T))))

    def byte_hit_ratio_at(self, popularity, version_probs, sizes, T) -> float:
        args = self._items(popularity, version_probs, sizes, T)
        lam, q, _, _, s, _ = args
        return float(np.sum(self.byte(*args)) / np.sum(lam * q * s))

    def item_hit_probability_at(self, popularity, version_probs, sizes, T) -> np.ndarray:
        args = self._items(popularity, version_probs, sizes, T)
        return np.broadcast_to(self.hit(*args), args[4].shape).copy()


@lru_cache(maxsize=None)
def lambdify_che(model: str = "llru") -> _Lambdified:
    """Lambdify :func:`che_item_expressions` (numpy) into vectorised functions.

    The returned object has ``hit``, ``occupancy``, ``request``, ``byte`` and
    ``layer`` callables of ``(lam, q, p, l, s, T)`` and helpers
    ``occupancy_at``, ``hit_ratio_at``, ``byte_hit_ratio_at`` and
    ``item_hit_probability_at`` taking ``(popularity (N,), version_probs (L,)
    or (N, L), sizes (N, L), T)``.
    """
    import sympy as sp

    ex = che_item_expressions(model)
    args = ex["symbols"]
    f = {k: sp.lambdify(args, ex[k], modules="numpy") for k in ("hit", "occupancy", "request", "byte", "layer")}
    return _Lambdified(model, **f)


# --------------------------------------------------------------------------
# splitting a layer
# --------------------------------------------------------------------------
@lru_cache(maxsize=None)
def split_derivation() -> dict:
    """Symbolic change of the LLRU model when layer k is split (module docstring).

    Symbols (per object): ``lam``, ``Q`` (touch probability of layer k),
    ``pk`` (probability of version k), ``sk`` (size of layer k), ``x``
    (size share of the lower part), ``phi`` (share of version-k requests
    moving to the new lower version), ``theta`` (overhead on the upper
    part), ``T``.

    Returns
    -------
    dict
        ``symbols``; per-object ``dO`` (occupancy change at fixed T), ``dH``
        (request hit change at fixed T, <= 0), ``dO_dT`` and ``dH_dT``
        (per-object derivatives of an item of touch rate ``lam q`` for
        building ``O'`` and ``H'``), and ``first_order``, the sympy
        expression ``dH - eta dO`` in a symbol ``eta``; ``helps`` is the
        inequality ``first_order > 0``.
    """
    import sympy as sp

    lam, Q, pk, sk, x, phi, theta, T, eta = sp.symbols("lam Q pk sk x phi theta T eta", nonnegative=True)
    h = lambda r: 1 - sp.exp(-r * T)  # noqa: E731
    rate_a, rate_b = lam * Q, lam * (Q - phi * pk)
    before_occ = sk * h(rate_a)
    after_occ = x * sk * h(rate_a) + (1 - x) * (1 + theta) * sk * h(rate_b)
    before_hit = lam * pk * h(rate_a)
    after_hit = lam * phi * pk * h(rate_a) + lam * (1 - phi) * pk * h(rate_b)
    dO = after_occ - before_occ  # unsimplified: sums of 1 - exp(-x) stay finite numerically
    dH = after_hit - before_hit
    q, p, s = sp.symbols("q p s", nonnegative=True)
    # whole-cache occupancy O(T), hit ratio H(T) and their T-derivatives, as symbols
    # catalog totals: O', O'', H', H'' at T; dO, dH and their T-derivatives summed over objects
    O1, O2, H1, H2, DO, DH, DO1, DH1 = sp.symbols("O1 O2 H1 H2 DO DH DO1 DH1")
    first_order = dH - eta * dO
    # second order in the size of the change: T' = T + tau with O(T') + DO(T') = O(T)
    tau1 = -DO / O1
    tau2 = -(O2 * tau1**2 / 2 + DO1 * tau1) / O1
    second_order = DH + H1 * (tau1 + tau2) + H2 * tau1**2 / 2 + DH1 * tau1
    return {
        "symbols": (lam, Q, pk, sk, x, phi, theta, T, eta),
        "dO": dO,
        "dH": dH,
        "dO_dT": sp.diff(dO, T),
        "dH_dT": sp.diff(dH, T),
        "item_occupancy": s * (1 - sp.exp(-lam * q * T)),
        "item_hits": lam * p * (1 - sp.exp(-lam * q * T)),
        "item_symbols": (lam, q, p, s, T),
        "first_order": first_order,
        "second_order": second_order,
        "cache_symbols": (O1, O2, H1, H2, DO, DH, DO1, DH1),
        "helps": sp.StrictGreaterThan(first_order, 0),
    }


@lru_cache(maxsize=None)
def _split_functions():
    """Lambdified per-object dO, dH, their T-derivatives, and per-item O', O'', H', H''."""
    import sympy as sp

    d = split_derivation()
    lam, Q, pk, sk, x, phi, theta, T, _ = d["symbols"]
    args = (lam, Q, pk, sk, x, phi, theta, T)
    per_object = [sp.lambdify(args, d[k], modules="numpy") for k in ("dO", "dH", "dO_dT", "dH_dT")]
    T_ = d["item_symbols"][-1]
    per_item = [
        sp.lambdify(d["item_symbols"], sp.diff(d[k], T_, n), modules="numpy")
        for k in ("item_occupancy", "item_hits")
        for n in (1, 2)
    ]
    second = sp.lambdify(d["cache_symbols"], d["second_order"], modules="numpy")
    return per_object, per_item, second


def split_layer(version_probs, layer_sizes, layer: int, size_fraction: float = 0.5,
                prob_fraction: float = 0.5, overhead: float = 0.0):  # fmt: skip
    """Catalog after splitting layer ``layer`` (1-based) of every object in two.

    Parameters
    ----------
    version_probs : array_like, shape (L,) or (N, L)
    layer_sizes : Catalog or array_like, shape (N, L)
    layer : int
        k in ``1..L``.
    size_fraction : float
        x in (0, 1): the lower part has size ``x s_k``.
    prob_fraction : float
        phi in [0, 1]: share of version-k requests that move to the new
        lower version k (the old version k becomes version k + 1).
    overhead : float
        theta >= 0: the upper part has size ``(1 - x)(1 + theta) s_k``.

    Returns
    -------
    (version_probs, layer_sizes)
        Shapes (L + 1,) or (N, L + 1), and (N, L + 1), float64.
    """
    from .catalog import Catalog

    s = np.asarray(layer_sizes.layer_sizes if isinstance(layer_sizes, Catalog) else layer_sizes, dtype=np.float64)
    p = np.asarray(version_probs, dtype=np.float64)
    if s.ndim != 2 or p.shape[-1] != s.shape[1]:
        raise ValueError(f"version_probs {p.shape} and layer_sizes {s.shape} must have the same number L of columns")
    L = s.shape[1]
    k = int(layer)
    if k != layer or not 1 <= k <= L:
        raise ValueError(f"layer must be an integer in 1..{L}, got {layer!r}")
    if not 0.0 < size_fraction < 1.0:
        raise ValueError(f"size_fraction must lie in (0, 1), got {size_fraction!r}")
    if not 0.0 <= prob_fraction <= 1.0:
        raise ValueError(f"prob_fraction must lie in [0, 1], got {prob_fraction!r}")
    if not (np.isfinite(overhead) and overhead >= 0):
        raise ValueError(f"overhead must be finite and >= 0, got {overhead!r}")
    j = k - 1
    sk = s[:, j]
    s_new = np.concatenate([s[:, :j], (size_fraction * sk)[:, None],
                            ((1 - size_fraction) * (1 + overhead) * sk)[:, None], s[:, j + 1:]], axis=1)  # fmt: skip
    pk = p[..., j : j + 1]
    p_new = np.concatenate([p[..., :j], prob_fraction * pk, (1 - prob_fraction) * pk, p[..., j + 1 :]], axis=-1)
    return p_new, s_new


@dataclass(frozen=True)
class LayerSplitEffect:
    """Effect on the LLRU request hit ratio of splitting one layer (see :func:`layer_split_effect`).

    Attributes
    ----------
    hit_ratio_before, hit_ratio_after : float
        Model hit ratios (each from its own root solve).
    delta : float
        ``hit_ratio_after - hit_ratio_before`` (exact within the model).
    first_order : float
        The derived estimate ``dH(T) - eta(T) dO(T)``.
    second_order : float
        The estimate to second order in the change (``split_derivation``).
    hits_lost : float
        ``-dH(T)`` >= 0, at the old characteristic time T.
    memory_freed : float
        ``-dO(T)``, in size units (negative: the split needs more memory).
    marginal_value : float
        ``eta(T) = H'(T) / O'(T)``, hit ratio per size unit of cache.
    helps : bool
        ``delta > 0``.
    criterion_helps : bool
        ``second_order > 0``: the derivation's answer (one root solve).
    """

    hit_ratio_before: float
    hit_ratio_after: float
    delta: float
    first_order: float
    second_order: float
    hits_lost: float
    memory_freed: float
    marginal_value: float
    helps: bool
    criterion_helps: bool


def layer_split_effect(popularity, version_probs, layer_sizes, capacity, layer: int, size_fraction: float = 0.5,
                       prob_fraction: float = 0.5, overhead: float = 0.0) -> LayerSplitEffect:  # fmt: skip
    """Does splitting layer ``layer`` of every object into two raise or lower the LLRU hit ratio?

    Evaluates the derivation of :func:`split_derivation` (memory freed
    valued at the marginal hit ratio per size unit, against the hits lost)
    and the exact model change (LLRU model before and after
    :func:`split_layer`). Parameters as :func:`split_layer` and
    :func:`layercache.che_llru_hit_ratio`.

    Returns
    -------
    LayerSplitEffect
    """
    inp = _validate(popularity, version_probs, layer_sizes, "llru")
    p_new, s_new = split_layer(inp.P if inp.P.shape[0] > 1 else inp.P[0], inp.s, layer, size_fraction,
                               prob_fraction, overhead)  # fmt: skip
    before = che_llru_hit_ratio(inp.lam, inp.P if inp.P.shape[0] > 1 else inp.P[0], inp.s, capacity)
    after = che_llru_hit_ratio(inp.lam, p_new, s_new, capacity)
    T = before.root
    P = np.broadcast_to(inp.P, inp.s.shape)
    Q = _tail_sums(P)
    j = int(layer) - 1
    (f_dO, f_dH, f_dO1, f_dH1), (f_O1, f_O2, f_H1, f_H2), f_second = _split_functions()
    if np.isinf(T):  # everything cached before: the split can only lose
        dO = dH = eta = first = second = 0.0
    else:
        args = (inp.lam, Q[:, j], P[:, j], inp.s[:, j], size_fraction, prob_fraction, overhead, T)
        dO, dH, dO1, dH1 = (float(np.sum(f(*args))) for f in (f_dO, f_dH, f_dO1, f_dH1))
        item_args = (inp.lam[:, None], Q, P, inp.s, T)
        ok = inp.s > 0
        O1, O2, H1, H2 = (float(np.sum(np.where(ok, f(*item_args), 0.0))) for f in (f_O1, f_O2, f_H1, f_H2))
        eta = H1 / O1 if O1 > 0 else 0.0
        first = dH - eta * dO
        second = float(f_second(O1, O2, H1, H2, dO, dH, dO1, dH1)) if O1 > 0 else first
    delta = after.hit_ratio - before.hit_ratio
    return LayerSplitEffect(
        hit_ratio_before=before.hit_ratio,
        hit_ratio_after=after.hit_ratio,
        delta=delta,
        first_order=first,
        second_order=second,
        hits_lost=-dH,
        memory_freed=-dO,
        marginal_value=eta,
        helps=bool(delta > 0),
        criterion_helps=bool(second > 0),
    )
