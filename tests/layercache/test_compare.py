"""Characteristic-time models against simulation (the comparison API)."""

import numpy as np
import pytest

import layercache as lc

# acceptance tolerances on the request hit ratio
TOL = {"llru": 0.005, "lru": 0.005, "fifo": 0.01, "full": 0.005}

FULL_GRID = dict(
    alphas=(0.6, 0.8, 1.0, 1.2),
    n_layers=(1, 2, 3, 4, 5),
    cache_fractions=(0.01, 0.03, 0.1, 0.3, 0.5),
    size_profiles=("equal", "increasing", "decreasing"),
    version_profiles=("uniform", "low", "high"),
    models=("llru", "lru", "fifo"),
    n_objects=10_000,
    requests_per_object=30,
)


def check(df):
    for model, tol in TOL.items():
        sub = df[df.model == model]
        if len(sub):
            worst = sub.loc[sub.abs_error.idxmax()]
            assert worst.abs_error <= tol, worst.to_dict()


def test_representative_subset():
    df = lc.compare_model_simulation(
        alphas=(0.8, 1.2),
        n_layers=(3,),
        cache_fractions=(0.01, 0.1, 0.5),
        size_profiles=("increasing",),
        version_profiles=("high",),
        models=("llru", "lru", "fifo", "full"),
        n_objects=10_000,
        requests_per_object=30,
        seed=1,
    )
    assert len(df) == 2 * 3 * 4
    assert (df.requests == 300_000).all()
    check(df)
    layered = df[df.model == "llru"]
    assert layered.abs_layer_error.max() <= 0.005 and layered.abs_byte_error.max() <= 0.005
    assert df[df.model == "lru"].model_layer_hit_ratio.isna().all()


def test_layered_fifo_request_model_is_an_upper_bound():
    df = lc.compare_model_simulation(alphas=(1.0,), n_layers=(3,), cache_fractions=(0.05, 0.3), models=("lfifo",),
                                     n_objects=5000, requests_per_object=20, seed=2)  # fmt: skip
    assert (df.error > -0.003).all()  # request hits: layer l cached bounds layers 1..l cached
    assert df.abs_byte_error.max() <= 0.005 and df.abs_layer_error.max() <= 0.005  # marginals: exact form


def test_stationary_prefix():
    lam = lc.zipf_popularity(50, 0.8)
    p = lc.version_profile(3, "low")
    o, v = lc.stationary_prefix(lam, p, seed=0)
    assert o.dtype == np.int32 and v.dtype == np.int8 and o.size == 150
    assert len(set(zip(o.tolist(), v.tolist()))) == 150  # each (object, version) once
    o2, v2 = lc.stationary_prefix(lam, p, seed=0)
    assert np.array_equal(o, o2) and np.array_equal(v, v2)
    # the most recent requests are mostly popular items
    assert np.mean(o[-20:]) < np.mean(o[:20])
    with pytest.raises(ValueError, match="popularity must sum to 1"):
        lc.stationary_prefix([0.5, 0.2])


def test_bad_grid():
    with pytest.raises(ValueError, match="cache_fractions"):
        lc.compare_model_simulation(cache_fractions=(0.0, 0.1))
    with pytest.raises(ValueError, match="models must be among"):
        lc.compare_model_simulation(models=("belady",))


@pytest.mark.slow
def test_full_grid():
    df = lc.compare_model_simulation(**FULL_GRID, seed=0)
    print(df.groupby("model")[["abs_error", "abs_byte_error", "abs_layer_error"]].max())
    check(df)
