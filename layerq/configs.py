"""Sweep configurations: the grid, a stable key of each configuration and the seed derived from it.

A configuration is a dict of JSON-like values (numbers, strings, booleans,
None and lists of them). Its key is canonical JSON (sorted names, numpy
scalars as Python numbers), so equal configurations have equal keys in any
process, on any machine and in any order of the grid.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import numbers
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["expand_grid", "config_key", "config_seed"]


def _plain(value, name):
    """``value`` as a plain JSON value (numpy scalars and tuples converted)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v, name) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v, name) for k, v in value.items()}
    raise ValueError(
        f"sweep parameter {name!r} must hold numbers, strings, booleans, None or lists of them, "
        f"got {type(value).__name__}"
    )


def _values(name, values):
    if isinstance(values, (list, tuple, range, np.ndarray)):
        values = list(values)
        if not values:
            raise ValueError(f"grid parameter {name!r} has no values")
        return values
    return [values]  # a single value: the parameter is fixed


def expand_grid(grid) -> list[dict]:
    """The configurations of ``grid``, in grid order.

    Parameters
    ----------
    grid : dict of lists, or sequence of dicts
        A dict maps each parameter to its values (a scalar is one fixed
        value); its configurations are the Cartesian product, the last
        parameter varying fastest. A sequence of dicts is taken as given.

    Returns
    -------
    list of dict
        One plain dict per configuration (numpy scalars as Python numbers).
    """
    if isinstance(grid, Mapping):
        names = [str(k) for k in grid]
        axes = [_values(name, grid[name]) for name in names]
        configs = [dict(zip(names, combo)) for combo in itertools.product(*axes)]
    elif isinstance(grid, Sequence) and not isinstance(grid, (str, bytes)):
        configs = list(grid)
        for i, c in enumerate(configs):
            if not isinstance(c, Mapping):
                raise ValueError(f"grid entry {i} must be a dict of parameters, got {type(c).__name__}")
    else:
        raise ValueError(f"grid must be a dict of lists or a list of dicts, got {type(grid).__name__}")
    return [{str(k): _plain(v, k) for k, v in c.items()} for c in configs]


def config_key(config: Mapping) -> str:
    """Canonical JSON of a configuration: the same text for equal configurations, everywhere."""
    return json.dumps({str(k): _plain(v, k) for k, v in config.items()}, sort_keys=True,
                      separators=(",", ":"))


def config_seed(config: Mapping) -> int:
    """Seed of a configuration, from the configuration alone (never its position or worker).

    numpy's ``SeedSequence`` is keyed by the SHA-256 digest of
    :func:`config_key`, so the seed is the same serially, in worker
    processes and on a cluster, and independent streams follow for
    different configurations.

    Returns
    -------
    int
        In ``0 .. 2**63 - 1``.
    """
    digest = hashlib.sha256(config_key(config).encode()).digest()
    entropy = int.from_bytes(digest[:16], "little")
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0] >> np.uint64(1))
