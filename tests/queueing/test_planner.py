"""Planner: best budget and chunk, replicas under a TBT SLO."""

import numpy as np
import pytest

from queueing import planner as PL, theory as T

RNG = np.random.default_rng(3)
P = RNG.integers(1, 4000, 300)
D = RNG.integers(2, 800, 300)


def test_best_budget_is_the_table_argmax():
    plan = PL.best_token_budget(P, D, tile=128, max_budget=2048)
    tab = plan.to_frame()
    assert (tab.token_budget % 128 == 0).all()
    assert plan.capacity == pytest.approx(tab.capacity.max())
    res = T.lambda_star(P, D, None, plan.token_budget)
    assert plan.chunk_size == int(np.floor(res.batch_tokens - res.decoding))


def test_slo_restricts_the_budget():
    free = PL.best_token_budget(P, D, max_budget=2048, kv_capacity_tokens=10**9, max_active=10**6)
    slo = 0.5 * free.iteration_time
    tight = PL.best_token_budget(P, D, max_budget=2048, tbt_slo=slo, kv_capacity_tokens=10**9, max_active=10**6)
    assert tight.iteration_time <= slo < free.iteration_time
    assert tight.capacity <= free.capacity
    with pytest.raises(ValueError, match="meets"):
        PL.best_token_budget(P, D, tbt_slo=1e-4)


def test_replicas_needed():
    plan = PL.replicas_needed(10.0, P, D, tbt_slo=0.2, utilization=0.8)
    assert plan.replicas == int(np.ceil(10.0 / (0.8 * plan.per_replica_capacity)))
    assert plan.utilization <= 0.8
    assert PL.replicas_needed(1e-3, P, D).replicas == 1
    with pytest.raises(ValueError, match="target_qps"):
        PL.replicas_needed(0, P, D)
    with pytest.raises(ValueError, match="utilization"):
        PL.replicas_needed(1, P, D, utilization=1.5)
    with pytest.raises(ValueError, match="multiple of tile|max_budget"):
        PL.best_token_budget(P, D, tile=128, max_budget=100)


def test_plan_capacity():
    assert PL.plan_capacity(P, D, token_budget=512).rate == pytest.approx(T.lambda_star(P, D).rate)
    assert PL.plan_capacity(P, D).rate >= PL.plan_capacity(P, D, token_budget=512).rate - 1e-12
