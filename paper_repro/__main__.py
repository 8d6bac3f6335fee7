"""Reproduce both papers' studies into ``figures/``.

Usage::

    python -m paper_repro            # quick mode: every study, small sizes (minutes on 2 cores)
    python -m paper_repro --full     # the sizes stated in each study's docstring
    python -m paper_repro --only lc_hit_vs_cache q_ttft_vs_qps
    python -m paper_repro --list
    python -m paper_repro --fresh    # discard cached sweep points (they resume interrupted runs)
    python -m paper_repro --out DIR  # write figures and tables to DIR

Each study is a module ``paper_repro/<name>.py`` with a docstring stating its
parameters (and where they differ from the paper), ``compute(quick) ->
DataFrame`` and ``plot(table) -> Figure``. The runner writes
``figures/<name>.png`` and ``figures/<name>.csv``, an index
``figures/README.md`` (figure, command, runtime, output), and the
reproduction report ``figures/REPORT.md`` (``paper_repro.report``) with the
README's headline table, both from the CSVs: the repository's ``figures/`` in
a source checkout, ``./figures`` elsewhere (see ``paths``). ``--only`` leaves
the index as it was, and rewrites the report and the headline table only when
every CSV they read is there and the report was made in the same mode (the
other studies' rows then stay as they were); otherwise it leaves them alone
and says why.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import time

from . import paths

#: Studies in the order they run.
STUDIES = [
    "lc_hit_vs_cache",
    "lc_modern_policies",
    "lc_layers_help",
    "lc_hit_vs_alpha",
    "q_latency_calibration",
    "q_latency_validation",
    "q_ttft_vs_qps",
    "q_capacity",
    "q_headline",
    "q_rad_stability",
    "q_rad_variants",
    "q_principles",
    "q_disaggregation",
]


def _summary(module) -> str:
    doc = (module.__doc__ or "").strip().splitlines()
    return doc[0] if doc else ""


def run_study(name: str, quick: bool) -> tuple[float, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    module = importlib.import_module(f".{name}", __package__)
    start = time.perf_counter()
    table = module.compute(quick=quick)
    with plt.style.context(str(paths.STYLE)):
        fig = module.plot(table)
        fig.savefig(paths.FIGURES / f"{name}.png")
        plt.close(fig)
    table.to_csv(paths.FIGURES / f"{name}.csv", index=False)
    return time.perf_counter() - start, _summary(module)


def _write_index(rows: list[tuple[str, str, float, str]], quick: bool) -> None:
    index = paths.FIGURES / "README.md"
    mode = "" if quick else " --full"
    lines = [
        "# Figures",
        "",
        "Made by `python -m paper_repro" + mode + "`; one script per figure in `paper_repro/`.",
        "",
        "| figure | what it shows | command | runtime (s) |",
        "|---|---|---|---|",
    ]
    for name, summary, seconds, _ in rows:
        cmd = f"`python -m paper_repro{mode} --only {name}`"
        lines.append(f"| [{name}.png]({name}.png) ([csv]({name}.csv)) | {summary} | {cmd} | {seconds:.1f} |")
    index.write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paper_repro", description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="paper-sized runs instead of quick mode")
    parser.add_argument("--only", nargs="+", metavar="STUDY", help="run only these studies")
    parser.add_argument("--list", action="store_true", help="list the studies and exit")
    parser.add_argument("--fresh", action="store_true", help="discard cached sweep results first")
    parser.add_argument("--out", metavar="DIR", help="directory for figures and tables (default: the "
                        "repository's figures/ in a source checkout, else ./figures)")
    args = parser.parse_args(argv)

    if args.list:
        for name in STUDIES:
            print(f"{name:24s} {_summary(importlib.import_module(f'.{name}', __package__))}")
        return 0
    names = args.only or STUDIES
    unknown = sorted(set(names) - set(STUDIES))
    if unknown:
        parser.error(f"unknown study {unknown}; choose from {STUDIES}")

    if args.out:
        paths.use_output(args.out)
    if args.fresh:
        shutil.rmtree(paths.CACHE, ignore_errors=True)
    paths.FIGURES.mkdir(parents=True, exist_ok=True)
    quick = not args.full
    rows = []
    failed = []
    for name in names:
        print(f"[paper_repro] {name} ({'quick' if quick else 'full'}) ...", flush=True)
        try:
            seconds, summary = run_study(name, quick)
        except Exception as exc:  # keep the other studies' results; report at the end
            failed.append(name)
            print(f"[paper_repro] {name} FAILED: {exc!r}", file=sys.stderr, flush=True)
            continue
        out = paths.FIGURES / f"{name}.png"
        rows.append((name, summary, seconds, os.path.relpath(out)))
        print(f"[paper_repro] {name}: {seconds:.1f} s -> {out}", flush=True)
    if not args.only:
        _write_index(rows, quick)
    from .report import partial_run_blocker, write_report

    mode = "quick" if quick else "full"
    blocker = partial_run_blocker(mode) if args.only else None
    if blocker is None:
        write_report(mode)
        print(f"[paper_repro] REPORT.md written from the CSVs in {paths.FIGURES}")
    else:
        print(f"[paper_repro] REPORT.md and the README headline left as they were: {blocker}")
    print()
    print(f"{'study':24s} {'seconds':>8s}  output")
    for name, _, seconds, out in rows:
        print(f"{name:24s} {seconds:8.1f}  {out}")
    if failed:
        print(f"failed: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
