"""layer_trace: a real classic trace made into a layered study."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import layercache as lc
from sim_oracles import libcachesim_hits

DATA = Path(__file__).resolve().parent.parent / "data"


def block_trace():
    """Meta's Tectonic block-chunk sample (tests/data/README.md): ids, sizes with one size per object."""
    frame = pd.read_csv(DATA / "meta_block_sample.csv")
    ids = frame["block_id"].to_numpy()
    sizes = frame["io_size"].to_numpy()
    first = frame.groupby("block_id", sort=False)["io_size"].transform("first").to_numpy()
    return ids, sizes, first


@pytest.mark.parametrize("policy", ["lru", "fifo", "lfu", "belady"])
def test_one_layer_reproduces_the_classic_trace_and_libcachesim(policy):
    ids, _, sizes = block_trace()
    hashed = lc.remap_ids(ids)[0]  # libCacheSim needs integer ids
    for unit in (True, False):
        objects, versions, catalog = lc.layer_trace(ids, None if unit else sizes, 1)
        assert catalog.n_layers == 1 and np.all(versions == 1)
        capacities = (5, 40, 200) if unit else (2e6, 3e7, 3e8)
        for capacity in capacities:
            layered = lc.simulate(objects, versions, policy=policy, capacity=capacity, catalog=catalog)
            classic = lc.simulate(hashed, policy=policy, capacity=capacity, sizes=None if unit else sizes)
            peer = libcachesim_hits(hashed, policy, capacity, None if unit else sizes)
            assert layered.hits == classic.hits == peer, (unit, capacity)


def test_one_layer_perfect_lfu_equals_classic():
    ids, _, sizes = block_trace()
    objects, versions, catalog = lc.layer_trace(ids, sizes, 1)
    for capacity in (2e6, 3e7):
        layered = lc.simulate(objects, versions, policy="perfect_lfu", capacity=capacity, catalog=catalog)
        assert layered.hits == lc.simulate(ids.astype(object), policy="perfect_lfu", capacity=capacity, sizes=sizes).hits


def test_object_size_rules_and_original_ids():
    ids = np.array([900, 7, 900, 5, 7], dtype=np.uint64)
    sizes = np.array([10, 3, 30, 4, 2])
    for rule, want in (("max", [30, 3, 4]), ("first", [10, 3, 4]), ("last", [30, 2, 4])):
        objects, _, catalog = lc.layer_trace(ids, sizes, 1, object_size=rule)
        assert catalog.version_sizes[:, 0].tolist() == want
    assert objects.tolist() == [0, 1, 0, 2, 1]
    assert catalog.object_ids.tolist() == [900, 7, 5]
    _, _, catalog = lc.layer_trace(np.array(["b", "a", "b"]), None, 2)
    assert catalog.object_ids.tolist() == ["b", "a"]


@pytest.mark.parametrize(
    "profile, shares",
    [("equal", [1, 1, 1, 1]), ("increasing", [1, 2, 3, 4]), ("decreasing", [4, 3, 2, 1]), ([0.1, 0.2, 0.3, 0.4], [1, 2, 3, 4])],
)
def test_size_profiles_and_overhead(profile, shares):
    ids, sizes, _ = block_trace()
    _, _, catalog = lc.layer_trace(ids, sizes, 4, size_profile=profile, overhead=0.25)
    shares = np.asarray(shares, dtype=float) / sum(shares)
    full = catalog.version_sizes[:, -1]
    np.testing.assert_allclose(catalog.version_sizes, full[:, None] * np.cumsum(shares)[None, :])
    expected_layers = full[:, None] * shares[None, :] * np.array([1, 1.25, 1.25, 1.25])[None, :]
    np.testing.assert_allclose(catalog.layer_sizes, expected_layers)
    assert full.max() == sizes.max()  # object_size="max"


def test_versions_per_request_or_object_are_seeded():
    ids, sizes, _ = block_trace()
    p = [0.5, 0.3, 0.2]
    a = lc.layer_trace(ids, sizes, 3, version_probs=p, seed=4)[1]
    b = lc.layer_trace(ids, sizes, 3, version_probs=p, seed=4)[1]
    np.testing.assert_array_equal(a, b)
    rng = np.random.default_rng(0)
    big = rng.integers(0, 50, size=200_000)
    v = lc.layer_trace(big, None, 3, version_probs=p, seed=1)[1]
    np.testing.assert_allclose(np.bincount(v, minlength=4)[1:] / v.size, p, atol=0.005)
    objects, v, _ = lc.layer_trace(big, None, 3, version_probs=p, seed=1, versions_per="object")
    per_object = np.zeros(objects.max() + 1, dtype=int)
    per_object[objects] = v
    assert np.array_equal(per_object[objects], v)  # every request of an object asks the same version


def test_ready_for_models_and_optimum():
    ids, sizes, _ = block_trace()
    objects, versions, catalog = lc.layer_trace(ids, sizes, 3, size_profile="increasing", seed=2)
    popularity = np.bincount(objects) / objects.size
    q = np.full(3, 1 / 3)
    capacity = 0.2 * catalog.layered_version_sizes[:, -1].sum()
    sim = lc.simulate(objects, versions, policy="lru", capacity=capacity, catalog=catalog)
    model = lc.che_hit_ratio(popularity, q, catalog.layer_sizes, capacity, model="llru")
    best = lc.static_optimum(popularity, q, catalog, capacity)
    assert 0 < sim.hit_ratio < 1 and 0 < model.hit_ratio < 1 and 0 < best.hit_ratio <= 1
    # per-object answers keyed back to the trace's own ids
    by_block = pd.Series(best.layers, index=catalog.object_ids)
    assert by_block.index[0] == ids[0] and by_block[ids[0]] == best.layers[objects[0]]
    assert set(by_block.index) == set(ids)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_layers": 0}, "n_layers must be an integer in 1..127"),
        ({"n_layers": 2, "size_profile": "flat"}, "size_profile must be one of"),
        ({"n_layers": 2, "size_profile": [0.5, 0.6]}, "must sum to 1"),
        ({"n_layers": 2, "size_profile": [1.0]}, "2 finite numbers > 0"),
        ({"n_layers": 2, "version_probs": [1.0]}, "version_probs must have shape"),
        ({"n_layers": 2, "overhead": -1}, "overhead must be finite and >= 0"),
        ({"n_layers": 2, "object_size": "mean"}, "object_size must be one of"),
        ({"n_layers": 2, "versions_per": "both"}, "versions_per must be one of"),
        ({"n_layers": 2, "sizes": [1, 0, 2]}, r"request 1 \(0-based\) has size 0"),
        ({"n_layers": 2, "sizes": [1, 2]}, "sizes must have shape"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"objects": [1, 2, 1], "sizes": [1, 2, 1], **kwargs}
    with pytest.raises(ValueError, match=match):
        lc.layer_trace(**args)
