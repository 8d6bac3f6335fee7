"""Plumbing shared by the ``layercache`` and ``queueing`` commands: parsing, output, errors, grid files.

Errors are one line on stderr, never a traceback: exit code 2 for a usage
error (argparse), 1 for bad data or a failed computation, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

__all__ = ["Parser", "add_output_options", "emit", "emit_tables", "run", "read_sweep_file", "positive_float",
           "non_negative_float", "fraction"]


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (``prog: error: ...``, exit 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def fraction(text: str) -> float:
    value = positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must lie in (0, 1], got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text!r}")
    return value


def add_output_options(parser, plot: str | None = None, tables: bool = False):
    """``--csv`` / ``--json`` (default: an aligned table) and, if ``plot`` describes one, ``--plot FILE``.

    ``tables``: the command prints several named tables (:func:`emit_tables`).
    """
    fmt = parser.add_mutually_exclusive_group()
    if tables:
        fmt.add_argument("--csv", action="store_true", help="print each table as CSV after a '# NAME' line")
        fmt.add_argument("--json", action="store_true", help="print one JSON object: table name -> list of records")
    else:
        fmt.add_argument("--csv", action="store_true", help="print CSV instead of an aligned table")
        fmt.add_argument("--json", action="store_true", help="print a JSON list of records instead of a table")
    if plot:
        parser.add_argument("--plot", metavar="FILE", help=f"also save {plot} to FILE (.png, .pdf, .svg)")


def _json_value(value):
    """Plain JSON: numpy scalars as Python numbers (exact), NaN as null."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value != value:
        return None
    return value


def emit(table, args, stream=None) -> None:
    """Print a DataFrame as chosen by ``--csv`` / ``--json`` (default: an aligned table)."""
    stream = stream or sys.stdout
    if getattr(args, "csv", False):
        table.to_csv(stream, index=False)
    elif getattr(args, "json", False):
        json.dump([{k: _json_value(v) for k, v in row.items()} for row in table.to_dict("records")], stream,
                  indent=1)
        stream.write("\n")
    else:
        stream.write(table.to_string(index=False) + "\n")


def emit_tables(tables: dict, args, stream=None) -> None:
    """Print several named DataFrames: titled tables, CSV blocks after ``# name`` lines, or one JSON object.

    ``--json`` gives ``{name: [records]}``; ``--csv`` gives each table as CSV
    after a ``# name`` line, blocks separated by an empty line (``pandas.read_csv(...,
    comment="#")`` reads one block).
    """
    stream = stream or sys.stdout
    if getattr(args, "json", False):
        json.dump({name: [{k: _json_value(v) for k, v in row.items()} for row in table.to_dict("records")]
                   for name, table in tables.items()}, stream, indent=1)
        stream.write("\n")
        return
    for k, (name, table) in enumerate(tables.items()):
        stream.write(("\n" if k else "") + (f"# {name}\n" if getattr(args, "csv", False) else f"{name}:\n"))
        emit(table, args, stream)


def save_plot(fig, path) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


def _one_line(exc: BaseException) -> str:
    text = str(exc) if not isinstance(exc, KeyError) else str(exc.args[0] if exc.args else exc)
    text = " ".join(text.split()) or type(exc).__name__
    if isinstance(exc, (ValueError, OSError)):
        return text
    return f"{type(exc).__name__}: {text}"


def run(parser: argparse.ArgumentParser, argv=None) -> int:
    """Parse ``argv`` and call the chosen subcommand's ``handler(args)``; return the exit code."""
    os.environ.setdefault("MPLBACKEND", "Agg")  # the commands only write figure files
    args = parser.parse_args(argv)
    try:
        args.handler(args)
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. piped into head
        return 0
    except Exception as exc:  # one line, never a traceback
        print(f"{parser.prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    return 0


def command(make_parser):
    """``main(argv=None) -> exit code`` of a command whose parser ``make_parser()`` builds."""

    def main(argv=None) -> int:
        return run(make_parser(), argv)

    return main


def read_sweep_file(path) -> dict:
    """A sweep described in TOML: top-level settings and a ``[grid]`` table.

    Settings: ``task`` (a built-in task name or ``"module:function"``),
    ``backend``, ``workers``, ``address``, ``store``, ``plot``; ``[grid]``:
    each parameter and its list of values (a scalar is fixed).
    """
    import tomllib

    try:
        with open(path, "rb") as fh:
            spec = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"sweep file {str(path)!r} is not valid TOML: {exc}") from None
    known = {"task", "backend", "workers", "address", "store", "grid", "plot"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ValueError(f"sweep file {str(path)!r}: unknown settings {unknown}; known: {sorted(known)}")
    if not isinstance(spec.get("grid"), dict) or not spec["grid"]:
        raise ValueError(f"sweep file {str(path)!r} needs a [grid] table of parameters and their values")
    if "task" not in spec:
        raise ValueError(f"sweep file {str(path)!r} needs task = \"<built-in name>\" or \"module:function\"")
    return spec


def resolve_task(task: str, builtins: dict):
    """A built-in task by name, or ``"package.module:function"`` imported."""
    from importlib import import_module

    if task in builtins:
        return builtins[task]
    if ":" not in task:
        raise ValueError(f"task must be one of {sorted(builtins)} or 'module:function', got {task!r}")
    module, _, name = task.partition(":")
    try:
        return getattr(import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load task {task!r}: {exc}") from None


def run_sweep_file(args, builtins: dict):
    """The ``sweep CONFIG.toml`` subcommand of both commands: run it, print it, plot it."""
    from .sweep import sweep

    spec = read_sweep_file(args.config)
    function = resolve_task(spec["task"], builtins)
    table = sweep(function, spec["grid"], backend=args.backend or spec.get("backend", "processes"),
                  workers=args.workers or spec.get("workers"), address=spec.get("address"),
                  store=args.store or spec.get("store"), progress=not args.quiet)
    emit(table, args)
    return table, spec.get("plot") or getattr(args, "plot", None)


def add_sweep_command(sub, builtins_help: str):
    p = sub.add_parser("sweep", help="run a grid of configurations from a TOML file with the sweep API",
                       description="Run every configuration of a TOML grid file (layerq's sweep API), "
                                   "resuming from its result store. " + builtins_help)
    p.add_argument("config", metavar="CONFIG.toml", help="grid file: task, settings and a [grid] table")
    p.add_argument("--backend", choices=("serial", "processes", "dask"),
                   help="where configurations run (default: the file's, else processes)")
    p.add_argument("--workers", type=positive_int, help="local worker processes (default: the file's, else all cores)")
    p.add_argument("--store", metavar="DIR", help="result store directory (default: the file's, else ./sweep-results)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    add_output_options(p, plot="a figure of the results")
    return p
