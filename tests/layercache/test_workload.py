"""IRM trace generator: alias table exactness, determinism, frequencies, bad input."""

import numpy as np
import pytest

import layercache as lc
from layercache.workload import _alias_table


@pytest.mark.parametrize("p", [lc.zipf_popularity(1000, 0.8), np.array([0.5, 0.0, 0.25, 0.25]), np.array([1.0])])
def test_alias_table_reproduces_the_pmf(p):
    accept, alias = _alias_table(p)
    n = p.size
    implied = accept / n
    np.add.at(implied, alias, (1.0 - accept) / n)
    np.testing.assert_allclose(implied, p, atol=1e-12)


def test_same_seed_same_trace_and_generator_seed():
    p = lc.zipf_popularity(500, 0.9)
    a = lc.irm_trace(p, lc.version_profile(3, "high"), 10_000, seed=7)
    b = lc.irm_trace(p, lc.version_profile(3, "high"), 10_000, seed=np.random.default_rng(7))
    c = lc.irm_trace(p, lc.version_profile(3, "high"), 10_000, seed=8)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert a[0].dtype == np.int32 and a[1].dtype == np.int8


def test_frequencies_match_popularity():
    p = lc.zipf_popularity(50, 1.0)
    q = lc.version_profile(4, "low")
    objects, versions = lc.irm_trace(p, q, 400_000, seed=1)
    freq = np.bincount(objects, minlength=50) / objects.size
    assert np.max(np.abs(freq - p) / np.sqrt(p / objects.size)) < 5  # within 5 standard errors
    vfreq = np.bincount(versions, minlength=5)[1:] / versions.size
    np.testing.assert_allclose(vfreq, q, atol=5e-3)


def test_per_object_version_profiles():
    p = np.array([0.5, 0.5])
    q = np.array([[1.0, 0.0], [0.0, 1.0]])
    objects, versions = lc.irm_trace(p, q, 1000, seed=3)
    assert np.all(versions == objects + 1)


def test_bad_popularity_and_length():
    with pytest.raises(ValueError, match="NaN"):
        lc.irm_trace(np.array([0.5, np.nan]), None, 10, seed=1)
    with pytest.raises(ValueError, match="negative"):
        lc.irm_trace(np.array([1.5, -0.5]), None, 10, seed=1)
    with pytest.raises(ValueError, match="sum to 1"):
        lc.irm_trace(np.array([0.5, 0.4]), None, 10, seed=1)
    with pytest.raises(ValueError, match="n_requests"):
        lc.irm_trace(np.array([1.0]), None, -1, seed=1)
    with pytest.raises(ValueError, match="rows"):
        lc.irm_trace(np.array([0.5, 0.5]), np.ones((3, 2)) / 2, 10, seed=1)
