"""Hand-traced goldens: exact batch compositions, chunk splits, LST order, preemption victims.

Every iteration takes exactly 1 s (affine latency with no token cost), so the
traces in the comments can be checked by hand. These traces were written for
the engine without the testbed's rules (no KV watermark, a block only when a
decode needs one, the prefill emits the first token: ``LEGACY``); the
testbed's rules have their own goldens in ``test_testbed_rules.py``.
"""

import numpy as np
import pytest

import queueing as q
from queueing.latency import AffineLatency

UNIT = AffineLatency(t0=1.0, per_token=0.0, per_context_token=0.0)
LEGACY = q.FLUID_RULES


def _run(scheduler, p, d, arrival=None, slo_class=None, **kw):
    arrival = np.zeros(len(p)) if arrival is None else arrival
    slo_class = np.ones(len(p), int) if slo_class is None else slo_class  # relaxed
    wl = q.trace_workload(arrival, p, d, slo_class=np.asarray(slo_class))
    res = q.simulate(wl, scheduler, latency=UNIT, record_batches=True, check_invariants=True, **{**LEGACY, **kw})
    batches = [list(zip(g["request"], g["tokens"])) for _, g in res.batches.groupby("iteration")]
    return res, batches


def test_sarathi_fcfs_chunks():
    # t=0: A chunk 8 (budget); t=1: A's last 2, B whole 5, C 1 token; t=2: decodes A,B then C's 2;
    # t=3: A's last decode.
    res, b = _run("sarathi", [10, 5, 3], [3, 2, 1], token_budget=8)
    assert b == [[(0, 8)], [(0, 2), (1, 5), (2, 1)], [(0, 1), (1, 1), (2, 2)], [(0, 1)]]
    np.testing.assert_allclose(res.requests["ttft"], [2, 2, 3])
    np.testing.assert_allclose(res.requests["e2e"], [4, 3, 3])


def test_sarathi_spf_orders_new_requests_by_prompt():
    # SPF admits C(3), B(5) first; A gets the leftover 7 tokens, then its last 3.
    res, b = _run("sarathi-spf", [10, 5, 3], [3, 2, 1], token_budget=8)
    assert b == [[(2, 3), (1, 5)], [(1, 1), (0, 7)], [(0, 3)], [(0, 1)], [(0, 1)]]
    np.testing.assert_allclose(res.requests["ttft"], [3, 1, 1])


def test_vllm_prefill_first():
    # A alone (A+B > 12 prefill tokens), then B and C together, then decode-only batches.
    res, b = _run("vllm", [10, 5, 3], [3, 2, 1], max_prefill_tokens=12)
    assert b == [[(0, 10)], [(1, 5), (2, 3)], [(0, 1), (1, 1)], [(0, 1)]]
    kinds = res.batches.groupby("iteration")["kind"].agg(set).tolist()
    assert kinds == [{"prefill"}, {"prefill"}, {"decode"}, {"decode"}]


def test_sarathi_preempts_the_newest_by_recompute():
    # 3 blocks of 16 tokens. t=1: A takes the last free block for its first decode; B needs a
    # block, no newer request is left, so B preempts itself (recompute: 16 + 1 tokens, 2 blocks).
    # B waits until A finishes at t=20, re-prefills 17 tokens and emits its 2nd token at t=21.
    res, b = _run("sarathi", [16, 16], [20, 20], kv_capacity_tokens=48, token_budget=64)
    assert b[0] == [(0, 16), (1, 16)]
    assert b[1] == [(0, 1)]
    assert b[19] == [(0, 1)] and b[20] == [(1, 17)]
    r = res.requests
    np.testing.assert_array_equal(r["n_preemptions"], [0, 1])
    np.testing.assert_allclose(r["e2e"], [20, 39])
    assert res.tbt(1)[0] == pytest.approx(20.0)  # the preemption stall is a TBT gap
    assert r["max_tbt"][1] == pytest.approx(20.0)


def test_slai_lst_order():
    # Theta = 0: LST = end of previous token + TBT. One decode per batch. The strict request
    # (TBT 0.1 s) has the earlier LST and goes first; then the relaxed one is critical, ...
    res, b = _run("slai", [4, 4], [3, 3], slo_class=[1, 0], token_budget=8, max_decodes=1,
                  theta_low=0.0, theta_high=0.0)
    assert b == [[(0, 4), (1, 4)], [(1, 1)], [(0, 1)], [(1, 1)], [(0, 1)]]


def test_slai_preempts_newest_paused_prefill():
    # 4 blocks. t=0: R0 (16) and R1 (48, 3 blocks) admitted, R1 chunked to 16 (paused).
    # t=1: R0's critical decode needs a block: the paused prefill R1 is preempted, R1 waits
    # for 3 blocks until R0 finishes at t=4, then prefills 32 + 16 tokens.
    res, b = _run("slai", [16, 48], [4, 2], kv_capacity_tokens=64, token_budget=32)
    assert b == [[(0, 16), (1, 16)], [(0, 1)], [(0, 1)], [(0, 1)], [(1, 32)], [(1, 16)], [(1, 1)]]
    np.testing.assert_array_equal(res.requests["n_preemptions"], [0, 1])
    np.testing.assert_allclose(res.requests["ttft"], [1, 6])


def test_slai_fifo_versus_spf_admission():
    # budget 4: FCFS admits the long prompt first and blocks; SPF serves the short one first.
    p, d = [8, 2], [1, 1]
    _, fcfs = _run("slai-fcfs-fixed", p, d, token_budget=4)
    _, spf = _run("slai-spf-fixed", p, d, token_budget=4)
    assert fcfs == [[(0, 4)], [(0, 4)], [(1, 2)]]
    assert spf == [[(1, 2), (0, 2)], [(0, 4)], [(0, 2)]]


def test_slai_priority_puts_strict_first():
    # strict request 1 has the longer prompt but goes first under slai-priority.
    _, pri = _run("slai-priority", [2, 3], [1, 1], slo_class=[1, 0], token_budget=3)
    _, spf = _run("slai", [2, 3], [1, 1], slo_class=[1, 0], token_budget=3)
    assert pri == [[(1, 3)], [(0, 2)]]
    assert spf == [[(0, 2), (1, 1)], [(1, 2)]]
