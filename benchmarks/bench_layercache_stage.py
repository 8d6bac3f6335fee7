"""Peak memory and time of staging a trace with many distinct ids (layercache.stream_trace).

Usage::

    python benchmarks/bench_layercache_stage.py                 # 10^8 requests, all distinct ids
    python benchmarks/bench_layercache_stage.py --ids 1e7       # 10^7
    python benchmarks/bench_layercache_stage.py --ids 1e6 --check

Staging remaps every raw 64-bit id to a dense one; its memory is the id
table (:mod:`layercache.spill_remap`). The input is the worst case for that
table: an iterator of id-only chunks (2^20 requests each, generated on the
fly, never written to a file) in which every request is a new id (a
bijective mix of a counter, so distinct for sure). Printed: staging wall
and CPU seconds (CPU: less sensitive to other load on a shared machine;
the disk waits are not in it) and the peak anonymous resident memory above the baseline before
staging (RssAnon polled every 5 ms, ``_AnonPeak`` of
``bench_layercache_curve``; the page cache of the staged files is not
anonymous memory). Target (issue: staging memory bounded): below 1 GB at
10^8 distinct ids. ``--check`` also compares the staged ids with
:func:`layercache.remap_ids` of the same requests (an in-memory run;
use it up to ~10^7).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench_layercache_curve import _AnonPeak

TARGET_MB = 1024
CHUNK = 1 << 20


def distinct_ids(start, stop):
    """The 64-bit ids of requests ``start..stop-1``: splitmix64 of the counter, a bijection (all distinct)."""
    z = np.arange(start, stop, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(12345)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def chunks(n):
    for start in range(0, n, CHUNK):
        yield distinct_ids(start, min(start + CHUNK, n))


def main(argv=None):
    import layercache as lc

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ids", type=float, default=1e8, help="requests, each a new id")
    ap.add_argument("--directory", default=None, help="where to stage (default: the system's temporary directory)")
    ap.add_argument("--check", action="store_true", help="compare with remap_ids in memory")
    args = ap.parse_args(argv)
    n = int(args.ids)
    with lc.stream_trace(iter([np.arange(10, dtype=np.uint64)])):  # JIT outside the measurement
        pass
    base = _AnonPeak._anon()
    t0, c0 = time.perf_counter(), time.process_time()
    with np.errstate(over="ignore"), _AnonPeak() as anon:
        staged = lc.stream_trace(chunks(n), directory=args.directory)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak_mb = (anon.peak - base) / 2**20
    with staged:
        assert staged.n_requests == n and staged.n_objects == n, (staged.n_requests, staged.n_objects)
        print(f"staged {n:.3g} requests, {staged.n_objects:.3g} distinct 64-bit ids: {seconds:.1f} s wall, "
              f"{cpu:.1f} s CPU (generating the ids included), peak anonymous memory above baseline "
              f"{peak_mb:.0f} MiB", flush=True)
        if args.check:
            with np.errstate(over="ignore"):
                raw = distinct_ids(0, n)
            dense = np.fromfile(staged.directory / "objects.bin", dtype=np.int32)
            np.testing.assert_array_equal(np.asarray(staged.original_ids)[dense], raw)
            print("check: original_ids[staged ids] == the raw ids, and the ids are a permutation of 0..n-1:",
                  np.array_equal(np.sort(dense), np.arange(n)))
    print("target met" if peak_mb < TARGET_MB else f"NOT MET: {peak_mb:.0f} MiB >= {TARGET_MB} MiB")


if __name__ == "__main__":
    main()
