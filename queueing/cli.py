"""The ``queueing`` command: serve a workload on one replica or a cluster, plan, search capacities, sweep.

A thin layer over the public API (``queueing.make_workload``, ``simulate``,
``simulate_cluster``, ``parse_groups``, ``cluster_capacity``,
``best_pd_split``, ``capacity_search``, ``queueing.sweep``); see
``queueing --help`` and ``queueing COMMAND --help``. Output: an aligned
table, or ``--csv`` / ``--json``. Building the parser and rejecting bad
arguments import neither Numba nor pandas: the commands start fast.
"""

from __future__ import annotations

import argparse
import sys

from layerq import cli


def _lengths_options(p):
    p.add_argument("--workload", default="sharegpt4", metavar="SOURCE",
                   help="sharegpt4 (shipped ShareGPT4 lengths, default), azure (Azure conversation trace 2023, "
                        "with its arrival times) or a CSV file with one row per request")
    p.add_argument("--prompt-column", default="num_prefill_tokens", help="CSV column of prompt tokens")
    p.add_argument("--output-column", default="num_decode_tokens", help="CSV column of output tokens")


def _workload_options(p):
    _lengths_options(p)
    p.add_argument("-n", "--requests", type=cli.positive_int, metavar="N",
                   help="requests per run (default 2048; with trace arrivals: the whole trace)")
    p.add_argument("--seed", type=cli.non_negative_int, default=0, help="seed of lengths, arrivals, classes")
    p.add_argument("--token-budget", type=cli.positive_int, default=512, help="tokens per batch (default 512)")
    p.add_argument("--max-active", type=cli.positive_int, default=128,
                   help="at most this many admitted requests (default 128)")
    return p


def _arrival_options(p):
    p.add_argument("--qps", type=cli.positive_float,
                   help="Poisson arrival rate, requests/s (required unless the workload has arrival times)")
    p.add_argument("--cap-factor", type=cli.positive_float, default=3.0,
                   help="cap on Poisson inter-arrivals, multiples of the mean (default 3, as in the paper)")
    p.add_argument("--arrival-column", help="CSV column of arrival times (s); used when --qps is not given")
    p.add_argument("--time-scale", type=cli.positive_float, default=1.0,
                   help="multiply trace arrival times by this (< 1 speeds the trace up; default 1)")


def _hardware_options(p, who):
    p.add_argument("--model", help=f"model of {who} (queueing.models(); with --gpu: roofline latency and KV "
                                   "capacity; default: the calibrated Mistral-7B testbed)")
    p.add_argument("--gpu", help=f"GPU of {who} (queueing.gpus()); with --model")
    p.add_argument("--tensor-parallel", type=cli.positive_int, help="GPUs per replica (with --model and --gpu)")
    p.add_argument("--kv-capacity", type=cli.positive_int, metavar="TOKENS",
                   help="KV memory per replica, tokens (default: from --model/--gpu, else 235,728)")


def _link_options(p):
    p.add_argument("--bandwidth", type=_bandwidth, default=float("inf"), metavar="BYTES/S",
                   help="prefill-to-decode link of each prefill replica, bytes/s (e.g. 25e9; default inf)")
    p.add_argument("--kv-bytes-per-token", type=cli.positive_float, metavar="BYTES",
                   help="KV bytes of one token (default: the prefill replicas' model's; Mistral-7B: 131072)")


def _bandwidth(text):
    return float("inf") if text.strip().lower() == "inf" else cli.positive_float(text)


def _at_least_two(text):
    value = cli.positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be >= 2 (one prefill and one decode replica), got {text!r}")
    return value


def _make_workload(args):
    from .experiments import make_workload

    return make_workload(args.workload, qps=args.qps, n_requests=args.requests, seed=args.seed,
                         cap_factor=args.cap_factor, prompt_column=args.prompt_column,
                         output_column=args.output_column, arrival_column=args.arrival_column,
                         time_scale=args.time_scale)


def cmd_simulate(args):
    from .simulation import simulate

    summary = simulate(_make_workload(args), args.scheduler, token_budget=args.token_budget,
                       max_active=args.max_active).summary()
    cli.emit(summary.reset_index(), args)


def cmd_cluster(args):
    from .cluster_spec import parse_groups, read_groups

    defaults = dict(scheduler=args.scheduler, token_budget=args.token_budget, max_active=args.max_active,
                    model=args.model, gpu=args.gpu, tensor_parallel=args.tensor_parallel,
                    kv_capacity_tokens=args.kv_capacity)
    spec = args.groups
    groups = read_groups(spec, **defaults) if spec.endswith((".json", ".toml")) else parse_groups(spec, **defaults)

    import pandas as pd

    from .cluster import Link, simulate_cluster
    from .planner import cluster_capacity

    link = Link(args.bandwidth, args.link_latency, args.kv_bytes_per_token)
    w = _make_workload(args)
    fluid = cluster_capacity(groups, w.prompt_tokens, w.output_tokens, link) if args.theory else None
    res = simulate_cluster(w, groups, link=link, router=args.router, decode_router=args.decode_router,
                           router_seed=args.router_seed)
    tables = {"summary": res.summary().reset_index(), "groups": res.group_summary()}
    if fluid:
        offered = (len(w) - 1) / (w.arrival[-1] - w.arrival[0]) if len(w) > 1 else float("nan")
        tables["theory"] = pd.DataFrame([{**fluid, "offered_rps": offered, "load": offered / fluid["rate"],
                                          "simulated_rps": res.summary().loc["all", "throughput_rps"]}])
    cli.emit_tables(tables, args)


def cmd_plan(args):
    from .cluster import DEFAULT_MODEL, kv_bytes_per_token
    from .experiments import _lengths
    from .planner import best_pd_split
    from .roofline import resolve_hardware

    kv_bytes = args.kv_bytes_per_token or kv_bytes_per_token(args.model or DEFAULT_MODEL)
    latency, kv = resolve_hardware(None, args.kv_capacity, args.model, args.gpu, args.tensor_parallel or 1, None)
    memory = {} if kv is None else {"kv_capacity_tokens": kv}
    _, prompt, output = _lengths(str(args.workload), args.prompt_column, args.output_column, None)
    plan = best_pd_split(args.replicas, prompt, output, latency, tbt_slo=args.tbt_slo, bandwidth=args.bandwidth,
                         kv_bytes_per_token=kv_bytes, prefill_budget=args.token_budget,
                         decode_budget=args.token_budget, max_active=args.max_active, **memory)
    table = plan.table.assign(best=(plan.table["n_prefill"] == plan.n_prefill).to_numpy(),
                              colocated_token_budget=plan.colocated_token_budget)
    cli.emit(table, args)


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
    from .experiments import capacity_experiment, cluster_experiment, serve_experiment

    table, plot = cli.run_sweep_file(args, {"serve": serve_experiment, "cluster": cluster_experiment,
                                            "capacity": capacity_experiment})
    if plot:
        from .plots import plot_capacity, plot_latency

        ok = table[table["error"].isna()] if "error" in table else table
        if "groups" in ok:  # a cluster sweep: one curve per combination of the other varied settings
            varied = [c for c in ("groups", "router", "decode_router", "bandwidth", "link_latency", "scheduler")
                      if c in ok and ok[c].nunique() > 1] or ["groups"]
            ok = ok.assign(cluster=ok[varied].astype(str).agg(" ".join, axis=1))
        fig = plot_latency(ok, by="cluster" if "groups" in ok else "scheduler") if "qps" in ok else plot_capacity(ok)
        cli.save_plot(fig, plot)


def parser():
    from .registry import ROUTER_NAMES, scheduler_names

    names = scheduler_names()
    top = cli.Parser(prog="queueing", description="LLM inference scheduling: simulation, clusters, capacity and "
                                                  "sweeps.")
    sub = top.add_subparsers(title="commands", required=True, metavar="COMMAND")

    sim = sub.add_parser("simulate", help="serve a workload with one scheduler; per-class latency summary",
                         description="Simulate serving a workload (Poisson arrivals at --qps, or the trace's own "
                                     "arrival times) and print the per-class summary: TTFT, TBT, end-to-end and "
                                     "scheduling-delay percentiles (s), SLO attainment, throughput.")
    sim.add_argument("--scheduler", required=True, choices=names, metavar="NAME",
                     help=f"one of: {', '.join(names)}")
    _arrival_options(sim)
    _workload_options(sim)
    cli.add_output_options(sim)
    sim.set_defaults(handler=cmd_simulate)

    clu = sub.add_parser(
        "cluster", help="serve a workload on a cluster of colocated, prefill and decode replicas",
        description="Simulate a cluster (queueing.simulate_cluster) and print the per-class summary (as "
                    "'simulate'), one row per replica group (utilisation, tokens, KV peak, KV transfers) and, "
                    "with --theory, the fluid capacity of the cluster. --groups is a list of groups "
                    "ROLE:COUNT[:KEY=VALUE]..., ROLE colocated, prefill or decode, KEY a ReplicaGroup setting "
                    "(scheduler, model, gpu, tensor_parallel, kv_capacity_tokens, token_budget, max_active, "
                    "max_decodes, max_prefill_tokens) or a scheduler parameter; e.g. 'colocated:4', "
                    "'prefill:2,decode:2', 'prefill:1:token_budget=2048,decode:3', 'colocated:2,prefill:1,decode:1'. "
                    "Or a .json/.toml file with a list 'groups' of tables (role, count, settings). Settings a "
                    "group does not name come from --scheduler, --token-budget, --max-active, --model, --gpu, "
                    "--tensor-parallel, --kv-capacity.",
        epilog="example: queueing cluster --groups prefill:2,decode:2 --bandwidth 25e9 "
               "--router least_prefill_backlog --qps 4 -n 2000 --theory")
    clu.add_argument("--groups", required=True, metavar="SPEC|FILE",
                     help="replica groups, e.g. prefill:2,decode:2 (see above)")
    clu.add_argument("--scheduler", default="sarathi", choices=names, metavar="NAME",
                     help="scheduler of groups that name none (default sarathi; any scheduler, "
                          "one per group)")
    clu.add_argument("--router", default="round_robin", choices=ROUTER_NAMES, metavar="NAME",
                     help=f"routes arrivals over colocated and prefill replicas: {', '.join(ROUTER_NAMES)} "
                          "(default round_robin)")
    clu.add_argument("--decode-router", default="round_robin", choices=ROUTER_NAMES, metavar="NAME",
                     help="routes prefilled requests over decode replicas (same names; default round_robin)")
    clu.add_argument("--router-seed", type=cli.non_negative_int, default=0, help="seed of power_of_two's draws")
    _link_options(clu)
    clu.add_argument("--link-latency", type=cli.non_negative_float, default=0.0, metavar="S",
                     help="seconds added to every KV transfer (default 0)")
    clu.add_argument("--theory", action="store_true",
                     help="also print the fluid capacity of the cluster for the run's lengths "
                          "(queueing.cluster_capacity), "
                          "the offered load and the simulated throughput")
    _arrival_options(clu)
    _workload_options(clu)
    _hardware_options(clu, "groups that name none")
    cli.add_output_options(clu, tables=True)
    clu.set_defaults(handler=cmd_cluster)

    plan = sub.add_parser(
        "plan", help="best prefill:decode split of N replicas against N colocated (fluid theory)",
        description="Fluid capacity of every split of --replicas into P prefill and D decode replicas "
                    "(queueing.best_pd_split: the slowest of prefill replicas, links and decode replicas, decode "
                    "iterations within --tbt-slo) next to the same replicas colocated at their best token budget; "
                    "the best split is marked. Check it with 'queueing cluster --groups prefill:P,decode:D'.")
    plan.add_argument("--replicas", type=_at_least_two, required=True, metavar="N", help="replicas to split, >= 2")
    plan.add_argument("--tbt-slo", type=cli.positive_float, metavar="S",
                      help="time-between-tokens target, s (default: none)")
    plan.add_argument("--token-budget", type=cli.positive_int, default=512,
                      help="token budget of prefill and decode replicas (default 512)")
    plan.add_argument("--max-active", type=cli.positive_int, default=128,
                      help="at most this many admitted requests per decode replica (default 128)")
    _link_options(plan)
    _lengths_options(plan)
    _hardware_options(plan, "every replica")
    cli.add_output_options(plan)
    plan.set_defaults(handler=cmd_plan)

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
                               'scheduler, qps, n_requests, workload, ...), "cluster" (cluster_experiment: groups '
                               'as in "queueing cluster --groups", qps, router, decode_router, bandwidth, '
                               'link_latency, n_requests, ...) or "capacity" (capacity_experiment: '
                               'scheduler, criterion, n_requests, workload); or "module:function".'
                          ).set_defaults(handler=cmd_sweep)
    return top


#: Entry point of the ``queueing`` command: ``main(argv=None) -> exit code``.
main = cli.command(parser)


if __name__ == "__main__":
    sys.exit(main())
