"""Sweep functions for the sweep tests: module-level, so worker processes can import them."""

import os
import signal
import sys
import time

import numpy as np

import layercache as lc
import queueing as q
from layerq.configs import expand_grid


def mixed(kind, seed, **params):
    """A small layercache IRM simulation or a small queueing run, by ``kind``."""
    if kind == "cache":
        return lc.irm_experiment(**params, n_objects=300, requests_per_object=10, warmup_per_object=3, seed=seed)
    return q.serve_experiment(**params, seed=seed)


def mixed_grid():
    """64 configurations: 32 cache simulations and 32 serving runs."""
    cache = expand_grid({
        "kind": "cache", "policy": ["lru", "fifo", "lfu", "belady"], "alpha": [0.6, 0.9],
        "capacity_fraction": [0.05, 0.1, 0.2, 0.3]})
    serve = expand_grid({
        "kind": "serve", "scheduler": ["sarathi", "slai", "vllm", "rad"], "qps": [0.5, 1.0, 1.5, 2.0],
        "n_requests": [40, 56]})
    return [c for pair in zip(cache, serve) for c in pair]


def slow(i, seed):
    """A quarter of a second of work; logs each call to $SWEEP_TEST_LOG.

    Configurations ``i >= $SWEEP_TEST_BLOCK_FROM`` take 10 s instead, so that a
    test can interrupt a run that is certainly still going, however loaded the
    machine is.
    """
    time.sleep(10.0 if i >= int(os.environ.get("SWEEP_TEST_BLOCK_FROM", 1 << 30)) else 0.25)
    with open(os.environ["SWEEP_TEST_LOG"], "a") as fh:
        fh.write(f"{i}\n")
    return {"twice": 2 * i, "draw": float(np.random.default_rng(seed).random())}


def run_slow(store, n=24):
    """``python -c 'import sweep_tasks; sweep_tasks.run_slow(STORE)'``: exit 130 on Ctrl-C."""
    # as at a terminal: a test runner started in the background (``cmd &`` in a script) passes SIGINT on ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        table = lc.sweep(slow, {"i": list(range(n))}, backend="processes", workers=2, store=store)
    except KeyboardInterrupt:
        sys.exit(130)
    print(f"rows {len(table)}")
