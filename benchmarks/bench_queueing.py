"""Speed and headline results of the queueing simulator.

Usage::

    python benchmarks/bench_queueing.py            # everything (about 3 minutes)
    python benchmarks/bench_queueing.py --quick    # speed only

Printed:

1. speed: a 16,384-request ShareGPT4 run at 1.0 QPS (Poisson, inter-arrivals
   capped at 3x the mean) of SLAI and of Sarathi-Serve, after JIT warm-up:
   wall seconds of ``simulate`` (engine + records + per-request metrics) and
   of the engine alone, iterations per wall-second; target <= 5 s for SLAI
   (Vidur: about two minutes, ~10k iterations/s), and SLAI with the roofline
   latency model of Mistral-7B on the RTX 6000 Ada;
2. a full capacity search (paper criterion, 16,384 requests per trial) for
   Sarathi-Serve and SLAI: wall seconds (target <= 60 s each) and capacities;
3. the paper's direction on the default latency model: median TTFT of SLAI
   versus Sarathi-Serve FCFS at QPS 0.2, 0.4, ... below Sarathi-Serve's
   capacity, and the capacity ratio, next to the paper's -53% / +26%;
4. the default latency model against the microbenchmark.

Wall times also count CPU time (``time.process_time``) so that a busy shared
machine can be recognised (wall >> CPU).
"""

import argparse
import time

import numpy as np

import queueing as q


def _timed(fn, *args, **kwargs):
    w, c = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - w, time.process_time() - c


def speed(n=16384, qps=1.0):
    wl = q.sharegpt4_workload(qps, n, seed=0)
    for s in ("slai", "sarathi", "vllm"):
        q.simulate(q.sharegpt4_workload(qps, 64, seed=1), s)  # JIT warm-up / cache load
    print(f"== speed: {n} ShareGPT4 requests at {qps} QPS (after warm-up)")
    for s in ("slai", "sarathi", "vllm"):
        res, wall, cpu = _timed(q.simulate, wl, s)
        it = len(res.iterations)
        print(f"{s:>8}: simulate {wall:6.2f} s wall ({cpu:.2f} s CPU), engine {res.wall_time:5.2f} s, "
              f"{it} iterations, {it / wall:,.0f} iterations/s (target SLAI <= 5 s)")
    roofline = dict(model="mistral-7b", gpu="rtx-6000-ada")
    q.simulate(q.sharegpt4_workload(qps, 64, seed=1), "slai", **roofline)
    res, wall, cpu = _timed(q.simulate, wl, "slai", **roofline)
    print(f"slai, roofline latency (Mistral-7B, RTX 6000 Ada): {wall:6.2f} s wall ({cpu:.2f} s CPU), "
          f"{len(res.iterations)} iterations (target <= 5 s)")


def capacities(n=16384):
    p, d = q.sharegpt4()
    out = {}
    print(f"== capacity search (paper criterion: median TTFT <= 0.5 s, per-class p99 TBT <= SLO), {n} requests/trial")
    for s in ("sarathi", "slai"):
        res, wall, cpu = _timed(q.capacity_search, s, p, d, n_requests=n)
        out[s] = res.capacity
        print(f"{s:>8}: capacity {res.capacity:.4f} QPS (fails at {res.upper:.4f}), {len(res.trials)} trials, "
              f"{wall:.1f} s wall ({cpu:.1f} s CPU) (target <= 60 s)")
    res, wall, _ = _timed(q.capacity_search, "sarathi", p, d, n_requests=n, criterion="sarathi")
    print(f"sarathi, Sarathi-Serve criterion (median scheduling delay <= 2 s): {res.capacity:.4f} QPS ({wall:.1f} s)")
    gain = 100 * (out["slai"] / out["sarathi"] - 1)
    print(f"capacity SLAI vs Sarathi-Serve: {gain:+.1f}%   (paper: +26%)")
    return out


def direction(sarathi_capacity, n=16384):
    print("== median TTFT, SLAI vs Sarathi-Serve FCFS, at QPS below Sarathi-Serve's capacity")
    rows = []
    for qps in np.arange(0.2, sarathi_capacity, 0.2):
        wl = q.sharegpt4_workload(float(qps), n, seed=0)
        a = q.simulate(wl, "sarathi").summary().loc["all", "ttft_p50"]
        b = q.simulate(wl, "slai").summary().loc["all", "ttft_p50"]
        rows.append(100 * (b / a - 1))
        print(f"QPS {qps:.1f}: Sarathi {a:.3f} s, SLAI {b:.3f} s, change {rows[-1]:+.1f}%")
    print(f"median TTFT change: range {min(rows):+.1f}% .. {max(rows):+.1f}%, mean {np.mean(rows):+.1f}%   "
          f"(paper: -53%); SLAI lower at every QPS: {all(r < 0 for r in rows)}")


def calibration():
    print("== default latency model vs microbenchmark (2048-token prompt alone)")
    print(q.microbenchmark_table().round(3).to_string(index=False))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="speed only")
    args = ap.parse_args()
    speed()
    if args.quick:
        return
    cap = capacities()
    direction(cap["sarathi"])
    calibration()


if __name__ == "__main__":
    main()
