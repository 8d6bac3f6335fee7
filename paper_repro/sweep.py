"""Resumable parameter sweeps: finished points are appended to a JSON-lines file as they complete.

A sweep point is a dict of parameters; its result is a dict of numbers. The
seed of every point is derived from its parameters (never from the order of
the sweep), so serial and parallel runs give the same numbers. The cache file
is keyed by the source of the module that defines ``evaluate``, so editing a
study starts it afresh; ``python -m paper_repro --fresh`` clears every cache.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from .paths import CACHE


def point_seed(params: dict, base_seed: int = 0) -> int:
    """Deterministic 32-bit seed from the point's parameters and a base seed."""
    key = json.dumps(params, sort_keys=True, default=str) + f"|{base_seed}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "little")


def _key(params: dict) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def run_sweep(
    name: str,
    points: Iterable[dict],
    evaluate: Callable[[dict], dict],
    *,
    workers: int = 1,
    cache_dir: Path = CACHE,
    progress: bool = True,
) -> pd.DataFrame:
    """Evaluate ``evaluate(params)`` on every point, resuming from a cache file.

    Parameters
    ----------
    name : str
        Sweep name; the cache file is ``cache_dir/<name>-<hash of evaluate's module>.jsonl``.
    points : iterable of dict
        Parameters of each point (JSON-serialisable values).
    evaluate : callable
        Module-level function (picklable when ``workers > 1``) returning a dict of results.
    workers : int
        Processes to use; 1 runs serially.

    Returns
    -------
    pandas.DataFrame
        One row per point, parameter columns then result columns, in the order of ``points``.
    """
    points = list(points)
    cache_dir.mkdir(parents=True, exist_ok=True)
    source = inspect.getsource(sys.modules[evaluate.__module__])
    path = cache_dir / f"{name}-{hashlib.sha256(source.encode()).hexdigest()[:12]}.jsonl"
    done: dict[str, dict] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # a line cut by an interrupted run
                continue
            done[row["key"]] = row["result"]
    todo = [p for p in points if _key(p) not in done]

    def record(params, result):
        done[_key(params)] = result
        with path.open("a") as fh:
            fh.write(json.dumps({"key": _key(params), "result": result}) + "\n")

    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc=name, leave=False)
    if workers > 1 and len(todo) > 1:
        with ProcessPoolExecutor(workers) as pool:
            futures = [(p, pool.submit(evaluate, p)) for p in todo]
            for params, fut in futures:
                record(params, fut.result())
                if bar:
                    bar.update()
    else:
        for params in todo:
            record(params, evaluate(params))
            if bar:
                bar.update()
    if bar:
        bar.close()
    return pd.DataFrame([{**p, **done[_key(p)]} for p in points])
