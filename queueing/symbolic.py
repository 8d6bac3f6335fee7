"""Symbolic derivations (sympy) of the fluid capacities of :mod:`queueing.fluid`.

Units: seconds, tokens, requests/s; notation of :mod:`queueing.theory`.
sympy is imported inside the functions so that ``import queueing`` stays fast.

Each derivation writes the stationary balance equations of a policy and lets
sympy solve them for the arrival rate at which the prefill backlog stops
draining (the capacity):

* dynamic (``"rad"``, ``"sarathi"``): full batches of ``B`` rows, unknowns
  ``lambda, tau, y``::

      lambda E[P] tau = B - y        (prefill rows per iteration)
      y = lambda E[D-1] tau          (Little's law: every decode runs each iteration)
      tau = G + c lambda E[A] tau    (row cost G = g(B), attention of the population)

* static split, prefill-bound branch: ``lambda E[P] tau = B_p`` with
  ``G = g(B_p + y)``; decode-bound branch: ``lambda E[D-1] tau = B_d`` and a
  fraction ``beta = lambda E[P] tau / B_p`` of iterations with prompt rows,
  ``tau = beta g(B_p + B_d) + (1 - beta) g(B_d) + c lambda E[A] tau``; the
  branch is the one whose ``r`` (``B_p / E[P]`` or ``B_d / E[D-1]``) is smaller;
* vLLM: time fractions ``alpha`` (prefill, ``tau_p`` per request) and
  ``1 - alpha`` (decode batches of ``Y`` requests lasting ``t_d``) with
  ``lambda = alpha / tau_p = (1 - alpha) Y / (E[D-1] t_d)``.

``G`` stays a symbol in the solution and is then replaced by the row cost of
the latency model, written symbolically: ``Max`` of affine pieces
(:class:`~queueing.latency.PiecewiseLatency`, affine as one piece) or
``t0 + per_tile * ceiling(n / tile)`` (:class:`~queueing.latency.TileLatency`).
:func:`capacity_function` lambdifies the result; the tests check it against
:func:`queueing.fluid.fluid_capacity` to 1e-10.
"""

__all__ = ["derive_capacity", "row_cost_expr", "capacity_function"]


def _symbols():
    import sympy as sp

    names = "lam tau y EP ED EA B Bp Bd c G G_off tau_p t_d Y alpha"
    return dict(zip(names.split(), sp.symbols(names, positive=True)))


def derive_capacity(policy):
    """Closed-form capacity of a policy in terms of the row cost ``G``.

    Parameters
    ----------
    policy : {"rad", "sarathi", "static-prefill", "static-decode", "vllm"}

    Returns
    -------
    expr : sympy.Expr
        The capacity (requests/s) in the symbols ``EP, ED, EA, B, Bp, Bd, c,
        G, tau_p, t_d, Y``.
    rows : sympy.Expr, tuple or None
        The batch's row count ``n`` at which ``G = g(n)`` is to be taken; a
        pair ``(n_on, n_off)`` for ``G`` and ``G_off``; ``None`` for vLLM,
        whose ``t_d`` and ``tau_p`` are inputs.
    """
    import sympy as sp

    s = _symbols()
    lam, tau, y, EP, ED, EA, c, G = (s[k] for k in ("lam", "tau", "y", "EP", "ED", "EA", "c", "G"))
    if policy in ("rad", "sarathi"):
        eqs = [sp.Eq(lam * EP * tau, s["B"] - y), sp.Eq(y, lam * ED * tau), sp.Eq(tau, G + c * lam * EA * tau)]
        rows = s["B"]
    elif policy == "static-prefill":
        eqs = [sp.Eq(lam * EP * tau, s["Bp"]), sp.Eq(y, lam * ED * tau), sp.Eq(tau, G + c * lam * EA * tau)]
        rows = s["Bp"] + s["Bp"] * ED / EP
    elif policy == "static-decode":
        # a fraction beta = lam E[P] tau / B_p of iterations carries prompt rows (cost G),
        # the rest only the B_d decodes (cost G_off)
        beta = lam * EP * tau / s["Bp"]
        eqs = [sp.Eq(lam * ED * tau, s["Bd"]), sp.Eq(y, s["Bd"]),
               sp.Eq(tau, beta * G + (1 - beta) * s["G_off"] + c * lam * EA * tau)]
        rows = (s["Bp"] + s["Bd"], s["Bd"])
    elif policy == "vllm":
        alpha = s["alpha"]
        sol = sp.solve([sp.Eq(lam, alpha / s["tau_p"]),
                        sp.Eq(lam, (1 - alpha) * s["Y"] / (ED * s["t_d"]))], [lam, alpha], dict=True)
        return sp.simplify(sol[0][lam]), None
    else:
        raise ValueError(f"unknown policy {policy!r}; choose rad, sarathi, static-prefill, static-decode, vllm")
    sol = sp.solve(eqs, [lam, tau, y], dict=True)
    good = [d[lam] for d in sol if d[lam] != 0]
    return sp.simplify(good[0]), rows


def row_cost_expr(latency, n):
    """The latency model's row cost ``g(n)`` as a sympy expression in ``n``.

    Supports :class:`~queueing.latency.AffineLatency`,
    :class:`~queueing.latency.PiecewiseLatency` and
    :class:`~queueing.latency.TileLatency`; raises ``ValueError`` otherwise.
    """
    import sympy as sp

    from .latency import AffineLatency, PiecewiseLatency, TileLatency

    if isinstance(latency, AffineLatency):
        return sp.Float(latency.t0) + sp.Float(latency.per_token) * n
    if isinstance(latency, PiecewiseLatency):
        return sp.Max(*[sp.Float(a) + sp.Float(b) * n for a, b in latency.pieces])
    if isinstance(latency, TileLatency):
        return sp.Float(latency.t0) + sp.Float(latency.per_tile) * sp.ceiling(n / latency.tile)
    raise ValueError(f"no symbolic row cost for {type(latency).__name__}")


def capacity_function(policy, latency=None):
    """Lambdified closed-form capacity for a latency model.

    Parameters
    ----------
    policy : {"rad", "sarathi", "static", "vllm"}
    latency : latency model or None (default calibrated model)

    Returns
    -------
    callable
        ``f(moments, **budgets)`` -> requests/s, where ``moments`` is a
        :class:`queueing.theory.WorkloadMoments` and budgets are
        ``token_budget`` (rad, sarathi), ``prefill_budget`` and ``decode_budget``
        (static), ``tau_p`` and ``Y`` (vllm). Memory limits are not applied
        (use parameters at which they do not bind, or the numeric functions).
    """
    import sympy as sp

    from .latency import default_latency

    lat = default_latency() if latency is None else latency
    s = _symbols()
    c_val = float(lat.per_context_token)
    args = [s[k] for k in ("EP", "ED", "EA", "B", "Bp", "Bd", "tau_p", "Y")]

    def build(name):
        expr, rows = derive_capacity(name)
        if rows is None:
            n = sp.Symbol("n", positive=True)
            t_d = row_cost_expr(lat, s["Y"]) + s["c"] * s["EA"] / s["ED"] * s["Y"]
            expr = expr.subs(s["t_d"], t_d)
        elif isinstance(rows, tuple):
            expr = expr.subs({s["G"]: row_cost_expr(lat, rows[0]), s["G_off"]: row_cost_expr(lat, rows[1])})
        else:
            expr = expr.subs(s["G"], row_cost_expr(lat, rows))
        return sp.lambdify(args, expr.subs(s["c"], c_val), modules=["numpy"])

    if policy in ("rad", "sarathi"):
        f = build(policy)

        def cap(mom, token_budget=512):
            return float(f(mom.mean_prompt, mom.mean_decodes, mom.mean_context, token_budget, 0, 0, 0, 0))
    elif policy == "static":
        fp, fd = build("static-prefill"), build("static-decode")

        def cap(mom, prefill_budget, decode_budget):
            a = (mom.mean_prompt, mom.mean_decodes, mom.mean_context, 0, prefill_budget, decode_budget, 0, 0)
            prefill_bound = prefill_budget / mom.mean_prompt <= decode_budget / mom.mean_decodes
            return float(fp(*a) if prefill_bound else fd(*a))
    elif policy == "vllm":
        f = build("vllm")

        def cap(mom, tau_p, Y):
            return float(f(mom.mean_prompt, mom.mean_decodes, mom.mean_context, 0, 0, 0, tau_p, Y))
    else:
        raise ValueError(f"unknown policy {policy!r}; choose rad, sarathi, static, vllm")
    return cap
