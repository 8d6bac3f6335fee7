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
(:func:`scipy.optimize.milp`) to a gap of 0, with one integer per option of
each class of interchangeable objects (equal sizes and version popularity;
:func:`_exact`), so catalogs of identical objects take seconds; a
``node_limit`` (a count, so the answer never depends on the machine's load)
stops it, and then the best solution found is returned with HiGHS's bound as
``upper_bound``. ``"greedy"`` takes the segments of each object's upper
concave hull of (cost, value) in order of decreasing value per size unit,
skipping what does not fit, then re-solves exactly the objects whose
segments lie nearest the LP break (a "core" of a few dozen objects; the rest
keep the LP's choice), keeps the better answer and states the LP-relaxation
bound, so ``upper_bound - hit_ratio`` bounds the distance to the exact
optimum. ``"auto"``: exact up to ``EXACT_MAX_ITEMS`` items, else greedy.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from dataclasses import dataclass

import numpy as np
from numba import njit

from .che import _tail_sums, _validate

__all__ = ["StaticAllocation", "static_optimum", "static_lfu_allocation", "EXACT_MAX_ITEMS"]

#: ``method="auto"`` solves exactly up to this many candidate items.
EXACT_MAX_ITEMS = 2000
#: branch-and-bound nodes allowed to one exact solve by default
NODE_LIMIT = 100_000
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
        bound (the value itself unless ``node_limit`` stopped the solver);
        NaN for ``lfu``.
    gap : float
        ``upper_bound`` minus the objective value of this allocation (not
        clamped: below 0 only by rounding, about 1e-15).
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
    ``value[g, k] = weight[g] * unit[g, k]`` (objective units); ``valid[g]``
    is a prefix of options and ``unit`` grows along it. ``weight`` is the
    object's request rate, so groups with equal ``cost`` and ``unit`` rows
    differ only in ``weight`` (the classes :func:`_exact` aggregates).
    ``served`` (3, G, K) holds the requests, bytes and layers it serves,
    ``totals`` (3,) those requested. Versions mode has one group per version.
    """

    mode: str
    shape: tuple  # (N,) or (N, L): shape of the answer
    cost: np.ndarray
    weight: np.ndarray
    unit: np.ndarray
    valid: np.ndarray
    served: np.ndarray
    totals: np.ndarray
    layers: np.ndarray  # (G, K) int64: layers the option keeps (reported in ``layers``)

    @property
    def value(self) -> np.ndarray:
        return self.weight[:, None] * self.unit


def _problem(popularity, version_probs, sizes, mode: str, objective: str) -> _Problem:
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {tuple(_MODES)}, got {mode!r}")
    if objective not in _OBJECTIVES:
        raise ValueError(f"objective must be one of {_OBJECTIVES}, got {objective!r}")
    inp = _validate(popularity, version_probs, sizes, _MODES[mode])
    lam, s = inp.lam, inp.s
    n, L = s.shape
    present = s > 0
    P = np.broadcast_to(inp.P, s.shape) * present  # requests per unit rate for version (i, l)
    levels = np.arange(1, L + 1, dtype=np.float64)
    weight = lam
    if mode == "layered":
        S = np.cumsum(s, axis=1) * present
        Q = _tail_sums(P)  # layer (i, l) is touched by requests for versions >= l
        unit = np.stack([np.cumsum(P, axis=1), np.cumsum(Q * s, axis=1), np.cumsum(Q, axis=1)])
        byte_total = (lam[:, None] * P * S).sum()
        cost, valid, shape = S, present & (lam[:, None] > 0), (n,)
        layers = np.broadcast_to(np.arange(1, L + 1), (n, L))
    elif mode == "versions":
        unit = np.stack([P, P * s, P * levels]).reshape(3, -1, 1)
        weight = np.repeat(lam, L)
        byte_total = (lam[:, None] * P * s).sum()
        cost, valid, shape = s.reshape(-1, 1), (weight[:, None] > 0) & (unit[0] > 0), (n, L)
        layers = np.ones((n * L, 1), dtype=np.int64)
    else:
        n_layers = np.count_nonzero(present, axis=1)
        cost = s[np.arange(n), n_layers - 1][:, None]
        unit = np.stack([np.ones(n), (P * s).sum(axis=1), P @ levels])[:, :, None]
        byte_total = (lam[:, None] * P * s).sum()
        valid, shape = lam[:, None] > 0, (n,)
        layers = n_layers[:, None]
    served = weight[None, :, None] * unit
    totals = np.array([1.0, byte_total, (lam[:, None] * P * levels).sum()])
    objective_unit = unit[0] if objective == "hit" else unit[1] / byte_total
    return _Problem(mode, shape, np.ascontiguousarray(cost, dtype=np.float64), np.ascontiguousarray(weight),
                    np.ascontiguousarray(objective_unit), np.ascontiguousarray(valid), served, totals,
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
        gap=float(upper) - float(achieved),
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


def _greedy(prob: _Problem, capacity: float, core: int, node_limit: int):
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
    sub, _ = _exact(prob, left, node_limit, in_core)
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


def _classes(prob: _Problem, ok: np.ndarray):
    """Groups with an option in ``ok``, by class (equal cost and unit rows), then weight descending.

    Returns (rows, starts, n_opt): group ids in that order, the first position
    of every class and each class's number of options.
    """
    n_opt = np.cumprod(ok, axis=1).sum(axis=1)  # options form a prefix
    rows = np.flatnonzero(n_opt > 0)
    keep = np.arange(ok.shape[1]) < n_opt[rows, None]
    key = np.concatenate([np.where(keep, prob.cost[rows], 0.0), np.where(keep, prob.unit[rows], 0.0),
                          n_opt[rows, None]], axis=1)  # fmt: skip
    cls = np.unique(key, axis=0, return_inverse=True)[1].ravel()
    order = np.lexsort((rows, -prob.weight[rows], cls))
    rows, cls = rows[order], cls[order]
    starts = np.flatnonzero(np.r_[True, cls[1:] != cls[:-1]])
    return rows, starts, n_opt[rows[starts]]


def _exact(prob: _Problem, capacity: float, node_limit: int, groups_mask=None):
    """Exact MCKP by HiGHS (gap 0), over the groups in ``groups_mask`` (default all).

    Returns (choice, bound): options kept per group and HiGHS's bound on the
    optimum (the optimum itself unless ``node_limit`` stopped the search).

    Groups of one class (equal cost and unit rows) differ only in their
    weight, and swapping the options of two of them towards the heavier one
    never loses: some optimum gives a class's heavier groups at least the
    options of its lighter ones. So a class needs only one integer per
    option, ``k[j]``: how many of its groups keep option j or more
    (``k[0] >= k[1] >= ...``), worth ``(unit[j] - unit[j-1])`` times the
    ``k[j]`` largest weights, written with continuous ``z`` in [0, 1] per
    group (``sum z = k[j]``; the LP fills the heaviest first). This removes
    the symmetry that makes the plain 0/1 model slow on identical objects.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_array

    ok = prob.valid & (prob.cost <= capacity)
    if groups_mask is not None:
        ok &= groups_mask[:, None]
    choice = np.zeros(prob.cost.shape[0], np.int64)
    rows, starts, n_opt = _classes(prob, ok)
    if rows.size == 0:
        return choice, 0.0
    members = np.diff(np.r_[starts, rows.size])
    # one integer k per (class, option)
    k_cls = np.repeat(np.arange(starts.size), n_opt)
    k_opt = np.arange(k_cls.size) - np.repeat(np.cumsum(n_opt) - n_opt, n_opt)
    rep = rows[starts[k_cls]]
    d_cost = prob.cost[rep, k_opt] - np.where(k_opt > 0, prob.cost[rep, k_opt - 1], 0.0)
    d_unit = prob.unit[rep, k_opt] - np.where(k_opt > 0, prob.unit[rep, k_opt - 1], 0.0)
    n_k = k_cls.size
    single = members[k_cls] == 1
    obj = [np.where(single, -d_unit * prob.weight[rep], 0.0)]
    # z per (class of several groups, option, group)
    kz = np.flatnonzero(~single)
    z_k = np.repeat(kz, members[k_cls[kz]])
    z_pos = starts[k_cls[z_k]] + np.arange(z_k.size) - np.repeat(np.cumsum(members[k_cls[kz]]) - members[k_cls[kz]],
                                                                   members[k_cls[kz]])  # fmt: skip
    obj.append(-d_unit[z_k] * prob.weight[rows[z_pos]])
    n_var = n_k + z_k.size
    # rows: capacity; k[j + 1] - k[j] <= 0; sum z - k = 0
    nested = np.flatnonzero(k_opt[1:] > 0) + 1
    link = np.arange(kz.size)
    r = [np.zeros(n_k, np.int64), 1 + np.arange(nested.size), 1 + np.arange(nested.size),
         1 + nested.size + link, 1 + nested.size + np.searchsorted(kz, z_k)]
    col = [np.arange(n_k), nested, nested - 1, kz, n_k + np.arange(z_k.size)]
    val = [d_cost, np.ones(nested.size), -np.ones(nested.size), -np.ones(kz.size), np.ones(z_k.size)]
    n_row = 1 + nested.size + kz.size
    A = coo_array((np.concatenate(val), (np.concatenate(r), np.concatenate(col))), shape=(n_row, n_var)).tocsr()
    lo = np.r_[-np.inf, np.full(nested.size, -np.inf), np.zeros(kz.size)]
    hi = np.r_[capacity, np.zeros(nested.size), np.zeros(kz.size)]
    ub = np.r_[members[k_cls], np.ones(z_k.size)].astype(np.float64)
    integrality = np.r_[np.ones(n_k), np.zeros(z_k.size)]
    # HiGHS's tolerances are absolute (1e-7 on reduced costs) and the values are rates of ~1e-5: scale the
    # objective so that its largest coefficient is 1 (unscaled, N = 10^4 objects gave a 3e-7 relative loss)
    c = np.concatenate(obj)
    scale = float(np.abs(c).max()) or 1.0
    options = {"node_limit": int(node_limit), "mip_rel_gap": 0.0, "mip_abs_gap": 0.0,
               "mip_feasibility_tolerance": 1e-9, "primal_feasibility_tolerance": 1e-9}  # fmt: skip
    with _quiet_stdout(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Unrecognized options", RuntimeWarning)  # passed to HiGHS verbatim
        res = milp(c / scale, integrality=integrality, bounds=Bounds(0, ub),
                   constraints=LinearConstraint(A, lo, hi), options=options)  # fmt: skip
    if res.x is None:
        raise RuntimeError(f"exact static optimum not found ({res.message}); use method='greedy'")
    k = np.rint(res.x[:n_k]).astype(np.int64)
    # group at position p of its class keeps the options j with k[j] > (p - class start)
    steps = np.zeros(rows.size + 1, np.int64)
    np.add.at(steps, starts[k_cls], 1)
    np.add.at(steps, starts[k_cls] + k, -1)
    choice[rows] = np.cumsum(steps)[:-1]
    bound = -scale * float(res.mip_dual_bound if res.mip_dual_bound is not None else res.fun)
    return choice, max(bound, _value(prob, choice))


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
    node_limit: int = NODE_LIMIT,
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
    node_limit : int
        Branch-and-bound nodes allowed to each exact solve (the greedy's
        core included): a count, not a time, so that the answer does not
        depend on the machine's load.
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
    if isinstance(node_limit, bool) or not isinstance(node_limit, (int, np.integer)) or node_limit < 1:
        raise ValueError(f"node_limit must be an integer >= 1 (branch-and-bound nodes), got {node_limit!r}")
    if isinstance(core, bool) or not isinstance(core, (int, np.integer)) or core < 0:
        raise ValueError(f"core must be an integer >= 0 (hull segments), got {core!r}")
    prob = _problem(popularity, version_probs, sizes, mode, objective)
    if method == "auto":
        method = "exact" if int(prob.valid.sum()) <= EXACT_MAX_ITEMS else "greedy"
    if method == "exact":
        choice, best = _exact(prob, capacity, node_limit)
        return _result(prob, choice, "exact", objective, capacity, best)
    choice, lp = _greedy(prob, capacity, core, node_limit)
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
