"""Versioned traces with sparse 64-bit or string ids: remapped like classic traces."""

import numpy as np
import pytest

import layercache as lc
from layercache.remap import remap_ids


def _versioned(seed, n=3000, n_obj=200, L=3):
    rng = np.random.default_rng(seed)
    dense, versions = lc.irm_trace(lc.zipf_popularity(n_obj, 0.9), lc.version_profile(L), n, seed=rng)
    names = rng.integers(0, 2**64 - 1, size=n_obj, dtype=np.uint64, endpoint=True)
    names[0] = 2**64 - 1
    return dense, versions, names


@pytest.mark.parametrize("policy", ["lru", "fifo", "lfu", "belady"])
@pytest.mark.parametrize("layered", [True, False])
def test_64bit_ids_give_the_dense_result(policy, layered):
    dense, versions, names = _versioned(1)
    for capacity in (5, 40, 150):
        want = lc.simulate(dense, versions, policy=policy, capacity=capacity, layered=layered)
        got = lc.simulate(names[dense], versions, policy=policy, capacity=capacity, layered=layered)
        assert (got.hits, got.layers_hit, got.layers_requested) == (want.hits, want.layers_hit, want.layers_requested)


def test_string_ids_give_the_dense_result():
    dense, versions, _ = _versioned(2)
    labels = np.array([f"key:{i * 7919}" for i in range(dense.max() + 1)], dtype=object)[dense]
    for versions_or_none in (versions, None):
        want = lc.simulate(dense, versions_or_none, policy="lru", capacity=30)
        got = lc.simulate(labels, versions_or_none, policy="lru", capacity=30)
        assert got.hits == want.hits


def test_string_ids_remap_in_first_appearance_order():
    dense, original = remap_ids(np.array(["b", "a", "b", "c"]))
    assert dense.tolist() == [0, 1, 0, 2]
    assert original.tolist() == ["b", "a", "c"]
    with pytest.raises(ValueError, match="request 1"):
        remap_ids(np.array(["a", None], dtype=object))


def test_sparse_versioned_trace_needs_memory_of_its_distinct_objects():
    # the reported case: 114k requests, ids up to 6.6e7, no catalog (8.4 GB before)
    import tracemalloc

    rng = np.random.default_rng(3)
    ids = rng.integers(0, 66_000_000, size=114_000)
    versions = rng.integers(1, 5, size=ids.size)
    tracemalloc.start()
    lc.simulate(ids, versions, policy="lru", capacity=1000)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 200 * 2**20, peak / 2**20


def test_string_ids_with_a_catalog_are_refused():
    with pytest.raises(ValueError, match="string ids"):
        lc.simulate(np.array(["a"]), np.array([1]), policy="lru", capacity=1, catalog=lc.Catalog.unit(1, 1))
