"""Static allocations under IRM: the optimum (a knapsack) and static LFU.

Conventions as in :mod:`layercache.che`: objects 0-based, column ``j - 1``
holds layer/version ``j``, ``popularity`` a pmf (rates per request), sizes
and ``capacity`` in one unit.

A static allocation fixes the cache content. Under IRM a request is
independent of the content at its arrival, so any non-anticipating policy's
hit ratio is an average of static allocations' hit ratios and the best static
allocation bounds it from above (Belady, which sees the future, can beat it).

* Layered (``mode="layered"``): keep the first ``m_i`` layers of object i
  (keeping a non-prefix set never helps), value ``lambda_i sum_{l <= m_i}
  p[i, l]`` (requests served), cost ``S[i, m_i]``: a multiple-choice
  knapsack.
* Non-layered (``mode="versions"``): any set of stand-alone versions, value
  ``lambda_i p[i, l]``, cost ``v[i, l]``: a 0/1 knapsack.
* Full object only (``mode="full"``): object i's full version serves all its
  requests, value ``lambda_i``, cost ``v[i, L_i]``.

``method="exact"`` solves the integer program with HiGHS
(:func:`scipy.optimize.milp`, relative gap 1e-9; if ``time_limit`` stops
it, the best solution found is returned with HiGHS's bound as
``upper_bound``); ``"greedy"`` takes the
segments of each object's upper concave hull of (cost, value) in order of
decreasing value per size unit, skipping what does not fit, then re-solves
exactly the objects whose segments lie nearest the LP break (a "core" of a
few dozen objects; the rest keep the LP's choice), keeps the better answer
and states the LP-relaxation bound, so ``upper_bound - hit_ratio`` bounds the
distance to the exact optimum. ``"auto"``: exact up to ``EXACT_MAX_ITEMS`` items, else greedy.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass

import numpy as np
from numba import njit

from .che import _tail_sums, _validate

__all__ = ["StaticAllocation", "static_optimum", "static_lfu_allocation", "EXACT_MAX_ITEMS"]

#: ``method="auto"`` solves exactly up to this many candidate items.
EXACT_MAX_ITEMS = 2000
#: relative optimality gap asked of HiGHS (0 can take minutes on catalogs of equal sizes)
_MIP_GAP = 1e-9
_MODES = {"layered": "llru", "versions": "lru", "full": "full"}
_OBJECTIVES = ("hit", "byte")


@dataclass(frozen=True, eq=False)
class StaticAllocation:
    """A static cache content and its hit ratios.

    Attributes
    ----------
    method : str
        ``"exact"``, ``"greedy"`` or ``"lfu"``.
    mode : str
        ``"layered"``, ``"versions"`` or ``"full"``.
    objective : str
        ``"hit"`` (requests) or ``"byte"`` (bytes served) maximised.
    capacity, used : float
        Cache size and the size of the content (``used <= capacity``).
    hit_ratio, byte_hit_ratio : float
        Request and byte hit ratios of the content.
    layer_hit_ratio : float or None
        Layered mode: fraction of requested layers in the content.
    upper_bound : float
        Bound on the best objective value (hit or byte ratio) of any
        allocation: the LP relaxation for ``greedy``; for ``exact`` HiGHS's
        bound (the value itself, to a relative 1e-9, unless ``time_limit``
        stopped the solver); NaN for ``lfu``.
    gap : float
        ``upper_bound`` minus the objective value of this allocation.
    layers : numpy.ndarray
        Layered and full modes: int64, shape (N,), layers (0 or L_i in full
        mode) of object i in the content. Versions mode: bool, shape (N, L),
        version (i, l) in the content.
    """

    method: str
    mode: str
    objective: str
    capacity: float
    used: float
    hit_ratio: float
    byte_hit_ratio: float
    layer_hit_ratio: float | None
    upper_bound: float
    gap: float
    layers: np.ndarray

    def to_dict(self) -> dict:
        return {
            k: getattr(self, k)
            for k in ("method", "mode", "objective", "capacity", "used", "hit_ratio", "byte_hit_ratio",
                      "layer_hit_ratio", "upper_bound", "gap")
        }  # fmt: skip

    def to_frame(self):
        """One-row :class:`pandas.DataFrame` of :meth:`to_dict`."""
        import pandas as pd

        return pd.DataFrame([self.to_dict()])


# --------------------------------------------------------------------------
# the knapsack: G groups with up to K nested options each (at most one per group)
# --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Problem:
    """A multiple-choice knapsack in the form every mode maps to.

    Group g's option k (column k, 0-based) costs ``cost[g, k]`` and is worth
    ``value[g, k]`` (objective units); ``valid[g]`` is a prefix of options.
    ``served`` (3, G, K) holds the requests, bytes and layers it serves,
    ``totals`` (3,) those requested. Versions mode has one group per version.
    """

    mode: str
    shape: tuple  # (N,) or (N, L): shape of the answer
    cost: np.ndarray
    value: np.ndarray
    valid: np.ndarray
    served: np.ndarray
    totals: np.ndarray
    layers: np.ndarray  # (G, K) int64: layers the option keeps (reported in ``layers``)


def _problem(popularity, version_probs, sizes, mode: str, objective: str) -> _Problem:
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {tuple(_MODES)}, got {mode!r}")
    if objective not in _OBJECTIVES:
        raise ValueError(f"objective must be one of {_OBJECTIVES}, got {objective!r}")
    inp = _validate(popularity, version_probs, sizes, _MODES[mode])
    lam, s = inp.lam, inp.s
    n, L = s.shape
    P = np.broadcast_to(inp.P, s.shape)
    present = s > 0
    req = lam[:, None] * P * present  # requests for version (i, l)
    levels = np.arange(1, L + 1, dtype=np.float64)
    totals = np.array([1.0, 0.0, (req * levels).sum()])
    if mode == "layered":
        S = np.cumsum(s, axis=1) * present
        touch = lam[:, None] * _tail_sums(P) * present
        served = np.stack([np.cumsum(req, axis=1), np.cumsum(touch * s, axis=1), np.cumsum(touch, axis=1)])
        totals[1] = (req * S).sum()
        cost, valid, shape = S, present & (lam[:, None] > 0), (n,)
        layers = np.broadcast_to(np.arange(1, L + 1), (n, L))
    elif mode == "versions":
        served = np.stack([req, req * s, req * levels]).reshape(3, -1, 1)
        totals[1] = (req * s).sum()
        cost, valid, shape = s.reshape(-1, 1), (req > 0).reshape(-1, 1), (n, L)
        layers = np.ones((n * L, 1), dtype=np.int64)
    else:
        n_layers = np.count_nonzero(present, axis=1)
        cost = s[np.arange(n), n_layers - 1][:, None]
        served = np.stack([lam, (req * s).sum(axis=1), req @ levels])[:, :, None]
        totals[1] = (req * s).sum()
        valid, shape = lam[:, None] > 0, (n,)
        layers = n_layers[:, None]
    value = served[0] if objective == "hit" else served[1] / totals[1]
    return _Problem(mode, shape, np.ascontiguousarray(cost, dtype=np.float64),
                    np.ascontiguousarray(value, dtype=np.float64), np.ascontiguousarray(valid), served, totals,
                    np.ascontiguousarray(layers, dtype=np.int64))  # fmt: skip


def _result(prob: _Problem, choice: np.ndarray, method: str, objective: str, capacity: float, upper: float):
    """Allocation of ``choice`` (G,) int: options kept per group, 0 = none (else option index + 1)."""
    rows = np.flatnonzero(choice > 0)
    pick = choice[rows] - 1
    used = float(prob.cost[rows, pick].sum())
    served = prob.served[:, rows, pick].sum(axis=1)
    ratios = np.divide(served, prob.totals, out=np.zeros(3), where=prob.totals > 0)
    achieved = ratios[0] if objective == "hit" else ratios[1]
    kept = np.zeros(choice.size, dtype=np.int64)
    kept[rows] = prob.layers[rows, pick]
    layers = kept.reshape(prob.shape).astype(bool) if prob.mode == "versions" else kept
    return StaticAllocation(
        method=method,
        mode=prob.mode,
        objective=objective,
        capacity=capacity,
        used=used,
        hit_ratio=float(min(ratios[0], 1.0)),
        byte_hit_ratio=float(min(ratios[1], 1.0)),
        layer_hit_ratio=float(min(ratios[2], 1.0)) if prob.mode == "layered" else None,
        upper_bound=float(upper),
        gap=max(float(upper) - float(achieved), 0.0) if np.isfinite(upper) else float("nan"),
        layers=layers,
    )


@njit(cache=True)
def _hull_kernel(cost, value, valid, capacity, seg_group, seg_from, seg_to, seg_dc, seg_dv, stack):
    """Segments of each group's upper concave hull of (cost, value), from (0, 0).

    Options with cost > capacity are left out. Writes the segments (group,
    from-option, to-option, cost and value increments; options 1-based, 0 =
    nothing kept) into the ``seg_*`` arrays and returns their number.
    ``stack`` (K + 1,) int64 scratch.
    """
    G, K = cost.shape
    n_seg = 0
    for g in range(G):
        top = 0
        stack[0] = 0  # option 0: (0, 0)
        for k in range(K):
            if not valid[g, k] or cost[g, k] > capacity:
                break
            c, v = cost[g, k], value[g, k]
            while top >= 0:
                a = stack[top]
                ca = cost[g, a - 1] if a > 0 else 0.0
                va = value[g, a - 1] if a > 0 else 0.0
                if v <= va:  # no gain over a vertex already on the hull
                    break
                if top == 0:
                    top += 1
                    stack[top] = k + 1
                    break
                b = stack[top - 1]
                cb = cost[g, b - 1] if b > 0 else 0.0
                vb = value[g, b - 1] if b > 0 else 0.0
                # keep a only if the slope b->a exceeds the slope a->(c, v)
                if (va - vb) * (c - ca) > (v - va) * (ca - cb):
                    top += 1
                    stack[top] = k + 1
                    break
                top -= 1
        for t in range(1, top + 1):
            a, b = stack[t - 1], stack[t]
            seg_group[n_seg] = g
            seg_from[n_seg] = a
            seg_to[n_seg] = b
            seg_dc[n_seg] = cost[g, b - 1] - (cost[g, a - 1] if a > 0 else 0.0)
            seg_dv[n_seg] = value[g, b - 1] - (value[g, a - 1] if a > 0 else 0.0)
            n_seg += 1
    return n_seg


@njit(cache=True)
def _greedy_kernel(order, seg_group, seg_from, seg_to, seg_dc, seg_dv, capacity, choice, blocked):
    """Take hull segments in ``order`` while they fit; return (value, LP bound).

    A group whose segment is skipped takes no later segment. The LP bound
    takes segments in order without skipping and a fraction of the first
    that does not fit. ``choice`` (G,) int64 zeros, ``blocked`` (G,) bool.
    """
    used = 0.0
    total = 0.0
    lp_used = 0.0
    lp = 0.0
    lp_open = True
    for t in range(order.size):
        k = order[t]
        g = seg_group[k]
        dc = seg_dc[k]
        dv = seg_dv[k]
        if lp_open:
            if lp_used + dc <= capacity:
                lp_used += dc
                lp += dv
            else:
                lp += dv * (capacity - lp_used) / dc
                lp_open = False
        if blocked[g] or choice[g] != seg_from[k]:
            blocked[g] = True
            continue
        if used + dc <= capacity:
            used += dc
            total += dv
            choice[g] = seg_to[k]
        else:
            blocked[g] = True
    return total, lp


def _value(prob: _Problem, choice: np.ndarray) -> float:
    rows = np.flatnonzero(choice > 0)
    return float(prob.value[rows, choice[rows] - 1].sum())


def _greedy(prob: _Problem, capacity: float, core: int):
    """Hull greedy, then the ``core`` segments either side of the LP break solved exactly.

    Returns (choice, LP bound). Groups outside the core keep their LP-prefix
    state (segments before the break taken); the core groups' options are
    chosen exactly in the capacity left (Pisinger's core idea). The better of
    the plain greedy and the core solution is kept.
    """
    G, K = prob.cost.shape
    m = G * K
    seg = (np.empty(m, np.int64), np.empty(m, np.int64), np.empty(m, np.int64), np.empty(m), np.empty(m))
    n_seg = _hull_kernel(prob.cost, prob.value, prob.valid, capacity, *seg, np.empty(K + 1, np.int64))
    seg = tuple(a[:n_seg] for a in seg)
    order = np.argsort(-(seg[4] / seg[3]), kind="stable")
    choice = np.zeros(G, np.int64)
    _, lp = _greedy_kernel(order, *seg, capacity, choice, np.zeros(G, np.bool_))
    if core <= 0 or n_seg == 0:
        return choice, lp
    brk = int(np.searchsorted(np.cumsum(seg[3][order]), capacity, side="right"))  # first segment not fitting
    if brk >= n_seg:
        return choice, lp  # everything fits: the greedy is optimal
    groups = seg[0]
    in_core = np.zeros(G, np.bool_)
    in_core[groups[order[max(brk - core, 0) : brk + core]]] = True
    prefix = np.zeros(G, np.int64)
    taken = order[:brk]
    np.maximum.at(prefix, groups[taken], seg[2][taken])  # hull options grow along a group's segments
    prefix[in_core] = 0
    left = capacity - float(prob.cost[np.flatnonzero(prefix), prefix[prefix > 0] - 1].sum())
    sub, _ = _exact(prob, left, 10.0, in_core)
    refined = np.where(in_core, sub, prefix)
    if _value(prob, refined) > _value(prob, choice):
        choice = refined
    return choice, lp


@contextlib.contextmanager
def _quiet_stdout():
    """Silence file descriptor 1: HiGHS (scipy 1.17) prints MIP debug lines from C++."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no usable descriptor 1: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _exact(prob: _Problem, capacity: float, time_limit: float, groups_mask=None):
    """Exact MCKP by HiGHS (relative gap 0), over the groups in ``groups_mask`` (default all)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import csr_array

    ok = prob.valid & (prob.cost <= capacity)
    if groups_mask is not None:
        ok &= groups_mask[:, None]
    groups, options = np.nonzero(ok)
    choice = np.zeros(prob.cost.shape[0], np.int64)
    if groups.size == 0:
        return choice, 0.0
    c = -prob.value[groups, options]
    cost = prob.cost[groups, options]
    cons = [LinearConstraint(cost[None, :], -np.inf, capacity)]
    if prob.cost.shape[1] > 1:  # at most one option per group
        _, row = np.unique(groups, return_inverse=True)
        a = csr_array((np.ones(groups.size), (row, np.arange(groups.size))))
        cons.append(LinearConstraint(a, -np.inf, 1.0))
    with _quiet_stdout():
        res = milp(c, integrality=np.ones(c.size), bounds=Bounds(0, 1), constraints=cons,
                   options={"mip_rel_gap": _MIP_GAP, "time_limit": float(time_limit)})  # fmt: skip
    if res.x is None:
        raise RuntimeError(f"exact static optimum not found ({res.message}); use method='greedy'")
    x = res.x > 0.5
    choice[groups[x]] = options[x] + 1
    # HiGHS's dual bound: the optimum is at most this (equal to the value when solved to the gap)
    bound = -float(getattr(res, "mip_dual_bound", res.fun) or res.fun)
    return choice, max(bound, float(-res.fun))


# --------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------
def static_optimum(
    popularity,
    version_probs=None,
    sizes=None,
    capacity=1.0,
    *,
    mode: str = "layered",
    method: str = "auto",
    objective: str = "hit",
    time_limit: float = 60.0,
    core: int = 64,
) -> StaticAllocation:
    """Best static cache content under IRM (module docstring).

    Parameters
    ----------
    popularity : array_like, shape (N,)
        Object request probabilities (a pmf).
    version_probs : array_like, shape (L,) or (N, L), optional
        Version popularity (rows are pmfs); ``None``: version 1 only.
    sizes : Catalog or array_like, shape (N, L), optional
        A :class:`~layercache.Catalog` (layer sizes in layered mode, version
        sizes otherwise) or explicit sizes; ``None``: unit sizes.
    capacity : float
        Cache size > 0, in the unit of the sizes.
    mode : {"layered", "versions", "full"}
    method : {"auto", "exact", "greedy"}
    objective : {"hit", "byte"}
        Maximise the request hit ratio or the byte hit ratio.
    time_limit : float
        Seconds allowed to the exact solver.
    core : int
        Greedy: hull segments on each side of the LP break whose groups are
        then re-solved exactly (0: the plain hull greedy).

    Returns
    -------
    StaticAllocation
    """
    from .che import _check_capacity

    capacity = _check_capacity(capacity)
    if method not in ("auto", "exact", "greedy"):
        raise ValueError(f"method must be 'auto', 'exact' or 'greedy', got {method!r}")
    prob = _problem(popularity, version_probs, sizes, mode, objective)
    if method == "auto":
        method = "exact" if int(prob.valid.sum()) <= EXACT_MAX_ITEMS else "greedy"
    if method == "exact":
        choice, best = _exact(prob, capacity, time_limit)
        return _result(prob, choice, "exact", objective, capacity, best)
    choice, lp = _greedy(prob, capacity, core)
    return _result(prob, choice, "greedy", objective, capacity, lp)


def static_lfu_allocation(popularity, version_probs=None, sizes=None, capacity=1.0, *, mode: str = "layered"):
    """The content perfect LFU converges to under IRM: items by decreasing touch rate.

    Items (layers touched at ``lambda_i Q[i, j]``, versions at ``lambda_i
    p[i, l]`` or full objects at ``lambda_i``; ties: lower layer, then lower
    object id first) are taken in rank order until the first that does not
    fit. In layered mode this keeps a prefix of every object's layers.
    Perfect LFU with demand paging also gives one item's room to the item
    just missed, so its hit ratio settles between this allocation's at
    ``capacity`` minus one (largest) item and at ``capacity``.
    Parameters as :func:`static_optimum`; ``upper_bound`` and ``gap`` are NaN.
    """
    from .che import _check_capacity

    capacity = _check_capacity(capacity)
    prob = _problem(popularity, version_probs, sizes, mode, "hit")
    G, K = prob.cost.shape
    if mode == "layered":
        inp = _validate(popularity, version_probs, sizes, "llru")
        Q = _tail_sums(np.broadcast_to(inp.P, inp.s.shape))
        rate = inp.lam[:, None] * Q
        item_size = inp.s
    else:
        rate = prob.served[0]  # requests served = touch rate of the version / object
        item_size = prob.cost
    rate = np.where(prob.valid, rate, 0.0).reshape(-1)
    order = np.argsort(-rate, kind="stable")  # flat (group, option) order breaks ties
    order = order[rate[order] > 0]
    fits = np.cumsum(item_size.reshape(-1)[order]) <= capacity * (1 + 1e-12)
    n_keep = int(np.argmin(fits)) if not fits.all() else fits.size
    kept = order[:n_keep]
    choice = np.zeros(G, np.int64)
    np.maximum.at(choice, kept // K, kept % K + 1)
    return _result(prob, choice, "lfu", "hit", capacity, float("nan"))
