"""SHARDS and MiniSim: rate 1 is exact, files stream like arrays, layers stay together, errors are estimated."""

import numpy as np
import pytest

import layercache as lc
from layercache.sampling import spatial_hash
from sim_oracles import write_oracle_file


def _zipf(n=60_000, n_obj=3000, seed=1):
    objects, _ = lc.irm_trace(lc.zipf_popularity(n_obj, 0.8), np.array([1.0]), n, seed=seed)
    return objects


CAPS = [30, 300, 1200]


@pytest.mark.parametrize("method, policy", [("shards", "lru"), ("minisim", "lru"), ("minisim", "sieve")])
def test_rate_one_is_the_exact_curve(method, policy):
    objects = _zipf(n=8000)
    sampled = lc.hit_ratio_curve(objects, policy=policy, capacities=CAPS, method=method, rate=1.0, warmup=500)
    exact = lc.hit_ratio_curve(objects, policy=policy, capacities=CAPS, warmup=500)
    assert sampled["hits"].tolist() == exact["hits"].tolist()
    assert np.allclose(sampled["hit_ratio"], exact["hit_ratio"])
    assert np.all(sampled["hit_ratio_error"] == 0) and np.all(sampled["sampling_rate"] == 1.0)


def test_shards_adj_is_close_and_its_error_estimate_covers_the_error():
    # classic SHARDS-adj (the stratified estimator: test_curve_stratified.py); the estimate covers the
    # sampling variance, not the bias of a scaled cache of a few items:
    # capacities whose scaled cache holds >= 20 items, 40 seeds (samples of ~1000 of 20,000 objects)
    objects, _ = lc.irm_trace(lc.zipf_popularity(20_000, 0.8), np.array([1.0]), 200_000, seed=1)
    caps = [400, 1000, 4000]
    exact = lc.hit_ratio_curve(objects, capacities=caps)["hit_ratio"].to_numpy()
    errors, stated = [], []
    for seed in range(40):
        shards = lc.hit_ratio_curve(objects, capacities=caps, method="shards", rate=0.05, seed=seed,
                                    estimator="classic")
        errors.append(shards["hit_ratio"].to_numpy() - exact)
        stated.append(shards["hit_ratio_error"].to_numpy())
    errors, stated = np.array(errors), np.array(stated)
    assert np.all(np.abs(errors.mean(axis=0)) < 0.5 * stated.mean(axis=0))  # no bias beyond noise
    assert np.all(np.mean(np.abs(errors) <= 3 * stated, axis=0) >= 0.9)  # 16 groups: a rough, slightly small SE
    assert np.all(np.mean(np.abs(errors) <= 0.5 * stated, axis=0) <= 0.6)  # and not a loose one


def test_fixed_sample_size_keeps_that_many_objects():
    objects = _zipf(n=20_000)
    frame = lc.hit_ratio_curve(objects, capacities=CAPS, method="shards", sample_size=500, seed=3)
    kept = spatial_hash(np.unique(objects), 3) < frame["sampling_rate"][0]
    assert kept.sum() == 500


def test_a_trace_file_streams_to_the_same_curve(tmp_path):
    objects = _zipf(n=20_000)
    sizes = (np.arange(3000) % 7 + 1)[objects]
    path = tmp_path / "t.oracleGeneral"
    write_oracle_file(path, objects, sizes)  # ids are stored as objects + 1
    kwargs = dict(capacities=[50, 500], method="shards", rate=0.3, seed=2)
    from_file = lc.sampled_curve(str(path), chunk_requests=3000, **kwargs)
    from_arrays = lc.sampled_curve(objects + 1, sizes=sizes, **kwargs)
    cols = ["hits", "requests", "bytes_hit", "hit_ratio", "sampling_rate"]
    assert from_file[cols].equals(from_arrays[cols])


def test_layered_sampling_keeps_all_layers_of_an_object():
    objects = _zipf(n=20_000)
    versions = np.random.default_rng(0).integers(1, 4, objects.size)
    catalog = lc.Catalog.unit(3000, 3)
    frame = lc.hit_ratio_curve(objects, versions, capacities=CAPS, catalog=catalog, method="shards", rate=0.5)
    keep = spatial_hash(objects, 0) < 0.5
    assert frame["layers_requested"][0] == versions[keep].sum()
    exact = lc.hit_ratio_curve(objects, versions, capacities=CAPS, catalog=catalog)
    assert np.all(np.abs(frame["hit_ratio"] - exact["hit_ratio"])[1:] < 0.05)  # not the 15-item scaled cache


@pytest.mark.parametrize("kwargs, match", [
    (dict(rate=0.5, sample_size=10), "rate"),
    (dict(sample_size=0), "sample_size"),
    (dict(rate=-0.1), "rate"),
    (dict(seed=-1), "seed"),
])
def test_bad_sampling_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lc.sampled_curve([0, 1, 2], capacities=[1], **kwargs)
