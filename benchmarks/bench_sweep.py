"""Parallel speed-up of the sweep runner on a CPU-bound 32-configuration sweep.

Usage::

    python benchmarks/bench_sweep.py [--workers 2] [--requests-per-object 200]

The sweep: ``layercache.irm_experiment`` for LRU and FIFO at 16 cache sizes
(1%..40% of 50,000 Zipf(0.8) objects), 50 + 400 requests per object (22.5
million requests per configuration, trace generation included), each
configuration seeded from itself. It runs serially, on a local process pool
and on a Dask LocalCluster with the same number of workers; the three
DataFrames must be identical. Printed: wall seconds of each, the CPU seconds
spent inside the configurations (about equal on every backend unless the
runner adds work) and the speed-up over serial (target >= 1.7x on 2 cores). Numba compiles before any timing
(and the Dask workers load their kernels before it); the LocalCluster starts
outside the timing, the process pool inside it. The load average before and
after is printed: on a machine shared with other work the speed-up is lower
than on an idle one. With Linux autogroup scheduling
(``kernel.sched_autogroup_enabled = 1``) CPU time is shared between sessions,
not processes: while other sessions are busy, all the workers of this one
together get about one session's share, and "parallelism achieved" (CPU
seconds inside the configurations per wall second) stays near that share on
every backend. Measure the speed-up on an idle machine.
"""

import argparse
import os
import time

import pandas as pd

import layercache as lc

FRACTIONS = [0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4]


def warm():
    """Compile (or load) the kernels the sweep uses; run in this process and on every Dask worker."""
    for policy in ("lru", "fifo"):
        lc.irm_experiment(policy, 0.1, n_objects=100, requests_per_object=2, warmup_per_object=1)


def experiment(**config):
    """``irm_experiment`` and the CPU seconds it took in its process (to tell load from overhead)."""
    cpu = time.process_time()
    out = lc.irm_experiment(**config)
    return dict(out, cpu_s=time.process_time() - cpu)


def timed(label, **kwargs):
    start = time.perf_counter()
    table = lc.sweep(experiment, GRID, store=False, progress=False, precompile=False, **kwargs)
    seconds = time.perf_counter() - start
    cpu = table.pop("cpu_s").sum()
    print(f"{label:28s} {seconds:7.1f} s wall, {cpu:6.1f} CPU-s in the configurations "
          f"(parallelism achieved {cpu / seconds:.2f})", flush=True)
    return table, seconds


def main():
    global GRID
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests-per-object", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat serial / processes / dask this many times (a shared machine's load drifts)")
    args = parser.parse_args()
    GRID = {"policy": ["lru", "fifo"], "capacity_fraction": FRACTIONS, "n_objects": 50_000, "alpha": 0.8,
            "requests_per_object": args.requests_per_object, "warmup_per_object": 50}
    print(f"cores available: {len(os.sched_getaffinity(0))}, workers: {args.workers}, "
          f"load average before: {os.getloadavg()[0]:.2f}")
    warm()

    from dask.distributed import Client, LocalCluster

    ratios = []
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.run(warm)
        for _ in range(args.rounds):
            serial, t_serial = timed("serial", backend="serial")
            processes, t_proc = timed(f"processes ({args.workers})", backend="processes", workers=args.workers)
            dask, t_dask = timed(f"dask LocalCluster ({args.workers})", backend="dask", address=client)
            pd.testing.assert_frame_equal(serial, processes, check_exact=True)
            pd.testing.assert_frame_equal(serial, dask, check_exact=True)
            ratios.append((t_serial / t_proc, t_serial / t_dask))
            print(f"  speed-up: processes {ratios[-1][0]:.2f}x, dask {ratios[-1][1]:.2f}x; "
                  f"load average now {os.getloadavg()[0]:.2f}", flush=True)
    best = max(r[0] for r in ratios), max(r[1] for r in ratios)
    print("results identical on all three backends")
    print(f"speed-up over serial (best of {len(ratios)}): processes {best[0]:.2f}x, dask {best[1]:.2f}x "
          f"(target >= 1.7x on 2 cores)")


if __name__ == "__main__":
    main()
