"""Fitting the roofline's efficiency factors to measured iteration times, and the shipped fits.

Units: seconds, tokens.

A measurement table has one row per measured iteration: ``prefill_tokens``,
``n_decodes``, ``decode_context_tokens``, ``prefill_context_tokens`` (optional,
0) and ``time_s``; optional columns ``model``, ``gpu``, ``tensor_parallel``
(else taken from the arguments), ``scope`` (what the measurement covers:
``"iteration"``, the default; ``"linear"``, the non-attention operators of all
layers; ``"attention"``, the attention operators of all layers), and ``group``
with ``weight``: rows sharing a group are one measurement, the weighted sum of
their predicted times against the group's (first) ``time_s`` (a TTFT is the
sum of its chunks' iterations).

:func:`calibrate` fits the factors that the rows constrain by least squares on
the log of predicted over measured time. :func:`fitted_factors` returns the
factors fitted once per GPU class to the shipped measurements
(:func:`shipped_measurements`, provenance in ``data/README.md``).
"""

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from .hardware import gpu_spec, model_spec

__all__ = ["calibrate", "CalibrationResult", "fitted_factors", "shipped_measurements", "fit_gpu_classes",
           "validation_table", "predict", "leave_one_gpu_out", "write_factors", "GPU_CLASSES"]

_SCOPES = {
    "iteration": None,
    "linear": ("linear", "elementwise", "layer_overhead"),
    "attention": ("prefill_attention", "decode_attention"),
}
_FACTOR_BOUNDS = {"eff": (0.02, 1.0), "s": (1e-9, 0.1)}


@dataclass(frozen=True)
class CalibrationResult:
    """Outcome of :func:`calibrate`.

    Attributes
    ----------
    factors : dict
        Every factor of the roofline (fitted ones and the rest at their start values).
    fitted : tuple of str
        The factors the rows constrained and the fit moved.
    table : pandas.DataFrame
        One row per measurement: its keys, ``time_s``, ``pred_s``, ``rel_err`` (pred / measured - 1).
    median_abs_rel_err, max_abs_rel_err : float
    """

    factors: dict
    fitted: tuple
    table: object
    median_abs_rel_err: float
    max_abs_rel_err: float

    def latency(self, model, gpu, tensor_parallel=1):
        """The fitted roofline for one (model, GPU, TP)."""
        from .roofline import RooflineLatency

        return RooflineLatency(model, gpu, tensor_parallel, dict(self.factors))


def _prepare(measurements, model, gpu, tensor_parallel):
    import pandas as pd

    df = pd.DataFrame(measurements).reset_index(drop=True).copy()
    if "time_s" not in df.columns:
        if "time_ms" in df.columns:
            df["time_s"] = df["time_ms"] * 1e-3
        else:
            raise ValueError(f"measurements need a 'time_s' (or 'time_ms') column; columns: {list(df.columns)}")
    for col in ("prefill_tokens", "n_decodes", "decode_context_tokens"):
        if col not in df.columns:
            raise ValueError(f"measurements need a {col!r} column; columns: {list(df.columns)}")
    defaults = {"prefill_context_tokens": 0, "scope": "iteration", "weight": 1.0,
                "model": model, "gpu": gpu, "tensor_parallel": tensor_parallel}
    for col, v in defaults.items():
        if col not in df.columns:
            if v is None:
                raise ValueError(f"measurements have no {col!r} column: pass {col}=...")
            df[col] = [v] * len(df)
    if "group" not in df.columns:
        df["group"] = np.arange(len(df))
    bad = sorted(set(df["scope"]) - set(_SCOPES))
    if bad:
        raise ValueError(f"scope must be one of {sorted(_SCOPES)}, got {bad}")
    num = df[["prefill_tokens", "n_decodes", "decode_context_tokens", "prefill_context_tokens", "time_s", "weight"]]
    if not np.all(np.isfinite(num.to_numpy(np.float64))) or (num.to_numpy() < 0).any():
        raise ValueError("measurement columns must be finite and >= 0")
    if (df["time_s"] <= 0).any():
        raise ValueError("time_s must be > 0")
    df["model"] = [model_spec(m).name if not isinstance(m, str) else m for m in df["model"]]
    return df


def predict(df, factors):
    """Predicted seconds of each measurement of a prepared table under ``factors`` (float64 (n_groups,))."""
    from .roofline import RooflineLatency

    pred = np.zeros(len(df))
    for (m, g, t), idx in df.groupby(["model", "gpu", "tensor_parallel"], sort=False).groups.items():
        lat = RooflineLatency(m, g, int(t), factors)
        rows = df.loc[idx]
        parts = lat.components(rows["prefill_tokens"].to_numpy(), rows["n_decodes"].to_numpy(),
                               rows["decode_context_tokens"].to_numpy(), rows["prefill_context_tokens"].to_numpy())
        parts["layer_overhead"] = np.full(len(rows), lat.model.n_layers * lat.factors["per_layer_s"])
        total = sum(v for k, v in parts.items() if k != "layer_overhead")
        out = np.empty(len(rows))
        for scope, keys in _SCOPES.items():
            sel = (rows["scope"] == scope).to_numpy()
            if sel.any():
                out[sel] = (total if keys is None else sum(parts[k] for k in keys))[sel]
        pred[df.index.get_indexer(idx)] = out
    return pred


def _grouped(df, pred):
    w = df["weight"].to_numpy(np.float64)
    g = df["group"].to_numpy()
    _, first, inv = np.unique(g, return_index=True, return_inverse=True)
    p = np.bincount(inv, weights=w * pred)
    return df["time_s"].to_numpy()[first], p, first


def calibrate(measurements, model=None, gpu=None, tensor_parallel=1, fit=None, start=None):
    """Fit the roofline's factors to measured iteration times; report the error of each row.

    Parameters
    ----------
    measurements : pandas.DataFrame or dict of columns
        See the module docstring.
    model, gpu, tensor_parallel :
        Defaults for rows without ``model``, ``gpu`` or ``tensor_parallel`` columns.
    fit : iterable of str, optional
        Factors to fit; default: every factor the rows are sensitive to.
    start : dict, optional
        Starting (and fixed) factor values; default :data:`queueing.roofline.DEFAULT_FACTORS`.

    Returns
    -------
    CalibrationResult
    """
    from scipy.optimize import least_squares

    from .roofline import DEFAULT_FACTORS

    df = _prepare(measurements, model, gpu, tensor_parallel)
    base = {**DEFAULT_FACTORS, **(start or {})}
    names = list(DEFAULT_FACTORS) if fit is None else list(fit)
    unknown = sorted(set(names) - set(DEFAULT_FACTORS))
    if unknown:
        raise ValueError(f"unknown factor(s) {unknown}; accepted: {list(DEFAULT_FACTORS)}")
    meas, _, _ = _grouped(df, np.zeros(len(df)))

    def resid(x, names):
        f = {**base, **dict(zip(names, np.exp(x)))}
        return np.log(_grouped(df, predict(df, f))[1] / meas)

    if fit is None:  # keep the factors the rows respond to
        x0 = np.log([base[k] for k in names])
        r0 = resid(x0, names)
        keep = []
        for i, k in enumerate(names):
            x = x0.copy()
            x[i] += 0.1
            if np.max(np.abs(resid(x, names) - r0)) > 1e-4:
                keep.append(k)
        names = keep
    lo = [np.log(_FACTOR_BOUNDS["eff" if k.startswith("eff") else "s"][0]) for k in names]
    hi = [np.log(_FACTOR_BOUNDS["eff" if k.startswith("eff") else "s"][1]) for k in names]
    factors = dict(base)
    if names:
        x0 = np.clip(np.log([base[k] for k in names]), lo, hi)
        sol = least_squares(resid, x0, bounds=(lo, hi), args=(names,), loss="soft_l1", f_scale=0.1)
        factors.update(zip(names, np.exp(sol.x).tolist()))
    table = _error_table(df, factors)
    err = table["rel_err"].abs()
    return CalibrationResult(factors, tuple(names), table, float(err.median()), float(err.max()))


def _error_table(df, factors):
    meas, pred, first = _grouped(df, predict(df, factors))
    cols = ["model", "gpu", "tensor_parallel", "scope", "prefill_tokens", "n_decodes", "decode_context_tokens",
            "prefill_context_tokens"] + [c for c in ("source",) if c in df.columns]
    table = df.loc[first, cols].reset_index(drop=True)
    table["time_s"] = meas
    table["pred_s"] = pred
    table["rel_err"] = table["pred_s"] / table["time_s"] - 1
    return table


def validation_table(measurements, factors):
    """Measured against predicted (``time_s``, ``pred_s``, ``rel_err``) for a measurement table."""
    return _error_table(_prepare(measurements, None, None, 1), {**factors})


# ------------------------------------------------------------------ shipped data


def _read(name):
    import pandas as pd

    with resources.files("queueing").joinpath(f"data/{name}").open() as fh:
        return pd.read_csv(fh)


@lru_cache(maxsize=1)
def shipped_measurements():
    """Every shipped measurement as one table (see ``data/README.md``).

    * ``vidur_linear_profiles.csv``: Vidur's per-layer non-attention operator
      times (scope ``"linear"``), times the model's layers;
    * ``vidur_attention_samples.csv``: Vidur's attention-kernel times of prefill
      chunks and decode batches (scope ``"attention"``), times the layers;
    * ``slai_token_budget_microbench.csv``: Mistral-7B on one RTX 6000 Ada,
      TTFT of a 2048-token prompt at each chunk size and the mean iteration
      time (scope ``"iteration"``, one group per measurement);
    * ``distserve_a100_fits.csv``: DistServe's published fits of whole-engine
      iteration times (OPT-13B, OPT-66B on A100-80GB, TP 1..8), evaluated at
      single prompts of 64..2048 tokens and decode batches of 1..256 requests
      of 256 or 1024 context tokens each (scope ``"iteration"``).
    """
    import pandas as pd

    frames = []
    lin = _read("vidur_linear_profiles.csv")
    layers = lin["model"].map(lambda m: model_spec(m).n_layers)
    frames.append(pd.DataFrame({
        "model": lin["model"], "gpu": lin["gpu"], "tensor_parallel": lin["tensor_parallel"], "scope": "linear",
        "prefill_tokens": lin["tokens"], "n_decodes": 0, "decode_context_tokens": 0, "prefill_context_tokens": 0,
        "time_s": lin["layer_ms"] * 1e-3 * layers, "source": "vidur mlp.csv"}))
    att = _read("vidur_attention_samples.csv")
    layers = att["model"].map(lambda m: model_spec(m).n_layers)
    dec = att["kind"] == "decode"
    frames.append(pd.DataFrame({
        "model": att["model"], "gpu": att["gpu"], "tensor_parallel": att["tensor_parallel"], "scope": "attention",
        "prefill_tokens": np.where(dec, 0, att["chunk"] * att["batch_size"]),
        "n_decodes": np.where(dec, att["batch_size"], 0),
        "decode_context_tokens": np.where(dec, att["batch_size"] * att["kv_cache_size"], 0),
        "prefill_context_tokens": np.where(dec, 0, att["kv_cache_size"]),
        "time_s": att["time_ms"] * 1e-3 * layers, "source": "vidur attention.csv"}))
    frames.append(_microbench_rows())
    frames.append(_distserve_rows())
    out = pd.concat(frames, ignore_index=True)
    out["group"] = np.arange(len(out))
    out["weight"] = 1.0
    mb = out["source"].str.startswith("slai")
    out.loc[mb, "group"] = out.loc[mb, "group_key"].map({k: -1 - i for i, k in enumerate(
        out.loc[mb, "group_key"].unique())})
    out.loc[mb, "weight"] = out.loc[mb, "w"]
    return out.drop(columns=["group_key", "w"])


def _distserve_rows(prompts=(64, 256, 512, 1024, 2048), batches=(1, 4, 16, 64, 128, 256), contexts=(256, 1024)):
    """DistServe's A100 fits evaluated on a grid: one whole prompt alone, and decode batches of equal contexts."""
    import pandas as pd

    fits = _read("distserve_a100_fits.csv")
    rows = []
    for (model, tp), sub in fits.groupby(["model", "tensor_parallel"]):
        coef = {k: (a, b, c, thr) for k, a, b, c, thr in zip(sub["kind"], sub["a_ms"], sub["b_ms"], sub["c_ms"],
                                                           sub["small_bs_below"])}
        a, b, c, _ = coef["prefill"]
        for n in prompts:
            rows.append((model, tp, n, 0, 0, 1e-3 * (a + b * n + c * n * n), "distserve fit prefill"))
        for bs in batches:
            a, b, c, thr = coef["decoding_smallbs" if bs < coef["prefill"][3] else "decoding_largebs"]
            for ctx in contexts:
                rows.append((model, tp, 0, bs, bs * ctx, 1e-3 * (a + b * bs * ctx + c * bs), "distserve fit decode"))
    df = pd.DataFrame(rows, columns=["model", "tensor_parallel", "prefill_tokens", "n_decodes",
                                     "decode_context_tokens", "time_s", "source"])
    df["gpu"] = "a100-80gb"
    df["scope"] = "iteration"
    df["prefill_context_tokens"] = 0
    return df


def _microbench_rows(prompt_tokens=2048):
    """The SLAI microbenchmark as iteration rows: TTFT = sum of chunks; batch time = (TTFT + 1 decode) / (n + 1)."""
    import pandas as pd

    mb = _read("slai_token_budget_microbench.csv")
    rows = []
    for chunk, ttft, batch in zip(mb["chunk"].astype(int), mb["ttft_ms"], mb["batch_ms"]):
        starts = np.arange(0, prompt_tokens, chunk)
        sizes = np.minimum(chunk, prompt_tokens - starts)
        n = len(sizes)
        for key, t_ms, w in ((f"ttft-{chunk}", ttft, 1.0), (f"batch-{chunk}", batch, 1.0 / (n + 1))):
            for s, k in zip(sizes, starts):
                rows.append((key, t_ms * 1e-3, w, s, 0, 0, k))
            if key.startswith("batch"):
                rows.append((key, t_ms * 1e-3, w, 0, 1, prompt_tokens, 0))
    df = pd.DataFrame(rows, columns=["group_key", "time_s", "w", "prefill_tokens", "n_decodes",
                                     "decode_context_tokens", "prefill_context_tokens"])
    df["model"] = "mistral-7b"
    df["gpu"] = "rtx-6000-ada"
    df["tensor_parallel"] = 1
    df["scope"] = "iteration"
    df["source"] = "slai microbench " + df["group_key"].str.split("-").str[0]
    return df


#: GPU classes: the shipped GPUs whose factors are fitted to each measured GPU
GPU_CLASSES = {
    "a100-80gb": ("a100-80gb", "a100-40gb"),
    "h100-sxm": ("h100-sxm", "h100-pcie", "h200"),
    "a40": ("a40", "a10g"),
    "rtx-6000-ada": ("rtx-6000-ada", "l40s"),
}


def fit_gpu_classes(measurements=None, start=None):
    """Fit the factors once per measured GPU (dict gpu -> CalibrationResult).

    The RTX 6000 Ada has only prefill-dominated measurements (the SLAI
    microbenchmark); its decode-attention factors (``eff_kv``,
    ``attention_fixed_s``) are taken from the A40 fit, the Ampere card of the
    same class (48 GB GDDR6, PCIe) with measured decode batches, and its
    per-request overhead (CPU-side engine work per sequence) from the A100 fit,
    the one GPU with measured decode batches of a whole engine (DistServe).
    """
    df = shipped_measurements() if measurements is None else measurements
    out = {}
    for gpu in ("a100-80gb", "h100-sxm", "a40", "rtx-6000-ada"):
        rows = df[df["gpu"] == gpu]
        if rows.empty:
            continue
        s = dict(start or {})
        fit = None
        if gpu == "rtx-6000-ada" and "a40" in out and "a100-80gb" in out:
            s.update({k: out["a40"].factors[k] for k in ("eff_kv", "attention_fixed_s")})
            s["per_request_s"] = out["a100-80gb"].factors["per_request_s"]
            fit = ("eff_compute", "eff_memory", "eff_attention", "per_iteration_s")
        out[gpu] = calibrate(rows, start=s, fit=fit)
    return out


def write_factors(results, path):
    """Write the per-class fits of :func:`fit_gpu_classes` as ``data/roofline_factors.csv`` rows."""
    import pandas as pd

    rows = [(g, k, float(f"{v:.4g}")) for g, r in results.items() for k, v in r.factors.items()]
    pd.DataFrame(rows, columns=["gpu", "factor", "value"]).to_csv(path, index=False)


def leave_one_gpu_out(measurements=None):
    """Error on each measured GPU of the factors fitted on the others (dict gpu -> error table).

    The factors a GPU gets are the medians of the other GPU classes' fits (for
    the RTX 6000 Ada, of the datacenter GPUs'), i.e. what a user of a GPU that
    nobody measured gets as defaults.
    """
    df = shipped_measurements() if measurements is None else measurements
    fits = fit_gpu_classes(df)
    out = {}
    for gpu in fits:
        others = [r.factors for g, r in fits.items() if g != gpu]
        factors = {k: float(np.median([f[k] for f in others])) for k in others[0]}
        out[gpu] = validation_table(df[df["gpu"] == gpu], factors)
    return out


@lru_cache(maxsize=1)
def _shipped_factors():
    df = _read("roofline_factors.csv")
    return {g: dict(zip(sub["factor"], sub["value"].astype(float))) for g, sub in df.groupby("gpu")}


def fitted_factors(gpu):
    """The factors fitted for ``gpu``'s class (dict), or None for a GPU without a fit (defaults apply)."""
    name = gpu_spec(gpu).name
    shipped = _shipped_factors()
    for measured, members in GPU_CLASSES.items():
        if name in members and measured in shipped:
            return dict(shipped[measured])
    return None
