"""Capacity theory of a GPU serving LLM requests: lambda*, tiling and static splits.

Units: seconds, tokens, requests/s. Reconstruction of the throughput theory of
Bari, Hegde & de Veciana (arXiv 2508.01002); the paper's proofs are not
available, so every step below is stated so that it can be checked by hand
and by the tests (``tests/queueing/test_theory.py``).

The server model
----------------
* A request has a prompt of ``P`` tokens and ``D >= 1`` output tokens. Its
  prefill (possibly in chunks) produces the first output token; the remaining
  ``D - 1`` tokens take one *decode* each, one per iteration.
* The GPU runs iterations. An iteration carries ``p`` prefill tokens and ``d``
  decodes whose key-value contexts sum to ``C`` tokens, and lasts
  ``t(p, d, C) = g(p + d) + c * C`` seconds (every model of
  :mod:`queueing.latency` has this form). ``g(n)`` is the cost of the batch's
  ``n`` token rows (a memory-bound floor, then tile-quantised or affine growth)
  and ``c`` the per-context-token cost of decode attention. :func:`latency_parts`
  reads ``g`` and ``c`` off any object with an ``iteration_time`` method and
  checks the form.
* Decode ``k = 1 .. D-1`` of a request attends over ``P + k`` context tokens
  (the prompt plus the tokens generated so far, the new one included), so a
  request brings ``A = sum_k (P + k) = (D-1) P + (D-1) D / 2`` context tokens of
  attention work in total, whatever the scheduler. Its KV footprint during
  decode ``k`` is ``P + k`` tokens, held in blocks of ``block_tokens``:
  ``A_kv = sum_k block * ceil((P + k) / block)`` block-token-iterations.
* Memory: at most ``max_active`` requests hold a slot, and the KV blocks of the
  active requests fit in ``kv_capacity_tokens``.

Capacity (lambda*)
------------------
Write ``W = E[P] + E[D-1]`` (token rows a request needs) and let ``r`` be the
number of requests that complete per iteration in a steady state. Token
balance gives ``n = r W`` rows per iteration; attention balance gives
``C = r E[A]`` per iteration (Little's law in iteration counts); so an
iteration lasts ``t(r) = g(r W) + c r E[A]`` and the throughput is::

    lambda(r) = r / (g(r W) + c r E[A]).                                  (1)

Constraints on ``r``: batches hold at most ``B`` (the token budget) rows,
``r <= B / W``; if every decoding request decodes once per iteration (the
fastest possible), a request decodes for ``E[D-1]`` iterations, so Little's law
puts ``r E[D-1]`` requests in decode and ``r E[A_kv]`` KV tokens in use on
average: ``r <= max_active / E[D-1]`` and ``r <= kv_capacity / E[A_kv]``.
A scheduler that cannot spread prompt rows evenly runs a fraction
``beta = r E[P] / p_on`` of its iterations with ``p_on`` prompt rows and the
rest with none (prompts come in chunks; admission pauses while memory or the
decode budget binds), so its iterations average::

    lambda(r) = r / (beta g(p_on + d) + (1 - beta) g(d) + c r E[A]),   d = r E[D-1].   (2)

(2) with ``p_on = r E[P]`` (``beta = 1``) is (1); for convex ``g`` (the
calibrated model) (2) <= (1) by Jensen, so (1) bounds every schedule.
lambda* is the maximum of (1) over the feasible ``r``; for ``g(n)/n``
non-increasing (affine, piecewise-affine with a floor, and tile-quantised
``g`` at tile multiples) the maximum is at the largest feasible ``r``. With
full, tile-aligned batches and no binding memory, ``r = B / W`` and (1) is the
spec's ``lambda* = (B / t(B)) / E[P + D]`` with ``t(B)`` the full batch's time
including its share of attention, ``g(B) + c B E[A] / W`` (the spec's
``E[P + D]`` counts the first output token as a decode; here, as in the
engine, the prefill emits it, hence ``W = E[P] + E[D-1]``). Why RAD attains
it, and which policies fail below it, is shown on the fluid model in
:mod:`queueing.fluid`.

Assumptions (stated plainly): lengths i.i.d. with finite means, independent
of arrivals; memory constraints are long-run averages (lambda* is an upper
bound: KV use fluctuates around its mean, and near the capacity that costs
throughput, which :mod:`queueing.fluid` charges as KV overflow and, for
vLLM, recompute); decoding requests decode every iteration (what RAD,
Sarathi-Serve and SLAI do below capacity); prefill-phase KV and slots are
neglected (a few requests at a time under chunked prefill).

The two principles
------------------
* Optimal tiling: on a tile-quantised GPU a batch of ``B`` rows costs
  ``g(T ceil(B / T))``, so a budget that is not a multiple of the tile ``T``
  wastes ``g(T ceil(B/T)) - g(B)`` per iteration (:func:`tile_waste`,
  :func:`tiling_loss_table`).
* Dynamic resource allocation: a static split of the budget into ``B_p``
  prefill tokens and ``B_d`` decode slots sustains only
  ``r <= min(B_p / E[P], B_d / E[D-1])``, i.e. ``lambda E[P] <= B_p / t`` and
  ``lambda E[D-1] <= B_d / t``; only the split ``B_p / B = E[P] / W`` matches
  the dynamic allocation (:func:`static_split_capacity`,
  :func:`static_split_table`).
* Both principles with alternating modes (the spec's reading of RAD,
  ``"rad-alternating"``): prefill-only batches of ``B`` rows and decode-only
  batches of one tile ``T`` reach (1) only when ``g`` is linear in whole
  tiles, ``g(n) = per_tile * ceil(n / T)`` (no per-iteration intercept,
  :func:`queueing.latency.intercept_free_tile_latency`): every row then costs
  ``per_tile / T`` and lambda* is ``1 / (W per_tile / T + c E[A])``. With an
  intercept a decode-only batch costs more per row than a full mixed one; its
  capacity is :func:`queueing.fluid.fluid_capacity` ``("rad-alternating")``.
"""

from dataclasses import asdict, dataclass

import numpy as np

__all__ = [
    "WorkloadMoments",
    "CapacityResult",
    "workload_moments",
    "latency_parts",
    "throughput_at",
    "lambda_star",
    "tile_waste",
    "tiled_latency",
    "tiling_loss_table",
    "static_split_capacity",
    "static_split_table",
    "DEFAULT_TOKEN_BUDGET",
    "DEFAULT_MAX_ACTIVE",
    "DEFAULT_KV_CAPACITY_TOKENS",
    "DEFAULT_BLOCK_TOKENS",
]

DEFAULT_TOKEN_BUDGET = 512
DEFAULT_MAX_ACTIVE = 128
DEFAULT_KV_CAPACITY_TOKENS = 235_728
DEFAULT_BLOCK_TOKENS = 16


@dataclass(frozen=True)
class WorkloadMoments:
    """Per-request means that the capacity depends on (tokens).

    Attributes
    ----------
    mean_prompt : float
        ``E[P]``.
    mean_decodes : float
        ``E[D - 1]``, decode iterations per request.
    mean_context : float
        ``E[A]``, summed attention context over a request's decodes.
    mean_kv : float
        ``E[A_kv]``, KV block-tokens held summed over a request's decodes.
    n_requests : int
        Number of requests the means were taken over.
    mean_kv_sq : float
        ``E[sum_k kv_k^2]`` over a request's decodes (block-tokens squared);
        the spread of KV use that :mod:`queueing.fluid` charges as overflow.
        NaN when unknown (the overflow term is then left out).
    mean_prompt_sq : float
        ``E[P^2]`` (tokens squared).
    mean_growth_blocks : float
        ``G = E[ceil((P + D - 1) / block) - ceil(P / block)]``, KV blocks a
        request's decodes add to its prompt's.
    prompt_block_residual : float
        ``E[b (b - 1)] / (2 E[b])`` with ``b = ceil(P / block)``: the mean of
        a count uniform on ``0 .. b - 1`` with ``b`` drawn in proportion to
        ``b P(b)`` (blocks).
    preempt_share : float
        ``E[min(b, G)] / E[b]``.
        The last four give the KV-bound decode law of
        :mod:`queueing.cluster_theory`; NaN when unknown.
    """

    mean_prompt: float
    mean_decodes: float
    mean_context: float
    mean_kv: float
    n_requests: int
    mean_kv_sq: float = float("nan")
    mean_prompt_sq: float = float("nan")
    mean_growth_blocks: float = float("nan")
    prompt_block_residual: float = float("nan")
    preempt_share: float = float("nan")

    @property
    def mean_work(self):
        """``W = E[P] + E[D-1]``, token rows per request."""
        return self.mean_prompt + self.mean_decodes

    def to_dict(self):
        return asdict(self)


@dataclass(frozen=True)
class CapacityResult:
    """Capacity of a policy on a latency model and workload.

    Attributes
    ----------
    rate : float
        Maximum sustainable arrival rate (requests/s).
    per_iteration : float
        ``r``, requests completed per iteration at capacity.
    batch_tokens : float
        Token rows per iteration at capacity, ``r W``.
    iteration_time : float
        Seconds per iteration at capacity.
    binding : str
        Which constraint sets ``r``: ``"budget"``, ``"prefill"``, ``"decode"``,
        ``"max_active"`` or ``"kv"``.
    decoding : float
        Mean number of requests in decode at capacity (Little's law).
    kv_tokens : float
        Mean KV tokens in use by decoding requests at capacity.
    """

    rate: float
    per_iteration: float
    batch_tokens: float
    iteration_time: float
    binding: str
    decoding: float
    kv_tokens: float

    def to_dict(self):
        return asdict(self)


def _positive_int(name, value, minimum=1):
    if value is None or isinstance(value, bool) or not np.isfinite(value) or int(value) != value or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _kv_block_sum(first, last, block):
    """``sum_{j=first+1}^{last} block * ceil(j / block)`` for integer arrays (tokens)."""

    def cum(n):  # sum_{j=1}^{n} ceil(j / block), n >= 0
        q, s = np.divmod(n, block)
        return block * q * (q + 1) // 2 + s * (q + 1)

    return block * (cum(last) - cum(first))


def _kv_block_sq_sum(first, last, block):
    """``sum_{j=first+1}^{last} (block * ceil(j / block))**2`` for integer arrays (tokens squared)."""

    def cum(n):  # sum_{j=1}^{n} ceil(j / block)**2, n >= 0
        q, s = np.divmod(n, block)
        return block * q * (q + 1) * (2 * q + 1) // 6 + s * (q + 1) ** 2

    return block * block * (cum(last) - cum(first))


def workload_moments(prompt_tokens, output_tokens, block_tokens=DEFAULT_BLOCK_TOKENS):
    """Means of a length distribution given as samples.

    Parameters
    ----------
    prompt_tokens, output_tokens : array_like of int, shape (n,)
        Prompt ``P >= 1`` and output ``D >= 1`` token counts.
    block_tokens : int
        KV block size (tokens).

    Returns
    -------
    WorkloadMoments
    """
    block = _positive_int("block_tokens", block_tokens)
    p = np.asarray(prompt_tokens)
    d = np.asarray(output_tokens)
    if p.ndim != 1 or d.ndim != 1 or p.size != d.size:
        raise ValueError(
            f"prompt_tokens and output_tokens must be 1-D of equal length, got shapes {p.shape} and {d.shape}"
        )
    if p.size == 0:
        raise ValueError("the workload is empty (prompt_tokens and output_tokens have length 0)")
    for name, a in (("prompt_tokens", p), ("output_tokens", d)):
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)) or np.any(a < 1):
            raise ValueError(f"{name} must be integers >= 1")
    p = p.astype(np.int64)
    m = d.astype(np.int64) - 1
    context = m * p + m * (m + 1) // 2
    kv = _kv_block_sum(p, p + m, block)
    kv_sq = _kv_block_sq_sum(p, p + m, block).astype(np.float64)
    b = -(-p // block)
    growth = float(np.mean(-(-(p + m) // block) - b))
    pf = p.astype(np.float64)
    return WorkloadMoments(float(p.mean()), float(m.mean()), float(context.mean()), float(kv.mean()), int(p.size),
                           float(kv_sq.mean()), float(np.mean(pf * pf)), growth,
                           float(np.mean(b * (b - 1)) / (2 * b.mean())),
                           float(np.minimum(b, growth).mean() / b.mean()))


def _moments(prompt_tokens, output_tokens, block_tokens):
    if isinstance(prompt_tokens, WorkloadMoments):
        return prompt_tokens
    return workload_moments(prompt_tokens, output_tokens, block_tokens)


def latency_parts(latency=None):
    """Split a latency model into its row cost ``g`` and attention cost ``c``.

    Parameters
    ----------
    latency : object with ``iteration_time(prefill_tokens, n_decodes, decode_context_tokens)``
        Seconds per iteration; ``None`` for :func:`queueing.latency.default_latency`.

    Returns
    -------
    g : callable
        ``g(n)`` seconds for ``n`` token rows (array-valued), no attention.
    c : float
        Seconds per summed decode-context token.

    Raises
    ------
    ValueError
        If the model is not of the form ``g(p + d) + c C`` (checked on a grid),
        or its times are not positive.
    """
    if latency is None:
        from .latency import default_latency

        latency = default_latency()
    if not hasattr(latency, "iteration_time"):
        raise ValueError(f"latency must have an iteration_time method, got {type(latency).__name__}")
    if hasattr(latency, "separable"):  # roofline: rows priced alike, attention linear in the context
        latency = latency.separable()
    f = latency.iteration_time
    c = float(np.asarray(f(0, 1, 1_000_001)) - np.asarray(f(0, 1, 1))) / 1e6
    n = np.array([1, 17, 100, 128, 129, 500, 512, 1000, 4096])
    rows_p = np.array([float(np.asarray(f(k, 0, 0))) for k in n])
    rows_d = np.array([float(np.asarray(f(0, k, 0))) for k in n])
    mixed = np.array([float(np.asarray(f(k - k // 2, k // 2, 1000))) for k in n])
    if not (np.all(np.isfinite(rows_p)) and np.all(rows_p > 0) and c >= 0):
        raise ValueError("latency.iteration_time must return positive finite seconds")
    if not (np.allclose(rows_p, rows_d, rtol=1e-9, atol=1e-12)
            and np.allclose(mixed, rows_p + 1000 * c, rtol=1e-9, atol=1e-12)):
        raise ValueError(
            "the theory needs iteration_time(p, d, C) = g(p + d) + c * C; this latency model "
            "prices prefill and decode rows differently or attention non-linearly"
        )

    def g(rows):
        return np.asarray(f(np.asarray(rows, dtype=np.float64), 0, 0), dtype=np.float64)

    return g, c


def throughput_at(per_iteration, latency=None, moments=None):
    """Equation (1): requests/s when ``r`` requests complete per iteration.

    Parameters
    ----------
    per_iteration : float or ndarray
        ``r`` (requests per iteration), > 0.
    latency : latency model or None
    moments : WorkloadMoments

    Returns
    -------
    float or ndarray
        ``r / (g(r W) + c r E[A])`` in requests/s.
    """
    g, c = latency_parts(latency)
    r = np.asarray(per_iteration, dtype=np.float64)
    return r / (g(r * moments.mean_work) + c * r * moments.mean_context)


def _result(r, binding, g, c, mom, prefill_rows=None):
    """Capacity at ``r`` requests per iteration; equation (2) when ``prefill_rows`` is given."""
    d = r * mom.mean_decodes
    if prefill_rows is None:  # prompt rows spread evenly over iterations, equation (1)
        beta, on, off = 1.0, float(g(r * mom.mean_work)), 0.0
    else:
        beta = min(1.0, r * mom.mean_prompt / prefill_rows)
        on, off = float(g(prefill_rows + d)), float(g(d)) if beta < 1 else 0.0
    t = beta * on + (1 - beta) * off + c * r * mom.mean_context
    return CapacityResult(
        rate=r / t, per_iteration=r, batch_tokens=r * mom.mean_work, iteration_time=t, binding=binding,
        decoding=d, kv_tokens=r * mom.mean_kv,
    )


def _memory_limits(mom, max_active, kv_capacity_tokens):
    max_active = _positive_int("max_active", max_active)
    kv = float(kv_capacity_tokens)
    if not np.isfinite(kv) and kv != np.inf or kv <= 0:
        raise ValueError(f"kv_capacity_tokens must be > 0, got {kv_capacity_tokens!r}")
    dec = max(mom.mean_decodes, 1e-300)
    return {"max_active": max_active / dec, "kv": kv / max(mom.mean_kv, 1e-300)}


def _check_memory_possible(prompt_tokens, kv_capacity_tokens, block_tokens):
    if isinstance(prompt_tokens, WorkloadMoments):
        return
    if np.size(prompt_tokens) == 0:
        raise ValueError("the workload is empty (prompt_tokens has length 0)")
    pmax = int(np.max(prompt_tokens))
    need = block_tokens * -(-pmax // block_tokens)
    if need > kv_capacity_tokens:
        raise ValueError(
            f"impossible memory: a {pmax}-token prompt needs {need} KV tokens but "
            f"kv_capacity_tokens = {kv_capacity_tokens}"
        )


def lambda_star(prompt_tokens, output_tokens=None, latency=None, token_budget=DEFAULT_TOKEN_BUDGET,
                tile=None, max_active=DEFAULT_MAX_ACTIVE, kv_capacity_tokens=None,
                block_tokens=DEFAULT_BLOCK_TOKENS, *, model=None, gpu=None, tensor_parallel=1):
    """lambda*: the largest arrival rate any scheduler with batches <= ``token_budget`` sustains.

    Maximises equation (1) over ``r = n / W`` for every whole batch size
    ``n <= token_budget`` within the memory limits (module docstring).

    Parameters
    ----------
    prompt_tokens, output_tokens : array_like of int, shape (n,)
        Length samples, or a :class:`WorkloadMoments` as ``prompt_tokens``.
    latency : latency model or None
        ``None`` for the default calibrated model.
    token_budget : int
        Maximum token rows per iteration, ``B``.
    tile : int or None
        If given, ``token_budget`` must be a multiple of it (ValueError otherwise).
    max_active, kv_capacity_tokens, block_tokens : int
        Memory limits (requests, tokens, tokens); ``kv_capacity_tokens``
        defaults to the one derived from ``model`` and ``gpu``, else 235,728.
    model, gpu, tensor_parallel :
        Instead of ``latency``: the roofline of ``model`` on
        ``tensor_parallel`` x ``gpu`` (see ``queueing.simulate``).

    Returns
    -------
    CapacityResult
    """
    from .roofline import resolve_hardware

    latency, kv_capacity_tokens = resolve_hardware(latency, kv_capacity_tokens, model, gpu, tensor_parallel,
                                                   DEFAULT_KV_CAPACITY_TOKENS)
    B = _positive_int("token_budget", token_budget)
    block = _positive_int("block_tokens", block_tokens)
    if tile is not None:
        tile = _positive_int("tile", tile)
        if B % tile:
            raise ValueError(f"token_budget = {B} is not a multiple of tile = {tile}")
    _check_memory_possible(prompt_tokens, kv_capacity_tokens, block)
    mom = _moments(prompt_tokens, output_tokens, block)
    g, c = latency_parts(latency)
    limits = {"budget": B / mom.mean_work, **_memory_limits(mom, max_active, kv_capacity_tokens)}
    r_max = min(limits.values())
    n = np.arange(1, B + 1, dtype=np.float64)
    r = np.minimum(n / mom.mean_work, r_max)
    lam = r / (g(r * mom.mean_work) + c * r * mom.mean_context)
    i = int(np.argmax(lam))
    binding = min(limits, key=limits.get) if r[i] >= r_max else "budget"
    return _result(float(r[i]), binding, g, c, mom)


def tile_waste(token_budget, tile, latency=None):
    """Seconds lost per iteration by a budget that does not fill whole tiles.

    ``g(tile * ceil(B / tile)) - g(B)``: on a tile-quantised GPU a batch of
    ``B`` rows is padded to whole tiles, so it takes the time of the padded
    batch; ``g`` is the latency model's row cost read as the tile-aligned
    envelope (array-valued in ``token_budget``).
    """
    tile = _positive_int("tile", tile)
    B = np.asarray(token_budget)
    if np.any(B < 1) or np.any(B != np.round(B)):
        raise ValueError("token_budget must be integers >= 1")
    g, _ = latency_parts(latency)
    return g(tile * np.ceil(B / tile)) - g(B)


@dataclass(frozen=True)
class _PaddedLatency:
    base: object
    tile: int

    def iteration_time(self, prefill_tokens, n_decodes=0, decode_context_tokens=0):
        n = np.asarray(prefill_tokens, dtype=np.float64) + np.asarray(n_decodes, dtype=np.float64)
        return self.base.iteration_time(self.tile * np.ceil(n / self.tile), 0, decode_context_tokens)


def tiled_latency(latency, tile):
    """The latency model as a tile-quantised GPU sees it: rows padded to whole tiles.

    Returns an object whose ``iteration_time(p, d, C)`` is
    ``latency.iteration_time(tile * ceil((p + d) / tile), 0, C)`` (analysis only;
    for simulation use :class:`queueing.latency.TileLatency`).
    """
    if latency is None:
        from .latency import default_latency

        latency = default_latency()
    return _PaddedLatency(latency, _positive_int("tile", tile))


def tiling_loss_table(prompt_tokens, output_tokens=None, latency=None, tile=128, budgets=None,
                      max_active=DEFAULT_MAX_ACTIVE, kv_capacity_tokens=DEFAULT_KV_CAPACITY_TOKENS,
                      block_tokens=DEFAULT_BLOCK_TOKENS):
    """Capacity lost by token budgets that are not tile multiples.

    For each budget ``B`` the GPU pads every full batch to ``B' = tile *
    ceil(B / tile)`` rows (:func:`tiled_latency`). Compares the capacity of a
    scheduler running full ``B``-row batches with that of the aligned budget
    ``B'`` on the same padded GPU.

    Returns
    -------
    pandas.DataFrame
        Columns ``budget``, ``aligned_budget``, ``waste_ms`` (per iteration),
        ``capacity`` and ``aligned_capacity`` (requests/s), ``loss_pct``.
    """
    import pandas as pd

    tile = _positive_int("tile", tile)
    if budgets is None:
        budgets = [tile * k + off for k in (2, 3, 4) for off in (-tile // 4, -1, 0, 1, tile // 4)]
    lat = tiled_latency(latency, tile)
    mom = _moments(prompt_tokens, output_tokens, block_tokens)
    g, c = latency_parts(lat)
    limits = _memory_limits(mom, max_active, kv_capacity_tokens)
    r_mem = min(limits.values())
    rows = []
    for B in budgets:
        B = _positive_int("budget", B)
        Ba = tile * -(-B // tile)
        r, ra = min(B / mom.mean_work, r_mem), min(Ba / mom.mean_work, r_mem)
        cap = _result(r, "budget", g, c, mom, B - r * mom.mean_decodes).rate
        cap_a = _result(ra, "budget", g, c, mom, Ba - ra * mom.mean_decodes).rate
        waste = float(tile_waste(B, tile, latency))
        rows.append((B, Ba, 1e3 * waste, cap, cap_a, 100 * (1 - cap / cap_a)))
    return pd.DataFrame(rows, columns=["budget", "aligned_budget", "waste_ms", "capacity",
                                       "aligned_capacity", "loss_pct"])


def static_split_capacity(prompt_tokens, output_tokens=None, latency=None, prefill_budget=None,
                          decode_budget=None, max_active=DEFAULT_MAX_ACTIVE,
                          kv_capacity_tokens=DEFAULT_KV_CAPACITY_TOKENS, block_tokens=DEFAULT_BLOCK_TOKENS):
    """Capacity of a static split: ``B_p`` prefill tokens and ``B_d`` decodes per iteration.

    ``r = min(B_p / E[P], B_d / E[D-1], memory limits)`` in equation (2) with
    ``p_on = B_p`` (when decode or memory binds, a fraction of iterations
    carries no prompt rows).

    Returns
    -------
    CapacityResult
        ``binding`` is ``"prefill"``, ``"decode"``, ``"max_active"`` or ``"kv"``.
    """
    Bp = _positive_int("prefill_budget", prefill_budget)
    Bd = _positive_int("decode_budget", decode_budget)
    _check_memory_possible(prompt_tokens, kv_capacity_tokens, block_tokens)
    mom = _moments(prompt_tokens, output_tokens, block_tokens)
    g, c = latency_parts(latency)
    limits = {"prefill": Bp / mom.mean_prompt, "decode": Bd / max(mom.mean_decodes, 1e-300),
              **_memory_limits(mom, max_active, kv_capacity_tokens)}
    binding = min(limits, key=limits.get)
    return _result(limits[binding], binding, g, c, mom, Bp)


def static_split_table(prompt_tokens, output_tokens=None, latency=None, token_budget=DEFAULT_TOKEN_BUDGET,
                       decode_budgets=(16, 32, 64, 96, 128, 192, 256), max_active=DEFAULT_MAX_ACTIVE,
                       kv_capacity_tokens=DEFAULT_KV_CAPACITY_TOKENS, block_tokens=DEFAULT_BLOCK_TOKENS):
    """Capacity lost by splitting ``token_budget`` statically between prefill and decode.

    Returns
    -------
    pandas.DataFrame
        Columns ``decode_budget``, ``prefill_budget``, ``capacity``,
        ``binding``, ``dynamic_capacity`` (lambda* at the same budget),
        ``loss_pct``. The split with ``B_d / B = E[D-1] / W`` loses nothing.
    """
    import pandas as pd

    B = _positive_int("token_budget", token_budget)
    mom = _moments(prompt_tokens, output_tokens, block_tokens)
    best = lambda_star(mom, latency=latency, token_budget=B, max_active=max_active,
                       kv_capacity_tokens=kv_capacity_tokens, block_tokens=block_tokens).rate
    rows = []
    for Bd in decode_budgets:
        Bd = _positive_int("decode_budget", Bd)
        if Bd >= B:
            raise ValueError(f"decode_budget {Bd} must be < token_budget {B}")
        res = static_split_capacity(mom, latency=latency, prefill_budget=B - Bd, decode_budget=Bd,
                                    max_active=max_active, kv_capacity_tokens=kv_capacity_tokens,
                                    block_tokens=block_tokens)
        rows.append((Bd, B - Bd, res.rate, res.binding, best, 100 * (1 - res.rate / best)))
    return pd.DataFrame(rows, columns=["decode_budget", "prefill_budget", "capacity", "binding",
                                       "dynamic_capacity", "loss_pct"])
