"""The ``queueing`` command: serve a workload with a scheduler, search capacities, run a sweep file.

A thin layer over the public API (``queueing.make_workload``, ``simulate``,
``capacity_search``, ``queueing.sweep``); see ``queueing --help`` and
``queueing COMMAND --help``. Output: an aligned table, or ``--csv`` / ``--json``.
"""

from __future__ import annotations

import sys

from layerq import cli


def _workload_options(p):
    p.add_argument("--workload", default="sharegpt4", metavar="SOURCE",
                   help="sharegpt4 (shipped ShareGPT4 lengths, default), azure (Azure conversation trace 2023, "
                        "with its arrival times) or a CSV file with one row per request")
    p.add_argument("--prompt-column", default="num_prefill_tokens", help="CSV column of prompt tokens")
    p.add_argument("--output-column", default="num_decode_tokens", help="CSV column of output tokens")
    p.add_argument("-n", "--requests", type=cli.positive_int, metavar="N",
                   help="requests per run (default 2048; with trace arrivals: the whole trace)")
    p.add_argument("--seed", type=cli.non_negative_int, default=0, help="seed of lengths, arrivals, classes")
    p.add_argument("--token-budget", type=cli.positive_int, default=512, help="tokens per batch (default 512)")
    p.add_argument("--max-active", type=cli.positive_int, default=128,
                   help="at most this many admitted requests (default 128)")
    return p


def cmd_simulate(args):
    from .experiments import make_workload
    from .simulation import simulate

    w = make_workload(args.workload, qps=args.qps, n_requests=args.requests, seed=args.seed,
                      cap_factor=args.cap_factor, prompt_column=args.prompt_column,
                      output_column=args.output_column, arrival_column=args.arrival_column,
                      time_scale=args.time_scale)
    summary = simulate(w, args.scheduler, token_budget=args.token_budget, max_active=args.max_active).summary()
    cli.emit(summary.reset_index(), args)


def cmd_capacity(args):
    import pandas as pd

    from .experiments import capacity_experiment

    rows = [{"scheduler": s, "criterion": args.criterion,
             **capacity_experiment(s, criterion=args.criterion, n_requests=args.requests or 2048,
                                   workload=args.workload, seed=args.seed, token_budget=args.token_budget,
                                   max_active=args.max_active)}
            for s in args.scheduler]
    table = pd.DataFrame(rows)
    cli.emit(table, args)
    if args.plot:
        from .plots import plot_capacity

        cli.save_plot(plot_capacity(table, title=f"{args.workload}, criterion {args.criterion}"), args.plot)


def cmd_sweep(args):
    from .experiments import capacity_experiment, serve_experiment

    table, plot = cli.run_sweep_file(args, {"serve": serve_experiment, "capacity": capacity_experiment})
    if plot:
        from .plots import plot_capacity, plot_latency

        ok = table[table["error"].isna()] if "error" in table else table
        fig = plot_latency(ok) if "qps" in ok else plot_capacity(ok)
        cli.save_plot(fig, plot)


def parser():
    from .registry import scheduler_names

    names = scheduler_names()
    top = cli.Parser(prog="queueing", description="LLM inference scheduling: simulation, capacity and sweeps.")
    sub = top.add_subparsers(title="commands", required=True, metavar="COMMAND")

    sim = sub.add_parser("simulate", help="serve a workload with one scheduler; per-class latency summary",
                         description="Simulate serving a workload (Poisson arrivals at --qps, or the trace's own "
                                     "arrival times) and print the per-class summary: TTFT, TBT, end-to-end and "
                                     "scheduling-delay percentiles (s), SLO attainment, throughput.")
    sim.add_argument("--scheduler", required=True, choices=names, metavar="NAME",
                     help=f"one of: {', '.join(names)}")
    sim.add_argument("--qps", type=cli.positive_float,
                     help="Poisson arrival rate, requests/s (required unless the workload has arrival times)")
    sim.add_argument("--cap-factor", type=cli.positive_float, default=3.0,
                     help="cap on Poisson inter-arrivals, multiples of the mean (default 3, as in the paper)")
    sim.add_argument("--arrival-column", help="CSV column of arrival times (s); used when --qps is not given")
    sim.add_argument("--time-scale", type=cli.positive_float, default=1.0,
                     help="multiply trace arrival times by this (< 1 speeds the trace up; default 1)")
    _workload_options(sim)
    cli.add_output_options(sim)
    sim.set_defaults(handler=cmd_simulate)

    cap = sub.add_parser("capacity", help="maximum serving capacity of schedulers (bisection on the rate)",
                         description="Largest Poisson arrival rate (requests/s) at which each scheduler meets the "
                                     "criterion: paper (median TTFT <= 0.5 s and each class's p99 TBT <= its SLO) "
                                     "or sarathi (median scheduling delay <= 2 s and p99 TBT <= SLO).")
    cap.add_argument("scheduler", nargs="+", choices=names, metavar="SCHEDULER", help=f"one or more of: "
                     f"{', '.join(names)}")
    cap.add_argument("--criterion", choices=("paper", "sarathi"), default="paper",
                     help="capacity criterion (default paper)")
    _workload_options(cap)
    cli.add_output_options(cap, plot="capacity bars")
    cap.set_defaults(handler=cmd_capacity)

    cli.add_sweep_command(sub, 'Built-in tasks: task = "serve" (queueing.experiments.serve_experiment: '
                               'scheduler, qps, n_requests, workload, ...) or "capacity" (capacity_experiment: '
                               'scheduler, criterion, n_requests, workload); or "module:function".'
                          ).set_defaults(handler=cmd_sweep)
    return top


#: Entry point of the ``queueing`` command: ``main(argv=None) -> exit code``.
main = cli.command(parser)


if __name__ == "__main__":
    sys.exit(main())
