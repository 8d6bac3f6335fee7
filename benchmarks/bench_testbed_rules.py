"""Effect of each testbed rule on the headline metrics (issue 11).

Usage::

    python benchmarks/bench_testbed_rules.py            # 2,048 requests per run (about 3 minutes)
    python benchmarks/bench_testbed_rules.py --n 16384  # the paper's run length

For Sarathi-Serve FCFS, vLLM and SLAI on ShareGPT4 with the paper's SLO
classes (seed 0), each row switches one rule away from the testbed's default
(``simulate``'s defaults: KV watermark 0.01, append when any block is free,
no token at the prefill's end, no warm-up), plus all three KV/token rules off
together (``FLUID_RULES``, the earlier engine). Printed per row: median TTFT
and per-class p99 TBT at 1.0 and 1.6 QPS, and the capacity (paper criterion,
``max_capacity`` with the same requests per trial), each with its change
against the testbed row.
"""

import argparse
import time

import queueing as q

VARIANTS = {
    "testbed (defaults)": {},
    "kv_watermark=0": {"kv_watermark": 0.0},
    "append_rule=when_needed": {"append_rule": "when_needed"},
    "token_convention=vllm": {"token_convention": "vllm"},
    "warmup_requests=1": {"warmup_requests": 1},
    "FLUID_RULES (all three off)": dict(q.FLUID_RULES),
}


def _row(scheduler, options, n, with_capacity):
    out = {}
    for qps in (1.0, 1.6):
        res = q.simulate(q.sharegpt4_workload(qps, n, seed=0), scheduler, warn_overload=False, **options)
        s = res.summary()
        out[qps] = (s.loc["all", "ttft_p50"], s.loc["strict", "tbt_p99"], s.loc["relaxed", "tbt_p99"],
                    int(res.requests["n_preemptions"].sum()))
    if with_capacity:
        p, d = q.sharegpt4()
        out["cap"] = q.max_capacity(scheduler, p, d, n_requests=n, **options)
    return out


def _pct(x, ref):
    return f"{100 * (x / ref - 1):+6.1f}%"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2048, help="requests per run (default 2048)")
    ap.add_argument("--no-capacity", action="store_true", help="skip the capacity searches")
    args = ap.parse_args()
    q.simulate(q.sharegpt4_workload(1.0, 64, seed=1), "slai")  # JIT warm-up / cache load
    t0 = time.perf_counter()
    for scheduler in ("sarathi", "vllm", "slai"):
        print(f"== {scheduler}: ShareGPT4, {args.n} requests, seed 0; TTFT p50 / TBT p99 strict, relaxed (s), "
              "preemptions; capacity (req/s, paper criterion)")
        base = None
        for name, options in VARIANTS.items():
            r = _row(scheduler, options, args.n, not args.no_capacity)
            base = base or r
            cells = []
            for qps in (1.0, 1.6):
                t, s, rl, pre = r[qps]
                bt, bs, brl, _ = base[qps]
                cells.append(f"{qps} QPS: {t:.4f} ({_pct(t, bt)}) / {s:.4f} ({_pct(s, bs)}), "
                             f"{rl:.4f} ({_pct(rl, brl)}), {pre:3d}")
            cap = f"capacity {r['cap']:.4f} ({_pct(r['cap'], base['cap'])})" if "cap" in r else ""
            print(f"{name:>28}: " + " | ".join(cells) + f" | {cap}", flush=True)
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
