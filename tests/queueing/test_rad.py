"""RAD in the simulator: hand-traced goldens, invariants, errors, theory against simulation.

Every run uses ``FLUID_RULES``, the rules the fluid model assumes and the goldens were traced with
(the testbed's rules are tested with RAD in the reference engine).
"""

import functools

import numpy as np
import pytest

import queueing as q
import queueing.theory  # noqa: F401  (makes q.theory available)
from queueing.fluid import fluid_capacity, simulated_window
from queueing.latency import TileLatency

simulate = functools.partial(q.simulate, **q.FLUID_RULES)
BIG_KV = 10**7  # the acceptance regime: the token budget, not memory, binds


def _wl(P, D, arrival=None):
    n = len(P)
    a = np.zeros(n) if arrival is None else np.asarray(arrival, float)
    return q.Workload(a, np.asarray(P), np.asarray(D), np.ones(n, np.int64))


def _batches(res):
    b = res.batches
    return [sorted(zip(g.request, g.tokens, g.kind)) for _, g in b.groupby("iteration")]


def test_golden_cycle_fills_the_budget():
    # B = 256 rows (2 tiles): it0 chunk of r0; it1 r0's rest + r1 + r2 (backlog < room);
    # it2 three decodes (r1, r2 finish); it3 r0's last decode.
    res = simulate(_wl([300, 100, 50], [3, 2, 2]), "rad", token_budget=256, record_batches=True,
                     check_invariants=True)
    assert _batches(res) == [
        [(0, 256, "prefill")],
        [(0, 44, "prefill"), (1, 100, "prefill"), (2, 50, "prefill")],
        [(0, 1, "decode"), (1, 1, "decode"), (2, 1, "decode")],
        [(0, 1, "decode")],
    ]


def test_golden_prefills_per_cycle_one():
    res = simulate(_wl([300, 100, 50], [3, 2, 2]), "rad", token_budget=256, prefills_per_cycle=1,
                     record_batches=True, check_invariants=True)
    assert _batches(res) == [
        [(0, 256, "prefill")],
        [(0, 44, "prefill")],
        [(0, 1, "decode"), (1, 100, "prefill")],
        [(0, 1, "decode"), (1, 1, "decode"), (2, 50, "prefill")],
        [(2, 1, "decode")],
    ]


def test_golden_static_split_caps_decodes():
    # decode_budget = 1: one decode per iteration (oldest first) and at most 255 prompt tokens
    res = simulate(_wl([10, 10, 400], [3, 3, 2], [0, 0, 1e-3]), "rad", token_budget=256, decode_budget=1,
                     record_batches=True, check_invariants=True)
    got = _batches(res)
    assert got[0] == [(0, 10, "prefill"), (1, 10, "prefill")]
    assert got[1] == [(0, 1, "decode"), (2, 255, "prefill")]
    assert got[2] == [(0, 1, "decode"), (2, 145, "prefill")]
    assert all(sum(t for _, t, k in b if k == "decode") <= 1 for b in got)


def test_invariants_under_memory_pressure():
    P, D = q.sharegpt4()
    w = q.poisson_workload(P, D, 3.0, 400, seed=5)
    res = simulate(w, "rad", kv_capacity_tokens=60_000, check_invariants=True, warn_overload=False)
    r = res.requests
    assert r.n_preemptions.sum() > 0  # the KV limit is exercised
    assert np.isfinite(r.e2e).all()


def test_schedule_does_not_depend_on_output_lengths():
    P, D = q.sharegpt4()
    w = q.poisson_workload(P, D, 2.0, 60, seed=9)
    w2 = q.Workload(w.arrival, w.prompt_tokens, w.output_tokens + 50, w.slo_class)
    a = simulate(w, "rad", record_batches=True)
    b = simulate(w2, "rad", record_batches=True)
    # identical until the first request finishes in the first run
    t_first = a.requests.finish.min()
    n = int((a.iterations.end <= t_first).sum())
    assert _batches(a)[:n] == _batches(b)[:n]


@pytest.mark.parametrize("kwargs, match", [
    (dict(token_budget=500), "multiple of tile"),
    (dict(decode_budget=512), "decode_budget"),
    (dict(kv_reserve=1.5), "kv_reserve"),
    (dict(prefills_per_cycle=0), "prefills_per_cycle"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate(_wl([10], [2]), "rad", **kwargs)


def _overload_window(scheduler, factor, n, fluid_name=None, latency=None, seed=11, fluid_params=None,
                     **params):
    P, D = q.sharegpt4()
    fp = dict(fluid_params or {})
    kw = dict(kv_capacity_tokens=BIG_KV, token_budget=params.get("token_budget", 512))
    cap = fluid_capacity(fluid_name or scheduler, P, D, latency, **kw, **fp)
    w = q.poisson_workload(P, D, factor * cap, n, seed=seed)
    res = simulate(w, scheduler, latency, kv_capacity_tokens=BIG_KV, **params)
    win = simulated_window(res.requests, 0.5, 1.0)
    cap_w = fluid_capacity(fluid_name or scheduler, w.prompt_tokens[win.served], w.output_tokens[win.served],
                           latency, **kw, **fp)
    return win, cap_w, res


def test_rad_service_rate_matches_fluid_fast():
    win, cap_w, _ = _overload_window("rad", 1.25, 4000)
    assert win.min_backlog > 0  # saturated over the window
    assert win.service_rate == pytest.approx(cap_w, rel=0.02)


def test_rad_stable_below_lambda_star_fast():
    P, D = q.sharegpt4()
    lam = q.lambda_star(P, D, kv_capacity_tokens=BIG_KV).rate
    w = q.poisson_workload(P, D, 0.9 * lam, 4000, seed=12)
    win = simulated_window(simulate(w, "rad", kv_capacity_tokens=BIG_KV).requests, 0.2, 1.0)
    assert win.service_rate == pytest.approx(win.arrival_rate, rel=0.03)
    assert win.min_backlog == 0


@pytest.mark.slow
@pytest.mark.parametrize("kv", [BIG_KV, q.theory.DEFAULT_KV_CAPACITY_TOKENS])
@pytest.mark.parametrize("factor", [0.97, 1.03])
def test_rad_at_097_and_103_lambda_star(factor, kv):
    """lambda* binds on the budget in both; at the default KV the fluid capacity is lower (KV overflow)."""
    P, D = q.sharegpt4()
    lam = q.lambda_star(P, D, kv_capacity_tokens=kv).rate
    w = q.poisson_workload(P, D, factor * lam, P.size, seed=21)
    res = simulate(w, "rad", kv_capacity_tokens=kv)
    win = simulated_window(res.requests, 0.5, 1.0)
    cap_w = fluid_capacity("rad", w.prompt_tokens[win.served], w.output_tokens[win.served],
                           kv_capacity_tokens=kv)
    if factor < 1:
        assert win.min_backlog == 0  # the backlog keeps emptying: bounded
        assert win.service_rate == pytest.approx(win.arrival_rate, rel=0.02)
    else:
        assert win.min_backlog > 0
        # fluid growth on this sample path: realised arrival rate minus the fluid capacity
        assert win.growth == pytest.approx(win.arrival_rate - cap_w, rel=0.10)


@pytest.mark.slow
@pytest.mark.parametrize("name, scheduler, fluid_name, latency, params, fparams", [
    ("sarathi", "sarathi", "sarathi", None, {}, {}),
    ("nonaligned", "sarathi", "sarathi", TileLatency(), dict(token_budget=500), {}),
    ("static-64", "rad", "static", None, dict(decode_budget=64), dict(prefill_budget=448, decode_budget=64)),
    ("static-32", "rad", "static", None, dict(decode_budget=32), dict(prefill_budget=480, decode_budget=32)),
    ("vllm", "vllm", "vllm", None, {}, {}),
])
def test_baseline_capacity_matches_fluid(name, scheduler, fluid_name, latency, params, fparams):
    win, cap_w, _ = _overload_window(scheduler, 1.25, 16384, fluid_name, latency, fluid_params=fparams, **params)
    assert win.min_backlog > 0
    assert win.service_rate == pytest.approx(cap_w, rel=0.03)
    P, D = q.sharegpt4()
    star = q.lambda_star(P, D, latency, 512, kv_capacity_tokens=BIG_KV).rate
    if name != "sarathi" and name != "vllm":
        # where the theory says so (non-aligned budget, static split): strictly below RAD's
        tb = params.get("token_budget", 512)
        assert fluid_capacity(fluid_name, P, D, latency, kv_capacity_tokens=BIG_KV, token_budget=tb, **fparams) < star


@pytest.mark.parametrize("kv, n", [(150_000, 8192), pytest.param(235_728, 16384, marks=pytest.mark.slow)])
def test_vllm_memory_bound_capacity_with_recompute(kv, n):
    """KV binds vLLM's population: recompute costs E[D-1] tokens per request (fluid docstring)."""
    P, D = q.sharegpt4()
    limits = q.theory._memory_limits(q.theory.workload_moments(P, D), 128, kv)
    assert limits["kv"] < limits["max_active"]  # the memory-bound regime
    cap = fluid_capacity("vllm", P, D, kv_capacity_tokens=kv)
    w = q.poisson_workload(P, D, 1.25 * cap, n, seed=11)
    res = simulate(w, "vllm", kv_capacity_tokens=kv)
    win = simulated_window(res.requests, 0.5, 1.0)
    Ps, Ds = w.prompt_tokens[win.served], w.output_tokens[win.served]
    assert win.min_backlog > 0
    assert win.service_rate == pytest.approx(fluid_capacity("vllm", Ps, Ds, kv_capacity_tokens=kv), rel=0.03)
    phi = (Ds - 1).mean() / Ps.mean()
    assert res.requests.n_preemptions.to_numpy()[win.served].mean() == pytest.approx(phi, rel=0.1)


@pytest.mark.parametrize("scheduler, kv", [("rad", 235_728), ("sarathi", 235_728), ("rad", 260_000)])
def test_budget_bound_capacity_with_kv_overflow(scheduler, kv):
    """Mean KV 84-92% of capacity: the fluid model's overflow term predicts the shortfall."""
    P, D = q.sharegpt4()
    cap = fluid_capacity(scheduler, P, D, kv_capacity_tokens=kv)
    assert cap < q.lambda_star(P, D, kv_capacity_tokens=kv).rate  # the overflow term is active
    w = q.poisson_workload(P, D, 1.25 * cap, 16384, seed=11)
    win = simulated_window(simulate(w, scheduler, kv_capacity_tokens=kv).requests, 0.5, 1.0)
    cap_w = fluid_capacity(scheduler, w.prompt_tokens[win.served], w.output_tokens[win.served],
                           kv_capacity_tokens=kv)
    assert win.min_backlog > 0
    assert win.service_rate == pytest.approx(cap_w, rel=0.005)
