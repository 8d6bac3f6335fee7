"""Capacity search: bracketing and bisection, criteria, and the paper's direction (slow)."""

import numpy as np
import pytest

import queueing as q
from queueing.capacity import capacity_search, meets_criterion


def test_capacity_search_brackets_to_tolerance():
    p, d = q.sharegpt4()
    res = capacity_search("sarathi", p, d, n_requests=400, qps_start=0.5)
    assert res.converged and 0 < res.capacity < res.upper
    assert (res.upper - res.capacity) / res.capacity <= 0.025
    met = dict(res.trials)
    assert met[res.capacity] and not met[res.upper]
    assert all(ok for qps, ok in res.trials if qps <= res.capacity)
    assert res.to_frame().shape == (len(res.trials), 2)
    assert q.max_capacity("sarathi", p, d, n_requests=400, qps_start=0.5) == res.capacity  # deterministic


def test_callable_and_sarathi_criteria():
    p, d = q.sharegpt4()
    wl = q.poisson_workload(p, d, 0.5, 300, seed=0)
    res = q.simulate(wl, "slai")
    assert meets_criterion(res, "paper") and meets_criterion(res, "sarathi")
    assert not meets_criterion(res, lambda r: False)
    cap = capacity_search("slai", p, d, n_requests=300, criterion=lambda r: r.requests["ttft"].median() < 0.3)
    assert cap.capacity > 0
    with pytest.raises(ValueError, match="criterion"):
        capacity_search("slai", p, d, criterion="p99")
    with pytest.raises(ValueError, match="qps_start"):
        capacity_search("slai", p, d, qps_start=0)


@pytest.mark.slow
def test_paper_direction_slai_beats_sarathi():
    """SLAI: lower median TTFT at every QPS below Sarathi-Serve's capacity and a higher capacity."""
    p, d = q.sharegpt4()
    cap_sarathi = q.max_capacity("sarathi", p, d)
    cap_slai = q.max_capacity("slai", p, d)
    assert cap_slai > cap_sarathi
    for qps in np.arange(0.2, cap_sarathi, 0.2):
        wl = q.sharegpt4_workload(float(qps), 16384, seed=0)
        a = q.simulate(wl, "sarathi").summary().loc["all", "ttft_p50"]
        b = q.simulate(wl, "slai").summary().loc["all", "ttft_p50"]
        assert b < a, qps


def test_overloaded_spf_run_does_not_pass_the_median_delay_criterion():
    # SPF keeps the median scheduling delay low while long prompts starve; the keep-up
    # condition must stop the search near lambda* instead of at several times it.
    prompt, output = q.sharegpt4()
    bound = q.lambda_star(prompt, output).rate
    res = capacity_search("sarathi-spf", prompt, output, criterion="sarathi", n_requests=1024, seed=3)
    assert 0.5 * bound < res.capacity <= 1.1 * bound
