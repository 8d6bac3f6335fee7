"""Workloads: shipped data, arrival processes, SLO classes, CSV input, seeding, bad input."""

import numpy as np
import pytest

import queueing as q


def test_shipped_data():
    p, d = q.sharegpt4()
    assert p.shape == d.shape == (30731,) and p.dtype == np.int64
    assert p.min() >= 1 and d.min() >= 1 and d.max() <= 1024 and (p + d).max() <= 8192
    a, p2, d2 = q.azure_conv()
    assert a.shape == (19366,) and np.all(np.diff(a) >= 0)
    assert len(a) / a[-1] == pytest.approx(5.5, rel=0.05)
    wl = q.azure_conv_workload(time_scale=2.0)
    assert len(wl) == 19366 and wl.arrival[-1] == pytest.approx(2 * a[-1])


def test_poisson_rate_cap_and_seed():
    a = q.poisson_arrivals(200_000, 2.0, seed=1)
    gaps = np.diff(a)
    assert a[0] == 0 and gaps.mean() == pytest.approx(0.5, rel=0.01)
    capped = np.diff(q.poisson_arrivals(200_000, 2.0, seed=1, cap_factor=3.0))
    assert capped.max() == pytest.approx(1.5) and np.all(capped <= 1.5 + 1e-12)
    np.testing.assert_array_equal(a, q.poisson_arrivals(200_000, 2.0, seed=1))
    assert not np.array_equal(a, q.poisson_arrivals(200_000, 2.0, seed=2))
    # common random numbers: another rate only rescales the same draws
    np.testing.assert_allclose(q.poisson_arrivals(1000, 4.0, seed=3) * 2, q.poisson_arrivals(1000, 2.0, seed=3))


def test_gamma_arrivals_cv():
    gaps = np.diff(q.gamma_arrivals(200_000, 1.0, cv=2.0, seed=0))
    assert gaps.mean() == pytest.approx(1.0, rel=0.02)
    assert gaps.std() / gaps.mean() == pytest.approx(2.0, rel=0.05)


def test_slo_classes_default_mix():
    wl = q.sharegpt4_workload(1.0, 20_000, seed=0)
    assert (wl.slo_class == 0).mean() == pytest.approx(0.05, abs=0.005)
    assert set(np.unique(wl.tbt_slo)) == {0.1, 0.5}
    assert np.diff(wl.arrival).max() <= 3.0 + 1e-12
    df = wl.to_frame()
    assert set(df["slo_class"]) == {"strict", "relaxed"}


def test_poisson_workload_draws_from_pairs():
    p, d = q.sharegpt4()
    wl = q.poisson_workload(p, d, 2.0, 1000, seed=4)
    pairs = set(zip(p.tolist(), d.tolist()))
    assert all(pair in pairs for pair in zip(wl.prompt_tokens.tolist(), wl.output_tokens.tolist()))
    big = q.poisson_workload([5, 6], [1, 2], 1.0, 10, seed=0)  # more requests than pairs
    assert len(big) == 10


def test_trace_workload_sorts_only_when_asked_and_scales():
    with pytest.raises(ValueError, match=r"non-decreasing \(arrival_times\[1\] = 1.0 < .*sort=True"):
        q.trace_workload([3.0, 1.0, 2.0], [10, 20, 30], [1, 2, 3])
    wl = q.trace_workload([3.0, 1.0, 2.0], [10, 20, 30], [1, 2, 3], slo_class=[0, 1, 1], time_scale=0.5, sort=True)
    np.testing.assert_allclose(wl.arrival, [0.5, 1.0, 1.5])
    np.testing.assert_array_equal(wl.prompt_tokens, [20, 30, 10])
    np.testing.assert_array_equal(wl.slo_class, [1, 1, 0])


def test_synthetic_lengths():
    for kind in ["constant", "exponential", "uniform", "lognormal"]:
        p, d = q.synthetic_lengths(50_000, 500, 100, kind=kind, seed=0)
        assert p.min() >= 1 and d.min() >= 1
        assert p.mean() == pytest.approx(500, rel=0.05) and d.mean() == pytest.approx(100, rel=0.05)


def test_csv_workload(tmp_path):
    f = tmp_path / "w.csv"
    f.write_text("t,prompt,out\n0.5,10,3\n0.1,20,4\n")
    a, p, d = q.read_lengths_csv(f, "prompt", "out", arrival_column="t")
    wl = q.trace_workload(a, p, d, sort=True)
    np.testing.assert_array_equal(wl.prompt_tokens, [20, 10])
    a, p, d = q.read_lengths_csv(f, "prompt", "out")
    assert a is None


@pytest.mark.parametrize("text,match", [
    ("t,prompt,out\n0.5,ten,3\n", "non-numeric"),
    ("t,prompt,out\n0.5,,3\n", "missing"),
    ("t,prompt\n0.5,10\n", "lacks column"),
    ("t,prompt,out\n0.5,0,3\n", ">= 1"),
    ("t,prompt,out\n0.5,2.5,3\n", "whole numbers"),
    ("", "cannot read"),
])
def test_malformed_csv(tmp_path, text, match):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(ValueError, match=match):
        q.read_lengths_csv(f, "prompt", "out", arrival_column="t")


@pytest.mark.parametrize("call,match", [
    (lambda: q.poisson_workload([10], [5], 0.0, 10), "qps"),
    (lambda: q.poisson_workload([10], [5], -1.0, 10), "qps"),
    (lambda: q.poisson_workload([10], [5], float("nan"), 10), "qps"),
    (lambda: q.poisson_workload([0], [5], 1.0, 10), "prompt_tokens"),
    (lambda: q.poisson_workload([10], [-3], 1.0, 10), "output_tokens"),
    (lambda: q.poisson_workload([10], [5], 1.0, 0), "n_requests"),
    (lambda: q.poisson_workload([10], [5, 6], 1.0, 10), "differ"),
    (lambda: q.poisson_workload([10], [5], 1.0, 10, seed=-1), "seed"),
    (lambda: q.poisson_workload([10], [5], 1.0, 10, arrival="uniform"), "arrival"),
    (lambda: q.trace_workload([0.0, 1.0], [10], [5]), "differ"),
    (lambda: q.trace_workload([0.0], [10], [5], slo_class=[2]), "slo_class"),
    (lambda: q.trace_workload([-1.0, 0.0], [10, 10], [5, 5]), r"arrival_times must be >= 0 s; arrival_times\[0\] = -1.0"),
    (lambda: q.trace_workload([-1.0, 0.0], [10, 10], [5, 5], sort=True), ">= 0 s"),
    (lambda: q.Workload([1.0, 0.0], [1, 1], [1, 1], [0, 0]), "non-decreasing"),
    (lambda: q.poisson_workload([10], [5], 1.0, 5, slo_classes=(q.SLOClass("a", 0.5, 0.1),)), "sum to 1"),
])
def test_bad_workload_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
