"""Theory against simulation for RAD and the baselines (issue 5 acceptance numbers).

Run: python benchmarks/bench_queueing_theory.py [--quick]
Prints: RAD at 0.97 and 1.03 lambda* (ShareGPT4, all 30,731 requests); the spec's
alternating RAD at 0.97 and 1.03 of its fluid capacity on the intercept-free tile model; each
baseline's simulated saturation service rate against its fluid capacity; the
sympy-vs-numeric gap; the tiling and static-split loss tables on the default
latency model. KV memory is set large so the token budget binds (the regime
of the theorem), then to the default 235,728 tokens (KV overflow and vLLM's
recompute in the fluid model). Every run uses ``queueing.FLUID_RULES``, the rules the fluid
model assumes.
"""

import sys
import time

import numpy as np

import queueing as q
from queueing import symbolic as S, theory as T
from queueing.fluid import fluid_capacity, simulated_window
from queueing.latency import AffineLatency, TileLatency

BIG_KV = 10**7


def main(quick=False):
    P, D = q.sharegpt4()
    n = 8192 if quick else P.size
    star = q.lambda_star(P, D, kv_capacity_tokens=BIG_KV)
    print(f"lambda* (default model, B=512, KV large) = {star.rate:.4f} req/s; "
          f"default KV: {q.lambda_star(P, D).rate:.4f} ({q.lambda_star(P, D).binding} binds)")
    for kv in (BIG_KV, T.DEFAULT_KV_CAPACITY_TOKENS):
        star = q.lambda_star(P, D, kv_capacity_tokens=kv)
        print(f"\nRAD around lambda* = {star.rate:.4f}, KV {kv:,} tokens (fluid capacity "
              f"{fluid_capacity('rad', P, D, kv_capacity_tokens=kv):.4f}; window = second half of the arrivals)")
        for f in (0.97, 1.03):
            w = q.poisson_workload(P, D, f * star.rate, n, seed=21)
            t = time.perf_counter()
            res = q.simulate(w, "rad", kv_capacity_tokens=kv, warn_overload=False, **q.FLUID_RULES)
            win = simulated_window(res.requests, 0.5, 1.0)
            cap_w = fluid_capacity("rad", w.prompt_tokens[win.served], w.output_tokens[win.served],
                                   kv_capacity_tokens=kv)
            pred = max(0.0, win.arrival_rate - cap_w)
            print(f"  {f:.2f} lambda*: arrivals {win.arrival_rate:.4f}/s served {win.service_rate:.4f}/s "
                  f"backlog min/max {win.min_backlog}/{win.max_backlog} growth {win.growth:+.4f}/s "
                  f"fluid growth {pred:+.4f}/s [{time.perf_counter() - t:.1f} s]")
    free = q.intercept_free_tile_latency()
    cap = fluid_capacity("rad-alternating", P, D, free, kv_capacity_tokens=BIG_KV)
    print(f"\nrad-alternating on the intercept-free tile model, KV {BIG_KV:,}: fluid capacity {cap:.4f} "
          f"(lambda* {q.lambda_star(P, D, free, kv_capacity_tokens=BIG_KV).rate:.4f})")
    for f in (0.97, 1.03):
        w = q.poisson_workload(P, D, f * cap, n, seed=21)
        t = time.perf_counter()
        res = q.simulate(w, "rad-alternating", free, kv_capacity_tokens=BIG_KV, warn_overload=False, **q.FLUID_RULES)
        win = simulated_window(res.requests, 0.5, 1.0)
        cap_w = fluid_capacity("rad-alternating", w.prompt_tokens[win.served], w.output_tokens[win.served], free,
                               kv_capacity_tokens=BIG_KV)
        pred = max(0.0, win.arrival_rate - cap_w)
        print(f"  {f:.2f} x: arrivals {win.arrival_rate:.4f}/s served {win.service_rate:.4f}/s "
              f"backlog min/max {win.min_backlog}/{win.max_backlog} growth {win.growth:+.4f}/s "
              f"fluid growth {pred:+.4f}/s [{time.perf_counter() - t:.1f} s]")
    print("\nSaturation service rate vs fluid capacity (1.25x the fluid capacity, 16,384 requests)")
    cases = [
        ("rad", "rad", "rad", None, {}, {}),
        ("sarathi B=512", "sarathi", "sarathi", None, {}, {}),
        ("sarathi B=500 tile-quantised", "sarathi", "sarathi", TileLatency(), dict(token_budget=500), {}),
        ("rad B=512 tile-quantised", "rad", "rad", TileLatency(), {}, {}),
        ("static 448/64", "rad", "static", None, dict(decode_budget=64), dict(prefill_budget=448, decode_budget=64)),
        ("static 480/32", "rad", "static", None, dict(decode_budget=32), dict(prefill_budget=480, decode_budget=32)),
        ("vllm", "vllm", "vllm", None, {}, {}),
        ("rad-alternating", "rad-alternating", "rad-alternating", None, {}, {}),
        ("rad-alternating intercept-free", "rad-alternating", "rad-alternating", q.intercept_free_tile_latency(),
         {}, {}),
    ]
    for label, sched, fname, lat, params, fp in cases:
        kw = dict(kv_capacity_tokens=BIG_KV, token_budget=params.get("token_budget", 512), **fp)
        cap = fluid_capacity(fname, P, D, lat, **kw)
        w = q.poisson_workload(P, D, 1.25 * cap, 4000 if quick else 16384, seed=11)
        res = q.simulate(w, sched, lat, kv_capacity_tokens=BIG_KV, warn_overload=False, **q.FLUID_RULES, **params)
        win = simulated_window(res.requests, 0.5, 1.0)
        cap_w = fluid_capacity(fname, w.prompt_tokens[win.served], w.output_tokens[win.served], lat, **kw)
        print(f"  {label:30s} fluid {cap:.4f} (window sample {cap_w:.4f})  simulated {win.service_rate:.4f}"
              f"  err {100 * (win.service_rate / cap_w - 1):+.2f}%")
    print("\nSame at the default KV capacity (235,728 tokens): KV overflow term (budget-bound policies), "
          "recompute term (vLLM, memory-bound)")
    for label, sched, fname, lat, params, fp in cases[:2] + cases[4:5] + cases[6:]:
        kw = dict(token_budget=params.get("token_budget", 512), **fp)
        cap = fluid_capacity(fname, P, D, lat, **kw)
        w = q.poisson_workload(P, D, 1.25 * cap, 4000 if quick else 16384, seed=11)
        res = q.simulate(w, sched, lat, warn_overload=False, **q.FLUID_RULES, **params)
        win = simulated_window(res.requests, 0.5, 1.0)
        cap_w = fluid_capacity(fname, w.prompt_tokens[win.served], w.output_tokens[win.served], lat, **kw)
        print(f"  {label:30s} fluid {cap:.4f} (window sample {cap_w:.4f})  simulated {win.service_rate:.4f}"
              f"  err {100 * (win.service_rate / cap_w - 1):+.2f}%  preemptions {res.requests.n_preemptions.sum()}")
    print("\nFluid capacities (default model, KV large): the literal alternating RAD modes fall short")
    for name in ("rad", "alternating", "vllm"):
        print(f"  {name:12s} {fluid_capacity(name, P, D, kv_capacity_tokens=BIG_KV):.4f}")
    print("\nsympy closed forms vs numeric fluid capacities (max |diff|, req/s)")
    m = T.workload_moments(P, D)
    worst = 0.0
    for lat in (None, TileLatency(), AffineLatency()):
        f = S.capacity_function("rad", lat)
        for B in (128, 256, 512, 1024, 2048):
            worst = max(worst, abs(f(m, token_budget=B) - fluid_capacity(
                "rad", P, D, lat, token_budget=B, kv_capacity_tokens=10**9, max_active=10**6)))
        f = S.capacity_function("static", lat)
        for bd in (16, 32, 64, 96, 128, 256):
            worst = max(worst, abs(f(m, prefill_budget=512 - bd, decode_budget=bd) - fluid_capacity(
                "static", P, D, lat, prefill_budget=512 - bd, decode_budget=bd, kv_capacity_tokens=10**9,
                max_active=10**6)))
    print(f"  {worst:.3e}")
    print("\nCapacity lost by a non-tile-aligned budget (default model padded to 128-token tiles, default memory)")
    print(T.tiling_loss_table(P, D, tile=128).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print("\nCapacity lost by a static prefill/decode split of B=512 (default model, default memory)")
    print(T.static_split_table(P, D, token_budget=512).to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
