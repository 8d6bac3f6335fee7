"""Latency models: the duration of one engine iteration from its batch composition.

Units: seconds for times, tokens for sizes. An iteration (one batch) processes
``prefill_tokens`` prompt-chunk tokens plus one token for each of ``n_decodes``
decoding requests, whose key-value context sums to ``decode_context_tokens``.

Every model is a frozen dataclass with

* ``iteration_time(prefill_tokens, n_decodes, decode_context_tokens,
  prefill_context_tokens)`` -> seconds, vectorised over NumPy arrays
  (broadcast), for analysis code; ``prefill_context_tokens`` is the prompt
  context before the batch's prefill chunk (0: a chunk with nothing before
  it), used by :class:`queueing.roofline.RooflineLatency` and ignored by the
  models here;
* ``kernel_params()`` -> ``(kind, params)``, an ``int`` code and a float64
  array, the compact form the jitted engine evaluates with
  :func:`iteration_time_kernel` (called by global name inside kernels).

Models (``kind`` code):

* :class:`AffineLatency` (0): ``t0 + per_token * n``;
* :class:`PiecewiseLatency` (1): ``max_k (a_k + b_k * n)``, a convex
  max-of-affine curve; :func:`default_latency` is this model calibrated to the
  Mistral-7B / RTX 6000 Ada microbenchmark shipped in ``data/``;
* :class:`TileLatency` (2): ``t0 + per_tile * ceil(n / tile)``, a step
  function of the number of matrix-multiply tiles;
  :func:`intercept_free_tile_latency` is its ``t0 = 0`` case, time
  proportional to the number of tiles;
* :class:`TableLatency` (3): linear interpolation of a measured profile
  (:meth:`TableLatency.from_csv`), constant below the first point and
  extrapolated with the last segment's slope above the last;
* :class:`queueing.roofline.RooflineLatency` (4): a roofline of a model on a
  GPU (``queueing.roofline_latency``).

``n = prefill_tokens + n_decodes`` is the batch's token count, and every model
adds ``per_context_token * decode_context_tokens`` (decode attention reads the
whole key-value context of each decoding request).
"""

from dataclasses import dataclass, field
from importlib import resources

import numpy as np
from numba import njit

__all__ = [
    "AffineLatency",
    "PiecewiseLatency",
    "TileLatency",
    "TableLatency",
    "default_latency",
    "intercept_free_tile_latency",
    "microbenchmark_table",
    "iteration_time_kernel",
    "KIND_AFFINE",
    "KIND_PIECEWISE",
    "KIND_TILE",
    "KIND_TABLE",
    "KIND_ROOFLINE",
]

KIND_AFFINE = 0
KIND_PIECEWISE = 1
KIND_TILE = 2
KIND_TABLE = 3
KIND_ROOFLINE = 4

# Decode attention on an RTX 6000 Ada class card, seconds per summed context token.
DECODE_ATTENTION_S_PER_TOKEN = 0.17e-6

# max(a0 + b0 n, a1 + b1 n), seconds; least-squares fit of the relative errors of
# TTFT (= sum of chunk times) and mean batch time (= (TTFT + one decode-only
# iteration) / (n_chunks + 1)) of slai_token_budget_microbench.csv; every row is
# reproduced within 4.2% (tests/queueing/test_latency.py).
_MISTRAL_PIECES = ((21.132e-3, 24.518e-6), (6.7076e-3, 91.704e-6))


def _check_nonneg(name, value):
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def _tokens(prefill_tokens, n_decodes, decode_context_tokens):
    p = np.asarray(prefill_tokens, dtype=np.float64)
    d = np.asarray(n_decodes, dtype=np.float64)
    c = np.asarray(decode_context_tokens, dtype=np.float64)
    return p + d, c


@dataclass(frozen=True)
class AffineLatency:
    """Iteration time ``t0 + per_token * n + per_context_token * context`` (seconds)."""

    t0: float = 6.7076e-3
    per_token: float = 91.704e-6
    per_context_token: float = DECODE_ATTENTION_S_PER_TOKEN

    def __post_init__(self):
        for name in ("t0", "per_token", "per_context_token"):
            object.__setattr__(self, name, _check_nonneg(name, getattr(self, name)))
        if self.t0 == 0 and self.per_token == 0:
            raise ValueError("t0 and per_token cannot both be 0 (iterations would take no time)")

    def kernel_params(self):
        return KIND_AFFINE, np.array([self.per_context_token, self.t0, self.per_token])

    def iteration_time(self, prefill_tokens, n_decodes=0, decode_context_tokens=0, prefill_context_tokens=0):
        n, c = _tokens(prefill_tokens, n_decodes, decode_context_tokens)
        return self.t0 + self.per_token * n + self.per_context_token * c


@dataclass(frozen=True)
class PiecewiseLatency:
    """Iteration time ``max_k (a_k + b_k * n) + per_context_token * context`` (seconds).

    Parameters
    ----------
    pieces : tuple of (a_k, b_k)
        Intercepts (s) and slopes (s per token) of the affine pieces.
    per_context_token : float
        Seconds per summed decode-context token.
    """

    pieces: tuple = _MISTRAL_PIECES
    per_context_token: float = DECODE_ATTENTION_S_PER_TOKEN

    def __post_init__(self):
        pieces = tuple((_check_nonneg("a_k", a), _check_nonneg("b_k", b)) for a, b in self.pieces)
        if not pieces:
            raise ValueError("pieces must hold at least one (intercept, slope) pair")
        if all(a == 0 for a, _ in pieces):
            raise ValueError("at least one piece needs a positive intercept")
        object.__setattr__(self, "pieces", pieces)
        object.__setattr__(self, "per_context_token", _check_nonneg("per_context_token", self.per_context_token))

    def kernel_params(self):
        flat = [v for ab in self.pieces for v in ab]
        return KIND_PIECEWISE, np.array([self.per_context_token, len(self.pieces)] + flat)

    def iteration_time(self, prefill_tokens, n_decodes=0, decode_context_tokens=0, prefill_context_tokens=0):
        n, c = _tokens(prefill_tokens, n_decodes, decode_context_tokens)
        t = np.full(np.broadcast(n, c).shape, -np.inf)
        for a, b in self.pieces:
            t = np.maximum(t, a + b * n)
        return t + self.per_context_token * c


@dataclass(frozen=True)
class TileLatency:
    """Tile-quantised time ``t0 + per_tile * ceil(n / tile) + per_context_token * context``.

    A batch of n tokens costs as much as the smallest whole number of
    ``tile``-token matrix-multiply tiles that holds it.
    """

    tile: int = 128
    t0: float = 5.3e-3
    per_tile: float = 11.94e-3
    per_context_token: float = DECODE_ATTENTION_S_PER_TOKEN

    def __post_init__(self):
        if int(self.tile) != self.tile or self.tile < 1:
            raise ValueError(f"tile must be an integer >= 1, got {self.tile!r}")
        object.__setattr__(self, "tile", int(self.tile))
        for name in ("t0", "per_tile", "per_context_token"):
            object.__setattr__(self, name, _check_nonneg(name, getattr(self, name)))
        if self.t0 == 0 and self.per_tile == 0:
            raise ValueError("t0 and per_tile cannot both be 0")

    def kernel_params(self):
        return KIND_TILE, np.array([self.per_context_token, self.t0, self.per_tile, float(self.tile)])

    def iteration_time(self, prefill_tokens, n_decodes=0, decode_context_tokens=0, prefill_context_tokens=0):
        n, c = _tokens(prefill_tokens, n_decodes, decode_context_tokens)
        return self.t0 + self.per_tile * np.ceil(n / self.tile) + self.per_context_token * c


@dataclass(frozen=True)
class TableLatency:
    """Measured profile: time interpolated linearly in the batch token count.

    Constant (first time) below the first point, extrapolated with the last
    segment's slope above the last point.

    Parameters
    ----------
    tokens : tuple of int
        Batch token counts, strictly increasing, >= 1; at least two.
    seconds : tuple of float
        Iteration times (s) at those counts, > 0.
    per_context_token : float
        Seconds per summed decode-context token.
    """

    tokens: tuple = field(default=())
    seconds: tuple = field(default=())
    per_context_token: float = DECODE_ATTENTION_S_PER_TOKEN

    def __post_init__(self):
        x = np.asarray(self.tokens, dtype=np.float64).ravel()
        y = np.asarray(self.seconds, dtype=np.float64).ravel()
        if x.size < 2 or x.size != y.size:
            raise ValueError(
                f"tokens and seconds must have equal length >= 2, got {x.size} and {y.size}"
            )
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValueError("tokens and seconds must be finite")
        if x[0] < 1 or np.any(np.diff(x) <= 0):
            raise ValueError("tokens must be >= 1 and strictly increasing")
        if np.any(y <= 0):
            raise ValueError("seconds must be > 0")
        object.__setattr__(self, "tokens", tuple(x.tolist()))
        object.__setattr__(self, "seconds", tuple(y.tolist()))
        object.__setattr__(self, "per_context_token", _check_nonneg("per_context_token", self.per_context_token))

    @classmethod
    def from_csv(cls, path, tokens_column="tokens", time_column="time_ms", time_unit="ms",
                 per_context_token=DECODE_ATTENTION_S_PER_TOKEN):
        """Read a profile CSV with a token-count column and a time column.

        ``time_unit`` is ``"s"`` or ``"ms"``. Raises ``ValueError`` on a
        missing column or non-numeric values.
        """
        import pandas as pd

        scale = {"s": 1.0, "ms": 1e-3}.get(time_unit)
        if scale is None:
            raise ValueError(f"time_unit must be 's' or 'ms', got {time_unit!r}")
        try:
            df = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise ValueError(f"malformed profile CSV {path!s}: {exc}") from exc
        for col in (tokens_column, time_column):
            if col not in df.columns:
                raise ValueError(f"profile CSV {path!s} has no column {col!r} (columns: {list(df.columns)})")
        try:
            x = pd.to_numeric(df[tokens_column]).to_numpy(np.float64)
            y = pd.to_numeric(df[time_column]).to_numpy(np.float64) * scale
        except (ValueError, TypeError) as exc:
            raise ValueError(f"profile CSV {path!s} has non-numeric values: {exc}") from exc
        order = np.argsort(x, kind="stable")
        return cls(tuple(x[order]), tuple(y[order]), per_context_token)

    def kernel_params(self):
        m = len(self.tokens)
        return KIND_TABLE, np.array([self.per_context_token, m, *self.tokens, *self.seconds])

    def iteration_time(self, prefill_tokens, n_decodes=0, decode_context_tokens=0, prefill_context_tokens=0):
        n, c = _tokens(prefill_tokens, n_decodes, decode_context_tokens)
        x = np.asarray(self.tokens)
        y = np.asarray(self.seconds)
        t = np.interp(n, x, y)
        slope = (y[-1] - y[-2]) / (x[-1] - x[-2])
        t = np.where(n > x[-1], y[-1] + slope * (n - x[-1]), t)
        return t + self.per_context_token * c


def default_latency():
    """Mistral-7B on one RTX 6000 Ada (Sarathi-Serve engine), the paper's testbed.

    ``max(21.13 ms + 24.5 us n, 6.71 ms + 91.7 us n)`` per iteration of n
    batched tokens plus 0.17 us per summed decode-context token.
    """
    return PiecewiseLatency()


@njit(cache=True)
def iteration_time_kernel(kind, params, prefill_tokens, n_decodes, decode_context_tokens,
                          prefill_context_tokens=0.0):
    """Jitted twin of ``model.iteration_time`` for scalars; ``(kind, params) = model.kernel_params()``."""
    n = float(prefill_tokens + n_decodes)
    t = params[0] * decode_context_tokens
    if kind == KIND_ROOFLINE:
        return t + _roofline_kernel(params, float(prefill_tokens), float(n_decodes), prefill_context_tokens)
    if kind == KIND_AFFINE:
        return t + params[1] + params[2] * n
    if kind == KIND_PIECEWISE:
        k = int(params[1])
        best = params[2] + params[3] * n
        for i in range(1, k):
            v = params[2 + 2 * i] + params[3 + 2 * i] * n
            if v > best:
                best = v
        return t + best
    if kind == KIND_TILE:
        tile = params[3]
        return t + params[1] + params[2] * np.ceil(n / tile)
    # KIND_TABLE
    m = int(params[1])
    xs = params[2:2 + m]
    ys = params[2 + m:2 + 2 * m]
    if n <= xs[0]:
        return t + ys[0]
    if n >= xs[m - 1]:
        return t + ys[m - 1] + (ys[m - 1] - ys[m - 2]) / (xs[m - 1] - xs[m - 2]) * (n - xs[m - 1])
    lo = 0
    hi = m - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if xs[mid] <= n:
            lo = mid
        else:
            hi = mid
    return t + ys[lo] + (ys[hi] - ys[lo]) / (xs[hi] - xs[lo]) * (n - xs[lo])


@njit(cache=True, inline="always")
def _roofline_kernel(c, p, d, k):
    """``RooflineLatency.iteration_time`` less its decode-context term, for scalars (``c``: kernel params)."""
    n = p + d
    if c[4] > 1.0:
        touched = c[4] * -np.expm1(n * np.log1p(-c[5] / c[4]))
    else:
        touched = 1.0 if n > 0 else 0.0
    busy = 1.0 if n > 0 else 0.0
    out = d + (1.0 if p > 0 else 0.0)
    t = max(c[1] * n, c[2] * busy + c[3] * touched) + c[6] * n + c[7] * p * (k + 0.5 * p)
    t += c[8] * busy + c[9] * n + c[10] * busy + c[11] + c[12] * out
    if out > 0:
        t += max(c[13] * out, c[14])
    return t


# Seconds per 128-row tile of the calibrated model at its full 512-row batch: g(512) / 4.
_DEFAULT_PER_TILE = (6.7076e-3 + 91.704e-6 * 512) / 4


def intercept_free_tile_latency(tile=128, per_tile=_DEFAULT_PER_TILE,
                                per_context_token=DECODE_ATTENTION_S_PER_TOKEN):
    """Iteration time proportional to the number of tiles, no constant term (seconds).

    ``per_tile * ceil(n / tile) + per_context_token * context``: the
    :class:`TileLatency` with ``t0 = 0``. Under it every full tile costs the
    same whatever the batch mixes, the model under which alternating
    prefill-only and decode-only batches of whole tiles
    (``"rad-alternating"``) are throughput-optimal (:mod:`queueing.fluid`).
    The default ``per_tile`` (13.4 ms) is the calibrated model's time per tile
    at its full 512-row batch, so full batches take the same time in both.
    """
    return TileLatency(tile=tile, t0=0.0, per_tile=per_tile, per_context_token=per_context_token)


def microbenchmark_table(latency=None, prompt_tokens=2048):
    """Predicted versus measured single-prompt microbenchmark.

    One prompt of ``prompt_tokens`` alone, chunked at each token budget of
    ``data/slai_token_budget_microbench.csv``: TTFT is the sum of its chunk
    iterations, and the mean batch time also counts the one decode-only
    iteration that the measured run contains per request.

    Returns
    -------
    pandas.DataFrame
        Columns ``chunk``, ``n_chunks``, ``ttft_ms``, ``ttft_pred_ms``,
        ``batch_ms``, ``batch_pred_ms``, ``ttft_rel_err``, ``batch_rel_err``.
    """
    import pandas as pd

    lat = default_latency() if latency is None else latency
    with resources.files("queueing").joinpath("data/slai_token_budget_microbench.csv").open() as fh:
        df = pd.read_csv(fh)
    rows = []
    for chunk in df["chunk"].astype(int):
        starts = np.arange(0, prompt_tokens, chunk)
        sizes = np.minimum(chunk, prompt_tokens - starts)
        ttft = float(np.sum(lat.iteration_time(sizes, 0, 0, starts)))
        decode = float(lat.iteration_time(0, 1, prompt_tokens))
        rows.append((chunk, sizes.size, 1e3 * ttft, 1e3 * (ttft + decode) / (sizes.size + 1)))
    pred = pd.DataFrame(rows, columns=["chunk", "n_chunks", "ttft_pred_ms", "batch_pred_ms"])
    out = df.merge(pred, on="chunk")
    out["ttft_rel_err"] = out["ttft_pred_ms"] / out["ttft_ms"] - 1
    out["batch_rel_err"] = out["batch_pred_ms"] / out["batch_ms"] - 1
    return out[["chunk", "n_chunks", "ttft_ms", "ttft_pred_ms", "batch_ms", "batch_pred_ms",
                "ttft_rel_err", "batch_rel_err"]]
