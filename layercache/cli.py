"""The ``layercache`` command: simulate a cache on a trace, solve a Che model, run a sweep file.

A thin layer over the public API (``layercache.simulate``, ``che_hit_ratio``,
``layercache.sweep``); see ``layercache --help`` and ``layercache COMMAND
--help``. Output: an aligned table, or ``--csv`` / ``--json``.
"""

from __future__ import annotations

import sys

from layerq import cli

_FORMATS = {"auto": None, "oraclegeneral": "oracleGeneral", "csv": "csv", "npy": "npy", "npz": "npz"}


def _capacities(args, working_set):
    if not args.capacity and not args.capacity_fraction:
        raise ValueError("give --capacity C [C ...] and/or --capacity-fraction F [F ...]")
    return sorted(set(args.capacity or []) | {f * working_set for f in args.capacity_fraction or []})


def cmd_simulate(args):
    import pandas as pd

    from .simulation import simulate
    from .streaming import stream_trace

    # staged on disk and simulated window by window: traces larger than memory work
    with stream_trace(args.trace, _FORMATS[args.format]) as staged:
        if args.warmup > staged.n_requests:
            raise ValueError(f"--warmup must be at most the trace length {staged.n_requests}, got {args.warmup}")
        capacities = _capacities(args, staged.working_set(sizes=args.byte))
        rows = []
        for policy in args.policy:
            for capacity in capacities:
                res = simulate(staged, policy=policy, capacity=capacity, sizes="trace" if args.byte else None,
                               warmup=args.warmup)
                rows.append({"policy": policy, "capacity": capacity, "requests": res.requests, "hits": res.hits,
                             "hit_ratio": res.hit_ratio, "byte_hit_ratio": res.byte_hit_ratio})
    table = pd.DataFrame(rows)
    cli.emit(table, args)
    if args.plot:
        from .plots import plot_hit_ratio

        unit = "bytes" if args.byte else "objects"
        cli.save_plot(plot_hit_ratio(table, xlabel=f"cache size ({unit})", title=args.trace), args.plot)


def cmd_model(args):
    import pandas as pd

    from .catalog import Catalog
    from .che import che_hit_ratio
    from .popularity import version_profile, zipf_popularity

    catalog = Catalog.from_profile(args.objects, args.layers, args.profile, overhead=args.overhead)
    popularity = zipf_popularity(args.objects, args.alpha)
    versions_pmf = version_profile(args.layers, args.versions)
    rows = []
    for model in args.model:
        sizes = catalog.layer_sizes if model in ("llru", "lfifo") else catalog.version_sizes
        for capacity in _capacities(args, float(catalog.version_sizes[:, -1].sum())):
            res = che_hit_ratio(popularity, versions_pmf, sizes, capacity, model=model)
            rows.append({"model": model, "capacity": capacity, "hit_ratio": res.hit_ratio,
                         "characteristic_time": res.characteristic_time})
    table = pd.DataFrame(rows)
    cli.emit(table, args)
    if args.plot:
        from .plots import plot_hit_ratio

        cli.save_plot(plot_hit_ratio(table, by="model", model=None, xlabel="cache size (full objects)",
                                     title=f"Che model, Zipf({args.alpha}), N={args.objects}, L={args.layers}"),
                      args.plot)


def cmd_sweep(args):
    from .experiments import irm_experiment, trace_experiment

    table, plot = cli.run_sweep_file(args, {"irm": irm_experiment, "trace": trace_experiment})
    if plot and "hit_ratio" in table and "policy" in table:
        from .plots import plot_hit_ratio

        ok = table[table["error"].isna()] if "error" in table else table
        cli.save_plot(plot_hit_ratio(ok), plot)


def parser():
    from .catalog import SIZE_PROFILES
    from .popularity import VERSION_PROFILES
    from .simulation import POLICIES

    top = cli.Parser(prog="layercache", description="Layered caching: trace simulation, Che models and sweeps.")
    sub = top.add_subparsers(title="commands", required=True, metavar="COMMAND")

    sim = sub.add_parser("simulate", help="hit counts of cache policies on a trace file, one row per size",
                         description="Simulate cache policies on a trace (libCacheSim oracleGeneral, plain or "
                                     ".zst; CSV of time,id,size; numpy) at one or more cache sizes. Prints one "
                                     "row per policy and size: capacity, requests, hits, hit_ratio, "
                                     "byte_hit_ratio. The trace is streamed: staged once in $TMPDIR (about "
                                     "12 bytes per request) and simulated window by window, so traces larger "
                                     "than memory work.")
    sim.add_argument("trace", metavar="TRACE", help="trace file")
    sim.add_argument("--format", choices=list(_FORMATS), default="auto",
                     help="trace format (default auto: from the file name)")
    sim.add_argument("--policy", nargs="+", required=True, choices=POLICIES, metavar="NAME",
                     help=f"cache policy, one or more of: {', '.join(POLICIES)}")
    sim.add_argument("--capacity", nargs="+", type=cli.positive_float, metavar="C",
                     help="cache sizes > 0: objects, or bytes with --byte")
    sim.add_argument("--capacity-fraction", nargs="+", type=cli.fraction, metavar="F",
                     help="cache sizes as fractions in (0, 1] of the working set (distinct objects, or their "
                          "bytes with --byte)")
    sim.add_argument("--byte", action="store_true",
                     help="use the trace's object sizes: capacities in bytes (default: every object size 1)")
    sim.add_argument("--warmup", type=cli.non_negative_int, default=0, metavar="N",
                     help="first N requests warm the cache and are not counted (default 0)")
    cli.add_output_options(sim, plot="the hit-ratio curves")
    sim.set_defaults(handler=cmd_simulate)

    mod = sub.add_parser("model", help="Che-model hit ratio of LRU / layered LRU / FIFO for a Zipf catalog",
                         description="Characteristic-time (Che) hit ratio of a Zipf(alpha) catalog of N objects "
                                     "with L layers of unit total size (capacities in full objects).")
    mod.add_argument("--objects", type=cli.positive_int, required=True, metavar="N", help="catalog size N")
    mod.add_argument("--alpha", type=float, required=True, help="Zipf exponent (>= 0)")
    # not argparse choices: listing layercache.CHE_MODELS would load numba for every command line
    mod.add_argument("--model", nargs="+", default=["lru"], metavar="NAME",
                     help="Che models, one or more of layercache.CHE_MODELS: lru, fifo (stand-alone versions), "
                          "llru, lfifo (layered), full (full object only); default lru")
    mod.add_argument("--layers", type=cli.positive_int, default=1, metavar="L", help="layers per object (default 1)")
    mod.add_argument("--profile", choices=SIZE_PROFILES, default="equal", help="layer sizes (default equal)")
    mod.add_argument("--overhead", type=float, default=0.0, help="layering overhead theta >= 0 (default 0)")
    mod.add_argument("--versions", choices=VERSION_PROFILES, default="uniform",
                     help="version popularity (default uniform)")
    mod.add_argument("--capacity", nargs="+", type=cli.positive_float, metavar="C",
                     help="cache sizes > 0 in full objects")
    mod.add_argument("--capacity-fraction", nargs="+", type=cli.fraction, metavar="F",
                     help="cache sizes as fractions in (0, 1] of the catalog's N full objects")
    cli.add_output_options(mod, plot="the modelled hit-ratio curves")
    mod.set_defaults(handler=cmd_model)

    cli.add_sweep_command(sub, 'Built-in tasks: task = "irm" (layercache.experiments.irm_experiment: policy, '
                               'capacity_fraction, n_objects, alpha, ...) or "trace" (trace_experiment: trace, '
                               'policy, capacity or capacity_fraction, byte, warmup); or "module:function".'
                          ).set_defaults(handler=cmd_sweep)
    return top


#: Entry point of the ``layercache`` command: ``main(argv=None) -> exit code``.
main = cli.command(parser)


if __name__ == "__main__":
    sys.exit(main())
