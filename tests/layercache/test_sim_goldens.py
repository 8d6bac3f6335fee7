"""Hand-traced goldens on ten-request traces (the traces are in each test's comments)."""

import numpy as np
import pytest

import layercache as lc
from sim_oracles import policies_for

# ids 0,1,0,2,0,1,2,2,0,1 with a cache of 2 unit items
FLAT = np.array([0, 1, 0, 2, 0, 1, 2, 2, 0, 1])


@pytest.mark.parametrize(
    "policy, served",
    [
        # LRU: hits at t=2 (0), 4 (0), 7 (2)
        ("lru", [0, 0, 1, 0, 1, 0, 0, 1, 0, 0]),
        # FIFO: 0 is evicted at t=3 although it hit at t=2; hits at t=2, 7
        ("fifo", [0, 0, 1, 0, 0, 0, 0, 1, 0, 0]),
        # LFU (count, stamp): t=3 evicts 1 (1,1); t=5 evicts 2; t=6 evicts 1; t=9 evicts 2 (2,7) not 0 (4,8)
        ("lfu", [0, 0, 1, 0, 1, 0, 0, 1, 1, 0]),
        ("perfect_lfu", [0, 0, 1, 0, 1, 0, 0, 1, 1, 0]),
        # Belady, next uses 0->2,4,8 1->5,9 2->6,7: t=3 evicts 1 (@5), t=5 evicts 0 (@8), t=8 evicts 2 (never)
        ("belady", [0, 0, 1, 0, 1, 0, 1, 1, 0, 1]),
    ],
)
def test_flat_unit_goldens(policy, served):
    res = lc.simulate(FLAT, policy=policy, capacity=2, per_request=True)
    assert res.per_request.tolist() == served
    assert res.hits == sum(served) and res.requests == 10
    assert res.hit_ratio == pytest.approx(sum(served) / 10)
    assert res.layer_hit_ratio is None and res.mode == "flat"


# ids 0,1,1,0,2,2,1,0,2,0 with a cache of 2 unit items: LFU evictions among equal counts
LFU_TIES = np.array([0, 1, 1, 0, 2, 2, 1, 0, 2, 0])


@pytest.mark.parametrize(
    "policy, served",
    [
        # in-cache LFU (count, time the count was reached): t3 0 and 1 both at 2; t4 evicts 1 (2,@2), not
        # 0 (2,@3): the count reached first leaves first (libCacheSim's rule; inserted-first or
        # newest-first would evict 0); t6 evicts 0 (2,@3) before 2 (2,@5); t7 evicts 1 (1); t8, t9 hit
        ("lfu", [0, 0, 1, 1, 0, 1, 0, 0, 1, 1]),
        # perfect LFU counts every request: t6 evicts 0 (2,@3), 1 enters at (3,@6); t7 evicts 2 (2,@5),
        # 0 enters at (3,@7); t8 evicts 1 (3,@6) before 0 (3,@7); t9 hits
        ("perfect_lfu", [0, 0, 1, 1, 0, 1, 0, 0, 0, 1]),
    ],
)
def test_lfu_count_tie_goldens(policy, served):
    res = lc.simulate(LFU_TIES, policy=policy, capacity=2, per_request=True)
    assert res.per_request.tolist() == served


def test_lfu_count_tie_golden_equals_libcachesim():
    pytest.importorskip("libcachesim")
    from sim_oracles import libcachesim_hits

    hits = lc.simulate(LFU_TIES, policy="lfu", capacity=2).hits
    assert libcachesim_hits(LFU_TIES, "lfu", 2) == hits == 5  # the other tie rules give 4


def test_belady_bypass_golden():
    # t=3: 2 (@6) is needed later than all cached (0@4, 1@5): bypassed; t=6: 2 (@7) replaces 1 (@9);
    # t=9: 1 is never used again: bypassed
    res = lc.simulate(FLAT, policy="belady", capacity=2, bypass=True, per_request=True)
    assert res.per_request.tolist() == [0, 0, 1, 0, 1, 1, 0, 1, 1, 0]


def test_warmup_skips_first_requests():
    res = lc.simulate(FLAT, policy="lru", capacity=2, warmup=3)
    assert (res.requests, res.hits) == (7, 2)  # hits at t=4 and t=7


# (object, version) trace, 3 unit layers per object
OBJ = np.array([0, 1, 0, 0, 1, 0, 1, 0, 2, 0])
VER = np.array([2, 1, 1, 3, 2, 1, 1, 2, 1, 1])


def test_layered_lru_golden():
    # cache 3, MRU last:
    # t0 (0,2): [02 01]  t1 (1,1): [02 01 11]  t2 (0,1) hit: [02 11 01]
    # t3 (0,3): 03 evicts 02, 02 evicts 11, 01 hits: [03 02 01] (1 of 3 layers)
    # t4 (1,2): [02 01 12] then [01 12 11]   t5 (0,1) hit   t6 (1,1) hit
    # t7 (0,2): 02 evicts 12, 01 hits (1 of 2)   t8 (2,1) evicts 11   t9 (0,1) hit
    res = lc.simulate(OBJ, VER, policy="lru", capacity=3, catalog=lc.Catalog.unit(3, 3), per_request=True)
    assert res.per_request.tolist() == [0, 0, 1, 1, 0, 1, 1, 1, 0, 1]
    assert (res.hits, res.layers_requested, res.layers_hit) == (4, 15, 6)
    assert res.layer_hit_ratio == pytest.approx(6 / 15)
    assert res.byte_hit_ratio == pytest.approx(6 / 15)  # unit layers


def test_nonlayered_lru_golden():
    # items are versions: only t5 (0,1) hits, every other request evicts before its item returns
    res = lc.simulate(OBJ, VER, policy="lru", capacity=3, catalog=lc.Catalog.unit(3, 3), layered=False)
    assert (res.hits, res.mode) == (1, "versions")
    assert res.layer_hit_ratio is None


def test_full_object_only_golden():
    # objects 0,1,0,0,1,0,1,0,2,0 with room for 2 full objects: only t0, t1, t8 miss
    cat = lc.Catalog.from_version_sizes(np.tile([1.0, 2.0, 4.0], (3, 1)))
    res = lc.simulate(OBJ, VER, policy="lru", capacity=8, catalog=cat, full_object_only=True)
    assert (res.hits, res.mode) == (7, "full")
    requested = cat.version_sizes[OBJ, VER - 1]
    assert res.bytes_requested == requested.sum()
    assert res.bytes_hit == requested.sum() - requested[[0, 1, 8]].sum()


def test_variable_size_lru_golden():
    # sizes 0:2 1:1 2:3 3:1, cache 4; only t6 (object 0) hits
    ids = np.array([0, 1, 2, 0, 3, 1, 0, 2, 3, 0])
    sizes = np.array([2, 1, 3, 1])[ids]
    res = lc.simulate(ids, policy="lru", capacity=4, sizes=sizes, per_request=True)
    assert res.per_request.tolist() == [0, 0, 0, 0, 0, 0, 1, 0, 0, 0]
    assert (res.bytes_requested, res.bytes_hit) == (18.0, 2.0)


def test_item_larger_than_cache_is_never_admitted():
    ids = np.array([0, 0, 1, 1, 0])
    sizes = np.array([5, 5, 1, 1, 5])
    for policy in policies_for(4):
        res = lc.simulate(ids, policy=policy, capacity=4, sizes=sizes, per_request=True)
        assert res.per_request.tolist() == [0, 0, 0, 1, 0], policy
