"""Capacity theory: moments, lambda*, tiling and static-split losses, bad input."""

import numpy as np
import pytest

from queueing import theory as T
from queueing.latency import AffineLatency, TileLatency, default_latency


def _lengths(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(1, 3000, n), rng.integers(1, 600, n)


def test_moments_match_brute_force():
    P, D = _lengths(50)
    m = T.workload_moments(P, D, block_tokens=16)
    A = [sum(p + k for k in range(1, d)) for p, d in zip(P, D)]
    Akv = [sum(16 * -(-(p + k) // 16) for k in range(1, d)) for p, d in zip(P, D)]
    assert m.mean_prompt == pytest.approx(P.mean())
    assert m.mean_decodes == pytest.approx(D.mean() - 1)
    assert m.mean_context == pytest.approx(np.mean(A), rel=1e-12)
    assert m.mean_kv == pytest.approx(np.mean(Akv), rel=1e-12)
    Akv2 = [sum((16 * -(-(p + k) // 16)) ** 2 for k in range(1, d)) for p, d in zip(P, D)]
    assert m.mean_kv_sq == pytest.approx(np.mean(Akv2), rel=1e-12)
    # the moments of the KV-bound decode law, from their definitions written out
    b = [-(-p // 16) for p in P]
    G = np.mean([-(-(p + d - 1) // 16) - bb for p, d, bb in zip(P, D, b)])
    assert m.mean_prompt_sq == pytest.approx(np.mean([p * p for p in P]), rel=1e-12)
    assert m.mean_growth_blocks == pytest.approx(G, rel=1e-12)
    leftover = [l for bb in b for l in range(bb)]  # a leftover uniform on 0 .. b-1, b drawn in proportion to b P(b)
    assert m.prompt_block_residual == pytest.approx(np.mean(leftover), rel=1e-12)
    # P(L < G) with the whole blocks l spread evenly over [l, l + 1)
    assert m.preempt_share == pytest.approx(np.mean([min(max(G - l, 0.0), 1.0) for l in leftover]), rel=1e-12)


def test_latency_parts_default():
    g, c = T.latency_parts(None)
    lat = default_latency()
    assert c == pytest.approx(lat.per_context_token, rel=1e-6)
    assert float(g(512)) == pytest.approx(float(lat.iteration_time(512, 0, 0)))


def test_latency_parts_rejects_non_separable():
    class Weird:
        def iteration_time(self, p, d=0, ctx=0):
            return 0.01 + 1e-4 * np.asarray(p) + 2e-4 * np.asarray(d) + 1e-7 * np.asarray(ctx)

    with pytest.raises(ValueError, match="g\\(p \\+ d\\)"):
        T.latency_parts(Weird())


def test_lambda_star_is_spec_formula_when_budget_binds():
    P, D = _lengths()
    m = T.workload_moments(P, D)
    lat = AffineLatency()
    B = 512
    res = T.lambda_star(P, D, lat, B, tile=128, max_active=10**6, kv_capacity_tokens=10**9)
    # (B / t(B)) / E[P + D - 1], t(B) the full batch's time including its share of attention
    tB = lat.t0 + lat.per_token * B + lat.per_context_token * B * m.mean_context / m.mean_work
    assert res.binding == "budget"
    assert res.rate == pytest.approx((B / tB) / m.mean_work, rel=1e-12)
    assert res.iteration_time == pytest.approx(tB, rel=1e-12)


def test_memory_binds_and_lowers_capacity():
    P, D = _lengths()
    free = T.lambda_star(P, D, None, 512, max_active=10**6, kv_capacity_tokens=10**9)
    cap = T.lambda_star(P, D, None, 512, max_active=8, kv_capacity_tokens=10**9)
    kv = T.lambda_star(P, D, None, 512, max_active=10**6, kv_capacity_tokens=20_000)
    assert cap.binding == "max_active" and cap.rate < free.rate
    assert cap.decoding == pytest.approx(8)
    assert kv.binding == "kv" and kv.rate < free.rate
    assert kv.kv_tokens == pytest.approx(20_000)


def test_tile_waste_and_table():
    lat = default_latency()
    w = T.tile_waste([511, 512, 513], 128, lat)
    assert w[1] == 0
    assert w[0] == pytest.approx(float(lat.iteration_time(512) - lat.iteration_time(511)))
    assert w[2] == pytest.approx(float(lat.iteration_time(640) - lat.iteration_time(513)))
    P, D = _lengths()
    tab = T.tiling_loss_table(P, D, tile=128, budgets=[384, 448, 500, 512])
    assert tab.loc[tab.budget % 128 == 0, "loss_pct"].abs().max() < 1e-9
    assert (tab.loc[tab.budget % 128 != 0, "loss_pct"] > 0).all()


def test_static_split_loses_except_at_the_matching_split():
    P, D = _lengths()
    m = T.workload_moments(P, D)
    tab = T.static_split_table(P, D, token_budget=512, decode_budgets=range(8, 200, 8), kv_capacity_tokens=10**9)
    assert (tab.loss_pct > -1e-9).all()
    best = tab.loc[tab.loss_pct.idxmin(), "decode_budget"]
    assert abs(best - 512 * m.mean_decodes / m.mean_work) <= 16
    res = T.static_split_capacity(P, D, None, prefill_budget=480, decode_budget=32)
    assert res.binding == "decode"


@pytest.mark.parametrize("kwargs, match", [
    (dict(token_budget=500, tile=128), "multiple of tile"),
    (dict(token_budget=0), "token_budget"),
    (dict(kv_capacity_tokens=100), "impossible memory"),
    (dict(max_active=0), "max_active"),
])
def test_bad_input(kwargs, match):
    P, D = _lengths()
    with pytest.raises(ValueError, match=match):
        T.lambda_star(P, D, **kwargs)


def test_bad_workloads():
    with pytest.raises(ValueError, match="empty"):
        T.workload_moments([], [])
    with pytest.raises(ValueError, match=">= 1"):
        T.workload_moments([10, 0], [5, 5])
    with pytest.raises(ValueError, match="equal length"):
        T.workload_moments([10, 3], [5])


def test_tile_latency_prefers_aligned_batches():
    P, D = _lengths()
    lat = TileLatency()
    aligned = T.lambda_star(P, D, lat, 512, kv_capacity_tokens=10**9)
    assert aligned.batch_tokens == pytest.approx(512)
    # a budget one past a tile boundary: the best schedule stays at 512 rows
    assert T.lambda_star(P, D, lat, 513, kv_capacity_tokens=10**9).rate == pytest.approx(aligned.rate)


def test_throughput_at_is_equation_one():
    P, D = _lengths()
    m = T.workload_moments(P, D)
    res = T.lambda_star(m, latency=None, token_budget=512, kv_capacity_tokens=10**9)
    assert float(T.throughput_at(512 / m.mean_work, None, m)) == pytest.approx(res.rate, rel=1e-12)


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), bd=st.integers(1, 511), tiled=st.booleans())
def test_no_static_split_beats_lambda_star(seed, bd, tiled):
    P, D = _lengths(50, seed)
    lat = TileLatency() if tiled else default_latency()
    star = T.lambda_star(P, D, lat, 512, kv_capacity_tokens=10**9).rate
    static = T.static_split_capacity(P, D, lat, prefill_budget=512 - bd, decode_budget=bd,
                                     kv_capacity_tokens=10**9).rate
    assert static <= star * (1 + 1e-12)
