"""Workloads: request lengths, arrival processes and SLO classes (all seeded).

Units: seconds for times, tokens for lengths, requests/s for rates. A
:class:`Workload` holds one row per request, 0-based ids in arrival order.
Randomness comes from ``numpy.random.default_rng((seed, stream))`` with one
stream per purpose (lengths 0, arrivals 1, classes 2), so that runs with the
same seed at different rates share lengths, classes and the standardised
inter-arrival draws (common random numbers for capacity searches).
"""

from dataclasses import dataclass
from importlib import resources

import numpy as np

__all__ = [
    "SLOClass",
    "DEFAULT_SLO_CLASSES",
    "Workload",
    "sharegpt4",
    "azure_conv",
    "read_lengths_csv",
    "synthetic_lengths",
    "poisson_arrivals",
    "gamma_arrivals",
    "assign_slo_classes",
    "poisson_workload",
    "trace_workload",
    "sharegpt4_workload",
    "azure_conv_workload",
]

_STREAM_LENGTHS, _STREAM_ARRIVALS, _STREAM_CLASSES = 0, 1, 2


@dataclass(frozen=True)
class SLOClass:
    """A request class: ``name``, share ``fraction`` of requests, time-between-tokens target ``tbt`` (s)."""

    name: str
    fraction: float
    tbt: float


DEFAULT_SLO_CLASSES = (SLOClass("strict", 0.05, 0.1), SLOClass("relaxed", 0.95, 0.5))


def _rng(seed, stream):
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0 or a numpy Generator, got {seed!r}")
    return np.random.default_rng((int(seed), stream))


def _lengths(values, name):
    a = np.asarray(values)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise ValueError(f"{name} must be numeric, got dtype {a.dtype}")
    if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
        raise ValueError(f"{name} must hold whole numbers of tokens")
    if np.any(a < 1):
        raise ValueError(f"{name} must be >= 1 token each; got minimum {a.min()}")
    return a.astype(np.int64)


def _check_classes(classes):
    classes = tuple(classes)
    if not classes or not all(isinstance(c, SLOClass) for c in classes):
        raise ValueError("slo_classes must be a non-empty sequence of SLOClass")
    frac = np.array([c.fraction for c in classes], dtype=float)
    tbt = np.array([c.tbt for c in classes], dtype=float)
    if np.any(~np.isfinite(frac)) or np.any(frac < 0) or not np.isclose(frac.sum(), 1.0):
        raise ValueError(f"SLO class fractions must be >= 0 and sum to 1, got {frac.tolist()}")
    if np.any(~np.isfinite(tbt)) or np.any(tbt <= 0):
        raise ValueError(f"SLO class TBT targets must be > 0 seconds, got {tbt.tolist()}")
    if len({c.name for c in classes}) != len(classes):
        raise ValueError("SLO class names must be distinct")
    return classes


@dataclass(frozen=True)
class Workload:
    """Requests to serve, sorted by arrival.

    Attributes
    ----------
    arrival : float64 (n,)
        Arrival times (s), non-decreasing.
    prompt_tokens, output_tokens : int64 (n,)
        Prompt length P >= 1 and output length D >= 1 (tokens).
    slo_class : int64 (n,)
        Index into ``classes``.
    classes : tuple of SLOClass
    """

    arrival: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray
    slo_class: np.ndarray
    classes: tuple = DEFAULT_SLO_CLASSES

    def __post_init__(self):
        p = _lengths(self.prompt_tokens, "prompt_tokens")
        d = _lengths(self.output_tokens, "output_tokens")
        a = np.asarray(self.arrival, dtype=np.float64)
        c = np.asarray(self.slo_class)
        classes = _check_classes(self.classes)
        if not (a.shape == p.shape == d.shape == c.shape):
            raise ValueError(f"arrival, prompt_tokens, output_tokens, slo_class must have one shape; "
                             f"got {a.shape}, {p.shape}, {d.shape}, {c.shape}")
        if not np.all(np.isfinite(a)) or np.any(a < 0):
            raise ValueError("arrival times must be finite and >= 0")
        if np.any(np.diff(a) < 0):
            raise ValueError("arrival times must be non-decreasing (trace_workload(..., sort=True) sorts a trace)")
        if c.size and (not np.issubdtype(c.dtype, np.integer) or c.min() < 0 or c.max() >= len(classes)):
            raise ValueError(f"slo_class must be integers in [0, {len(classes)})")
        for name, v in (("arrival", a), ("prompt_tokens", p), ("output_tokens", d),
                        ("slo_class", c.astype(np.int64)), ("classes", classes)):
            object.__setattr__(self, name, v)
        for v in (a, p, d, self.slo_class):
            v.flags.writeable = False

    def __len__(self):
        return self.arrival.size

    @property
    def tbt_slo(self):
        """TBT target (s) of each request, float64 (n,)."""
        return np.array([c.tbt for c in self.classes])[self.slo_class]

    def to_frame(self):
        import pandas as pd

        names = np.array([c.name for c in self.classes], dtype=object)
        return pd.DataFrame({"arrival": self.arrival, "prompt_tokens": self.prompt_tokens,
                             "output_tokens": self.output_tokens, "slo_class": names[self.slo_class],
                             "tbt_slo": self.tbt_slo})


# ------------------------------------------------------------------ data


def _read_csv(path, columns):
    import pandas as pd

    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise ValueError(f"cannot read CSV {path!s}: {exc}") from exc
    missing = [c for c in columns if c is not None and c not in df.columns]
    if missing:
        raise ValueError(f"CSV {path!s} lacks column(s) {missing}; it has {list(df.columns)}")
    out = []
    for col in columns:
        if col is None:
            out.append(None)
            continue
        v = pd.to_numeric(df[col], errors="coerce").to_numpy(np.float64)
        if np.any(~np.isfinite(v)):
            bad = int(np.flatnonzero(~np.isfinite(v))[0])
            raise ValueError(f"CSV {path!s}: column {col!r} has a missing or non-numeric value at row {bad}")
        out.append(v)
    return out


def _shipped(name):
    return resources.files("queueing").joinpath("data", name)


def sharegpt4():
    """Openchat ShareGPT4 lengths (Llama-2 tokenizer), the paper's workload.

    Returns
    -------
    prompt_tokens, output_tokens : int64 (30731,)
    """
    with resources.as_file(_shipped("sharegpt4_lengths_llama2.csv")) as f:
        p, d = _read_csv(f, ["num_prefill_tokens", "num_decode_tokens"])
    return p.astype(np.int64), d.astype(np.int64)


def azure_conv():
    """One hour of the Azure LLM inference trace 2023 (conversation), real arrivals.

    Returns
    -------
    arrival : float64 (19366,) seconds
    prompt_tokens, output_tokens : int64 (19366,)
    """
    with resources.as_file(_shipped("azure_conv_2023_lengths.csv")) as f:
        a, p, d = _read_csv(f, ["arrived_at", "num_prefill_tokens", "num_decode_tokens"])
    return a, p.astype(np.int64), d.astype(np.int64)


def read_lengths_csv(path, prompt_column="num_prefill_tokens", output_column="num_decode_tokens",
                     arrival_column=None):
    """Read ``(arrival or None, prompt_tokens, output_tokens)`` from any CSV.

    Raises ``ValueError`` for a missing column, a non-numeric or missing value,
    or lengths that are not whole numbers >= 1.
    """
    a, p, d = _read_csv(path, [arrival_column, prompt_column, output_column])
    return a, _lengths(p, prompt_column), _lengths(d, output_column)


def synthetic_lengths(n, prompt_mean, output_mean, kind="exponential", seed=0, max_tokens=None):
    """Draw ``n`` (prompt, output) length pairs.

    ``kind``: ``"constant"``, ``"exponential"`` (geometric-like, rounded up),
    ``"uniform"`` (on [1, 2 mean - 1]) or ``"lognormal"`` (sigma 1). Lengths are
    >= 1 and clipped to ``max_tokens`` when given.
    """
    n = _positive_int(n, "n")
    for name, v in (("prompt_mean", prompt_mean), ("output_mean", output_mean)):
        if not np.isfinite(v) or v < 1:
            raise ValueError(f"{name} must be >= 1, got {v!r}")
    rng = _rng(seed, _STREAM_LENGTHS)

    def draw(mean):
        if kind == "constant":
            x = np.full(n, float(mean))
        elif kind == "exponential":
            x = rng.exponential(mean - 0.5, n) + 0.5
        elif kind == "uniform":
            x = rng.uniform(0.5, 2 * mean - 0.5, n)
        elif kind == "lognormal":
            x = rng.lognormal(np.log(mean) - 0.5, 1.0, n)
        else:
            raise ValueError(f"kind must be 'constant', 'exponential', 'uniform' or 'lognormal', got {kind!r}")
        x = np.maximum(1, np.rint(x)).astype(np.int64)
        return x if max_tokens is None else np.minimum(x, int(max_tokens))

    return draw(prompt_mean), draw(output_mean)


# -------------------------------------------------------------- arrivals


def _positive_int(v, name):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    return int(v)


def _check_qps(qps):
    try:
        q = float(qps)
    except (TypeError, ValueError):
        raise ValueError(f"qps must be a number > 0, got {qps!r}") from None
    if not np.isfinite(q) or q <= 0:
        raise ValueError(f"qps must be a finite number > 0, got {qps!r}")
    return q


def poisson_arrivals(n, qps, seed=0, cap_factor=None):
    """Poisson arrival times (s) of ``n`` requests at ``qps``; the first arrives at 0.

    With ``cap_factor`` (e.g. 3.0, as the Sarathi-Serve generator does) each
    inter-arrival time is capped at ``cap_factor / qps``.
    """
    n = _positive_int(n, "n")
    qps = _check_qps(qps)
    gaps = _rng(seed, _STREAM_ARRIVALS).standard_exponential(n - 1)
    if cap_factor is not None:
        if not np.isfinite(cap_factor) or cap_factor <= 0:
            raise ValueError(f"cap_factor must be > 0, got {cap_factor!r}")
        gaps = np.minimum(gaps, cap_factor)
    return np.concatenate([[0.0], np.cumsum(gaps / qps)])


def gamma_arrivals(n, qps, cv=1.0, seed=0):
    """Gamma-renewal arrival times (s): mean inter-arrival ``1/qps``, coefficient of variation ``cv``."""
    n = _positive_int(n, "n")
    qps = _check_qps(qps)
    if not np.isfinite(cv) or cv <= 0:
        raise ValueError(f"cv must be > 0, got {cv!r}")
    shape = 1.0 / cv**2
    gaps = _rng(seed, _STREAM_ARRIVALS).gamma(shape, 1.0 / shape, n - 1)
    return np.concatenate([[0.0], np.cumsum(gaps / qps)])


def assign_slo_classes(n, classes=DEFAULT_SLO_CLASSES, seed=0):
    """Independent class draw per request with the classes' fractions; int64 (n,)."""
    classes = _check_classes(classes)
    frac = np.array([c.fraction for c in classes])
    return _rng(seed, _STREAM_CLASSES).choice(len(classes), size=_positive_int(n, "n"), p=frac / frac.sum())


# ------------------------------------------------------------- workloads


def poisson_workload(prompt_tokens, output_tokens, qps, n_requests, seed=0, cap_factor=None,
                     arrival="poisson", cv=1.0, slo_classes=DEFAULT_SLO_CLASSES, shuffle=True):
    """Requests with lengths drawn from given (prompt, output) pairs and renewal arrivals.

    Parameters
    ----------
    prompt_tokens, output_tokens : int (m,)
        Length pairs to draw from (e.g. :func:`sharegpt4`).
    qps : float
        Arrival rate (requests/s), > 0.
    n_requests : int
        Number of requests. With ``shuffle`` the pairs are a seeded permutation
        (with replacement when ``n_requests > m``); otherwise the first
        ``n_requests`` pairs, cycled.
    cap_factor : float, optional
        Cap on each Poisson inter-arrival, in multiples of the mean (3.0 in the paper).
    arrival : {"poisson", "gamma"}
    cv : float
        Coefficient of variation of Gamma inter-arrivals.
    slo_classes : tuple of SLOClass
    """
    p = _lengths(prompt_tokens, "prompt_tokens")
    d = _lengths(output_tokens, "output_tokens")
    if p.size != d.size:
        raise ValueError(f"prompt_tokens and output_tokens differ in length: {p.size} vs {d.size}")
    n = _positive_int(n_requests, "n_requests")
    if shuffle:
        rng = _rng(seed, _STREAM_LENGTHS)
        idx = rng.permutation(p.size)[:n] if n <= p.size else rng.integers(0, p.size, n)
    else:
        idx = np.arange(n) % p.size
    if arrival == "poisson":
        a = poisson_arrivals(n, qps, seed, cap_factor)
    elif arrival == "gamma":
        a = gamma_arrivals(n, qps, cv, seed)
    else:
        raise ValueError(f"arrival must be 'poisson' or 'gamma', got {arrival!r}")
    return Workload(a, p[idx], d[idx], assign_slo_classes(n, slo_classes, seed), tuple(slo_classes))


def trace_workload(arrival_times, prompt_tokens, output_tokens, slo_class=None, seed=0,
                   slo_classes=DEFAULT_SLO_CLASSES, time_scale=1.0, sort=False):
    """Requests with given arrival times (s, >= 0, non-decreasing).

    ``slo_class`` (int (n,)) defaults to a seeded draw from ``slo_classes``;
    ``time_scale`` multiplies the arrival times (< 1 speeds the trace up).
    Unsorted arrival times raise ``ValueError`` unless ``sort=True``, which
    sorts the requests stably by arrival (request ids then follow the sorted
    order). Negative times always raise: shift the trace yourself.
    """
    a = np.asarray(arrival_times, dtype=np.float64)
    if a.ndim != 1 or not np.all(np.isfinite(a)):
        raise ValueError("arrival_times must be a 1-D array of finite times")
    if a.size and a.min() < 0:
        i = int(np.argmin(a))
        raise ValueError(f"arrival_times must be >= 0 s; arrival_times[{i}] = {float(a[i])!r}")
    if not sort and np.any(np.diff(a) < 0):
        i = int(np.flatnonzero(np.diff(a) < 0)[0])
        raise ValueError(f"arrival_times must be non-decreasing (arrival_times[{i + 1}] = {float(a[i + 1])!r} < "
                         f"arrival_times[{i}] = {float(a[i])!r}); pass sort=True to sort the requests by arrival")
    if not np.isfinite(time_scale) or time_scale <= 0:
        raise ValueError(f"time_scale must be > 0, got {time_scale!r}")
    p = _lengths(prompt_tokens, "prompt_tokens")
    d = _lengths(output_tokens, "output_tokens")
    if not (a.size == p.size == d.size):
        raise ValueError(f"arrival_times, prompt_tokens, output_tokens differ in length: {a.size}, {p.size}, {d.size}")
    c = assign_slo_classes(a.size, slo_classes, seed) if slo_class is None else np.asarray(slo_class)
    order = np.argsort(a, kind="stable")
    a = a * time_scale
    return Workload(a[order], p[order], d[order], c[order], tuple(slo_classes))


def sharegpt4_workload(qps, n_requests=16384, seed=0, **kwargs):
    """The paper's experiment: shuffled ShareGPT4 lengths, Poisson arrivals capped at 3x the mean."""
    kwargs.setdefault("cap_factor", 3.0)
    p, d = sharegpt4()
    return poisson_workload(p, d, qps, n_requests, seed=seed, **kwargs)


def azure_conv_workload(time_scale=1.0, seed=0, slo_classes=DEFAULT_SLO_CLASSES):
    """The Azure conversation trace with its real arrival times (scaled by ``time_scale``) and seeded classes."""
    a, p, d = azure_conv()
    return trace_workload(a, p, d, seed=seed, slo_classes=slo_classes, time_scale=time_scale)
