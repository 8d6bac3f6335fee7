"""Characteristic-time models next to trace simulation, over a parameter grid.

One call gives a tidy :class:`pandas.DataFrame` (one row per grid point and
model) with the model's and the simulator's request, byte and layer hit
ratios and their differences, for notebooks and figures.

Steady state. Under IRM the time since the last request for version (i, l)
is exponential with rate ``lambda_i p[i, l]``, independently over (i, l)
(Poisson thinning). :func:`stationary_prefix` replays one request per
(object, version) in the order of such sampled ages, oldest first, so that
an LRU or LLRU cache starts from its stationary recency order; the trace then
continues with ``warmup_per_object * N`` uncounted IRM requests and
``requests_per_object * N`` counted ones. FIFO's state is not a recency
order, so FIFO simulations get a longer warm-up, three characteristic times
(the model's T only sets the length, never the state). Without it a
large cache at high Zipf alpha needs far more than 30 N requests to fill.

Capacities are fractions of the model's own catalog: the layer bytes for
layered models, the stand-alone version bytes for non-layered ones, the full
versions' bytes for ``full``.
"""

from __future__ import annotations

import numpy as np

from .catalog import Catalog
from .che import CHE_MODELS, _Model
from .popularity import check_pmf, version_profile, zipf_popularity
from .workload import irm_trace

__all__ = ["stationary_prefix", "compare_model_simulation", "MODEL_SIMULATION"]

#: model -> (simulated policy, keyword arguments of :func:`layercache.simulate`)
MODEL_SIMULATION = {
    "llru": ("lru", {"layered": True}),
    "lru": ("lru", {"layered": False}),
    "lfifo": ("fifo", {"layered": True}),
    "fifo": ("fifo", {"layered": False}),
    "full": ("lru", {"full_object_only": True}),
}


def stationary_prefix(popularity, version_probs=None, *, seed=None):
    """Requests that put an LRU cache in its IRM-stationary recency order.

    Parameters
    ----------
    popularity : array_like, shape (N,)
        Object request probabilities (pmf).
    version_probs : array_like, shape (L,) or (N, L), optional
        Version popularity (rows are pmfs); ``None``: version 1 only.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    objects : numpy.ndarray, int32, shape (M,)
    versions : numpy.ndarray, int8, shape (M,)
        One request per (object, version) of positive rate (M of them),
        ordered by decreasing sampled age ``E / (lambda_i p[i, l])``, E
        standard exponential: the last is the most recent.
    """
    lam = check_pmf(popularity, "popularity")
    if lam.ndim != 1:
        raise ValueError(f"popularity must be 1-D, got shape {lam.shape}")
    p = np.ones((1, 1)) if version_probs is None else check_pmf(version_probs, "version_probs")
    p = np.atleast_2d(p)
    if p.shape[0] not in (1, lam.size) or p.shape[1] > 127:
        raise ValueError(f"version_probs must have shape (L,) or (N, L) with N = {lam.size}, L <= 127; got {p.shape}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    rate = (lam[:, None] * p).reshape(-1)
    items = np.flatnonzero(rate > 0)
    age = rng.standard_exponential(items.size) / rate[items]
    order = items[np.argsort(-age, kind="stable")]
    L = p.shape[1]
    return (order // L).astype(np.int32), (order % L + 1).astype(np.int8)


def _capacity_base(catalog: Catalog, model: str) -> float:
    structure = CHE_MODELS[model][0]
    if structure == 0:
        return float(catalog.layer_sizes.sum())
    if structure == 1:
        return float(catalog.version_sizes.sum())
    top = catalog.layers_per_object - 1
    return float(catalog.version_sizes[np.arange(catalog.n_objects), top].sum())


def compare_model_simulation(
    *,
    alphas=(0.8,),
    n_layers=(3,),
    cache_fractions=(0.01, 0.1, 0.5),
    size_profiles=("equal",),
    version_profiles=("uniform",),
    models=("llru", "lru", "fifo"),
    n_objects: int = 10_000,
    requests_per_object: int = 30,
    warmup_per_object: int = 5,
    max_warmup_per_object: int = 300,
    overhead: float = 0.0,
    overhead_model: str = "enhancement",
    seed: int = 0,
):
    """Run each model and its simulated twin on a grid; return a tidy DataFrame.

    The grid is the product of ``alphas`` (Zipf exponents), ``n_layers``,
    ``version_profiles`` (see :func:`layercache.version_profile`),
    ``size_profiles`` (see :meth:`layercache.Catalog.from_profile`),
    ``cache_fractions`` (of the model's catalog bytes, in (0, 1]) and
    ``models`` (keys of :data:`MODEL_SIMULATION`). One trace per (alpha, L,
    version profile), shared by the rest of the grid: a
    :func:`stationary_prefix`, then uncounted IRM requests
    (``warmup_per_object * n_objects``; for FIFO models three times the
    largest FIFO characteristic time of the trace's grid points, at most
    ``max_warmup_per_object * n_objects``) and the
    ``requests_per_object * n_objects`` counted ones, the same for every
    simulation of the trace.

    Returns
    -------
    pandas.DataFrame
        One row per grid point and model: the grid columns, ``policy``,
        ``capacity``, ``requests`` (counted), ``warmup`` (uncounted IRM
        requests after the prefix), ``characteristic_time``,
        ``model_hit_ratio``, ``sim_hit_ratio``, ``error`` (model minus
        simulation) and ``abs_error``, and the same for byte (``byte_``) and
        layer (``layer_``, NaN for non-layered models) hit ratios.
    """
    import pandas as pd

    from .simulation import simulate

    for m in models:
        if m not in MODEL_SIMULATION:
            raise ValueError(f"models must be among {tuple(MODEL_SIMULATION)}, got {m!r}")
    fractions = np.asarray(cache_fractions, dtype=np.float64)
    if fractions.ndim != 1 or fractions.size == 0 or np.any(fractions <= 0) or np.any(fractions > 1):
        raise ValueError(f"cache_fractions must be a non-empty 1-D sequence in (0, 1], got {cache_fractions!r}")
    n = int(n_objects)
    if n < 1 or requests_per_object < 1 or warmup_per_object < 0:
        raise ValueError("n_objects and requests_per_object must be >= 1, warmup_per_object >= 0")
    traces = np.random.SeedSequence(seed).spawn(len(alphas) * len(n_layers) * len(version_profiles))
    rows = []
    t = 0
    for alpha in alphas:
        lam = zipf_popularity(n, alpha)
        for L in n_layers:
            for vprof in version_profiles:
                p = version_profile(L, vprof)
                catalogs = {s: Catalog.from_profile(n, L, s, overhead=overhead, overhead_model=overhead_model)
                            for s in size_profiles}  # fmt: skip
                runs = []  # (size profile, model, solver, fraction, capacity, model result)
                for sprof, catalog in catalogs.items():
                    for model in models:
                        solver = _Model(lam, p, catalog, model)
                        base = _capacity_base(catalog, model)
                        runs += [(sprof, model, solver.solve(f * base)) for f in fractions]
                # FIFO forgets its start state only over a few characteristic times
                slow = [r.root for _, m, r in runs if CHE_MODELS[m][1] == 1 and np.isfinite(r.root)]
                fifo_warmup = int(min(max(warmup_per_object * n, 3 * max(slow, default=0)), max_warmup_per_object * n))
                rng = np.random.default_rng(traces[t])
                t += 1
                pre_o, pre_v = stationary_prefix(lam, p, seed=rng)
                counted = requests_per_object * n
                o, v = irm_trace(lam, p, max(fifo_warmup, warmup_per_object * n) + counted, seed=rng)
                for (sprof, model, res), frac in zip(runs, np.tile(fractions, len(runs) // fractions.size)):
                    warm = fifo_warmup if CHE_MODELS[model][1] == 1 else warmup_per_object * n
                    objects = np.concatenate([pre_o, o[o.size - warm - counted :]])
                    versions = np.concatenate([pre_v, v[v.size - warm - counted :]])
                    policy, kwargs = MODEL_SIMULATION[model]
                    sim = simulate(objects, versions, policy=policy, capacity=res.capacity, catalog=catalogs[sprof],
                                   warmup=pre_o.size + warm, **kwargs)  # fmt: skip
                    rows.append({
                        "alpha": alpha, "n_layers": L, "version_profile": vprof, "size_profile": sprof,
                        "cache_fraction": float(frac), "model": model, "policy": policy,
                        "capacity": res.capacity, "requests": sim.requests, "warmup": warm,
                        "characteristic_time": res.root,
                        "model_hit_ratio": res.hit_ratio, "sim_hit_ratio": sim.hit_ratio,
                        "model_byte_hit_ratio": res.byte_hit_ratio, "sim_byte_hit_ratio": sim.byte_hit_ratio,
                        "model_layer_hit_ratio": np.nan if res.layer_hit_ratio is None else res.layer_hit_ratio,
                        "sim_layer_hit_ratio": np.nan if sim.layer_hit_ratio is None else sim.layer_hit_ratio,
                    })  # fmt: skip
    df = pd.DataFrame(rows)
    for prefix in ("", "byte_", "layer_"):
        df[f"{prefix}error"] = df[f"model_{prefix}hit_ratio"] - df[f"sim_{prefix}hit_ratio"]
        df[f"abs_{prefix}error"] = df[f"{prefix}error"].abs()
    return df
