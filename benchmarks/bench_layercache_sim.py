"""Speed of layercache.simulate against libCacheSim on the same Zipf trace.

Usage::

    python benchmarks/bench_layercache_sim.py            # 10^7 requests, 10^6 objects
    python benchmarks/bench_layercache_sim.py --quick    # 10^6 requests, 10^5 objects
    python benchmarks/bench_layercache_sim.py --memory   # peak memory on 10^8 requests

Both simulators run in this process on the same IRM Zipf(0.8) trace, with
caches of 1% and 10% of the catalog (objects, or bytes for variable sizes).
libCacheSim reads a prepared oracleGeneral file (written before timing, with
next-access times for its Belady); the toolkit's time includes input
validation and, for Belady, computing next uses. JIT compilation happens
before timing. Printed: requests/s of each and the ratio toolkit/libCacheSim,
plus Layered LRU on a 4-layer trace in absolute requests/s. The queue
policies (CLOCK, SIEVE, S3-FIFO, 2Q, ARC, SLRU) run with libCacheSim's defaults. Hit counts are
compared as well (they must agree exactly). Each case runs ``--repeat``
times on each side and the fastest run counts. Times are CPU seconds of this
process (``time.process_time``), so other jobs on a shared machine distort
them less than wall time.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

import layercache as lc
from layercache.traces import ORACLE_GENERAL_DTYPE

def _clock():
    # CPU time of this process: both simulators are single-threaded and run
    # here, and CPU time is robust to other jobs sharing the machine.
    return time.process_time()


TARGETS = {"lru": 10.0, "fifo": 10.0, "lru (var. size)": 5.0, "belady": 3.0, "lfu": 2.0,
           "clock": 5.0, "sieve": 5.0, "s3fifo": 5.0, "twoq": 5.0, "arc": 5.0, "slru": 5.0}
LCS_NAMES = {"lru": "LRU", "fifo": "FIFO", "lfu": "LFU", "belady": "Belady", "clock": "Clock", "sieve": "Sieve",
             "s3fifo": "S3FIFO", "twoq": "TwoQ", "arc": "ARC", "slru": "SLRU"}


def _next_access(ids: np.ndarray) -> np.ndarray:
    order = np.argsort(ids, kind="stable")
    same = ids[order[1:]] == ids[order[:-1]]
    nxt = np.full(ids.size, -1, dtype=np.int64)
    nxt[order[:-1][same]] = order[1:][same]
    return nxt


def _write_trace(path, ids, sizes):
    rec = np.zeros(ids.size, dtype=ORACLE_GENERAL_DTYPE)
    rec["time"] = np.arange(ids.size)
    rec["id"] = ids.astype(np.uint64) + 1
    rec["size"] = sizes
    rec["next_access"] = _next_access(ids)
    rec.tofile(path)


def _time_lcs(path, policy, capacity, repeat):
    import libcachesim as lcs

    best = np.inf
    for _ in range(repeat):
        reader = lcs.TraceReader(path, lcs.TraceType.ORACLE_GENERAL_TRACE)
        cache = getattr(lcs, LCS_NAMES[policy])(int(capacity))
        t0 = _clock()
        miss_ratio, _ = cache.process_trace(reader)
        best = min(best, _clock() - t0)
    return best, miss_ratio


def _time_toolkit(objects, policy, capacity, sizes=None, versions=None, catalog=None, repeat=1):
    best = np.inf
    for _ in range(repeat):
        t0 = _clock()
        res = lc.simulate(objects, versions, policy=policy, capacity=capacity, sizes=sizes, catalog=catalog)
        best = min(best, _clock() - t0)
    return best, res


def _peak_rss_bytes() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_case(policy: str, layered: bool, n_req: int, n_obj: int) -> None:
    """One simulation of an n_req trace in this process; print its memory use."""
    n_layers = 4 if layered else 1
    catalog = lc.Catalog.unit(n_obj, n_layers)
    tiny = np.zeros(10, dtype=np.int32)
    lc.simulate(tiny, np.ones(10, np.int8), policy=policy, capacity=2, catalog=catalog)  # JIT outside
    base = _rss_bytes()
    objs, vers = lc.irm_trace(lc.zipf_popularity(n_obj, 0.8), lc.version_profile(n_layers), n_req, seed=1)
    arrays = objs.nbytes + vers.nbytes
    after_trace = _rss_bytes()
    t0 = time.perf_counter()
    res = lc.simulate(objs, vers, policy=policy, capacity=0.01 * n_obj * n_layers, catalog=catalog,
                      layered=layered)
    wall = time.perf_counter() - t0
    peak = _peak_rss_bytes()
    print(f"{policy:7s} {'layered' if layered else 'flat':8s} n={n_req:.0e}: trace arrays {arrays / 2**20:7.0f} MiB, "
          f"RSS before trace {base / 2**20:5.0f} MiB, after trace {after_trace / 2**20:6.0f} MiB, "
          f"peak {peak / 2**20:6.0f} MiB -> peak above baseline = {(peak - base) / arrays:.2f} x arrays "
          f"({wall:.1f} s, hit ratio {res.hit_ratio:.4f})", flush=True)


def memory_main(n_req: int, n_obj: int) -> None:
    import subprocess
    import sys

    for policy, layered in (("lru", False), ("lru", True), ("belady", False), ("belady", True), ("lfu", True)):
        subprocess.run([sys.executable, __file__, "--memory-case", policy, str(int(layered)), str(n_req), str(n_obj)],
                       check=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10^6 requests over 10^5 objects")
    ap.add_argument("--alpha", type=float, default=0.8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="runs per case; the fastest counts (both simulators)")
    ap.add_argument("--memory", action="store_true", help="peak RSS of 10^8-request simulations (one process each)")
    ap.add_argument("--memory-requests", type=float, default=1e8)
    ap.add_argument("--memory-case", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--cases", nargs="*", default=list(TARGETS), choices=list(TARGETS), metavar="CASE",
                    help=f"cases to time (default all: {', '.join(TARGETS)})")
    args = ap.parse_args(argv)
    if args.memory_case:
        policy, layered, n, n_obj = args.memory_case
        return memory_case(policy, layered == "1", int(n), int(n_obj))
    if args.memory:
        return memory_main(int(args.memory_requests), 10**6)
    n_req, n_obj = (10**6, 10**5) if args.quick else (10**7, 10**6)

    t0 = _clock()
    objects, _ = lc.irm_trace(lc.zipf_popularity(n_obj, args.alpha), None, n_req, seed=args.seed)
    print(f"trace: {n_req:.0e} requests, {n_obj:.0e} objects, Zipf({args.alpha}) in {_clock() - t0:.2f} s")
    rng = np.random.default_rng(args.seed)
    obj_sizes = rng.integers(1, 1001, n_obj)  # bytes, uniform 1..1000 per object
    sizes = obj_sizes[objects].astype(np.uint32)

    # JIT warm-up outside timing, of the policies timed
    tiny = objects[:1000]
    for pol in {name.split()[0] for name in args.cases}:
        lc.simulate(tiny, policy=pol, capacity=10)
        lc.simulate(tiny, policy=pol, capacity=1000, sizes=sizes[:1000])
    lc.simulate(tiny, np.ones(1000, np.int8), policy="lru", capacity=10, catalog=lc.Catalog.unit(n_obj, 4))

    tmp = tempfile.mkdtemp()
    unit_path = os.path.join(tmp, "unit.oracleGeneral")
    var_path = os.path.join(tmp, "var.oracleGeneral")
    _write_trace(unit_path, objects, 1)
    _write_trace(var_path, objects, sizes)
    total_bytes = int(obj_sizes.sum())

    rows = []
    for frac in (0.01, 0.10):
        cases = [
            ("lru", unit_path, None, int(frac * n_obj)),
            ("fifo", unit_path, None, int(frac * n_obj)),
            ("lru (var. size)", var_path, sizes, int(frac * total_bytes)),
            ("belady", unit_path, None, int(frac * n_obj)),
            ("lfu", unit_path, None, int(frac * n_obj)),
        ] + [(name, unit_path, None, int(frac * n_obj)) for name in ("clock", "sieve", "s3fifo", "twoq", "arc", "slru")]
        for name, path, sz, cap in cases:
            if name not in args.cases:
                continue
            pol = name.split()[0]
            t_lcs, miss = _time_lcs(path, pol, cap, args.repeat)
            t_us, res = _time_toolkit(objects, pol, cap, sizes=sz, repeat=args.repeat)
            same = res.hits == round((1 - miss) * n_req)
            ratio = t_lcs / t_us
            rows.append((name, frac, n_req / t_us, n_req / t_lcs, ratio, TARGETS[name], same))
    for p in (unit_path, var_path):
        os.remove(p)
    os.rmdir(tmp)

    print(f"{'policy':18s} {'cache':>6s} {'toolkit req/s':>14s} {'libCacheSim req/s':>18s} {'ratio':>7s} {'target':>7s}  hits equal")
    for name, frac, us, them, ratio, target, same in rows:
        flag = "ok " if ratio >= target else "LOW"
        print(f"{name:18s} {frac:6.0%} {us:14.3e} {them:18.3e} {ratio:6.1f}x {target:5.0f}x {flag} {same}")

    if "lru" not in args.cases:
        return
    # Layered LRU, 4 layers, uniform version popularity, unit layer sizes
    objs, vers = lc.irm_trace(lc.zipf_popularity(n_obj, args.alpha), lc.version_profile(4), n_req, seed=args.seed)
    catalog = lc.Catalog.unit(n_obj, 4)
    for frac in (0.01, 0.10):
        cap = frac * n_obj * 4
        t_us, res = _time_toolkit(objs, "lru", cap, versions=vers, catalog=catalog, repeat=args.repeat)
        print(f"layered LRU, L=4, cache {frac:.0%}: {n_req / t_us:.3e} req/s "
              f"(target 1e7), hit ratio {res.hit_ratio:.4f}, layer hit ratio {res.layer_hit_ratio:.4f}")


if __name__ == "__main__":
    main()
