"""Clusters written compactly: ``"prefill:2:tensor_parallel=2,decode:2"`` -> a list of ReplicaGroup.

The ``queueing cluster`` command's ``--groups`` and the Python API read the
same text (:func:`parse_groups`) or file (:func:`read_groups`), so a cluster
described on the command line can be rebuilt in a notebook.

Grammar: groups separated by commas, each ``ROLE:COUNT[:KEY=VALUE]...`` with

* ``ROLE``: ``colocated``, ``prefill`` or ``decode``;
* ``COUNT``: replicas in the group, an integer >= 1;
* ``KEY``: a setting of :class:`queueing.cluster.ReplicaGroup` (``scheduler``,
  ``model``, ``gpu``, ``tensor_parallel``, ``kv_capacity_tokens``,
  ``token_budget``, ``max_active``, ``max_decodes``, ``max_prefill_tokens``)
  or a parameter of the group's scheduler (``theta_low`` for SLAI, ...).

Settings a group does not name come from the defaults (the command's
``--scheduler``, ``--token-budget``, ...). Examples: ``colocated:4``;
``prefill:2,decode:2``; ``prefill:1:gpu=h100-sxm:model=llama-2-7b,decode:3:token_budget=256``;
``colocated:2,prefill:1,decode:1``. A file (JSON or TOML) holds the same
groups as a list of tables: ``{"groups": [{"role": "prefill", "count": 2, ...}, ...]}``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["parse_groups", "read_groups", "GROUP_SETTINGS"]

ROLES = ("colocated", "prefill", "decode")

#: ReplicaGroup settings a spec may name, and how their values are read.
GROUP_SETTINGS = {"scheduler": str, "model": str, "gpu": str, "tensor_parallel": int, "kv_capacity_tokens": int,
                  "token_budget": int, "max_active": int, "max_decodes": int, "max_prefill_tokens": int}


def _value(kind, text, where):
    if isinstance(text, str) and kind is not str:
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"{where} must be {'an integer' if kind is int else 'a number'}, got {text!r}") from None
    if kind is int and (isinstance(text, bool) or not isinstance(text, int)):
        raise ValueError(f"{where} must be an integer, got {text!r}")
    if kind is float and (isinstance(text, bool) or not isinstance(text, (int, float))):
        raise ValueError(f"{where} must be a number, got {text!r}")
    if kind is str and not isinstance(text, str):
        raise ValueError(f"{where} must be a string, got {text!r}")
    return kind(text)


def _group(entries: dict, defaults: dict, where: str):
    """A ReplicaGroup from ``role``, ``count`` and settings (values as text or as parsed from a file)."""
    from .registry import SCHEDULERS, scheduler_names

    entries = dict(entries)
    role = entries.pop("role", None)
    if role not in ROLES:
        raise ValueError(f"{where}: role must be one of {list(ROLES)}, got {role!r}")
    if "count" not in entries:
        raise ValueError(f"{where}: needs a count of replicas ({role}:COUNT)")
    count = _value(int, entries.pop("count"), f"{where}: count")
    if count < 1:
        raise ValueError(f"{where}: count must be >= 1, got {count}")
    settings = {k: v for k, v in defaults.items() if v is not None}
    params = {}
    scheduler = entries.get("scheduler", settings.get("scheduler", "sarathi"))
    if scheduler not in SCHEDULERS:
        raise ValueError(f"{where}: scheduler must be one of {scheduler_names()}, got {scheduler!r}")
    known_params = dict(SCHEDULERS[scheduler].params)
    for key, text in entries.items():
        if key in GROUP_SETTINGS:
            settings[key] = _value(GROUP_SETTINGS[key], text, f"{where}: {key}")
        elif key in known_params:
            params[key] = _value(float, text, f"{where}: {key}")
        else:
            raise ValueError(f"{where}: unknown setting {key!r}; known: {sorted(GROUP_SETTINGS)}"
                             + (f" and {scheduler}'s parameters {sorted(known_params)}" if known_params else ""))
    from .cluster import ReplicaGroup  # imports the engine (Numba): only once the text is known to be good

    return ReplicaGroup(role, count, params=params, **settings)


def parse_groups(spec: str, **defaults):
    """The replica groups of a compact spec (module docstring).

    Parameters
    ----------
    spec : str
        E.g. ``"prefill:2,decode:2"`` or ``"colocated:4:scheduler=vllm"``.
    **defaults
        ReplicaGroup settings of every group that does not name them
        (``scheduler``, ``token_budget``, ``model``, ...; None: the
        ReplicaGroup default).

    Returns
    -------
    list of queueing.cluster.ReplicaGroup

    Raises
    ------
    ValueError
        Naming the group and the setting: unknown role or setting, a count
        or number that does not parse.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"groups must be a spec like 'prefill:2,decode:2', got {spec!r}")
    groups = []
    for k, text in enumerate(spec.split(",")):
        where = f"groups: group {k + 1} {text.strip()!r}"
        role, _, rest = text.strip().partition(":")
        count, *pairs = rest.split(":") if rest else [None]
        entries = {"role": role}
        if count is not None:
            entries["count"] = count
        for pair in pairs:
            key, eq, value = pair.partition("=")
            if not eq or not key.strip():
                raise ValueError(f"{where}: {pair!r} is not KEY=VALUE")
            entries[key.strip().replace("-", "_")] = value.strip()
        groups.append(_group(entries, defaults, where))
    return groups


def read_groups(path, **defaults):
    """The replica groups of a JSON or TOML file: ``groups``, a list of tables (role, count, settings).

    ``defaults`` as in :func:`parse_groups`. Raises ``ValueError`` naming the file.
    """
    import json
    import tomllib

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"groups file {str(path)!r} not found")
    try:
        if path.suffix == ".json":
            spec = json.loads(path.read_text())
        else:
            spec = tomllib.loads(path.read_text())
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"groups file {str(path)!r} is not valid {path.suffix[1:].upper()}: {exc}") from None
    groups = spec.get("groups") if isinstance(spec, dict) else None
    if not isinstance(groups, list) or not groups or not all(isinstance(g, dict) for g in groups):
        raise ValueError(f"groups file {str(path)!r} needs 'groups', a list of tables with role, count and settings")
    return [_group(g, defaults, f"{path.name}: group {k + 1}") for k, g in enumerate(groups)]
