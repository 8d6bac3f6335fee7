"""CLOCK, SIEVE, S3-FIFO, 2Q, ARC, SLRU: libCacheSim's hit counts, the slow references, properties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import layercache as lc
from layercache.kernels.state import cached_items
from layercache.simulation import POLICY_OPTIONS, _simulate
from sim_oracles import libcachesim_hits, queue_reference

QUEUE = tuple(POLICY_OPTIONS)


def _trace(seed, n=3000, n_obj=300):
    rng = np.random.default_rng(seed)
    ids = rng.choice(n_obj, size=n, p=rng.dirichlet(np.full(n_obj, 0.3)))
    return ids, rng.integers(1, 200, n_obj)[ids]


@pytest.mark.parametrize("policy", QUEUE)
def test_hits_equal_libcachesim(policy):
    pytest.importorskip("libcachesim")
    ids, sizes = _trace(1 + QUEUE.index(policy))
    for capacity in (10, 37, 120):
        assert lc.simulate(ids, policy=policy, capacity=capacity).hits == libcachesim_hits(ids, policy, capacity)
    for capacity in (150, 1000, 5000, 20000):
        ours = lc.simulate(ids, policy=policy, capacity=capacity, sizes=sizes).hits
        assert ours == libcachesim_hits(ids, policy, capacity, sizes), capacity


def _versioned(seed, n=400, n_obj=15, n_layers=3):
    rng = np.random.default_rng(seed)
    objects = rng.choice(n_obj, size=n, p=rng.dirichlet(np.ones(n_obj)))
    return objects, rng.integers(1, n_layers + 1, n), rng.integers(1, 6, (n_obj, n_layers)).astype(float)


@pytest.mark.parametrize("policy", QUEUE)
@pytest.mark.parametrize("mode", ["layered", "versions", "full"])
def test_versioned_modes_equal_reference(policy, mode):
    objects, versions, layer_sizes = _versioned(3 + QUEUE.index(policy))
    for unit in (True, False):
        catalog = lc.Catalog(np.ones_like(layer_sizes) if unit else layer_sizes)
        sizes = catalog.layer_sizes if mode == "layered" else catalog.version_sizes
        top = catalog.layers_per_object - 1

        def size_of(t, item):
            i, j = item
            return sizes[i, top[i] if j == "full" else j - 1]

        def span_of(item):
            return catalog.layered_version_sizes[item[0], item[1] - 1] if mode == "layered" else 0

        for capacity in ((10, 23) if unit else (12, 40, 95)):
            ours = lc.simulate(objects, versions, policy=policy, capacity=capacity, catalog=catalog, per_request=True,
                               layered=mode == "layered", full_object_only=mode == "full")
            ref = queue_reference(objects, versions, policy=policy, capacity=capacity, mode=mode, size_of=size_of,
                                  span_of=span_of)
            assert ours.per_request.tolist() == ref, (unit, capacity)


def test_options_change_the_policy_and_match_the_reference():
    ids, sizes = _trace(9, n=800, n_obj=60)
    for policy, options in [("clock", {"n_bit_counter": 2, "init_freq": 1}),
                            ("s3fifo", {"small_size_ratio": 0.3, "ghost_size_ratio": 0.5,
                                        "move_to_main_threshold": 1}),
                            ("twoq", {"a_in_size_ratio": 0.4, "a_out_size_ratio": 0.2}),
                            ("slru", {"n_segments": 2})]:
        ours = lc.simulate(ids, policy=policy, capacity=20, per_request=True, options=options)
        assert ours.per_request.tolist() == queue_reference(ids, policy=policy, capacity=20, **options)
        default = lc.simulate(ids, policy=policy, capacity=20, per_request=True)
        assert ours.per_request.tolist() != default.per_request.tolist()


@pytest.mark.parametrize("kwargs, match", [
    (dict(policy="sieve", options={"small_size_ratio": 0.2}), "options"),
    (dict(policy="s3fifo", options={"small_size_ratio": 1.5}), "small_size_ratio"),
    (dict(policy="s3fifo", options={"move_to_main_threshold": 0}), "move_to_main_threshold"),
    (dict(policy="clock", options={"n_bit_counter": 0}), "n_bit_counter"),
    (dict(policy="clock", options={"init_freq": 2}), "init_freq"),
    (dict(policy="twoq", options={"a_in_size_ratio": float("nan")}), "a_in_size_ratio"),
    (dict(policy="s3fifo", capacity=9), "too small for s3fifo"),
    (dict(policy="slru", options={"n_segments": 0}), "n_segments"),
    (dict(policy="slru", options={"n_segments": 9}), "n_segments"),
    (dict(policy="slru", options={"n_segments": 2.5}), "n_segments"),
    (dict(policy="slru", capacity=3.9), "too small for slru"),
    (dict(policy="arc", options=[1]), "options"),
])
def test_bad_options_name_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lc.simulate([0, 1, 0], **{"capacity": 20, **kwargs})


def test_slru_golden():
    # ids 0 1 2 0 3 4 0 1 1 2, capacity 4, two segments of 2 (s0 probationary, s1 protected; LRU end first):
    # t2: s0 is full, so 2 enters s1, the lowest segment with room; t3: 0 hits in s0 and moves to s1 = [2, 0];
    # t5, t7: misses evict s0's tail (1, then 3); t8: 1 hits in s0, s1 = [2, 0, 1] is over 2, so its tail 2
    # cools into s0 = [4, 2]; t9: 2 hits there. LRU misses at t9 (2 left at t7).
    ids = np.array([0, 1, 2, 0, 3, 4, 0, 1, 1, 2])
    res = lc.simulate(ids, policy="slru", capacity=4, options={"n_segments": 2}, per_request=True)
    assert res.per_request.tolist() == [0, 0, 0, 1, 0, 0, 1, 0, 1, 1]
    assert lc.simulate(ids, policy="lru", capacity=4, per_request=True).per_request.tolist()[9] == 0


def test_one_segment_slru_is_lru():
    ids, sizes = _trace(11)
    for capacity in (7, 50):
        ours = lc.simulate(ids, policy="slru", capacity=capacity, options={"n_segments": 1}, per_request=True)
        assert ours.per_request.tolist() == lc.simulate(ids, policy="lru", capacity=capacity,
                                                        per_request=True).per_request.tolist()
    ours = lc.simulate(ids, policy="slru", capacity=3000, sizes=sizes, options={"n_segments": 1})
    assert ours.hits == lc.simulate(ids, policy="lru", capacity=3000, sizes=sizes).hits


SETTINGS = settings(max_examples=25, deadline=None)


@SETTINGS
@given(st.lists(st.integers(0, 9), min_size=1, max_size=80), st.integers(10, 40), st.sampled_from(QUEUE))
def test_cached_bytes_never_exceed_the_capacity_and_large_items_stay_out(trace, capacity, policy):
    objects = np.array(trace)
    obj_sizes = np.array([1, 2, 3, 5, 8, 13, 21, 34, 55, 89], dtype=float)
    for t in (len(trace) // 2, len(trace)):
        res, state = _simulate(objects[:t], None, policy, capacity, None, obj_sizes[objects[:t]], True, 0, False,
                               False, True, None)
        cached = cached_items(state)
        assert obj_sizes[cached].sum() <= capacity
        assert np.all(obj_sizes[cached] <= capacity)
        big = obj_sizes[objects[:t]] > capacity
        assert not np.any(res.per_request[big])


@pytest.mark.parametrize("policy", QUEUE)
def test_fractional_sizes_terminate_within_the_capacity(policy):
    # layers of 0.25 and 0.275 units: rounding drift once hung the eviction loops of empty queues
    catalog = lc.Catalog.from_profile(40, 4, "equal", overhead=0.1)
    objects, versions = lc.irm_trace(lc.zipf_popularity(40, 0.8), lc.version_profile(4), 4000, seed=2)
    for capacity in (10.3, 17.0, 25.5):
        res, state = _simulate(objects, versions, policy, capacity, catalog, None, True, 0, False, False, True, None)
        cached = cached_items(state)
        assert catalog.layer_sizes.ravel()[cached].sum() <= capacity + 1e-9
        assert 0 < res.hits < res.requests
