"""Speed and accuracy of whole hit-ratio curves (layercache.hit_ratio_curve).

Usage::

    python benchmarks/bench_layercache_curve.py            # 10^7 requests, 10^6 objects
    python benchmarks/bench_layercache_curve.py --quick    # 10^6 requests, 10^5 objects
    python benchmarks/bench_layercache_curve.py --memory   # peak memory, 10^8 requests and a streamed file

On one IRM Zipf(0.8) trace, in this process: a 100-point exact LRU curve
(capacities 0.1% .. 50% of the catalog) against ONE ``simulate`` call at 1%
(target: at most 3x its time, so >= 30x faster than 100 simulations) and
against one libCacheSim LRU run (x100 for a curve; target >= 100x); the same
for Layered LRU on a 4-layer trace (uniform versions); SHARDS at rate 0.01
against the exact curve, with the stratified estimator (the default) and
classic SHARDS-adj (target: mean absolute error <= 0.005 over the 100
capacities, reported for 20 hash seeds since it depends on which objects
are sampled; >= 10x faster); MiniSim's error for S3-FIFO with both
estimators. Every curve point is also checked against ``simulate`` at three
capacities. Times are CPU seconds (``time.process_time``), the fastest of
``--repeat`` runs; JIT compilation happens before timing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

import layercache as lc


SHARDS_SEEDS = 20


def _best(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def _lcs_lru_time(objects, capacity, repeat):
    import libcachesim as lcs

    from layercache.traces import ORACLE_GENERAL_DTYPE

    rec = np.zeros(objects.size, dtype=ORACLE_GENERAL_DTYPE)
    rec["id"] = objects.astype(np.uint64) + 1
    rec["size"] = 1
    rec["next_access"] = -1
    fd, path = tempfile.mkstemp(suffix=".oracleGeneral")
    os.close(fd)
    rec.tofile(path)
    try:
        def run():
            reader = lcs.TraceReader(path, lcs.TraceType.ORACLE_GENERAL_TRACE)
            return lcs.LRU(int(capacity)).process_trace(reader)[0]
        return _best(run, repeat)[0]
    finally:
        os.remove(path)


def _check_points(frame, caps, **kwargs):
    for k in (0, len(caps) // 2, len(caps) - 1):
        sim = lc.simulate(policy="lru", capacity=caps[k], **kwargs)
        assert frame["hits"][k] == sim.hits, (caps[k], frame["hits"][k], sim.hits)


def speed(n_req, n_obj, repeat):
    objects, _ = lc.irm_trace(lc.zipf_popularity(n_obj, 0.8), None, n_req, seed=1)
    caps = np.linspace(0.001, 0.5, 100) * n_obj
    warm = objects[:5000]
    lc.simulate(warm, policy="lru", capacity=10)
    lc.hit_ratio_curve(warm, capacities=caps)
    lc.hit_ratio_curve(warm, capacities=caps, method="shards", rate=0.01)

    t_sim, _ = _best(lambda: lc.simulate(objects, policy="lru", capacity=0.01 * n_obj), repeat)
    t_curve, exact = _best(lambda: lc.hit_ratio_curve(objects, capacities=caps), repeat)
    _check_points(exact, caps, objects=objects)
    t_lcs = _lcs_lru_time(objects, 0.01 * n_obj, repeat)
    print(f"trace {n_req:.0e} requests, {n_obj:.0e} objects, Zipf(0.8); 100 capacities 0.1%..50%")
    print(f"LRU   one simulate {t_sim:.3f} s, one libCacheSim run {t_lcs:.3f} s, exact 100-point curve {t_curve:.3f} s")
    print(f"      curve / one simulate = {t_curve / t_sim:.2f}x (target <= 3x); "
          f"100 simulations / curve = {100 * t_sim / t_curve:.0f}x (>= 30x); "
          f"100 libCacheSim runs / curve = {100 * t_lcs / t_curve:.0f}x (>= 100x)")

    big = caps * 0.01 >= 100
    for estimator in ("stratified", "classic"):
        shards = lambda seed=0: lc.hit_ratio_curve(objects, capacities=caps, method="shards", rate=0.01,  # noqa: E731
                                                   seed=seed, estimator=estimator)
        shards()
        t_sh, _ = _best(shards, repeat)
        errors, stated = [], []
        for seed in range(SHARDS_SEEDS):  # the error depends on which objects the hash samples: several samples
            frame = shards(seed)
            errors.append(np.abs(frame["hit_ratio"].to_numpy() - exact["hit_ratio"].to_numpy()))
            stated.append(frame["hit_ratio_error"].to_numpy())
        errors, stated = np.array(errors), np.array(stated)
        mae = errors.mean(axis=1)
        print(f"SHARDS rate 0.01, estimator {estimator!r}: {t_sh:.3f} s, exact curve / SHARDS = {t_curve / t_sh:.1f}x "
              f"(target >= 10x)")
        print(f"      MAE over the 100 capacities, {SHARDS_SEEDS} hash seeds: mean {mae.mean():.4f}, median "
              f"{np.median(mae):.4f}, 90th percentile {np.quantile(mae, 0.9):.4f}, max {mae.max():.4f} "
              f"(target <= 0.005); mean {errors[:, big].mean():.4f} where the scaled cache holds >= 100 objects "
              f"(capacity >= 1%), {errors[:, ~big].mean():.4f} below; mean stated error {stated.mean():.4f}, "
              f"errors within 2 / 3 stated errors: {np.mean(errors <= 2 * stated):.2f} / "
              f"{np.mean(errors <= 3 * stated):.2f}")

    minisim_accuracy(objects, n_obj)

    objs4, vers4 = lc.irm_trace(lc.zipf_popularity(n_obj, 0.8), lc.version_profile(4), n_req, seed=1)
    cat = lc.Catalog.unit(n_obj, 4)
    caps4 = caps * 4
    lc.hit_ratio_curve(objs4[:5000], vers4[:5000], capacities=caps4, catalog=cat)
    lc.simulate(objs4[:5000], vers4[:5000], policy="lru", capacity=10, catalog=cat)
    t_sim4, _ = _best(lambda: lc.simulate(objs4, vers4, policy="lru", capacity=0.04 * n_obj, catalog=cat), repeat)
    t_curve4, exact4 = _best(lambda: lc.hit_ratio_curve(objs4, vers4, capacities=caps4, catalog=cat), repeat)
    _check_points(exact4, caps4, objects=objs4, versions=vers4, catalog=cat)
    print(f"LLRU  L=4: one simulate {t_sim4:.3f} s, exact 100-point curve {t_curve4:.3f} s: "
          f"{t_curve4 / t_sim4:.2f}x one simulate (target <= 3x), {100 * t_sim4 / t_curve4:.0f}x faster than 100")


def minisim_accuracy(objects, n_obj, policy="s3fifo", seeds=10):
    """MiniSim's error at rate 0.01 with both estimators, against one simulation per capacity."""
    caps = np.linspace(0.01, 0.5, 20) * n_obj  # a scaled cache of >= 100 objects
    exact = lc.hit_ratio_curve(objects, capacities=caps, policy=policy)["hit_ratio"].to_numpy()
    for estimator in ("stratified", "classic"):
        mae = np.array([np.abs(lc.hit_ratio_curve(objects, capacities=caps, policy=policy, method="minisim", rate=0.01,
                                                  seed=seed, estimator=estimator)["hit_ratio"].to_numpy()
                               - exact).mean() for seed in range(seeds)])
        print(f"MiniSim {policy} rate 0.01, estimator {estimator!r}, 20 capacities 1%..50%, {seeds} hash seeds: MAE "
              f"mean {mae.mean():.4f}, median {np.median(mae):.4f}, max {mae.max():.4f}")


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class _AnonPeak:
    """Peak of the process's anonymous resident memory (RssAnon), polled every 5 ms in a thread.

    ``ru_maxrss`` also counts the pages of a memory-mapped file that were
    read (the oracleGeneral reader maps the file): the kernel drops those
    clean pages under memory pressure, so they do not bound the trace size.
    """

    def __enter__(self):
        import threading

        self.peak, self._stop = self._anon(), threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _anon():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
        return 0

    def _poll(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._anon())


def memory_case(kind, n_req, n_obj):
    """Peak memory of one curve in this process (run by --memory in a fresh process per case)."""
    lc.hit_ratio_curve(np.arange(1000) % 50, capacities=[1, 2])  # JIT outside
    lc.sampled_curve(np.arange(1000) % 50, capacities=[1, 2], rate=0.5)
    if kind == "file":
        path, n_obj = n_obj, None
        base = _rss()
        base_anon = _AnonPeak._anon()
        with _AnonPeak() as anon:
            frame = lc.sampled_curve(path, capacities=np.linspace(1e3, 5e5, 100), rate=0.01, chunk_requests=1 << 20)
        size = os.path.getsize(path)
        print(f"SHARDS of a {size / 2**20:.0f} MiB trace file (rate 0.01, 2^20-request chunks, "
              f"{frame['sampled_requests'][0]:,} sampled requests): peak anonymous memory above baseline "
              f"{(anon.peak - base_anon) / 2**20:.0f} MiB; peak RSS above baseline {(_peak() - base) / 2**20:.0f} MiB "
              "(counts the mapped file's pages that were read)", flush=True)
        return
    caps = np.linspace(0.001, 0.5, 100) * n_obj
    layered = kind == "layered"
    objs, vers = lc.irm_trace(lc.zipf_popularity(n_obj, 0.8), lc.version_profile(4 if layered else 1), n_req, seed=1)
    arrays = objs.nbytes + (vers.nbytes if layered else 0)
    base = _AnonPeak._anon()  # the trace is in memory: what the curve adds
    t0 = time.perf_counter()
    with _AnonPeak() as anon:
        if layered:
            lc.hit_ratio_curve(objs, vers, capacities=caps * 4, catalog=lc.Catalog.unit(n_obj, 4))
        else:
            lc.hit_ratio_curve(objs, capacities=caps)
    print(f"exact curve {kind:8s} n={n_req:.0e}: trace arrays {arrays / 2**20:.0f} MiB; the curve adds "
          f"{(anon.peak - base) / 2**20:.0f} MiB at its peak: trace + curve = {1 + (anon.peak - base) / arrays:.2f} x "
          f"the arrays (target <= ~2x; {time.perf_counter() - t0:.1f} s)", flush=True)


def memory_main(n_req, n_obj):
    import subprocess
    import sys

    for kind in ("flat", "layered"):
        subprocess.run([sys.executable, __file__, "--memory-case", kind, str(n_req), str(n_obj)], check=True)
    objs, _ = lc.irm_trace(lc.zipf_popularity(n_obj, 0.8), None, n_req, seed=2)
    from layercache.traces import ORACLE_GENERAL_DTYPE

    fd, path = tempfile.mkstemp(suffix=".oracleGeneral")
    os.close(fd)
    try:
        with open(path, "wb") as f:
            for lo in range(0, n_req, 1 << 22):
                rec = np.zeros(min(1 << 22, n_req - lo), dtype=ORACLE_GENERAL_DTYPE)
                rec["id"] = objs[lo:lo + rec.size].astype(np.uint64) + 1
                rec["size"] = 1
                rec.tofile(f)
        del objs
        subprocess.run([sys.executable, __file__, "--memory-case", "file", str(n_req), path], check=True)
    finally:
        os.remove(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10^6 requests over 10^5 objects")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--memory", action="store_true", help="peak memory of 10^8-request curves and a streamed file")
    ap.add_argument("--memory-requests", type=float, default=1e8)
    ap.add_argument("--memory-case", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.memory_case:
        kind, n, n_obj = args.memory_case
        return memory_case(kind, int(n), n_obj if kind == "file" else int(n_obj))
    if args.memory:
        return memory_main(int(args.memory_requests), 10**6)
    n_req, n_obj = (10**6, 10**5) if args.quick else (10**7, 10**6)
    speed(n_req, n_obj, args.repeat)


if __name__ == "__main__":
    main()
