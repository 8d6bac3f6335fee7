"""Bad input raises a clear ValueError before any kernel runs; result API."""

import numpy as np
import pytest

import layercache as lc
from sim_oracles import policies_for

IDS = np.array([0, 1, 2, 0, 1])
CAT = lc.Catalog.unit(3, 2)
VER = np.array([1, 2, 1, 2, 1])


@pytest.mark.parametrize("capacity", [0, -1, np.nan, np.inf, -np.inf, "10", None, True])
def test_bad_capacity(capacity):
    with pytest.raises(ValueError, match="capacity"):
        lc.simulate(IDS, policy="lru", capacity=capacity)


def test_unknown_policy():
    with pytest.raises(ValueError, match="policy must be one of"):
        lc.simulate(IDS, policy="mru", capacity=2)


@pytest.mark.parametrize("bad", [[0, 1, 1, 2, 1], [1, 3, 1, 2, 1], [1, -1, 1, 1, 1]])
def test_versions_outside_range(bad):
    with pytest.raises(ValueError, match="versions must lie in 1..2"):
        lc.simulate(IDS, np.array(bad), policy="lru", capacity=2, catalog=CAT)


def test_versions_without_catalog_must_be_positive():
    with pytest.raises(ValueError, match="versions"):
        lc.simulate(IDS, np.array([0, 1, 1, 1, 1]), policy="lru", capacity=2)


def test_version_above_object_layers():
    cat = lc.Catalog([[1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="above its object's number of layers"):
        lc.simulate(IDS, VER, policy="lru", capacity=2, catalog=cat)  # object 1 has one layer


@pytest.mark.parametrize("objects", [[0, 1, 3, 0, 1], [0, -1, 2, 0, 1]])
def test_objects_outside_catalog(objects):
    with pytest.raises(ValueError, match="objects must lie in 0..2"):
        lc.simulate(np.array(objects), VER, policy="lru", capacity=2, catalog=CAT)


def test_negative_ids_in_classic_trace():
    with pytest.raises(ValueError, match="non-negative"):
        lc.simulate(np.array([0, -3, 1]), policy="lru", capacity=2)


@pytest.mark.parametrize(
    "sizes, match",
    [([1, 2, 3], "one size per request"), ([1, 0, 1, 1, 1], "> 0"), ([1, -2, 1, 1, 1], "> 0"),
     ([1, np.nan, 1, 1, 1], "finite"), ([[1, 1, 1, 1, 1]], "one size per request")],
)
def test_bad_sizes(sizes, match):
    with pytest.raises(ValueError, match=match):
        lc.simulate(IDS, policy="lru", capacity=2, sizes=np.array(sizes))


def test_sizes_with_a_versioned_trace():
    with pytest.raises(ValueError, match="sizes"):
        lc.simulate(IDS, VER, policy="lru", capacity=2, catalog=CAT, sizes=np.ones(5))


def test_mismatched_lengths_and_shapes():
    with pytest.raises(ValueError, match="versions has shape"):
        lc.simulate(IDS, VER[:3], policy="lru", capacity=2, catalog=CAT)
    with pytest.raises(ValueError, match="1-D"):
        lc.simulate(IDS[None, :], policy="lru", capacity=2)
    with pytest.raises(ValueError, match="integers"):
        lc.simulate(IDS.astype(float), policy="lru", capacity=2)


@pytest.mark.parametrize("warmup", [-1, 6, 2.5, True])
def test_bad_warmup(warmup):
    with pytest.raises(ValueError, match="warmup"):
        lc.simulate(IDS, policy="lru", capacity=2, warmup=warmup)


def test_option_misuse():
    with pytest.raises(ValueError, match="bypass"):
        lc.simulate(IDS, policy="lru", capacity=2, bypass=True)
    with pytest.raises(ValueError, match="full_object_only"):
        lc.simulate(IDS, policy="lru", capacity=2, full_object_only=True)
    with pytest.raises(ValueError, match="versions are required"):
        lc.simulate(IDS, policy="lru", capacity=2, catalog=CAT)
    with pytest.raises(ValueError, match="catalog"):
        lc.simulate(IDS, VER, policy="lru", capacity=2, catalog=np.ones((3, 2)))


def test_sparse_ids_are_remapped():
    ids = np.array([10**12, 5, 10**12, 7, 5], dtype=np.uint64)
    dense = np.array([2, 0, 2, 1, 0])
    for policy in policies_for(2):
        a = lc.simulate(ids, policy=policy, capacity=2, per_request=True)
        b = lc.simulate(dense, policy=policy, capacity=2, per_request=True)
        assert a.per_request.tolist() == b.per_request.tolist()


def test_empty_trace_and_result_api():
    res = lc.simulate(np.array([], dtype=np.int64), policy="lru", capacity=1)
    assert res.requests == 0 and np.isnan(res.hit_ratio)
    res = lc.simulate(IDS, VER, policy="lfu", capacity=2, catalog=CAT)
    d = res.as_dict()
    assert d["hit_ratio"] == res.hit_ratio and d["layer_hit_ratio"] == res.layer_hit_ratio
    frame = res.to_frame()
    assert frame.shape[0] == 1 and frame.loc[0, "hits"] == res.hits
    with pytest.raises(AttributeError):
        res.hits = 3  # frozen


def test_catalog_with_one_layer_needs_no_versions():
    cat = lc.Catalog(np.array([1.0, 2.0, 1.0]))
    a = lc.simulate(IDS, policy="lru", capacity=2, catalog=cat)
    b = lc.simulate(IDS, policy="lru", capacity=2, sizes=np.array([1.0, 2.0, 1.0])[IDS])
    assert (a.hits, a.bytes_hit) == (b.hits, b.bytes_hit)
