"""Roofline latency model against published measurements, its speed, and the paper's experiment on it.

Usage::

    python benchmarks/bench_latency_validation.py            # acceptance table + speed (about 1 minute)
    python benchmarks/bench_latency_validation.py --paper    # also the paper's experiment (several minutes)

Printed:

1. acceptance table: median |relative error| of predicted against measured
   time per (model, GPU) with the factors fitted for the GPU (target <= 15%),
   and with the defaults a GPU gets when it was left out of the fit (medians
   of the other GPU classes' factors; target <= 30%); measurements: Vidur's
   operator profiles (A100, H100, A40) and the SLAI microbenchmark (RTX 6000
   Ada) and DistServe's whole-engine fits (OPT-13B/66B, A100), see
   ``queueing/data/README.md``;
2. the SLAI microbenchmark (one 2048-token prompt, Mistral-7B, RTX 6000 Ada)
   reproduced from the two descriptions (target within 10%);
3. decode batches: the error of the decode-attention term on Vidur's measured
   decode-attention kernels (A100 FlashInfer, A40) and of whole decode
   iterations (attention, per-request and per-iteration terms) on
   DistServe's A100 fits;
4. speed: the 16,384-request SLAI run with the roofline model and with the
   default model, wall and CPU seconds (target <= 5 s);
5. with ``--paper``: SLAI (SPF, dynamic offset) against Sarathi-Serve FCFS on
   the paper's testbed, median TTFT change at 1.3 QPS and capacity gain (paper
   criterion, 16,384 requests per trial), on the default model, on the
   validated roofline of Mistral-7B on the RTX 6000 Ada (decode-attention
   factors of the A40 class), and on that roofline with the fixed attention
   cost per layer of FlashInfer on the A100 (the testbed's decode batches
   were never measured: this brackets the one term the A40 does not settle),
   next to the paper's -53% and +26%.
"""

import argparse
import time

import numpy as np

import queueing as q
from queueing.calibration import fit_gpu_classes, leave_one_gpu_out


def _pair_errors(table):
    return table.assign(a=table["rel_err"].abs()).groupby(["model", "gpu"])["a"].agg(["median", "max", "size"])


def acceptance():
    fits = fit_gpu_classes()
    logo = leave_one_gpu_out()
    print("== median |rel. error| per (model, GPU): fitted factors (<= 15%), GPU left out of the fit (<= 30%)")
    print(f"{'model':>14} {'gpu':>13} {'rows':>5} {'fitted':>8} {'max':>7} {'left out':>9}")
    ok = True
    for gpu, res in fits.items():
        e_fit = _pair_errors(res.table)
        e_out = _pair_errors(logo[gpu])
        for (model, g), row in e_fit.iterrows():
            out = e_out.loc[(model, g), "median"]
            ok &= row["median"] <= 0.15 and out <= 0.30
            print(f"{model:>14} {g:>13} {int(row['size']):5d} {100 * row['median']:7.1f}% {100 * row['max']:6.1f}% "
                  f"{100 * out:8.1f}%")
    print(f"all pairs within 15% fitted and 30% left out: {ok}")
    print("fitted factors per GPU class:")
    for gpu, res in fits.items():
        print(f"  {gpu:>13}: " + ", ".join(f"{k}={res.factors[k]:.3g}" for k in res.fitted))
    return fits


def microbenchmark():
    print("== SLAI microbenchmark from the Mistral-7B and RTX 6000 Ada descriptions (fitted Ada class)")
    t = q.microbenchmark_table(q.roofline_latency("mistral-7b", "rtx-6000-ada"))
    print(t.round(3).to_string(index=False))
    worst = max(t["ttft_rel_err"].abs().max(), t["batch_rel_err"].abs().max())
    print(f"worst |error| {100 * worst:.1f}% (target <= 10%)")


def decode_batches(fits):
    print("== decode batches: decode-attention kernels measured by Vidur, predicted with the fitted factors")
    for gpu in ("a100-80gb", "a40"):
        tb = fits[gpu].table
        dec = tb[(tb["scope"] == "attention") & (tb["n_decodes"] > 0)]
        for (model, tp), sub in dec.groupby(["model", "tensor_parallel"]):
            e = sub["rel_err"].abs()
            print(f"  {model} on {gpu}, TP {tp}: {len(sub)} batches (1..{sub['n_decodes'].max()} decodes, "
                  f"context {int((sub['decode_context_tokens'] / sub['n_decodes']).min())}.."
                  f"{int((sub['decode_context_tokens'] / sub['n_decodes']).max())}), median |error| "
                  f"{100 * e.median():.1f}%, max {100 * e.max():.1f}%")
    tb = fits["a100-80gb"].table
    dec = tb[(tb["scope"] == "iteration") & (tb["n_decodes"] > 0)]
    for (model, tp), sub in dec.groupby(["model", "tensor_parallel"]):
        e = sub["rel_err"].abs()
        print(f"  whole-engine decode iterations (DistServe fit), {model} TP {tp}: {len(sub)} batches of 1..256, "
              f"median |error| {100 * e.median():.1f}%, max {100 * e.max():.1f}%")
    lat = q.roofline_latency("mistral-7b", "rtx-6000-ada")
    per_ctx = lat.coefficients()["ctx"]
    print(f"  decode attention on the testbed (A40-class factors): {1e6 * per_ctx:.3f} us per context token "
          f"(default model: {1e6 * q.default_latency().per_context_token:.3f} us), plus "
          f"{1e3 * lat.coefficients()['attn_fixed']:.2f} ms per iteration with decodes")
    print(f"  per-request term: {lat.factors['per_request_s'] * 1e6:.0f} us per sequence per iteration "
          "(fitted on A100 to DistServe's decode batches; CPU-side, carried to the testbed)")


def speed(n=16384):
    print(f"== speed: {n}-request ShareGPT4 SLAI run at 1.0 QPS (after warm-up)")
    wl = q.sharegpt4_workload(1.0, n, seed=0)
    kw = dict(model="mistral-7b", gpu="rtx-6000-ada")
    q.simulate(q.sharegpt4_workload(1.0, 64, seed=1), "slai", **kw)
    for name, args in (("roofline", kw), ("default", {})):
        w, c = time.perf_counter(), time.process_time()
        res = q.simulate(wl, "slai", **args)
        print(f"  {name:>8}: {time.perf_counter() - w:.2f} s wall, {time.process_time() - c:.2f} s CPU, "
              f"{len(res.iterations)} iterations (target <= 5 s)")


def paper(n=16384, qps=1.3):
    p, d = q.sharegpt4()
    print(f"== paper's experiment: SLAI vs Sarathi-Serve FCFS, Mistral-7B on one RTX 6000 Ada, {n} requests")
    flashinfer = q.roofline_latency("mistral-7b", "rtx-6000-ada", attention_fixed_s=q.roofline_latency(
        "llama-3-8b", "a100").factors["attention_fixed_s"])
    kv = flashinfer.kv_capacity_tokens()
    setups = (("default model", {}), ("validated roofline", dict(model="mistral-7b", gpu="rtx-6000-ada")),
              ("roofline, A100 FlashInfer fixed attention cost", dict(latency=flashinfer, kv_capacity_tokens=kv)))
    for name, kw in setups:
        wl = q.sharegpt4_workload(qps, n, seed=0)
        a = q.simulate(wl, "sarathi", **kw).summary().loc["all", "ttft_p50"]
        b = q.simulate(wl, "slai", **kw).summary().loc["all", "ttft_p50"]
        caps = {s: q.capacity_search(s, p, d, n_requests=n, **kw).capacity for s in ("sarathi", "slai")}
        print(f"  {name}: median TTFT at {qps} QPS Sarathi {a:.3f} s, SLAI {b:.3f} s ({100 * (b / a - 1):+.1f}%); "
              f"capacity Sarathi {caps['sarathi']:.3f}, SLAI {caps['slai']:.3f} QPS "
              f"({100 * (caps['slai'] / caps['sarathi'] - 1):+.1f}%)")
    print("  paper: median TTFT -53%, capacity +26%")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paper", action="store_true", help="also run the paper's experiment (several minutes)")
    args = ap.parse_args()
    fits = acceptance()
    microbenchmark()
    decode_batches(fits)
    speed()
    if args.paper:
        paper()


if __name__ == "__main__":
    main()
