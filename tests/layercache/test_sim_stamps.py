"""LRU/FIFO stamps: int32 or int64 by trace length (same results); cached items from the tail."""

import numpy as np
import pytest

import layercache as lc
from layercache.kernels import driver
from layercache.kernels.state import cached_items, new_state
from layercache.simulation import _simulate


def _run_with_stamps(policy, objects, versions, catalog, capacity, stamp_dtype):
    """Run the driver directly on a state whose stamps have ``stamp_dtype``."""
    n_items, n_layers = catalog.n_objects * catalog.n_layers, catalog.n_layers
    item_sizes = np.array(catalog.layer_sizes.ravel())
    spans = np.array(catalog.layered_version_sizes.ravel())
    state = list(new_state(n_items, policy, n_accesses=int(versions.sum())))
    state[3] = state[3].astype(stamp_dtype)  # what new_state picks from 2**31 accesses on
    state = tuple(state)
    counts, volumes = np.zeros(4, np.int64), np.zeros(2)
    runner = driver.RUNNERS[lc.POLICIES.index(policy)]
    runner(driver.LAYERED, objects.astype(np.int32), versions.astype(np.int8), n_layers, item_sizes, spans,
           np.empty(0), np.empty(0), float(capacity), 0, np.empty(0, np.int32), False, state,
           np.empty(0, np.int8), np.zeros(n_layers, np.int64), counts, volumes)
    return state[3].dtype, counts, volumes


@pytest.mark.parametrize("policy", ["lru", "fifo"])
def test_int64_stamps_equal_int32_stamps(policy):
    rng = np.random.default_rng(3)
    catalog = lc.Catalog(rng.integers(1, 50, (200, 3)).astype(float))
    objects, versions = lc.irm_trace(lc.zipf_popularity(200, 0.9), lc.version_profile(3), 20_000, seed=4)
    capacity = 0.1 * catalog.layer_sizes.sum()
    small = _run_with_stamps(policy, objects, versions, catalog, capacity, np.int32)
    large = _run_with_stamps(policy, objects, versions, catalog, capacity, np.int64)
    assert small[0] == np.int32 and large[0] == np.int64
    np.testing.assert_array_equal(small[1], large[1])
    np.testing.assert_array_equal(small[2], large[2])
    public = lc.simulate(objects, versions, policy=policy, capacity=capacity, catalog=catalog)
    assert (public.hits, public.layers_hit) == (small[1][1], small[1][3])


def test_stamp_dtype_follows_the_number_of_accesses():
    assert new_state(10, "lru", n_accesses=2**31 - 2)[3].dtype == np.int32
    assert new_state(10, "lru", n_accesses=2**31)[3].dtype == np.int64  # (a 32 MiB bitmap)


@pytest.mark.parametrize("policy, cached", [("lru", [0, 2, 3]), ("fifo", [1, 2, 3])])
def test_cached_items_are_those_whose_stamps_the_tail_has_not_passed(policy, cached):
    objects = np.array([0, 1, 2, 0, 3])
    _, state = _simulate(objects, None, policy, 3, None, None, True, 0, False, False, False)
    assert list(cached_items(state)) == cached
