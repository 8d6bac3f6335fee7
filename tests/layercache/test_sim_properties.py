"""Hypothesis properties of the simulators."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import layercache as lc
from sim_oracles import policies_for
from layercache.kernels.state import cached_items
from layercache.simulation import _simulate

ids = st.lists(st.integers(0, 9), min_size=1, max_size=60)
SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def versioned(draw, n_layers=3):
    objects = draw(ids)
    versions = draw(st.lists(st.integers(1, n_layers), min_size=len(objects), max_size=len(objects)))
    return np.array(objects), np.array(versions)


@SETTINGS
@given(ids, st.integers(1, 8))
def test_belady_beats_every_policy_unit_flat(trace, capacity):
    best = lc.simulate(trace, policy="belady", capacity=capacity).hits
    for policy in policies_for(capacity):
        assert lc.simulate(trace, policy=policy, capacity=capacity).hits <= best


@SETTINGS
@given(versioned(), st.integers(1, 10))
def test_belady_beats_every_policy_on_layer_hits(trace, capacity):
    objects, versions = trace
    cat = lc.Catalog.unit(10, 3)
    best = lc.simulate(objects, versions, policy="belady", capacity=capacity, catalog=cat).layers_hit
    for policy in policies_for(capacity):
        assert lc.simulate(objects, versions, policy=policy, capacity=capacity, catalog=cat).layers_hit <= best


@SETTINGS
@given(ids)
def test_lru_hits_monotone_in_capacity(trace):
    hits = [lc.simulate(trace, policy="lru", capacity=c).hits for c in range(1, 12)]
    assert all(a <= b for a, b in zip(hits, hits[1:]))


@SETTINGS
@given(versioned())
def test_layered_lru_hits_monotone_in_capacity(trace):
    objects, versions = trace
    cat = lc.Catalog.unit(10, 3)
    hits = [lc.simulate(objects, versions, policy="lru", capacity=c, catalog=cat).hits for c in range(1, 31, 2)]
    assert all(a <= b for a, b in zip(hits, hits[1:]))


@SETTINGS
@given(ids, st.integers(1, 12), st.sampled_from(lc.POLICIES), st.booleans())
def test_one_layer_layered_equals_flat(trace, capacity, policy, variable):
    if policy not in policies_for(capacity):
        capacity += 10
    objects = np.array(trace)
    obj_sizes = np.arange(1, 11, dtype=float) if variable else np.ones(10)
    cat = lc.Catalog(obj_sizes[:, None])
    layered = lc.simulate(objects, np.ones_like(objects), policy=policy, capacity=capacity, catalog=cat,
                          per_request=True)
    flat = lc.simulate(objects, policy=policy, capacity=capacity, sizes=obj_sizes[objects], per_request=True)
    assert layered.per_request.tolist() == flat.per_request.tolist()
    assert (layered.hits, layered.bytes_hit) == (flat.hits, flat.bytes_hit)


@SETTINGS
@given(versioned(), st.integers(1, 12), st.booleans())
def test_llru_cached_layers_are_a_prefix(trace, capacity, variable):
    objects, versions = trace
    L = 3
    sizes = np.tile([3.0, 1.0, 2.0], (10, 1)) if variable else np.ones((10, L))
    cat = lc.Catalog(sizes)
    before = np.zeros((10, L), dtype=bool)
    for t in range(1, len(objects) + 1):
        res, state = _simulate(objects[:t], versions[:t], "lru", capacity, cat, None, True, 0, False, False, True)
        cached = np.zeros((10, L), dtype=bool)
        cached.flat[cached_items(state)] = True
        # prefix: no cached layer above a missing one
        assert not np.any(cached[:, 1:] & ~cached[:, :-1])
        # so (i, l) is a hit iff layer l was cached before the request
        i, l = objects[t - 1], versions[t - 1]
        assert (res.per_request[-1] == l) == before[i, l - 1]
        before = cached
