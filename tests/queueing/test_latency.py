"""Latency models: calibration to the shipped microbenchmark, kernel twin, bad input."""

import numpy as np
import pytest

from queueing.latency import (
    AffineLatency,
    PiecewiseLatency,
    TableLatency,
    TileLatency,
    default_latency,
    iteration_time_kernel,
    microbenchmark_table,
)

MODELS = [
    default_latency(),
    AffineLatency(),
    TileLatency(),
    PiecewiseLatency(((0.01, 1e-5), (0.0, 1e-4), (0.002, 5e-5))),
    TableLatency((1, 128, 512, 1024), (0.021, 0.024, 0.053, 0.1)),
]


def test_microbenchmark_reproduced_within_10_percent():
    tab = microbenchmark_table()
    assert len(tab) == 7
    assert np.all(np.abs(tab["ttft_rel_err"]) < 0.10), tab
    assert np.all(np.abs(tab["batch_rel_err"]) < 0.10), tab


def test_chunk_times_follow_the_ttft_arithmetic():
    lat = default_latency()
    # 512 budget: 4 chunks, TTFT 212 ms -> ~53 ms per 512-token iteration (not the 46.5 ms mean)
    assert float(lat.iteration_time(512)) == pytest.approx(0.053, rel=0.03)
    assert float(lat.iteration_time(1024)) == pytest.approx(0.1008, rel=0.03)
    assert 0.020 < float(lat.iteration_time(0, 1, 2048)) < 0.025  # the decode-only floor


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_kernel_matches_vectorised(model):
    kind, params = model.kernel_params()
    rng = np.random.default_rng(0)
    p = rng.integers(0, 3000, 200)
    d = rng.integers(0, 129, 200)
    c = rng.integers(0, 300_000, 200)
    vec = model.iteration_time(p, d, c)
    assert vec.shape == (200,)
    for i in range(200):
        assert iteration_time_kernel(kind, params, p[i], d[i], c[i]) == pytest.approx(vec[i], rel=1e-12)


def test_tile_model_is_a_step_function():
    m = TileLatency(tile=128, t0=0.0, per_tile=0.01, per_context_token=0.0)
    t = m.iteration_time(np.array([1, 128, 129, 256, 257]))
    np.testing.assert_allclose(t, [0.01, 0.01, 0.02, 0.02, 0.03])


def test_table_interpolates_and_extrapolates():
    m = TableLatency((10, 20), (1.0, 2.0), per_context_token=0.0)
    np.testing.assert_allclose(m.iteration_time(np.array([1, 10, 15, 20, 30])), [1.0, 1.0, 1.5, 2.0, 3.0])


def test_table_from_csv(tmp_path):
    f = tmp_path / "prof.csv"
    f.write_text("tokens,time_ms\n512,53\n1,21\n1024,101\n")
    m = TableLatency.from_csv(f)
    assert m.tokens == (1.0, 512.0, 1024.0)
    assert float(m.iteration_time(512)) == pytest.approx(0.053)


@pytest.mark.parametrize("text", ["tokens,time_ms\n1,abc\n2,3\n", "tok,time_ms\n1,2\n3,4\n", "tokens,time_ms\n5,1\n"])
def test_table_from_malformed_csv(tmp_path, text):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(ValueError):
        TableLatency.from_csv(f)


def test_bad_parameters():
    with pytest.raises(ValueError, match="per_token"):
        AffineLatency(per_token=-1)
    with pytest.raises(ValueError, match="tile"):
        TileLatency(tile=0)
    with pytest.raises(ValueError):
        TableLatency((2, 1), (1.0, 2.0))
    with pytest.raises(ValueError):
        PiecewiseLatency(())
