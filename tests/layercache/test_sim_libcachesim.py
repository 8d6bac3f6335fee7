"""Hit counts equal libCacheSim's (the peer oracle) exactly on random traces."""

import numpy as np
import pytest

import layercache as lc
from sim_oracles import libcachesim_hits

pytest.importorskip("libcachesim")


def _trace(seed, n=4000, n_obj=300):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(n_obj, 0.3))
    ids = rng.choice(n_obj, size=n, p=p)
    obj_sizes = rng.integers(1, 200, n_obj)
    return ids, obj_sizes[ids]


@pytest.mark.parametrize("policy", ["lru", "fifo", "lfu", "belady"])
@pytest.mark.parametrize("seed", [1, 2])
def test_unit_sizes_equal_libcachesim(policy, seed):
    ids, _ = _trace(seed)
    for capacity in (1, 7, 30, 120):
        ours = lc.simulate(ids, policy=policy, capacity=capacity).hits
        assert ours == libcachesim_hits(ids, policy, capacity), capacity


@pytest.mark.parametrize("policy", ["lru", "fifo", "lfu", "belady"])
@pytest.mark.parametrize("seed", [3, 4])
def test_variable_sizes_equal_libcachesim(policy, seed):
    ids, sizes = _trace(seed)
    for capacity in (150, 1000, 5000, 20000):
        ours = lc.simulate(ids, policy=policy, capacity=capacity, sizes=sizes).hits
        assert ours == libcachesim_hits(ids, policy, capacity, sizes), capacity
