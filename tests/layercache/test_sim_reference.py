"""Every policy and mode equals the slow reference (sim_oracles.reference) request by request."""

import numpy as np
import pytest

import layercache as lc
from sim_oracles import reference

CLASSIC = ("lru", "fifo", "lfu", "perfect_lfu", "belady")  # the queue policies: test_sim_queue_policies.py


def _versioned(seed, n=160, n_obj=12, n_layers=3):
    rng = np.random.default_rng(seed)
    objects = rng.choice(n_obj, size=n, p=rng.dirichlet(np.ones(n_obj)))
    versions = rng.integers(1, n_layers + 1, n)
    return objects, versions


def _variable_catalog(seed, n_obj=12, n_layers=3):
    rng = np.random.default_rng(seed)
    layers = rng.integers(1, 6, (n_obj, n_layers)).astype(float)
    versions = np.cumsum(layers, axis=1) - rng.integers(0, 1, (n_obj, n_layers))
    return lc.Catalog(layers, np.maximum(versions * 0.8, 0.5))


def _size_of(mode, catalog):
    def size_of(t, item):
        i, j = item
        if mode == "layered":
            return catalog.layer_sizes[i, j - 1]
        if mode == "versions":
            return catalog.version_sizes[i, j - 1]
        return catalog.version_sizes[i, catalog.layers_per_object[i] - 1]
    return size_of


@pytest.mark.parametrize("policy", CLASSIC)
@pytest.mark.parametrize("mode", ["layered", "versions", "full"])
@pytest.mark.parametrize("unit", [True, False])
def test_versioned_modes_match_reference(policy, mode, unit):
    seed = 11 + 2 * unit + 7 * CLASSIC.index(policy)
    objects, versions = _versioned(seed)
    catalog = lc.Catalog.unit(12, 3) if unit else _variable_catalog(seed)
    kwargs = dict(layered=mode == "layered", full_object_only=mode == "full")
    for capacity in ((2, 5, 11) if unit else (4.0, 13.5, 30.0)):
        ours = lc.simulate(objects, versions, policy=policy, capacity=capacity, catalog=catalog,
                           per_request=True, **kwargs)
        ref = reference(objects, versions, policy=policy, capacity=capacity, mode=mode,
                        size_of=_size_of(mode, catalog))
        assert ours.per_request.tolist() == ref, capacity


@pytest.mark.parametrize("policy", CLASSIC)
def test_flat_variable_sizes_match_reference(policy):
    rng = np.random.default_rng(5)
    ids = rng.choice(20, size=200, p=rng.dirichlet(np.ones(20)))
    sizes = rng.integers(1, 9, 20)[ids]
    for capacity in (3, 10, 25):
        ours = lc.simulate(ids, policy=policy, capacity=capacity, sizes=sizes, per_request=True)
        ref = reference(ids, policy=policy, capacity=capacity, size_of=lambda t, item: sizes[t])
        assert ours.per_request.tolist() == ref


@pytest.mark.parametrize("unit", [True, False])
def test_belady_bypass_matches_reference(unit):
    objects, versions = _versioned(3)
    catalog = lc.Catalog.unit(12, 3) if unit else _variable_catalog(3)
    for mode in ("layered", "versions"):
        for capacity in ((2, 6) if unit else (5.0, 17.0)):
            ours = lc.simulate(objects, versions, policy="belady", bypass=True, capacity=capacity,
                               catalog=catalog, layered=mode == "layered", per_request=True)
            ref = reference(objects, versions, policy="belady", bypass=True, capacity=capacity, mode=mode,
                            size_of=_size_of(mode, catalog))
            assert ours.per_request.tolist() == ref


def test_result_counts_follow_per_request():
    objects, versions = _versioned(8, n=300)
    catalog = _variable_catalog(8)
    res = lc.simulate(objects, versions, policy="lru", capacity=12.0, catalog=catalog, per_request=True, warmup=50)
    served = res.per_request[50:]
    v = versions[50:]
    assert res.requests == 250
    assert res.hits == int(np.sum(served == v))
    assert res.layers_hit == int(served.sum()) and res.layers_requested == int(v.sum())
    o = objects[50:]
    cum = np.cumsum(catalog.layer_sizes, axis=1)
    assert res.bytes_requested == pytest.approx(cum[o, v - 1].sum())
    hit_bytes = np.where(served > 0, cum[o, np.maximum(served, 1) - 1], 0.0)  # LRU: cached layers are 1..served
    assert res.bytes_hit == pytest.approx(hit_bytes.sum())


@pytest.mark.parametrize("bypass", [False, True])
def test_layered_belady_long_chains_match_reference(bypass):
    # Six layers, top versions rare: a layer's next use often lies several
    # requests for its object ahead, past requests for lower versions only.
    rng = np.random.default_rng(21)
    n, n_obj, n_layers = 400, 10, 6
    objects = rng.choice(n_obj, size=n, p=rng.dirichlet(np.ones(n_obj)))
    versions = rng.choice(np.arange(1, n_layers + 1), size=n, p=[0.4, 0.25, 0.15, 0.1, 0.06, 0.04])
    catalog = lc.Catalog.unit(n_obj, n_layers)
    for capacity in (3, 8, 20):
        ours = lc.simulate(objects, versions, policy="belady", bypass=bypass, capacity=capacity,
                           catalog=catalog, per_request=True)
        ref = reference(objects, versions, policy="belady", bypass=bypass, capacity=capacity, mode="layered")
        assert ours.per_request.tolist() == ref
