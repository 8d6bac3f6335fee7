"""Fluid model of LLM serving: prefill backlog and decode population as ODEs.

Units: seconds, tokens, requests/s. Builds on the server model and notation of
:mod:`queueing.theory` (``g``, ``c``, ``W = E[P] + E[D-1]``, ``E[A]``).

State
-----
``x(t)``: prefill backlog in tokens (prompt tokens that have arrived and are
not yet prefilled); ``y(t)``: fluid number of requests in decode. Arrivals add
prompt tokens at rate ``lambda E[P]``. If iterations carry ``p`` prefill rows
and ``d`` decodes and last ``tau = g(p + d) + c d kappa`` seconds, with
``kappa = E[A] / E[D-1]`` the mean context of a decoding request::

    dx/dt = lambda E[P] - p / tau
    dy/dt = (p / tau) / E[P] - (d / tau) / E[D-1]

Prefilled tokens turn into decoding requests at one request per ``E[P]``
tokens, and a decode step completes a request with probability
``1 / E[D-1]`` (the fluid departure rule; exact in a stationary state by
Little's law, an approximation in transients).

Policies (what ``p`` and ``d`` are; ``y_mem = min(max_active, K / kappa_kv)``
is the decode population memory allows, ``kappa_kv = E[A_kv] / E[D-1]``)
------------------------------------------------------------------------
* ``"rad"`` and ``"sarathi"``: every decode runs every iteration,
  ``d = min(y, B)``, and prefill fills the rest of the budget, ``p = B - d``,
  while there is a backlog and memory admits requests. The time split between
  prefill and decode moves with the backlogs (dynamic allocation). RAD also
  requires ``B`` to be a multiple of the tile; Sarathi-Serve takes any ``B``.
  On a tile-quantised GPU a non-aligned ``B`` is ``"nonaligned"``: Sarathi-Serve
  on :func:`queueing.theory.tiled_latency`.
* ``"static"``: at most ``B_d`` decodes and ``B_p`` prefill tokens per iteration.
* ``"vllm"``: prefill-only batches whenever a waiting request fits (memory),
  otherwise decode-only batches of the whole decode population. In the fluid
  limit a fraction ``alpha`` of time prefills at ``tau_p`` seconds per request,
  ``tau_p = E[g(P)]`` (one request per prefill batch: at saturation a decode
  iteration frees ``y / E[D-1] << 1`` slots, so prefill batches rarely hold two
  requests), and the rest decodes the population ``y`` in batches of
  ``t_d(y) = g(y) + c y kappa``.

  When KV memory, not ``max_active``, limits the population (``y_mem`` set
  by ``K / kappa_kv``), vLLM runs with memory full and pays for decode growth
  with recompute: its admission is greedy (a waiting request starts as soon
  as its prompt fits), so the blocks a completion frees go to the next
  admission, and a decode that needs a new block preempts the newest request,
  whose blocks feed the growth until the next completion and which is
  prefilled again. The recomputed tokens therefore equal the KV growth,
  ``E[D-1]`` per request, i.e. ``phi = E[D-1] / E[P]`` extra prefills of a
  prompt-sized request: ``tau_p -> tau_p (1 + phi)``. (An empirical law of
  the simulator, explained by the argument above rather than derived:
  ShareGPT4 at KV 150k, 236k, 300k tokens gives 0.183-0.189 preemptions per
  request against ``phi = 0.186``, and simulated capacities within +1.1% of
  the corrected prediction; ``tests/queueing/test_rad.py``.)
* ``"rad-alternating"`` (alias ``"alternating"``): the spec's literal RAD
  modes, :mod:`queueing.sched_rad_alternating`: prefill-only batches of
  ``B`` rows alternating with decode-only batches of one tile, ``T`` decodes
  (all of them, ``y``, when fewer decode); the vLLM formulas with
  ``tau_p = E[P] g(B) / B`` and decode batches of ``Y = min(T, y_mem)``
  requests, recompute included when KV binds the population (its admission is
  as greedy as vLLM's). On an intercept-free tile model
  (:func:`queueing.latency.intercept_free_tile_latency`) with ``y_mem >= T``
  every row costs ``per_tile / T`` and the capacity is lambda*
  (throughput-optimal); with a per-iteration intercept it falls short of
  lambda*, which is why :mod:`queueing.sched_rad` co-schedules decodes.
  Neglected: the prompts still in prefill when a decode mode starts hold
  slots (with ``max_active = T`` decode batches are ``T - 1`` wide, not
  ``T``: -0.1% on ShareGPT4).

Switching boundaries (empty backlog, memory full) are sliding modes in
Filippov's sense: time is split between iterations that carry prompt rows
(``p`` above) and iterations that carry only the decodes, a fraction
``theta = min(1, x / B) * clip(y_mem - y, 0, 1)`` of the time in the former
(a regularisation of the discontinuity; it becomes exact as the backlog
leaves the boundary layer). Averaging ``p`` into every iteration instead would
overstate capacity for convex ``g`` (equation (2) of :mod:`queueing.theory`).

KV overflow (``rad``, ``sarathi``, ``nonaligned``, ``static``). When the budget
binds, memory holds on *average* ``y E[X]`` KV tokens (``X``: the KV of a
decoding request at a uniformly random decode step, ``E[X] = E[A_kv] / E[D-1]``,
``E[X^2] = E[sum_k kv_k^2] / E[D-1]``), but the ``y`` decoding requests are a
changing set: their demand ``U`` is a sum of ``y`` such draws, taken as
``Normal(y E[X], y Var[X])``. Demand above the capacity ``K`` cannot be held,
so the requests progress (prefill and decode alike) at the held share
``1 - ell(y)``, ``ell(y) = E[(U - K)^+] / E[U]`` (:func:`_overflow`), and
capacity is ``(1 - ell(y*))`` times the budget-bound rate, ``y*`` the decode
population at that rate. The fixed population (``y Var[X]``, not the
``y E[X^2]`` of a Poisson population) reflects that prompt tokens are
prefilled at a steady ``B - d`` rows per iteration. On ShareGPT4, RAD and
Sarathi-Serve at KV 220k / 236k / 260k / 300k tokens (mean use 99 / 92 / 84 /
73% at lambda*) serve +1.45 / +0.01 / -0.08 / +0.03% off this capacity,
against -2.1 / -0.8 / -0.15 / 0% off the mean-memory lambda*. A policy
whose population is memory-bound on average (its ``r`` below is
``y_mem / E[D-1]``) keeps the mean bound and no overflow term (ODE
included), and :class:`queueing.theory.WorkloadMoments` without
``mean_kv_sq`` gives none.

Capacities (stationary points, requests/s; derivations in
:mod:`queueing.symbolic`)::

    rad / sarathi: r = min(B / W, y_mem / E[D-1]),  p_on = B - r E[D-1]
                   (times 1 - ell(r E[D-1]) when B / W is the smaller, KV overflow;
                   the static split likewise)
    static:        r = min(B_p / E[P], B_d / E[D-1], y_mem / E[D-1]),  p_on = B_p
                   lambda = r / (beta g(p_on + d) + (1 - beta) g(d) + c r E[A]),
                   d = r E[D-1], beta = r E[P] / p_on
    vllm:          lambda = 1 / (tau_p + E[D-1] t_d(Y) / Y),  Y = y_mem
    rad-alternating: the same with Y = min(T, y_mem), tau_p = E[P] g(B) / B
                       (vllm with KV binding: tau_p (1 + E[D-1] / E[P]), recompute)

Throughput optimality of RAD (fluid proof sketch, budget binding). While
``x > 0`` RAD's batches hold exactly ``B`` rows, ``p = B - y``, so in iteration
time ``dy/dn = (B - y) / E[P] - y / E[D-1]``: a stable linear equation whose
solution tends monotonically to ``y_B = B E[D-1] / W`` whatever ``lambda``. The
iteration time then tends to ``t_B = g(B) + c y_B kappa``, and
``dx/dt -> lambda E[P] - (B - y_B) / t_B = E[P] (lambda - lambda*)`` with
lambda* from (1) at ``r = B / W``. Below lambda* the backlog therefore empties in
finite time from any start and stays in the boundary layer; above it, it
grows at ``E[P] (lambda - lambda*)``. The same computation for the other
policies gives their capacities below, which are < lambda* whenever the
budget is not tile-aligned on a tile-quantised GPU (padded rows), the split is
static and not ``B_d / B = E[D-1] / W``, or decodes run in decode-only batches
with a per-iteration intercept (vLLM, ``"rad-alternating"``).

Above capacity the backlog grows linearly at ``(lambda - capacity) E[P]``
tokens/s, i.e. ``lambda - capacity`` requests/s; below it every fluid start
drains to the stationary point.
"""

import math
from dataclasses import asdict, dataclass

import numpy as np

from . import theory as _th

__all__ = ["FluidPath", "SimulatedWindow", "POLICIES", "fluid_capacity", "fluid_path", "fluid_growth_rate",
           "simulated_window"]

POLICIES = ("rad", "sarathi", "nonaligned", "static", "vllm", "rad-alternating")
_ALIASES = {"sarathi-serve": "sarathi", "sarathi-fcfs": "sarathi", "static-split": "static",
            "alternating": "rad-alternating"}
_PAIRED = ("vllm", "rad-alternating")  # prefill-only and decode-only batches


@dataclass(frozen=True)
class _Setup:
    policy: str
    g: object
    c: float
    mom: object
    budget: int
    prefill_budget: int
    decode_budget: int
    y_mem: float
    tau_p: float  # prefill seconds per request, recompute included
    tile: int
    kv: float  # KV capacity (tokens)


@dataclass(frozen=True)
class FluidPath:
    """A solved fluid trajectory.

    Attributes
    ----------
    t : ndarray, shape (m,)
        Times (s).
    backlog_tokens : ndarray, shape (m,)
        ``x(t)``, prefill backlog (tokens).
    decoding : ndarray, shape (m,)
        ``y(t)``, requests in decode.
    rate : float
        Arrival rate (requests/s).
    capacity : float
        The policy's fluid capacity (requests/s).
    growth : float
        Fitted slope of ``x / E[P]`` over the last half of the horizon (requests/s).
    """

    t: np.ndarray
    backlog_tokens: np.ndarray
    decoding: np.ndarray
    rate: float
    capacity: float
    growth: float

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({"t": self.t, "backlog_tokens": self.backlog_tokens, "decoding": self.decoding})

    def summary(self):
        d = asdict(self)
        return {k: d[k] for k in ("rate", "capacity", "growth")}


def _policy(name):
    if not isinstance(name, str):
        raise ValueError(f"scheduler must be a string, one of {POLICIES}, got {name!r}")
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in POLICIES:
        raise ValueError(f"unknown scheduler {name!r} for the fluid model; choose one of {POLICIES}")
    return key


def _setup(scheduler, prompt_tokens, output_tokens, latency, params):
    policy = _policy(scheduler)
    p = dict(params)
    budget = p.pop("token_budget", _th.DEFAULT_TOKEN_BUDGET)
    tile = p.pop("tile", None)
    max_active = p.pop("max_active", _th.DEFAULT_MAX_ACTIVE)
    from .roofline import resolve_hardware

    latency, kv = resolve_hardware(latency, p.pop("kv_capacity_tokens", None), p.pop("model", None),
                                   p.pop("gpu", None), p.pop("tensor_parallel", 1), _th.DEFAULT_KV_CAPACITY_TOKENS)
    block = p.pop("block_tokens", _th.DEFAULT_BLOCK_TOKENS)
    prefill_budget = p.pop("prefill_budget", None)
    decode_budget = p.pop("decode_budget", None)
    max_prefill = p.pop("max_prefill_tokens", 8192)
    for ignored in ("prefills_per_cycle", "decode_width"):  # RAD knobs with no fluid effect
        p.pop(ignored, None)
    if p:
        raise ValueError(f"unknown parameters for fluid scheduler {policy!r}: {sorted(p)}")
    budget = _th._positive_int("token_budget", budget)
    if latency is None:
        from .latency import default_latency

        latency = default_latency()
    if tile is None:
        tile = getattr(latency, "tile", 128)
    tile = _th._positive_int("tile", tile)
    if policy in ("rad", "rad-alternating") and budget % tile:
        raise ValueError(f"RAD needs token_budget ({budget}) to be a multiple of tile ({tile})")
    if policy == "nonaligned":
        latency = _th.tiled_latency(latency, tile)
    _th._check_memory_possible(prompt_tokens, kv, block)
    mom = _th._moments(prompt_tokens, output_tokens, block)
    g, c = _th.latency_parts(latency)
    limits = _th._memory_limits(mom, max_active, kv)
    y_mem = min(limits.values()) * mom.mean_decodes
    if policy == "static":
        prefill_budget = _th._positive_int("prefill_budget", prefill_budget)
        decode_budget = _th._positive_int("decode_budget", decode_budget)
    tau_p = 0.0
    if policy == "rad-alternating":
        tau_p = mom.mean_prompt * float(g(budget)) / budget
        if limits["kv"] < min(limits["max_active"], tile / mom.mean_decodes):  # memory full: recompute
            tau_p *= 1.0 + mom.mean_decodes / mom.mean_prompt
    if policy == "vllm":
        max_prefill = _th._positive_int("max_prefill_tokens", max_prefill)
        if isinstance(prompt_tokens, _th.WorkloadMoments):
            raise ValueError("the vllm fluid model needs the prompt length samples, not only their moments")
        prompts = np.asarray(prompt_tokens, dtype=np.float64)
        if prompts.max() > max_prefill:
            raise ValueError(f"a {int(prompts.max())}-token prompt exceeds max_prefill_tokens = {max_prefill}")
        tau_p = float(np.mean(g(prompts)))
        if limits["kv"] < limits["max_active"]:  # memory full: growth paid by recompute (docstring)
            tau_p *= 1.0 + mom.mean_decodes / mom.mean_prompt
    return _Setup(policy, g, c, mom, budget, prefill_budget or 0, decode_budget or 0, y_mem, tau_p, tile, float(kv))


def _capacity(s):
    m = s.mom
    if s.policy in _PAIRED:
        Y = min(s.y_mem, s.tile) if s.policy == "rad-alternating" else s.y_mem
        t_d = float(s.g(Y)) + s.c * m.mean_context / m.mean_decodes * Y
        return 1.0 / (s.tau_p + m.mean_decodes * t_d / Y)
    r = min(_rates(s))
    if s.policy == "static":
        on = s.prefill_budget
    else:
        on = s.budget - r * m.mean_decodes
    return _th._result(r, "", s.g, s.c, m, on).rate * (1.0 - _overflow(s, r * m.mean_decodes))


def _rates(s):
    """Requests per iteration the budget(s) allow and that memory allows on average; capacity has the smaller."""
    m = s.mom
    if s.policy == "static":
        r = min(s.prefill_budget / m.mean_prompt, s.decode_budget / m.mean_decodes)
    else:
        r = s.budget / m.mean_work
    return r, s.y_mem / m.mean_decodes


def _overflow(s, y):
    """Fraction of the KV demand of ``y`` decoding requests above the capacity (KV overflow).

    ``U ~ Normal(y E[X], y Var[X])`` with ``X`` the KV of a decoding request
    at a uniformly random decode step; returns ``E[(U - K)^+] / E[U]``, and
    0 where memory binds on average (module docstring) or ``E[sum_k kv_k^2]``
    is unknown.
    """
    m = s.mom
    r_budget, r_mem = _rates(s)
    if r_mem <= r_budget or not (y > 0 and np.isfinite(m.mean_kv_sq) and np.isfinite(s.kv)):
        return 0.0
    ex = m.mean_kv / m.mean_decodes
    sd = math.sqrt(y * max(m.mean_kv_sq / m.mean_decodes - ex * ex, 0.0))
    mu, gap = y * ex, s.kv - y * ex
    if sd == 0.0:
        return max(-gap, 0.0) / mu
    z = gap / sd
    return max(sd * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi) - gap * 0.5 * math.erfc(z / math.sqrt(2)),
               0.0) / mu


def fluid_capacity(scheduler, prompt_tokens, output_tokens=None, latency=None, **params):
    """Predicted maximum sustainable arrival rate of a scheduler (requests/s).

    Parameters
    ----------
    scheduler : str
        ``"rad"``, ``"sarathi"``, ``"nonaligned"``, ``"static"``, ``"vllm"`` or
        ``"rad-alternating"`` (alias ``"alternating"``).
    prompt_tokens, output_tokens : array_like of int, shape (n,)
        Length samples (or a :class:`queueing.theory.WorkloadMoments`).
    latency : latency model or None
        ``None`` for the default calibrated model.
    **params
        ``token_budget`` (512), ``tile`` (the model's ``tile`` or 128),
        ``max_active`` (128), ``kv_capacity_tokens`` (235728), ``block_tokens``
        (16); ``prefill_budget`` and ``decode_budget`` for ``"static"``;
        ``max_prefill_tokens`` (8192) for ``"vllm"``; ``model``, ``gpu`` and
        ``tensor_parallel`` instead of ``latency`` (see ``queueing.simulate``).

    Returns
    -------
    float
    """
    return _capacity(_setup(scheduler, prompt_tokens, output_tokens, latency, params))


def _rhs(s, lam):
    m = s.mom
    kappa = m.mean_context / max(m.mean_decodes, 1e-300)
    eps_x = float(s.budget)

    def f(_t, z):
        x, y = max(z[0], 0.0), max(z[1], 0.0)
        gate = min(max(s.y_mem - y, 0.0), 1.0)
        fill = min(1.0, x / eps_x)
        if s.policy in _PAIRED:
            alpha = fill * gate
            w = min(y, s.tile) if s.policy == "rad-alternating" else y  # decodes per decode-only batch
            t_d = float(s.g(w)) + s.c * w * kappa
            dec = (1 - alpha) * w / (m.mean_decodes * t_d) if y > 0 else 0.0
            pre = alpha / s.tau_p
            return [lam * m.mean_prompt - pre * m.mean_prompt, pre - dec]
        d = min(y, s.decode_budget if s.policy == "static" else s.budget)
        p = s.prefill_budget if s.policy == "static" else s.budget - d
        theta = fill * gate  # fraction of time in iterations that carry prompt rows
        t_on = float(s.g(p + d)) + s.c * d * kappa
        t_off = float(s.g(d)) + s.c * d * kappa
        held = 1.0 - _overflow(s, y)  # share of the KV demand memory can hold
        pre = held * theta * p / t_on
        dec = held * (theta / t_on + ((1 - theta) / t_off if d > 0 else 0.0)) * d
        return [lam * m.mean_prompt - pre, pre / m.mean_prompt - dec / m.mean_decodes]

    return f


def fluid_path(scheduler, rate, prompt_tokens, output_tokens=None, latency=None, horizon=3600.0,
               backlog0=0.0, decoding0=0.0, n_points=400, **params):
    """Integrate the fluid ODEs of a scheduler with ``scipy.integrate.solve_ivp``.

    Parameters
    ----------
    scheduler : str
        As for :func:`fluid_capacity`.
    rate : float
        Arrival rate ``lambda`` (requests/s), > 0.
    horizon : float
        Seconds to integrate.
    backlog0, decoding0 : float
        Initial prefill backlog (tokens) and decode population (requests).
    n_points : int
        Output grid size.

    Returns
    -------
    FluidPath
    """
    from scipy.integrate import solve_ivp

    lam = float(rate)
    if not np.isfinite(lam) or lam <= 0:
        raise ValueError(f"rate must be a finite number > 0 requests/s, got {rate!r}")
    if not np.isfinite(horizon) or horizon <= 0:
        raise ValueError(f"horizon must be > 0 seconds, got {horizon!r}")
    if backlog0 < 0 or decoding0 < 0:
        raise ValueError("backlog0 and decoding0 must be >= 0")
    s = _setup(scheduler, prompt_tokens, output_tokens, latency, params)
    t_eval = np.linspace(0.0, float(horizon), int(n_points))
    sol = solve_ivp(_rhs(s, lam), (0.0, float(horizon)), [float(backlog0), float(decoding0)],
                    method="LSODA", t_eval=t_eval, rtol=1e-7, atol=1e-6, max_step=horizon / 200)
    if not sol.success:
        raise RuntimeError(f"fluid ODE failed: {sol.message}")
    x, y = np.maximum(sol.y[0], 0.0), np.maximum(sol.y[1], 0.0)
    half = t_eval >= horizon / 2
    growth = float(np.polyfit(t_eval[half], x[half] / s.mom.mean_prompt, 1)[0])
    return FluidPath(t_eval, x, y, lam, _capacity(s), growth)


def fluid_growth_rate(scheduler, rate, prompt_tokens, output_tokens=None, latency=None, **params):
    """Backlog growth predicted above capacity: ``max(0, lambda - capacity)`` requests/s.

    The closed form of the fluid model's linear growth (``E[P]`` times this in
    tokens/s); :func:`fluid_path` integrates the ODEs for the same number.
    """
    lam = float(rate)
    if not np.isfinite(lam) or lam <= 0:
        raise ValueError(f"rate must be a finite number > 0 requests/s, got {rate!r}")
    return max(0.0, lam - fluid_capacity(scheduler, prompt_tokens, output_tokens, latency, **params))


@dataclass(frozen=True)
class SimulatedWindow:
    """Rates measured in a simulation over a time window, to hold against the fluid model.

    Attributes
    ----------
    t0, t1 : float
        Window (s).
    arrival_rate, service_rate : float
        Arrivals and first tokens (prefill completions) per second in the window.
    growth : float
        ``(backlog(t1) - backlog(t0)) / (t1 - t0)`` (requests/s), backlog =
        requests arrived and not yet through prefill; equals
        ``arrival_rate - service_rate``.
    min_backlog, max_backlog : int
        Over the window.
    served : ndarray of bool, shape (n,)
        Requests whose first token falls in the window (their lengths give the
        sample-path fluid capacity).
    """

    t0: float
    t1: float
    arrival_rate: float
    service_rate: float
    growth: float
    min_backlog: int
    max_backlog: int
    served: np.ndarray

    def summary(self):
        d = asdict(self)
        d.pop("served")
        return d


def simulated_window(requests, start=0.5, end=1.0):
    """Measure arrival, service and backlog growth rates of a simulation.

    Parameters
    ----------
    requests : pandas.DataFrame
        ``simulate(...).requests`` (columns ``arrival``, ``ttft``).
    start, end : float
        Window as fractions of the last arrival time, ``0 <= start < end``.

    Returns
    -------
    SimulatedWindow
    """
    if not 0 <= start < end:
        raise ValueError(f"need 0 <= start < end, got start={start!r}, end={end!r}")
    arr = np.asarray(requests["arrival"], dtype=np.float64)
    if arr.size == 0:
        raise ValueError("requests is empty")
    first = arr + np.asarray(requests["ttft"], dtype=np.float64)
    span = float(arr.max())
    t0, t1 = start * span, end * span
    a_sorted, f_sorted = np.sort(arr), np.sort(first)

    def backlog(t):
        return np.searchsorted(a_sorted, t, side="right") - np.searchsorted(f_sorted, t, side="right")

    grid = np.linspace(t0, t1, 256)
    b = backlog(grid)
    served = (first > t0) & (first <= t1)
    w = t1 - t0
    arrivals = int(np.count_nonzero((arr > t0) & (arr <= t1)))
    return SimulatedWindow(t0, t1, arrivals / w, served.sum() / w, float(backlog(t1) - backlog(t0)) / w,
                           int(b.min()), int(b.max()), served)
