"""Where a sweep keeps finished results: one small JSON file per configuration, written atomically.

Layout: ``<directory>/<name>-<code version>/<hash of the configuration key>.json``
holding ``{"config": ..., "result": ...}``. Each file is written to a temporary
name and renamed into place, so a sweep killed at any moment (SIGINT, SIGKILL,
power loss) leaves only whole results; a re-run reads them back and computes
the rest. Only the process that runs the sweep writes here (workers return
their results to it), so no locking is needed. Failed configurations are not
stored: a re-run tries them again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import os
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from . import __version__

__all__ = ["ResultStore", "code_version", "DEFAULT_STORE"]

#: Default directory of the result store, relative to the current working directory.
DEFAULT_STORE = "sweep-results"
#: Packages whose source is part of every code version.
_TOOLKIT = ("layerq", "layercache", "queueing")


def _function_name(function) -> str:
    name = getattr(function, "__qualname__", None) or getattr(function, "__name__", None)
    if name is None and hasattr(function, "func"):  # functools.partial
        return _function_name(function.func)
    return str(name or type(function).__name__).replace("<", "").replace(">", "")


@lru_cache(maxsize=1)
def _toolkit_digest() -> str:
    """Hash of the source of layerq, layercache and queueing as found on the path (edits included)."""
    digest = hashlib.sha256(__version__.encode())
    for package in _TOOLKIT:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        root = Path(next(iter(spec.submodule_search_locations)))
        for file in sorted(root.rglob("*.py")):
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def code_version(function) -> str:
    """Short hash of the code behind ``function``: its module's source and the toolkits' source.

    Editing the module that defines the function, or any module of layerq,
    layercache or queueing, therefore starts its sweeps afresh. Functions
    without a source file (defined at an interactive prompt) contribute
    their own source or bytecode.
    """
    target = getattr(function, "func", function)  # functools.partial
    module = sys.modules.get(getattr(target, "__module__", "") or "")
    try:
        source = inspect.getsource(module) if module is not None and module.__name__ != "__main__" else ""
        source = source or inspect.getsource(target)
    except (OSError, TypeError):
        code = getattr(target, "__code__", None)
        source = repr((code.co_code, code.co_consts)) if code is not None else repr(target)
    text = f"{_toolkit_digest()}\n{_function_name(function)}\n{source}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class ResultStore:
    """Finished results of one sweep function at one code version.

    Parameters
    ----------
    directory : path
        Root of the store (created on first write).
    name : str
        The function's name; with ``version`` it names the sub-directory.
    version : str
        Code version (:func:`code_version`).
    """

    def __init__(self, directory, name: str, version: str):
        self.path = Path(directory) / f"{name}-{version}"

    @staticmethod
    def _file_name(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()[:24] + ".json"

    def load(self) -> dict[str, dict]:
        """Stored results by configuration key (unreadable files are skipped)."""
        done = {}
        if not self.path.is_dir():
            return done
        for file in self.path.glob("*.json"):
            try:
                record = json.loads(file.read_text())
                done[record["key"]] = record["result"]
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return done

    def save(self, key: str, config: dict, result: dict) -> None:
        """Write one result atomically (temporary file, then rename)."""
        self.path.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"key": key, "config": config, "result": result})
        fd, tmp = tempfile.mkstemp(dir=self.path, suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            os.replace(tmp, self.path / self._file_name(key))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
