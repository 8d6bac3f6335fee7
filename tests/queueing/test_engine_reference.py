"""The jitted engine against the independent Python reference (exact batches and token times).

Each option set switches the testbed's rules (KV watermark, append rule, token
convention, warm-up) on or off; the reference implements each rule from the
testbed's code on its own.
"""

import numpy as np
import pytest

import queueing as q
from queueing.latency import default_latency

from reference_engine import reference_simulate

SCHEDULERS = ["vllm", "sarathi", "sarathi-spf", "slai-fcfs-fixed", "slai-spf-fixed", "slai", "slai-priority", "rad",
              "rad-alternating"]
TILES = {"rad": 16, "rad-alternating": 4}  # rad-alternating: max_active = 8 holds two full decode tiles
OPTIONS = {
    "testbed": dict(kv_watermark=0.1),  # 0.01 of 40 blocks is 0: a larger watermark that binds here
    "legacy": dict(kv_watermark=0.0, append_rule="when_needed", token_convention="vllm"),
    "vllm-tokens-any-free": dict(kv_watermark=0.05, append_rule="any_free", token_convention="vllm"),
    "testbed-tokens-warm": dict(kv_watermark=0.0, append_rule="when_needed", token_convention="testbed",
                                warmup_requests=2),
}


def _workload(seed, n=40):
    rng = np.random.default_rng(seed)
    p = rng.integers(1, 300, n)
    d = rng.integers(1, 60, n)
    return q.poisson_workload(p, d, qps=rng.uniform(5, 40), n_requests=n, seed=seed, shuffle=False)


def run_both(wl, scheduler, kv_blocks, options, **kw):
    """Run the engine (invariants checked every iteration) and the reference on ``wl``; return both."""
    kw = dict(kw, **({"tile": TILES[scheduler]} if scheduler in TILES else {}))
    res = q.simulate(wl, scheduler, kv_capacity_tokens=16 * kv_blocks, record_batches=True,
                     check_invariants=True, **options, **kw)
    ref = reference_simulate(wl.arrival, wl.prompt_tokens, wl.output_tokens, wl.tbt_slo, scheduler,
                             default_latency(), n_blocks=kv_blocks, **options, **kw)
    return res, ref


def assert_same(res, ref, n):
    times, batches, preempts, _ = ref
    got = res.batches.groupby("iteration")
    assert len(got) == len(batches)
    starts = res.iterations["start"].to_numpy()
    for (it, g), (start, entries) in zip(got, batches):
        assert list(zip(g["request"], g["tokens"])) == entries, f"iteration {it}"
        assert starts[it] == pytest.approx(start, rel=1e-12, abs=1e-12)
    for i in range(n):
        np.testing.assert_allclose(res.token_times[res.token_offsets[i]:res.token_offsets[i + 1]], times[i],
                                   rtol=1e-12)
    np.testing.assert_array_equal(res.requests["n_preemptions"], preempts)


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("seed,kv_blocks", [(0, 40), (1, 25), (2, 400)])
def test_engine_matches_reference(scheduler, seed, kv_blocks, options):
    wl = _workload(seed)
    res, ref = run_both(wl, scheduler, kv_blocks, OPTIONS[options], token_budget=64, max_active=8, max_decodes=6)
    assert_same(res, ref, len(wl))
    if kv_blocks < 100 and scheduler != "vllm":
        assert res.requests["n_preemptions"].sum() > 0  # the tight-KV cases do exercise preemption
