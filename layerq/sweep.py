"""One sweep runner for both toolkits: a grid of configurations, a function, a DataFrame back.

``layercache.sweep`` and ``queueing.sweep`` are :func:`sweep`. The same grid
gives bit-identical results serially, on local processes and on a Dask
cluster: each configuration's seed comes from the configuration itself
(:func:`~layerq.configs.config_seed`), never from its position or worker,
and every result passes through the same JSON round trip whether it was just
computed or read back from the store.

Numba and parallel workers
--------------------------
Several processes compiling the same ``cache=True`` kernel at once race on
Numba's on-disk cache (crashes or corrupt index files are a known Numba
problem). Before any worker starts, :func:`sweep` therefore runs a few
configurations in the calling process (``precompile=True``): the first
pending one, and the first one of each value of every string parameter with
few values (a policy, a scheduler), as those usually select different
kernels. Their kernels are compiled once and written to the cache; forked
workers inherit them, spawned workers and Dask workers only read the cache.
Their results count like any other. Pass a callable (say, one that runs a
tiny configuration of each kind) to compile that instead, or ``False``.
On a remote cluster each machine keeps its own cache: warm it once with
``client.run(that_callable)``.
"""

from __future__ import annotations

import inspect
import json
import sys
import warnings
from pathlib import Path

from .backends import BACKENDS, RUNNERS
from .configs import _plain, config_key, config_seed, expand_grid
from .progress import make_progress
from .store import DEFAULT_STORE, ResultStore, _function_name, code_version

__all__ = ["sweep", "config_seed", "expand_grid"]

#: String parameters with more distinct values than this do not get a warm-up run each.
_WARMUP_VALUES = 16


def _as_result(value) -> dict:
    """A configuration's result as a plain dict, exactly as it will be stored."""
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a one-row DataFrame
        if len(value) != 1:
            raise ValueError(f"a sweep function returns a dict or one DataFrame row, got {len(value)} rows")
        value = value.iloc[0]
    if hasattr(value, "to_dict"):  # a pandas Series
        value = value.to_dict()
    if not isinstance(value, dict):
        raise ValueError(f"a sweep function returns a dict of numbers, got {type(value).__name__}")
    return json.loads(json.dumps({str(k): _plain(v, k) for k, v in value.items()}))


def _run_one(function, config: dict, seed):
    """``("ok", result)`` or ``("error", message)``; runs in a worker."""
    kwargs = dict(config) if seed is None else dict(config, seed=seed)
    try:
        return "ok", _as_result(function(**kwargs))
    except Exception as exc:  # reported per configuration; the others go on
        return "error", f"{type(exc).__name__}: {exc}"


def _takes_seed(function) -> bool:
    try:
        return "seed" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def _warmup_order(pending: list[int], configs: list[dict]) -> list[int]:
    """Pending configurations to run first in this process (see the module docstring)."""
    values: dict[str, set] = {}
    for i in pending:
        for name, v in configs[i].items():
            if isinstance(v, str):
                values.setdefault(name, set()).add(v)
    few = {name for name, vs in values.items() if len(vs) <= _WARMUP_VALUES}
    seen, chosen = set(), []
    for i in pending:
        new = {(n, configs[i][n]) for n in few if n in configs[i]} - seen
        if new or not chosen:
            chosen.append(i)
            seen |= new
    return chosen[: max(1, len(pending) // 4)]


def _frame(configs, seeds, results, errors):
    import pandas as pd

    rows = []
    for i, config in enumerate(configs):
        row = dict(config)
        if seeds[i] is not None:
            row["seed"] = seeds[i]
        row.update(results.get(i, {}))
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(dict.fromkeys(k for row in rows for k in row)))
    if errors:
        table["error"] = pd.Series([errors.get(i) for i in range(len(configs))], dtype=object)
    return table


def sweep(function, grid, *, backend="processes", workers=None, address=None, store=None, progress=True,
          precompile=True, name=None, version=None):
    """Evaluate ``function(**config)`` on every configuration of ``grid``.

    Parameters
    ----------
    function : callable
        Returns a dict of numbers (or a one-row DataFrame / a Series) for one
        configuration. Must be picklable (defined at module level) for the
        ``"processes"`` backend. If it takes a ``seed`` keyword and the
        configuration has no ``seed``, the sweep passes
        ``config_seed(config)``.
    grid : dict of lists, or list of dicts
        The configurations (see :func:`~layerq.configs.expand_grid`): a dict
        gives the Cartesian product, last parameter fastest.
    backend : {"processes", "serial", "dask"}
        ``"processes"``: a local process pool; ``"serial"``: this process;
        ``"dask"``: ``dask.distributed`` futures (install ``layerq[dask]``).
    workers : int, optional
        Local processes, or workers of the LocalCluster the dask backend
        starts; default: every core this process may use.
    address : str or dask.distributed.Client, optional
        Dask backend: the address of a running scheduler or a Client you
        already have; default: a new LocalCluster, closed at the end.
    store : path or False, optional
        Directory of the result store (default ``./sweep-results`` under the
        current working directory); ``False`` keeps nothing. Results are
        written as they complete, one atomic file per configuration, under a
        key of the configuration and the code version, so an interrupted
        sweep, re-run, computes only what is missing.
    progress : bool or {"bar", "lines"}
        A tqdm bar on a terminal or in a notebook, one line per ~5% of the
        work when stderr is a file, nothing with False.
    precompile : bool or callable
        Compile Numba kernels in this process before workers start (see the
        module docstring); ignored by the serial backend.
    name, version : str, optional
        Name of the store's sub-directory (default: the function's name) and
        code version (default: a hash of the source of the function's module
        and of layerq, layercache and queueing; see ``layerq.store``).

    Returns
    -------
    pandas.DataFrame
        One row per configuration in grid order: parameter columns (and
        ``seed`` when the sweep filled it), then result columns. If any
        configuration raised, an ``error`` column holds ``"Type: message"``
        for it (None elsewhere) and its result columns are NaN; a warning
        says how many failed. Failed configurations are not stored.

    Raises
    ------
    KeyboardInterrupt
        After stopping the workers; every result finished before it is in
        the store.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if not callable(function):
        raise ValueError(f"function must be callable, got {type(function).__name__}")
    configs = expand_grid(grid)
    keys = [config_key(c) for c in configs]
    fill = _takes_seed(function)
    seeds = [config_seed(c) if fill and "seed" not in c else None for c in configs]

    label = name or _function_name(function)
    saved = None
    if store is not False:
        directory = Path(store) if store is not None else Path.cwd() / DEFAULT_STORE
        saved = ResultStore(directory, label, version or code_version(function))
    done = saved.load() if saved is not None else {}
    results = {i: done[k] for i, k in enumerate(keys) if k in done}
    first_of = {}
    for i, k in enumerate(keys):  # a configuration listed twice runs once
        if i not in results:
            first_of.setdefault(k, i)
    pending = sorted(first_of.values())
    errors: dict[int, str] = {}

    bar = make_progress(progress, len(pending), f"sweep {label}")

    def record(i, outcome):
        status, value = outcome
        if status == "ok":
            results[i] = value
            if saved is not None:
                saved.save(keys[i], configs[i], value)
        else:
            errors[i] = value
        bar.update(failed=status != "ok")

    try:
        if backend != "serial" and len(pending) > 1 and precompile:
            if callable(precompile):
                precompile()
            else:
                for i in _warmup_order(pending, configs):
                    record(i, _run_one(function, configs[i], seeds[i]))
                pending = [i for i in pending if i not in results and i not in errors]
        items = [(i, (function, configs[i], seeds[i])) for i in pending]
        runner = RUNNERS[backend] if len(items) > 1 else RUNNERS["serial"]
        for i, outcome in runner(_run_one, items, workers, address):
            record(i, outcome)
    except KeyboardInterrupt:
        bar.close()
        where = f" in {saved.path}" if saved is not None else ""
        print(f"sweep interrupted: {len(results)} of {len(configs)} configurations finished{where}; "
              "run it again to compute the rest", file=sys.stderr, flush=True)
        raise
    bar.close()

    for i, k in enumerate(keys):  # duplicates take the result of their first occurrence
        j = first_of.get(k)
        if j is not None and j != i:
            if j in results:
                results[i] = results[j]
            elif j in errors:
                errors[i] = errors[j]
    if errors:
        first = min(errors)
        warnings.warn(f"{len(errors)} of {len(configs)} configurations raised (see the 'error' column); "
                      f"first: {configs[first]}: {errors[first]}", RuntimeWarning, stacklevel=2)
    return _frame(configs, seeds, results, errors)
