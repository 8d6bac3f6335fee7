"""Speed of the cluster simulator and the router comparison.

Usage::

    python benchmarks/bench_cluster.py            # both parts (about a minute after the JIT warm-up)
    python benchmarks/bench_cluster.py --quick    # speed only

Printed:

1. speed: a 16,384-request ShareGPT4 run (Poisson at 0.9x the fluid
   capacity) on a disaggregated cluster of 2 prefill and 2 decode replicas
   (Sarathi-Serve batching, a 25 GB/s link with 10 us latency, Mistral-7B's
   KV bytes), after JIT warm-up: wall and CPU seconds of ``simulate_cluster``
   and of the engine alone, target <= 10 s wall; next to it, in the same
   process, the same workload on 4 colocated replicas with ``simulate`` (the
   single-engine path; no external cluster simulator is installed here to
   compare with) and the ratio;
2. routers: least prefill backlog against round robin on 4 colocated
   Sarathi-Serve replicas at 80% of their fluid capacity on the paper's
   ShareGPT4 workload (16,384 requests, seeds 0-2): median and p99 TTFT, and
   the other routers for reference. Measured here: least prefill backlog
   cuts median TTFT by about a quarter and p99 TTFT by almost half against
   round robin. Least outstanding requests and power of two choices (which
   compares outstanding requests) lose even to round robin: a request stays
   outstanding through its ~440 decode iterations, so the count is dominated
   by decoding requests and says nothing about the prefill work queued ahead
   of a new prompt (an 8,000-token prompt and a 10-token one count alike);
   KV-aware least loaded sees memory, which at 80% load is far from full.
"""

import argparse
import time

import numpy as np

import queueing as q
from queueing.cluster import Link, disaggregated, kv_bytes_per_token, simulate_cluster


def _timed(fn, *args, **kwargs):
    w, c = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - w, time.process_time() - c


def speed():
    P, D = q.sharegpt4()
    link = Link(25e9, 10e-6, kv_bytes_per_token())
    cap = q.split_capacity(2, 2, P, D, bandwidth=link.bandwidth, kv_bytes_per_token=link.kv_bytes_per_token)
    w = q.sharegpt4_workload(0.9 * cap.rate, n_requests=16_384, seed=0)
    simulate_cluster(q.sharegpt4_workload(1.0, n_requests=64, seed=1), disaggregated(2, 2), link=link)  # JIT
    q.simulate(q.sharegpt4_workload(1.0, n_requests=64, seed=1), "sarathi", n_replicas=4)
    res, wall, cpu = _timed(simulate_cluster, w, disaggregated(2, 2), link=link)
    ref, rwall, rcpu = _timed(q.simulate, w, "sarathi", n_replicas=4)
    print(f"1. speed, 16,384 requests at {0.9 * cap.rate:.3f} req/s "
          f"(0.9 x fluid capacity {cap.rate:.3f}, binding {cap.binding}):")
    print(f"   2P:2D simulate_cluster: {wall:.2f} s wall ({cpu:.2f} s CPU), engine {res.wall_time:.2f} s, "
          f"{len(res.iterations):,} iterations; target <= 10 s wall: {'met' if wall <= 10 else 'NOT met'}")
    print(f"   4 colocated simulate:   {rwall:.2f} s wall ({rcpu:.2f} s CPU), engine {ref.wall_time:.2f} s; "
          f"cluster / colocated wall = {wall / rwall:.2f}")
    print(f"   median TTFT {res.requests.ttft.median():.3f} s, transfers: median "
          f"{(res.requests.transfer_end - res.requests.transfer_start).median() * 1e3:.2f} ms")


def routers(seeds=(0, 1, 2)):
    from paper_repro.q_common import workload

    cap = 4 * q.fluid_capacity("sarathi", *q.sharegpt4())
    rate = 0.8 * cap
    print(f"2. routers on 4 colocated Sarathi-Serve replicas at 80% of fluid capacity ({rate:.3f} of {cap:.3f} req/s):")
    out = {}
    for router in ("round_robin", "least_prefill_backlog", "least_outstanding", "power_of_two", "kv_least_loaded"):
        med, p99 = [], []
        for seed in seeds:
            r = q.simulate(workload(rate, 16_384, seed), "sarathi", n_replicas=4, router=router,
                           router_seed=seed, warn_overload=False).requests
            med.append(r.ttft.median())
            p99.append(r.ttft.quantile(0.99))
        out[router] = (np.mean(med), np.mean(p99))
        print(f"   {router:22s} median TTFT {np.mean(med):.3f} s [{min(med):.3f}, {max(med):.3f}]  "
              f"p99 TTFT {np.mean(p99):.3f} s [{min(p99):.3f}, {max(p99):.3f}]  (mean [min, max] over seeds)")
    rr, lpb = out["round_robin"], out["least_prefill_backlog"]
    print(f"   least_prefill_backlog / round_robin: median TTFT {lpb[0] / rr[0]:.2f}x, p99 TTFT {lpb[1] / rr[1]:.2f}x")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="speed only")
    args = ap.parse_args()
    speed()
    if not args.quick:
        routers()
