"""Streaming a trace larger than memory from disk against the in-memory run of the same requests.

Usage::

    python benchmarks/bench_layercache_stream.py                      # 2e8 requests (~4.8 GB file in /tmp)
    python benchmarks/bench_layercache_stream.py --quick              # 2e6 requests
    python benchmarks/bench_layercache_stream.py --policies lru,fifo,lfu --memory-requests 50000000

Issue 15's acceptance: a 2 x 10^8-request oracleGeneral file simulated from
disk with every policy gives the same hits as the in-memory run of the same
requests, with peak memory below 1 GB for LRU/FIFO/LFU (stated for the
others) and throughput from disk within 2x of in-memory.

The file: an IRM Zipf(``--alpha``) trace over ``--objects`` objects with
random 64-bit ids, a fixed size per object (log-uniform in 1 B .. 1 MiB)
and 0.1% of the requests of size 0 (skipped by every reader, as
libCacheSim does), written in chunks (never held in memory) to ``--path``
and deleted at the end unless ``--keep``. Capacity: ``--capacity`` of the
bytes of all objects (byte capacity, the trace's sizes).

Two worker processes, so that each has its own peak memory, run the
policies alternately (in-memory, then stream, policy by policy), so that
both see the same load from the rest of a shared machine:

- ``stream``: :func:`layercache.stream_trace` stages the file (one pass:
  ids remapped, written with the sizes to a temporary directory), then
  ``simulate(staged, sizes="trace")`` per policy. Peak resident memory
  (VmHWM, reset before each step through ``/proc/self/clear_refs``) is
  reported for staging and for each policy; it includes the interpreter,
  numba and the staged trace's table of original ids. (getrusage's
  ``ru_maxrss`` is reset alike, so the worker's whole-process peak is the
  largest of these.)
- ``memory``: :func:`layercache.read_trace` (``remap=True``) loads the
  first ``--memory-requests`` requests (all by default) and ``simulate``
  runs per policy on the arrays.

Both workers compile every policy on a tiny trace before timing. Printed per
policy: hits of both (when ``--memory-requests`` cuts the in-memory run
short, the stream stages the same prefix), wall seconds, requests per
second and the ratio stream / memory (the target), the ratio of CPU
seconds (less sensitive to other load on a shared machine; the stream's
waits for the disk are not in it), and the stream's peak memory. Staged files are read
through the page cache; the staging pass reads the source file once.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from layercache.simulation import POLICIES
SMALL_MEMORY = ("lru", "fifo", "lfu")
MEMORY_TARGET_MB = 1024
SPEED_TARGET = 2.0


def _peak_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # Linux >= 4.0: reset VmHWM to the current resident size


def build_file(path, n_requests, n_objects, alpha, seed, chunk=1 << 22):
    """Write the benchmark trace in chunks; return the bytes of all objects (sizes > 0)."""
    from layercache.trace_formats import ORACLE_GENERAL_DTYPE

    rng = np.random.default_rng(seed)
    names = rng.integers(1, 2**64 - 1, size=n_objects, dtype=np.uint64)
    sizes = np.exp(rng.uniform(0, np.log(2**20), size=n_objects)).astype(np.uint32) + np.uint32(1)
    # inverse CDF of the continuous Zipf(alpha) on [1, N + 1): ranks 0..N-1
    a = 1.0 - alpha
    top = (n_objects + 1.0) ** a
    with open(path, "wb") as fh:
        rec = np.empty(chunk, dtype=ORACLE_GENERAL_DTYPE)
        for start in range(0, n_requests, chunk):
            m = min(chunk, n_requests - start)
            r = rec[:m]
            u = rng.random(m)
            ranks = np.minimum((u * (top - 1.0) + 1.0) ** (1.0 / a) - 1.0, n_objects - 1).astype(np.int64)
            r["time"] = np.arange(start, start + m) // 1000
            r["id"] = names[ranks]
            r["size"] = np.where(rng.random(m) < 0.001, 0, sizes[ranks])
            r["next_access"] = -1
            fh.write(r.tobytes())
    return float(sizes.astype(np.float64).sum())


def _warm_up(policies):
    import layercache as lc

    ids = np.arange(100, dtype=np.uint64) % 17
    sizes = np.arange(100) % 7 + 1
    with lc.stream_trace(iter([(ids, sizes)]), chunk_requests=40) as staged:
        for p in policies:
            lc.simulate(staged, policy=p, capacity=50.0, sizes="trace")
            lc.simulate(ids, policy=p, capacity=50.0, sizes=sizes)


def _serve(run):
    """Run one policy per line of stdin (the parent alternates the two workers), one JSON line each."""
    for line in sys.stdin:
        policy = line.strip()
        _reset_peak()
        t0, c0 = time.perf_counter(), time.process_time()
        res = run(policy)
        print(json.dumps({"policy": policy, "s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
                          "hits": res.hits, "requests": res.requests, "bytes_hit": res.bytes_hit,
                          "peak_mb": _peak_mb()}), flush=True)


def worker_stream(args):
    import layercache as lc

    _warm_up(args.policies)
    _reset_peak()
    t0 = time.perf_counter()
    staged = lc.stream_trace(args.path, chunk_requests=args.chunk_requests)
    if args.memory_requests and args.memory_requests < staged.n_requests:
        staged.close()  # the comparison runs on a prefix: stage the same prefix of the file
        staged = lc.stream_trace(_prefix_chunks(args.path, args.memory_requests), chunk_requests=args.chunk_requests)
    print(json.dumps({"s": time.perf_counter() - t0, "peak_mb": _peak_mb(), "requests": staged.n_requests,
                      "objects": staged.n_objects}), flush=True)
    with staged:
        _serve(lambda p: lc.simulate(staged, policy=p, capacity=args.capacity_bytes, sizes="trace"))


def _prefix_chunks(path, n):
    import layercache as lc

    seen = 0
    for ids, sizes, _ in lc.iter_trace_chunks(path, chunk_requests=1 << 20):
        take = min(ids.size, n - seen)
        yield ids[:take], sizes[:take]
        seen += take
        if seen >= n:
            return


def worker_memory(args):
    import layercache as lc

    _warm_up(args.policies)
    t0 = time.perf_counter()
    ids, sizes, _, _ = lc.read_trace(args.path, remap=True)
    if args.memory_requests:
        ids, sizes = ids[: args.memory_requests].copy(), sizes[: args.memory_requests].copy()
    sizes = sizes.astype(np.float64)
    print(json.dumps({"s": time.perf_counter() - t0, "peak_mb": _peak_mb(), "requests": int(ids.size)}), flush=True)
    _serve(lambda p: lc.simulate(ids, policy=p, capacity=args.capacity_bytes, sizes=sizes))


class _Worker:
    """A worker process driven line by line (policies in, JSON results out)."""

    def __init__(self, kind, args):
        cmd = [sys.executable, __file__, "--worker", kind, "--path", args.path, "--policies",
               ",".join(args.policies), "--capacity-bytes", repr(args.capacity_bytes), "--chunk-requests",
               str(args.chunk_requests), "--memory-requests", str(args.memory_requests or 0)]
        self.kind = kind
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def result(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.kind} worker ended early (exit code {self.proc.wait()}); see its stderr above")
        print(f"  {self.kind}: {line.strip()}", flush=True)  # as they come: finished results are never lost
        return json.loads(line)

    def run(self, policy):
        self.proc.stdin.write(policy + "\n")
        self.proc.stdin.flush()
        return self.result()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=float, default=2e8)
    ap.add_argument("--objects", type=float, default=1e7)
    ap.add_argument("--alpha", type=float, default=0.8)
    ap.add_argument("--capacity", type=float, default=0.01, help="fraction of the bytes of all objects")
    ap.add_argument("--policies", default=",".join(POLICIES))
    ap.add_argument("--memory-requests", type=float, default=0, help="in-memory run on this prefix (0: all)")
    ap.add_argument("--chunk-requests", type=int, default=1 << 22)
    ap.add_argument("--path", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the trace file (reused if present)")
    ap.add_argument("--quick", action="store_true", help="2e6 requests over 2e5 objects")
    ap.add_argument("--worker", choices=("stream", "memory"), help=argparse.SUPPRESS)
    ap.add_argument("--capacity-bytes", type=float, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.policies = [p for p in args.policies.split(",") if p]
    args.memory_requests = int(args.memory_requests)
    if args.worker:
        (worker_stream if args.worker == "stream" else worker_memory)(args)
        return
    if args.quick:
        args.requests, args.objects = 2e6, 2e5
    n_req, n_obj = int(args.requests), int(args.objects)
    args.path = args.path or f"/tmp/layerq_stream_{n_req}_{n_obj}.oracleGeneral"
    seed = 15
    t0 = time.perf_counter()
    built = not (args.keep and os.path.exists(args.path))
    if built:
        total_bytes = build_file(args.path, n_req, n_obj, args.alpha, seed)
        with open(args.path + ".bytes", "w") as fh:
            fh.write(repr(total_bytes))
    else:
        with open(args.path + ".bytes") as fh:
            total_bytes = float(fh.read())
    print(f"trace: {n_req:.3g} requests over {n_obj:.3g} objects, Zipf({args.alpha}), "
          f"{os.path.getsize(args.path) / 1e9:.2f} GB at {args.path} "
          f"({'built' if built else 'reused'} in {time.perf_counter() - t0:.0f} s)")
    args.capacity_bytes = args.capacity * total_bytes
    workers = []
    try:
        stream_worker = _Worker("stream", args)
        workers.append(stream_worker)
        stage = stream_worker.result()  # staged alone, then the in-memory read
        memory_worker = _Worker("memory", args)
        workers.append(memory_worker)
        memory_head = memory_worker.result()
        stream, memory = {}, {}
        for p in args.policies:  # alternated, so that both see the same load from elsewhere
            memory[p] = memory_worker.run(p)
            stream[p] = stream_worker.run(p)
    finally:
        for w in workers:
            w.close()
        if not args.keep:
            os.remove(args.path)
            os.remove(args.path + ".bytes")
    n = stage["requests"]
    print(f"requests simulated: {n} ({'all' if not args.memory_requests else 'prefix'}; size-0 requests skipped), "
          f"objects {stage['objects']}, capacity {args.capacity:g} of all bytes = {args.capacity_bytes:.4g} B, "
          f"windows of {args.chunk_requests} requests")
    print(f"stage (read file, remap ids, write staged files): {stage['s']:.1f} s, peak {stage['peak_mb']:.0f} MB; "
          f"in-memory read_trace: {memory_head['s']:.1f} s, peak {memory_head['peak_mb']:.0f} MB "
          f"({memory_head['requests']} requests)")
    print(f"{'policy':12s} {'hits stream':>12s} {'hits memory':>12s} {'equal':>5s} {'stream s':>9s} {'memory s':>9s} "
          f"{'Mreq/s st':>9s} {'Mreq/s mem':>10s} {'ratio':>6s} {'cpu ratio':>9s} {'peak MB':>8s}")
    failures = []
    for p in args.policies:
        s, m = stream[p], memory[p]
        equal = (s["hits"], s["requests"], s["bytes_hit"]) == (m["hits"], m["requests"], m["bytes_hit"])
        ratio = s["s"] / m["s"]
        print(f"{p:12s} {s['hits']:12d} {m['hits']:12d} {str(equal):>5s} {s['s']:9.2f} {m['s']:9.2f} "
              f"{n / s['s'] / 1e6:9.2f} {n / m['s'] / 1e6:10.2f} {ratio:6.2f} {s['cpu_s'] / m['cpu_s']:9.2f} "
              f"{s['peak_mb']:8.0f}")
        if not equal:
            failures.append(f"{p}: hits differ")
        if p in SMALL_MEMORY and s["peak_mb"] >= MEMORY_TARGET_MB:
            failures.append(f"{p}: peak {s['peak_mb']:.0f} MB >= {MEMORY_TARGET_MB} MB")
        if ratio > SPEED_TARGET:
            failures.append(f"{p}: stream / memory time {ratio:.2f} > {SPEED_TARGET}")
    whole = max([stage["peak_mb"]] + [row["peak_mb"] for row in stream.values()])
    print(f"stream worker's whole-process peak RSS (the largest of its steps, staging included): {whole:.0f} MB")
    print("targets met" if not failures else "NOT MET: " + "; ".join(failures))


if __name__ == "__main__":
    main()
