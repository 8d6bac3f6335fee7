"""The testbed's rules (KV watermark, append rule, token convention, warm-up) and the inputs around them.

The paper's testbed is the SLAI fork of Sarathi-Serve (github.com/agrimUT/SLAI, commit
5098a7aba05e3edbcfa3a509d6cc9cd248fc4380). Hand-built cases use 1 s iterations so that each trace
can be checked by hand; the ShareGPT4 runs are held against the independent reference engine.
"""

import dataclasses
import hashlib
import sys

import numpy as np
import pytest

import queueing as q
import queueing.capacity as cap
from queueing.latency import AffineLatency, default_latency

from reference_engine import reference_simulate

UNIT = AffineLatency(t0=1.0, per_token=0.0, per_context_token=0.0)
TESTBED_SCHEDULERS = ["sarathi", "sarathi-spf", "vllm", "slai-fcfs-fixed", "slai-spf-fixed", "slai", "slai-priority"]


def _run(scheduler, p, d, arrival=None, slo_class=None, **kw):
    arrival = np.zeros(len(p)) if arrival is None else np.asarray(arrival, float)
    slo_class = np.ones(len(p), int) if slo_class is None else np.asarray(slo_class)
    wl = q.trace_workload(arrival, p, d, slo_class=slo_class)
    res = q.simulate(wl, scheduler, latency=UNIT, record_batches=True, check_invariants=True, **kw)
    batches = [list(zip(g["request"].tolist(), g["tokens"].tolist())) for _, g in res.batches.groupby("iteration")]
    return res, batches


# ------------------------------------------------------------ hand-built goldens, one per rule


def test_watermark_holds_back_admission():
    # 10 blocks, watermark 0.2 -> 2 blocks. A (96 tokens, 6 blocks) leaves 4 free; B (48, 3 blocks)
    # would leave 1 < 2, so B waits until A finishes (prefill, 2 decodes) at t=3.
    res, b = _run("sarathi", [96, 48], [2, 1], kv_capacity_tokens=160, kv_watermark=0.2)
    assert b == [[(0, 96)], [(0, 1)], [(0, 1)], [(1, 48)], [(1, 1)]]
    np.testing.assert_allclose(res.requests["ttft"], [1, 4])
    _, b = _run("sarathi", [96, 48], [2, 1], kv_capacity_tokens=160, kv_watermark=0.0)
    assert b == [[(0, 96), (1, 48)], [(0, 1), (1, 1)], [(0, 1)]]
    # the watermark is int(fraction * blocks): 0.01 of 14,733 blocks is 147
    wl = q.trace_workload([0.0, 0.0], [16 * 14_000, 16 * 586], [1, 1])
    big = dict(latency=UNIT, max_model_len=10**6, token_budget=10**6)
    res = q.simulate(wl, "sarathi", **big)  # 14,733 - 14,586 = 147 blocks stay free
    assert res.requests["first_scheduled"].tolist() == [0.0, 0.0]
    wl = q.trace_workload([0.0, 0.0], [16 * 14_000, 16 * 587], [1, 1])
    res = q.simulate(wl, "sarathi", **big)  # 146 < 147: B waits for A (prefill, one decode)
    assert res.requests["first_scheduled"].tolist() == [0.0, 2.0]


def test_append_rule_any_free_preempts_a_decode_that_needs_no_block():
    # 3 blocks, three 16-token prompts (1 block each), D = 3 (testbed convention).
    # t=1: A's decode needs no block but none is free: the newest not-yet-visited request (C) is
    #      preempted; A and B decode; C (16 tokens, 1 block) is re-admitted into the same batch.
    # t=2: A needs a block: C is preempted again; B needs one, no victim is left: B preempts itself.
    # t=4: A done; B (17 = 16 + 1 generated tokens, 2 blocks) and C re-prefill; t=5..7 B's decodes
    #      each find no free block and preempt C, which is re-admitted each time.
    res, b = _run("sarathi", [16, 16, 16], [3, 3, 3], kv_capacity_tokens=48, kv_watermark=0.0)
    assert b[:5] == [[(0, 16), (1, 16), (2, 16)], [(0, 1), (1, 1), (2, 16)], [(0, 1)], [(0, 1)], [(1, 17), (2, 16)]]
    assert b[5:] == [[(1, 1), (2, 16)]] * 3 + [[(2, 1)]] * 3
    assert res.requests["n_preemptions"].tolist() == [0, 1, 5]
    # "when_needed": t=1 all three decode; t=2 A needs a block, C is the victim, B preempts itself
    res, b = _run("sarathi", [16, 16, 16], [3, 3, 3], kv_capacity_tokens=48, kv_watermark=0.0,
                  append_rule="when_needed")
    assert b[:5] == [[(0, 16), (1, 16), (2, 16)], [(0, 1), (1, 1), (2, 1)], [(0, 1)], [(0, 1)], [(1, 17)]]
    assert res.requests["n_preemptions"].tolist() == [0, 1, 1]


def test_append_rule_slai_victim_is_the_decode_itself_without_paused_prefills():
    # 4 blocks, budget 40: A, B (16 tokens, D = 3) run; C (40 tokens, 3 blocks) never fits beside them.
    # t=2: A and B each take their second block (0 free). t=3: A needs no block, but none is free and
    # no paused prefill exists: A preempts itself; B decodes; A (18 tokens, 2 blocks) is re-admitted
    # (SPF: shorter than C) and prefills in the same batch. A then runs D = 3 fresh decodes.
    res, b = _run("slai", [16, 16, 40], [3, 3, 1], kv_capacity_tokens=64, token_budget=40, kv_watermark=0.0)
    assert b == [[(0, 16), (1, 16)], [(0, 1), (1, 1)], [(0, 1), (1, 1)], [(1, 1), (0, 18)],
                 [(0, 1)], [(0, 1)], [(0, 1)], [(2, 40)], [(2, 1)]]
    assert res.requests["n_preemptions"].tolist() == [1, 0, 0]
    np.testing.assert_allclose(res.requests["ttft"], [4, 1, 8])  # A's TTFT restarts with its recompute
    _, b = _run("slai", [16, 16, 40], [3, 3, 1], kv_capacity_tokens=64, token_budget=40, kv_watermark=0.0,
                append_rule="when_needed")
    assert b == [[(0, 16), (1, 16)]] + [[(0, 1), (1, 1)]] * 3 + [[(2, 40)], [(2, 1)]]


def test_token_convention():
    # A: 20-token prompt, D = 3; B: 5 tokens, D = 1; budget 16. Both prefills end at t=2.
    res, b = _run("sarathi", [20, 5], [3, 1], token_budget=16)   # testbed: no token at prefill end
    assert b == [[(0, 16)], [(0, 4), (1, 5)], [(0, 1), (1, 1)], [(0, 1)], [(0, 1)]]
    np.testing.assert_allclose(res.requests["ttft"], [2, 2])
    np.testing.assert_allclose(res.requests["e2e"], [5, 3])
    np.testing.assert_allclose(res.token_times[res.token_offsets[0]:res.token_offsets[1]], [2, 3, 4, 5])
    assert res.iterations["decode_context_tokens"].tolist() == [0, 0, 21 + 6, 22, 23]  # decode k: P + k
    np.testing.assert_allclose(res.tbt(0), [1, 1, 1])
    res, b = _run("sarathi", [20, 5], [3, 1], token_budget=16, token_convention="vllm")
    assert b == [[(0, 16)], [(0, 4), (1, 5)], [(0, 1)], [(0, 1)]]
    np.testing.assert_allclose(res.requests["e2e"], [4, 2])
    assert res.iterations["decode_context_tokens"].tolist() == [0, 0, 21, 22]


def test_testbed_recompute_restarts_the_output():
    # D fresh tokens after a recompute: the request emits more than D tokens in all, its record holds
    # the last run (TTFT = the recompute's prefill end), and its KV grows to P + g + D - 1.
    res, _ = _run("slai", [16, 16, 40], [3, 3, 1], kv_capacity_tokens=64, token_budget=40, kv_watermark=0.0)
    np.testing.assert_allclose(res.token_times[res.token_offsets[0]:res.token_offsets[1]], [4, 5, 6, 7])


def test_warmup_counts_in_slai_mean_batch_time_only():
    lat = default_latency()
    wl = q.sharegpt4_workload(2.0, n_requests=60, seed=3)
    cold = q.simulate(wl, "sarathi", lat)
    warm = q.simulate(wl, "sarathi", lat, warmup_requests=1)
    np.testing.assert_array_equal(cold.token_times, warm.token_times)  # Sarathi reads no statistics
    assert len(warm.iterations) == len(cold.iterations)  # the warm-up is not in the records
    from queueing.simulation import _warmup_durations
    cfg = dataclasses.make_dataclass("C", ["lat_kind", "lat_params", "uses_budget", "token_budget",
                                           "prefill_silent"])(*lat.kernel_params(), 1, 512, 1)
    alone = q.simulate(q.trace_workload([0.0], wl.prompt_tokens[:1], wl.output_tokens[:1]), "slai", lat)
    np.testing.assert_allclose(_warmup_durations(wl, 1, cfg, lat),
                               alone.iterations["end"] - alone.iterations["start"], rtol=1e-12)
    # SLAI's offsets scale with the mean batch time, which the warm-up's short decodes lower
    a = q.simulate(wl, "slai", lat)
    b = q.simulate(wl, "slai", lat, warmup_requests=1)
    assert not np.array_equal(a.token_times, b.token_times)


# --------------------------------------------- the paper's workload against the independent check


def _against_reference(scheduler, qps, n):
    w = q.sharegpt4_workload(qps, n_requests=n, seed=0)
    res = q.simulate(w, scheduler)
    times, _, preempts, _ = reference_simulate(w.arrival, w.prompt_tokens, w.output_tokens, w.tbt_slo,
                                               scheduler, default_latency())
    np.testing.assert_array_equal(res.requests["ttft"], np.array([t[0] for t in times]) - w.arrival)
    np.testing.assert_array_equal(res.requests["finish"], [t[-1] for t in times])
    np.testing.assert_array_equal(res.requests["n_preemptions"], preempts)
    return res


@pytest.mark.parametrize("scheduler", TESTBED_SCHEDULERS + ["rad"])
def test_sharegpt_1qps_equals_the_testbed_rules_exactly(scheduler):
    _against_reference(scheduler, 1.0, 500)


def test_sharegpt_slai_1_6qps_equals_the_testbed_rules_exactly():
    res = _against_reference("slai", 1.6, 2000)
    assert res.requests["n_preemptions"].sum() > 0  # the append rule and victims are exercised


@pytest.mark.slow
@pytest.mark.parametrize("scheduler", TESTBED_SCHEDULERS + ["rad"])
def test_sharegpt_1_6qps_equals_the_testbed_rules_exactly(scheduler):
    _against_reference(scheduler, 1.6, 2000)


# ---------------------------------------------- switching every rule off gives the earlier engine

# sha256 of (ttft, finish, token times) of the engine before the testbed's rules (commit 437b17e),
# with its median TTFT (s) and preemptions, on sharegpt4_workload(qps, n, seed=0)
EARLIER_ENGINE = {
    ("vllm", 1.0): ("db60ab458a67d75b", 0.23554353357430458, 0),
    ("sarathi", 1.0): ("d67aa3780efc888b", 0.31790072695100235, 0),
    ("slai", 1.0): ("a52a87506cbc2054", 0.2685003781438695, 0),
    ("vllm", 1.6): ("3ce065891f3a411a", 0.3186509503663615, 34),
    ("sarathi-spf", 1.6): ("f091cea2a6e98750", 0.516080595124027, 0),
    ("slai", 1.6): ("0f256c54cc46153b", 0.38097802107517964, 8),
    ("slai-priority", 1.6): ("4ca52701303147bf", 0.3788157743783245, 10),
    ("rad", 1.6): ("df261cdb045e7e54", 0.6512432707450557, 0),
}


@pytest.mark.parametrize("scheduler,qps", EARLIER_ENGINE)
def test_fluid_rules_reproduce_the_earlier_engine(scheduler, qps):
    w = q.sharegpt4_workload(qps, n_requests={1.0: 500, 1.6: 2000}[qps], seed=0)
    res = q.simulate(w, scheduler, **q.FLUID_RULES)
    r = res.requests
    digest = hashlib.sha256(np.ascontiguousarray(r[["ttft", "finish"]].to_numpy()).tobytes()
                            + res.token_times.tobytes()).hexdigest()[:16]
    assert (digest, float(r["ttft"].median()), int(r["n_preemptions"].sum())) == EARLIER_ENGINE[scheduler, qps]


# --------------------------------------------------------------------- boundaries (issue 11, 7)


@pytest.mark.parametrize("convention", ["testbed", "vllm"])
def test_unservable_boundary_is_exact(convention):
    # 2 blocks of 16 tokens, no watermark. "when_needed": the largest footprint is P + D - 1 tokens,
    # so P = 16, D = 17 fits (32 tokens) and D = 18 does not. "any_free": every decode needs a free
    # block first, so the last block may go only to the last decode: P + D - 1 <= 17.
    kw = dict(kv_capacity_tokens=32, kv_watermark=0.0, token_convention=convention)
    for rule, fits in (("when_needed", 17), ("any_free", 2)):
        res, _ = _run("sarathi", [16], [fits], append_rule=rule, **kw)
        assert res.requests["served"][0] and res.requests["n_preemptions"][0] == 0
        assert len(res.token_times) == fits + (convention == "testbed")
        with pytest.raises(ValueError, match="request 0 can never be served"):
            _run("sarathi", [16], [fits + 1], append_rule=rule, **kw)
        res, _ = _run("sarathi", [16, 16], [1, fits + 1], append_rule=rule, on_unservable="flag", **kw)
        assert res.requests["served"].tolist() == [True, False]


def test_unservable_admission_needs_the_watermark():
    # 10 blocks, watermark 2: a 9-block prompt is never admitted, an 8-block one is
    kw = dict(kv_capacity_tokens=160, kv_watermark=0.2, append_rule="when_needed")
    _run("sarathi", [128], [1], **kw)
    with pytest.raises(ValueError, match=r"\+ 2 \(watermark\)"):
        _run("sarathi", [129], [1], **kw)


def test_unserved_requests_do_not_hide_tbt_from_the_criterion(monkeypatch):
    p, d = q.sharegpt4()
    w = q.poisson_workload(p[:300], d[:300], 1.0, 300, seed=1)
    w = q.Workload(w.arrival, np.r_[w.prompt_tokens[:-1], 9000], w.output_tokens, w.slo_class)
    with pytest.raises(ValueError, match="max_model_len=8192"):
        q.simulate(w, "slai")
    res = q.simulate(w, "slai", on_unservable="flag")
    assert res.requests["served"].sum() == 299 and np.isnan(res.token_times).any()
    s = cap.criterion_stats(res)
    assert all(np.isfinite(s["tbt_p99"])) and all(n > 0 for n in s["tbt_gaps"])  # NaN times left out
    assert np.isfinite(res.summary()["tbt_p99"]).all()
    assert q.meets_criterion(res, ttft_target=10.0)
    # a class whose gaps give a NaN percentile fails the criterion instead of passing it
    monkeypatch.setattr(cap, "criterion_stats", lambda r: dict(s, tbt_p99=(np.nan,) * len(s["tbt_p99"])))
    assert not q.meets_criterion(res, ttft_target=10.0)
    monkeypatch.setattr(cap, "criterion_stats", lambda r: dict(s, tbt_p99=(np.nan,) * 2, tbt_gaps=(0, 0)))
    assert q.meets_criterion(res, ttft_target=10.0)  # no gaps at all is no violation


def test_rad_admission_stops_at_an_exact_fit_backlog():
    # budget 32, tile 16, no decodes: room 32. A (24) then B (8) make the backlog exactly 32 = room,
    # so C (1 token) is not admitted with them (it would hold KV without a chunk) but next iteration.
    res, b = _run("rad", [24, 8, 1], [1, 1, 1], token_budget=32, tile=16)
    assert b[0] == [(0, 24), (1, 8)]
    np.testing.assert_allclose(res.requests["scheduling_delay"], [0, 0, 1])


def test_vllm_prefill_cap_at_exact_equality():
    # max_num_batched_tokens = 12: 6 + 6 = 12 batch together; 6 + 7 = 13 do not
    _, b = _run("vllm", [6, 6], [1, 1], max_prefill_tokens=12)
    assert b[0] == [(0, 6), (1, 6)]
    _, b = _run("vllm", [6, 7], [1, 1], max_prefill_tokens=12)
    assert b[0] == [(0, 6)] and b[1] == [(1, 7)]


# -------------------------------------------------------------------- inputs (issue 11, item 6)


def test_max_model_len_rejects_or_flags_long_requests():
    wl = q.trace_workload([0.0, 0.0], [100, 8000], [10, 193])   # 8193 > 8192
    with pytest.raises(ValueError, match="request 1 can never be served: .*max_model_len=8192"):
        q.simulate(wl, "vllm")
    res = q.simulate(wl, "vllm", on_unservable="flag")
    assert res.requests["served"].tolist() == [True, False]
    assert q.simulate(wl, "vllm", max_model_len=8193).requests["served"].all()


def test_vllm_rejects_a_prompt_beyond_its_batch_cap():
    wl = q.trace_workload([0.0, 0.0], [100, 300], [10, 10])
    with pytest.raises(ValueError, match="request 1 can never be served: .*max_prefill_tokens=200"):
        q.simulate(wl, "vllm", max_prefill_tokens=200)
    res = q.simulate(wl, "vllm", max_prefill_tokens=200, on_unservable="flag")
    assert res.requests["served"].tolist() == [True, False]
    assert q.simulate(wl, "sarathi", max_prefill_tokens=200).requests["served"].all()  # chunked: no cap


def test_huge_prompt_fails_fast():
    wl = q.trace_workload([0.0], [10**15], [2])
    with pytest.raises(ValueError, match="max_model_len"):
        q.simulate(wl, "sarathi", kv_capacity_tokens=10**16)
    with pytest.raises(ValueError, match="iterations"):
        q.simulate(wl, "sarathi", kv_capacity_tokens=10**16, max_model_len=10**16)


def test_no_run_loops_without_bound():
    # every run has an iteration limit: by default four times a bound on a run without preemption
    wl = q.trace_workload([0.0], [10], [1000])
    with pytest.raises(RuntimeError, match="iteration limit max_iterations=100 "):
        q.simulate(wl, "slai", max_iterations=100)
    res = q.simulate(wl, "slai")
    assert len(res.iterations) == 1001 and res.params["max_iterations"] == 4 * (1000 + 2 + 1010 // 512) + 10_000


def test_overload_warns_and_flags():
    p, d = q.sharegpt4()
    w = q.poisson_workload(p, d, 20.0, 400, seed=0)
    with pytest.warns(RuntimeWarning, match="overloaded"):
        res = q.simulate(w, "sarathi")
    assert res.overloaded and res.summary()["overloaded"].all()
    ok = q.simulate(q.poisson_workload(p, d, 0.5, 400, seed=0), "sarathi")
    assert not ok.overloaded and not ok.summary()["overloaded"].any()


@pytest.mark.parametrize("kwargs,match", [
    (dict(kv_watermark=1.0), "kv_watermark"),
    (dict(kv_watermark=-0.1), "kv_watermark"),
    (dict(append_rule="always"), "append_rule"),
    (dict(token_convention="sarathi"), "token_convention"),
    (dict(warmup_requests=-1), "warmup_requests"),
    (dict(warmup_requests=2), "warmup_requests"),
    (dict(max_model_len=0), "max_model_len"),
])
def test_bad_rule_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        q.simulate(q.trace_workload([0.0], [10], [2]), "slai", **kwargs)
