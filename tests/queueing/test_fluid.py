"""Fluid ODE model: stationary capacities, drain below and linear growth above, bad input."""

import numpy as np
import pytest

from queueing import fluid as F, theory as T
from queueing.latency import TileLatency

RNG = np.random.default_rng(1)
P = RNG.integers(1, 4000, 400)
D = RNG.integers(2, 800, 400)
FREE = dict(kv_capacity_tokens=10**9)  # max_active = 128 bounds the decode population


@pytest.mark.parametrize("policy, params", [
    ("rad", {}), ("nonaligned", dict(token_budget=500)),
    ("static", dict(prefill_budget=448, decode_budget=64)),
    ("static", dict(prefill_budget=300, decode_budget=212)), ("vllm", dict(max_active=64, kv_capacity_tokens=10**9)),
    ("alternating", {}),
])
def test_ode_drains_below_and_grows_linearly_above(policy, params):
    kw = {**FREE, **params}
    cap = F.fluid_capacity(policy, P, D, **kw)
    below = F.fluid_path(policy, 0.9 * cap, P, D, horizon=4000, backlog0=2e5, decoding0=10, **kw)
    assert below.backlog_tokens[-1] < 0.01 * 2e5
    above = F.fluid_path(policy, 1.1 * cap, P, D, horizon=4000, **kw)
    assert above.growth == pytest.approx(0.1 * cap, rel=0.03)
    assert F.fluid_growth_rate(policy, 1.1 * cap, P, D, **kw) == pytest.approx(0.1 * cap, rel=1e-12)


def test_rad_equals_lambda_star_and_baselines_are_below():
    lat = TileLatency()
    star = T.lambda_star(P, D, lat, 512, tile=128, **FREE).rate
    assert F.fluid_capacity("rad", P, D, lat, **FREE) == pytest.approx(star, rel=1e-12)
    assert F.fluid_capacity("sarathi", P, D, lat, **FREE) == pytest.approx(star, rel=1e-12)
    assert F.fluid_capacity("sarathi", P, D, lat, token_budget=500, **FREE) < star
    for bd in (16, 64, 128, 256):
        assert F.fluid_capacity("static", P, D, lat, prefill_budget=512 - bd, decode_budget=bd, **FREE) < star


def test_nonaligned_on_default_model_pads_to_tiles():
    aligned = F.fluid_capacity("rad", P, D, token_budget=512, **FREE)
    assert F.fluid_capacity("nonaligned", P, D, token_budget=512, tile=128, **FREE) == pytest.approx(aligned)
    assert F.fluid_capacity("nonaligned", P, D, token_budget=500, tile=128, **FREE) < aligned


@pytest.mark.parametrize("call, match", [
    (lambda: F.fluid_capacity("nope", P, D), "unknown scheduler"),
    (lambda: F.fluid_capacity("rad", P, D, token_budget=500), "multiple of tile"),
    (lambda: F.fluid_capacity("static", P, D), "prefill_budget"),
    (lambda: F.fluid_capacity("rad", P, D, bogus=1), "unknown parameters"),
    (lambda: F.fluid_capacity("rad", [], []), "empty"),
    (lambda: F.fluid_capacity("rad", P, D, kv_capacity_tokens=1000), "impossible memory"),
    (lambda: F.fluid_path("rad", 0.0, P, D), "rate"),
    (lambda: F.fluid_growth_rate("rad", -1, P, D), "rate"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_public_entry_point():
    import queueing

    assert queueing.fluid_capacity("rad", P, D) == F.fluid_capacity("rad", P, D)


def test_alternating_modes_need_an_intercept_free_tile_model():
    # prefill-only / decode-only alternation matches lambda* when time is linear in whole tiles
    # (and the decode population, max_active = 128, is one tile), and falls short with an intercept
    flat = TileLatency(t0=0.0)
    assert F.fluid_capacity("alternating", P, D, flat, **FREE) == pytest.approx(
        F.fluid_capacity("rad", P, D, flat, **FREE), rel=1e-12)
    assert F.fluid_capacity("alternating", P, D, **FREE) < 0.97 * F.fluid_capacity("rad", P, D, **FREE)


def test_kv_overflow_term():
    """Budget-bound policies lose the share of Gaussian KV demand above the capacity; the ODE agrees."""
    import queueing as q

    P4, D4 = q.sharegpt4()
    star = T.lambda_star(P4, D4).rate  # 235,728 KV tokens: mean use 92% of them at lambda*
    assert T.lambda_star(P4, D4).binding == "budget"
    cap = F.fluid_capacity("rad", P4, D4)
    assert 0.98 * star < cap < 0.999 * star
    assert F.fluid_capacity("rad", P4, D4, kv_capacity_tokens=10**7) == pytest.approx(star, rel=1e-12)
    s = F._setup("rad", P4, D4, None, {})
    # the overflow is the Gaussian E[(U - K)^+] / E[U], checked by sampling
    y = 512 * s.mom.mean_decodes / s.mom.mean_work
    ex = s.mom.mean_kv / s.mom.mean_decodes
    sd = np.sqrt(y * (s.mom.mean_kv_sq / s.mom.mean_decodes - ex**2))
    u = np.random.default_rng(0).normal(y * ex, sd, 2_000_000)
    assert F._overflow(s, y) == pytest.approx(np.maximum(u - s.kv, 0).mean() / (y * ex), rel=0.02)
    above = F.fluid_path("rad", 1.1 * cap, P4, D4, horizon=4000)
    assert above.growth == pytest.approx(0.1 * cap, rel=0.03)
    moments_only = T.WorkloadMoments(*[getattr(s.mom, k) for k in ("mean_prompt", "mean_decodes", "mean_context",
                                                                    "mean_kv", "n_requests")])
    assert F.fluid_capacity("rad", moments_only) == pytest.approx(star, rel=1e-12)  # no spread known: no term
