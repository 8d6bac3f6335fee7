"""Engine invariants on every iteration, scheduler blindness to output lengths, calibration, routing."""

import numpy as np
import pandas as pd
import pytest

import queueing as q
from queueing.latency import default_latency, AffineLatency

SCHEDULERS = ["vllm", "sarathi", "sarathi-spf", "slai-fcfs-fixed", "slai-spf-fixed", "slai", "slai-priority"]


def _random_workload(seed, n=150):
    rng = np.random.default_rng(seed)
    p = rng.integers(1, 1500, n)
    d = rng.integers(1, 200, n)
    return q.poisson_workload(p, d, qps=rng.uniform(2, 20), n_requests=n, seed=seed, shuffle=False)


@pytest.mark.parametrize("rules", ["testbed", "fluid"])
@pytest.mark.parametrize("scheduler", SCHEDULERS + ["rad", "rad-alternating"])
def test_invariants_every_iteration(scheduler, rules):
    extra = 1 if rules == "testbed" else 0  # the testbed's record: prefill end, then D tokens
    for seed, kv in [(0, 4000), (1, 235_728)]:
        wl = _random_workload(seed)
        res = q.simulate(wl, scheduler, kv_capacity_tokens=kv, max_active=16, check_invariants=True,
                         n_replicas=1 + seed, router="least_outstanding", warn_overload=False,
                         **({} if rules == "testbed" else q.FLUID_RULES))
        r, it = res.requests, res.iterations
        # every request emits exactly its output length, in time order, after arriving
        off, tt = res.token_offsets, res.token_times
        assert np.all(np.isfinite(tt))
        np.testing.assert_array_equal(np.diff(off), wl.output_tokens + extra)
        for i in range(len(wl)):
            ti = tt[off[i]:off[i + 1]]
            assert np.all(np.diff(ti) >= 0) and ti[0] >= wl.arrival[i]
        assert np.all(r["ttft"] > 0) and np.all(r["e2e"] >= r["ttft"])
        assert np.all(r["scheduling_delay"] >= 0)
        # iterations on a replica never overlap; KV within capacity
        for _, g in it.groupby("replica"):
            assert np.all(g["start"].to_numpy()[1:] >= g["end"].to_numpy()[:-1])
        assert it["kv_blocks_used"].max() <= kv // 16
        assert it["active"].max() <= 16
        if scheduler != "vllm":
            assert (it["prefill_tokens"] + it["decodes"]).max() <= 512
        # prefill tokens processed = prompts + recomputed contexts
        assert it["prefill_tokens"].sum() >= wl.prompt_tokens.sum()


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_schedulers_never_read_output_lengths(scheduler):
    # Lengthen one request's output: every batch before that request's original finish must be
    # identical (the scheduler cannot tell the two workloads apart until then).
    wl = _random_workload(3, n=80)
    kw = dict(kv_capacity_tokens=6000, max_active=12, record_batches=True)
    a = q.simulate(wl, scheduler, **kw)
    j = int(np.argmax(a.requests["finish"].to_numpy() < a.requests["finish"].max()))  # finishes early
    d2 = wl.output_tokens.copy()
    d2[j] += 50
    wl2 = q.Workload(wl.arrival, wl.prompt_tokens, d2, wl.slo_class, wl.classes)
    b = q.simulate(wl2, scheduler, **kw)
    t_end = a.requests["finish"][j]
    n_same = int((a.iterations["end"] < t_end).sum()) + 1  # up to and including j's last batch
    ea = a.batches[a.batches["iteration"] < n_same].reset_index(drop=True)
    eb = b.batches[b.batches["iteration"] < n_same].reset_index(drop=True)
    pd.testing.assert_frame_equal(ea, eb)
    assert not a.batches.equals(b.batches)


@pytest.mark.parametrize("scheduler", ["sarathi", "slai", "vllm"])
def test_negligible_load_ttft_is_sum_of_prefill_iterations(scheduler):
    lat = default_latency()
    p = np.array([3000, 700, 64])
    wl = q.trace_workload([0.0, 1000.0, 2000.0], p, [5, 5, 5])
    res = q.simulate(wl, scheduler, latency=lat)
    for i, pi in enumerate(p):
        chunks = [pi] if scheduler == "vllm" else [min(512, pi - k) for k in range(0, pi, 512)]
        assert res.requests["ttft"][i] == pytest.approx(float(np.sum(lat.iteration_time(np.array(chunks)))),
                                                        rel=1e-12)


def test_microbenchmark_reproduced_by_the_simulator():
    # one 2048-token prompt alone at each token budget; 2 output tokens = its chunks + one decode
    # under the calibration's token convention (the prefill emits the first token)
    bench = pd.read_csv(__import__("importlib.resources").resources.files("queueing") / "data" /
                        "slai_token_budget_microbench.csv")
    for _, row in bench.iterrows():
        wl = q.trace_workload([0.0], [2048], [2])
        res = q.simulate(wl, "sarathi", token_budget=int(row["chunk"]), token_convention="vllm")
        ttft_ms = 1e3 * res.requests["ttft"][0]
        batch_ms = 1e3 * (res.iterations["end"] - res.iterations["start"]).mean()
        assert ttft_ms == pytest.approx(row["ttft_ms"], rel=0.10)
        assert batch_ms == pytest.approx(row["batch_ms"], rel=0.10)


def test_routers():
    wl = q.trace_workload(np.arange(9) * 0.001, [100] * 9, [50] * 9)
    rr = q.simulate(wl, "sarathi", n_replicas=3, router="round_robin")
    np.testing.assert_array_equal(rr.requests["replica"], [0, 1, 2] * 3)
    # least outstanding: a long request on replica 0 keeps it busy
    wl = q.trace_workload([0, 1, 2, 3], [100, 100, 100, 100], [5000, 2, 2, 2])
    lor = q.simulate(wl, "sarathi", n_replicas=2, router="least_outstanding")
    np.testing.assert_array_equal(lor.requests["replica"], [0, 1, 1, 1])
    lw = q.simulate(q.trace_workload([0, 0.001, 0.002], [4000, 100, 100], [2000, 5, 5]), "sarathi",
                    n_replicas=2, router="least_work")
    np.testing.assert_array_equal(lw.requests["replica"], [0, 1, 1])


def test_more_replicas_lower_latency():
    wl = _random_workload(5, n=200)
    one = q.simulate(wl, "slai").summary().loc["all", "ttft_p50"]
    two = q.simulate(wl, "slai", n_replicas=2, router="least_outstanding").summary().loc["all", "ttft_p50"]
    assert two < one


def test_deterministic():
    p, d = q.sharegpt4()
    a = q.simulate(q.poisson_workload(p, d, 1.5, 300, seed=7), "slai")
    b = q.simulate(q.poisson_workload(p, d, 1.5, 300, seed=7), "slai")
    pd.testing.assert_frame_equal(a.requests, b.requests)


def test_summary_columns_and_classes():
    p, d = q.sharegpt4()
    res = q.simulate(q.poisson_workload(p, d, 1.0, 300, seed=1), "slai")
    s = res.summary()
    assert list(s.index) == ["all", "strict", "relaxed"]
    for col in ["ttft_p50", "ttft_mean", "ttft_p99", "tbt_p99", "tpot_mean", "e2e_p50",
                "scheduling_delay_p50", "tbt_slo_attainment", "throughput_rps"]:
        assert col in s.columns
    assert s.loc["strict", "n"] + s.loc["relaxed", "n"] == 300
    for col in ["arrival", "prompt_tokens", "output_tokens", "slo_class", "ttft", "e2e", "p99_tbt"]:
        assert col in res.requests.columns
    # per-request p99 TBT matches numpy on the token record
    i = int(np.argmax(res.requests["output_tokens"].to_numpy() > 10))
    assert res.requests["p99_tbt"][i] == pytest.approx(np.percentile(res.tbt(i), 99))
    # pooled strict TBT p99 matches numpy on the gaps of strict requests
    strict = np.flatnonzero(res.requests["slo_class"].to_numpy() == "strict")
    gaps = np.concatenate([res.tbt(i) for i in strict])
    assert s.loc["strict", "tbt_p99"] == pytest.approx(np.percentile(gaps, 99))


def test_iteration_records_grow():
    # more iterations than the initial record capacity (4 n + 4096)
    wl = q.trace_workload(np.arange(20) * 100.0, [10] * 20, [600] * 20)
    res = q.simulate(wl, "sarathi", latency=AffineLatency(), record_batches=True)
    assert len(res.iterations) == 20 * (1 + 600)  # prefill, then 600 decodes (testbed convention)
    it = res.iterations
    assert len(res.batches) == int(it["decodes"].sum()) + int((it["prefill_tokens"] > 0).sum())
    assert res.batches["iteration"].is_monotonic_increasing


def test_unservable_request_is_reported():
    wl = q.trace_workload([0.0, 1.0], [100, 5000], [10, 10])
    with pytest.raises(ValueError, match="request 1 can never be served"):
        q.simulate(wl, "slai", kv_capacity_tokens=4096)
    res = q.simulate(wl, "slai", kv_capacity_tokens=4096, on_unservable="flag")
    assert res.requests["served"].tolist() == [True, False]
    assert np.isnan(res.requests["ttft"][1]) and np.isfinite(res.requests["ttft"][0])
    assert res.summary().loc["all", "n"] == 1
    # output growth beyond KV also counts as unservable
    with pytest.raises(ValueError, match="never be served"):
        q.simulate(q.trace_workload([0.0], [4000], [200]), "sarathi", kv_capacity_tokens=4096)


@pytest.mark.parametrize("kwargs,match", [
    (dict(scheduler="fifo"), "unknown scheduler"),
    (dict(token_budget=0), "token_budget"),
    (dict(max_active=-1), "max_active"),
    (dict(kv_capacity_tokens=8), "kv_capacity_tokens"),
    (dict(n_replicas=0), "n_replicas"),
    (dict(router="random"), "router"),
    (dict(theta=3), "unknown parameter"),
    (dict(scheduler="sarathi", theta_low=3), "unknown parameter"),
    (dict(latency="fast"), "latency"),
    (dict(on_unservable="drop"), "on_unservable"),
])
def test_bad_simulate_arguments(kwargs, match):
    wl = q.trace_workload([0.0], [10], [2])
    kwargs.setdefault("scheduler", "slai")
    with pytest.raises(ValueError, match=match):
        q.simulate(wl, **kwargs)


def test_stall_guard_and_iteration_limit():
    wl = q.trace_workload([0.0], [10], [1000])
    with pytest.raises(RuntimeError, match="iteration limit"):
        q.simulate(wl, "slai", max_iterations=100)


def test_pure_python_mode_agrees():
    # the kernels run with NUMBA_DISABLE_JIT=1 and give the same token times
    import os
    import subprocess
    import sys

    code = ("import queueing as q, numpy as np\n"
            "wl = q.poisson_workload([300, 50, 700], [20, 5, 9], 5.0, 30, seed=0)\n"
            "r = q.simulate(wl, 'slai', kv_capacity_tokens=1200)\n"
            "print(repr(np.round(r.token_times, 12).tolist()))\n")
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    wl = q.poisson_workload([300, 50, 700], [20, 5, 9], 5.0, 30, seed=0)
    r = q.simulate(wl, "slai", kv_capacity_tokens=1200)
    assert eval(out.stdout) == np.round(r.token_times, 12).tolist()


def test_invariant_checker_fires():
    # the per-iteration checker itself: a consistent state passes, each corruption is caught
    from queueing.engine import DECODE, PREFILL, Config, Spec, _check, new_state

    def setup():
        st = new_state(3, 1, 4, 10, np.zeros(3, bool))
        spec = Spec(np.zeros(3), np.array([20, 20, 20]), np.full(3, 0.5), np.zeros(3, np.int64))
        cfg = Config(8, 4, 4, 8192, 16, 10, 1, 0, 0, 0, 0, np.zeros(3), np.zeros(1), 1, 1, 0, 10**9, 0, 1, 0)
        st.replica[:2] = 0
        st.phase[:2] = (PREFILL, DECODE)
        st.target[:2] = 20
        st.kv_blocks[:2] = (2, 2)
        st.kv_tokens[1] = 21
        st.free_blocks[0] = 6
        st.active[0, :2] = (0, 1)
        st.n_active[0] = 2
        st.bid[0, :2] = (0, 1)
        st.btok[0, :2] = (5, 1)
        st.blen[0] = 2
        return spec, st, cfg

    spec, st, cfg = setup()
    assert _check(spec, st, cfg, 0, 5, 1) == 0
    assert _check(spec, st, cfg, 0, 8, 1) == 1          # over the token budget
    spec, st, cfg = setup(); st.free_blocks[0] = 7
    assert _check(spec, st, cfg, 0, 5, 1) == 2          # KV books disagree
    spec, st, cfg = setup(); cfg = cfg._replace(max_active=1)
    assert _check(spec, st, cfg, 0, 5, 1) == 3          # active cap
    spec, st, cfg = setup(); st.bid[0, 1] = 0
    assert _check(spec, st, cfg, 0, 5, 1) == 4          # repeated entry
    spec, st, cfg = setup(); st.kv_tokens[1] = 33
    assert _check(spec, st, cfg, 0, 5, 1) == 5          # decode beyond its blocks
    spec, st, cfg = setup(); st.last_end[0] = 1.0
    assert _check(spec, st, cfg, 0, 5, 1) == 6          # time went backwards
    spec, st, cfg = setup(); st.btok[0, 0] = 21
    assert _check(spec, st, cfg, 0, 5, 1) == 7          # chunk overruns the prompt
