"""RAD with alternating modes ("rad-alternating"): goldens, errors, and its fluid capacity.

Also where "rad" (the co-scheduling reconstruction) and Sarathi-Serve FCFS coincide and where they
differ. Runs use ``FLUID_RULES`` (the rules the fluid model assumes) unless stated; the testbed's
rules are covered by the reference engine (``test_engine_reference.py``).
"""

import functools

import numpy as np
import pytest

import queueing as q
from queueing.fluid import fluid_capacity, simulated_window

simulate = functools.partial(q.simulate, **q.FLUID_RULES)
BIG_KV = 10**7  # memory does not bind the population below max_active


def _wl(P, D, arrival=None):
    n = len(P)
    a = np.zeros(n) if arrival is None else np.asarray(arrival, float)
    return q.Workload(a, np.asarray(P), np.asarray(D), np.ones(n, np.int64))


def _batches(res):
    return [sorted(zip(g.request, g.tokens, g.kind)) for _, g in res.batches.groupby("iteration")]


def _alt(w, **kw):
    return simulate(w, "rad-alternating", record_batches=True, check_invariants=True, **kw)


def test_golden_cycles_of_whole_tiles():
    # B = 4 rows, tile 2, N = 2; the prefill emits the first token (FLUID_RULES), D - 1 decodes follow.
    res = _alt(_wl([5, 3, 2, 2], [3, 3, 2, 4]), token_budget=4, tile=2, prefills_per_cycle=2)
    P, Dc = "prefill", "decode"
    assert _batches(res) == [
        [(0, 4, P)],                      # cycle 1, prefill mode: r0, r1 admitted (N = 2)
        [(0, 1, P), (1, 3, P)],
        [(0, 1, Dc), (1, 1, Dc)],         # decode mode: floor(2 / 2) = 1 tile-wide batch
        [(2, 2, P), (3, 2, P)],           # cycle 2: r2, r3
        [(2, 1, Dc), (3, 1, Dc)],         # floor(4 / 2) = 2 batches, round robin from r2
        [(0, 1, Dc), (1, 1, Dc)],         # the pointer wraps to r0
        [(3, 1, Dc)],                     # one decode left (< a tile) and no prefill: partial batch
        [(3, 1, Dc)],
    ]


def test_golden_tail_waits_for_the_next_cycle():
    # N = 1: r1's 3 tokens (< B = 4) wait while r0 decodes and r2 waits, then join r2's prompt
    res = _alt(_wl([2, 3, 3], [5, 2, 2]), token_budget=4, tile=2, prefills_per_cycle=1)
    P, Dc = "prefill", "decode"
    assert _batches(res) == [
        [(0, 2, P)],                      # nothing decodes yet: the tail runs at once
        [(0, 1, Dc)],                     # r1 admitted, its tail held; a whole cycle would be empty
        [(1, 3, P), (2, 1, P)],           # next cycle: r2 joins, one full batch of B
        [(2, 2, P)],                      # nothing waits: the tail runs
        [(1, 1, Dc), (2, 1, Dc)],         # round robin resumes after r0
        [(0, 1, Dc)], [(0, 1, Dc)], [(0, 1, Dc)],
    ]


def test_modes_never_mix_and_decode_batches_are_one_tile():
    P, D = q.sharegpt4()
    w = q.poisson_workload(P, D, 3.0, 400, seed=5)
    res = q.simulate(w, "rad-alternating", kv_capacity_tokens=60_000, check_invariants=True, warn_overload=False)
    it = res.iterations
    assert res.requests.n_preemptions.sum() > 0  # KV pressure is exercised (testbed rules)
    assert not ((it.prefill_tokens > 0) & (it.decodes > 0)).any()
    assert it.decodes.max() <= 128
    assert (it.prefill_tokens[it.prefill_tokens > 0] <= 512).all()
    assert np.isfinite(res.requests.e2e).all()


def test_schedule_does_not_depend_on_output_lengths():
    P, D = q.sharegpt4()
    w = q.poisson_workload(P, D, 2.0, 60, seed=9)
    w2 = q.Workload(w.arrival, w.prompt_tokens, w.output_tokens + 50, w.slo_class)
    a, b = _alt(w), _alt(w2)
    n = int((a.iterations.end <= a.requests.finish.min()).sum())
    assert _batches(a)[:n] == _batches(b)[:n]


@pytest.mark.parametrize("kwargs, match", [
    (dict(tile=0), "tile must be an integer >= 1"),
    (dict(tile=-128), "tile must be an integer >= 1"),
    (dict(tile=2.5), "tile must be an integer >= 1"),
    (dict(prefills_per_cycle=0), "prefills_per_cycle must be an integer >= 1"),
    (dict(prefills_per_cycle=-3), "prefills_per_cycle must be an integer >= 1"),
    (dict(kv_reserve=1.0), "kv_reserve"),
    (dict(token_budget=500), "multiple of tile"),
    (dict(decode_budget=64), "unknown parameter"),
    (dict(tile=float("nan")), "finite"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        q.simulate(_wl([10], [2]), "rad-alternating", **kwargs)


def test_intercept_free_model_is_the_tile_model_without_intercept():
    lat = q.intercept_free_tile_latency()
    assert lat.t0 == 0.0 and lat.tile == 128
    n = np.array([1, 128, 129, 512])
    np.testing.assert_allclose(lat.iteration_time(n), lat.per_tile * np.ceil(n / 128))
    # the default per-tile cost makes a full 512-row batch as long as on the calibrated model
    assert lat.iteration_time(512) == pytest.approx(q.default_latency().iteration_time(512), rel=1e-12)


def test_fluid_capacity_is_lambda_star_only_without_intercept():
    P, D = q.sharegpt4()
    free = q.intercept_free_tile_latency()
    star = q.lambda_star(P, D, free, kv_capacity_tokens=BIG_KV).rate
    assert fluid_capacity("rad-alternating", P, D, free, kv_capacity_tokens=BIG_KV) == pytest.approx(star, rel=1e-12)
    calibrated = fluid_capacity("rad-alternating", P, D, kv_capacity_tokens=BIG_KV)
    assert calibrated < 0.95 * fluid_capacity("sarathi", P, D, kv_capacity_tokens=BIG_KV)
    assert fluid_capacity("alternating", P, D, kv_capacity_tokens=BIG_KV) == calibrated  # alias


def _saturated(scheduler, latency, n, factor=1.25, seed=11, **kw):
    """Service rate in the second half of an overloaded run, and the fluid capacity of the served sample."""
    P, D = q.sharegpt4()
    cap = fluid_capacity(scheduler, P, D, latency, **kw)
    w = q.poisson_workload(P, D, factor * cap, n, seed=seed)
    win = simulated_window(simulate(w, scheduler, latency, warn_overload=False, **kw).requests, 0.5, 1.0)
    cap_w = fluid_capacity(scheduler, w.prompt_tokens[win.served], w.output_tokens[win.served], latency, **kw)
    return win, cap_w


@pytest.mark.parametrize("latency, kv", [("intercept-free", BIG_KV), ("calibrated", BIG_KV), ("calibrated", 235_728)])
def test_saturated_service_rate_matches_fluid(latency, kv):
    """At the default KV the decode population is memory-bound (< one tile) and pays recompute."""
    lat = q.intercept_free_tile_latency() if latency == "intercept-free" else None
    win, cap_w = _saturated("rad-alternating", lat, 4000, kv_capacity_tokens=kv)
    assert win.min_backlog > 0
    assert win.service_rate == pytest.approx(cap_w, rel=0.015)


def test_capacity_relative_to_sarathi_is_the_fluid_ratio():
    """Calibrated default model (per-iteration intercepts), memory ample: alternating loses ~7%."""
    alt, alt_cap = _saturated("rad-alternating", None, 4000, kv_capacity_tokens=BIG_KV)
    sar, sar_cap = _saturated("sarathi", None, 4000, kv_capacity_tokens=BIG_KV)
    simulated, predicted = alt.service_rate / sar.service_rate, alt_cap / sar_cap
    assert predicted < 0.95
    assert simulated == pytest.approx(predicted, rel=0.03)


@pytest.mark.slow
@pytest.mark.parametrize("max_active", [128, 256])
@pytest.mark.parametrize("factor", [0.97, 1.03])
def test_stable_at_097_unstable_at_103_of_its_fluid_capacity(factor, max_active):
    """Intercept-free tile model: the fluid capacity is lambda*; backlog growth against the fluid's."""
    P, D = q.sharegpt4()
    lat = q.intercept_free_tile_latency()
    kw = dict(kv_capacity_tokens=BIG_KV, max_active=max_active)
    win, cap_w = _saturated("rad-alternating", lat, P.size, factor, seed=21, **kw)
    if factor < 1:
        assert win.min_backlog == 0  # the backlog keeps emptying: bounded
        assert win.service_rate == pytest.approx(win.arrival_rate, rel=0.02)
    else:
        assert win.min_backlog > 0
        assert win.growth == pytest.approx(win.arrival_rate - cap_w, rel=0.10)


# ------------------------------------------------- "rad" against Sarathi-Serve FCFS


def _same(a, b):
    cols = ["ttft", "finish", "n_preemptions"]
    return a.requests[cols].equals(b.requests[cols])


@pytest.mark.parametrize("kw", [dict(), dict(kv_capacity_tokens=60_000), dict(token_budget=256)])
def test_rad_coincides_with_sarathi_on_sharegpt4(kw):
    """Tile-aligned budget, no KV reserve, never more than N = 8 prompts in a batch: identical runs."""
    P, D = q.sharegpt4()
    w = q.poisson_workload(P, D, 1.6, 600, seed=3)
    a = q.simulate(w, "rad", warn_overload=False, **kw)
    assert _same(a, q.simulate(w, "sarathi", warn_overload=False, **kw))


def test_rad_differs_from_sarathi():
    P, D = q.sharegpt4()
    w = q.poisson_workload(P, D, 1.6, 600, seed=3)
    sarathi = q.simulate(w, "sarathi", kv_capacity_tokens=60_000, warn_overload=False)
    reserved = q.simulate(w, "rad", kv_capacity_tokens=60_000, kv_reserve=0.05, warn_overload=False)
    assert not _same(reserved, sarathi)  # KV pressure with a reserve: admission waits, no recompute
    assert reserved.requests.n_preemptions.sum() < sarathi.requests.n_preemptions.sum()
    burst = _wl([8] * 12, [3] * 12)  # 12 short prompts at once: Sarathi-Serve batches all 12, RAD N = 8
    a, b = simulate(burst, "rad", record_batches=True), simulate(burst, "sarathi", record_batches=True)
    assert len(_batches(a)[0]) == 8 and len(_batches(b)[0]) == 12
    with pytest.raises(ValueError, match="multiple of tile"):  # a budget off the tile: RAD refuses it
        q.simulate(w, "rad", token_budget=500)
