"""The one-item stack kernel (flat and non-layered unit traces) counts exactly what the general one counts."""

import numpy as np
import pytest

from layercache.kernels.driver import FLAT, VERSIONS
from layercache.kernels.stack import single_pass, stack_pass


def _run(kernel, mode, objects, versions, n_layers, n_items, caps, warmup, groups, n_groups):
    slots = (2 * n_items // 64 + 2) * 64
    last = np.full(n_items, -1, dtype=np.int32)
    live = np.zeros(slots // 64, dtype=np.uint64)
    tree = np.zeros(slots // 64 + 1)
    counts = np.empty(slots // 64, dtype=np.int64)
    weight = np.empty(0)
    hits = np.zeros(n_groups * caps.size, dtype=np.int64)
    lookup = np.minimum(np.searchsorted(caps, np.arange(66) * (caps[-1] / 64)), caps.size - 1)
    if kernel == "single":
        single_pass(mode, objects, versions, n_layers, caps, 0, caps.size, lookup, warmup, groups, last, weight, live,
                    tree, counts, hits)
    else:
        stack_pass(mode, objects, versions, n_layers, np.ones(n_items), np.ones(n_items), np.empty(0), np.empty(0),
                   caps[0], caps, 0,
                   caps.size, lookup, warmup, groups, last, weight, live, tree, counts, hits, np.zeros_like(hits),
                   np.zeros(hits.size))
    return hits


@pytest.mark.parametrize("mode", [FLAT, VERSIONS])
@pytest.mark.parametrize("seed", [0, 1])
def test_single_item_kernel_equals_the_general_kernel(mode, seed):
    # 20,000 requests over 300 objects: the 704 slots are recycled ~40 times; groups as SHARDS passes them
    rng = np.random.default_rng(seed)
    n_obj, n_layers = 300, 3
    objects = rng.choice(n_obj, size=20_000, p=rng.dirichlet(np.full(n_obj, 0.2))).astype(np.int32)
    versions = rng.integers(1, n_layers + 1, objects.size).astype(np.int8)
    n_items = n_obj * n_layers if mode == VERSIONS else n_obj
    caps = np.unique(rng.uniform(1, n_items, 200).round(1))
    groups = rng.integers(0, 4, objects.size)
    args = (mode, objects, versions, n_layers, n_items, caps, 1500, groups, 4)
    single = _run("single", *args)
    assert np.array_equal(single, _run("general", *args))
    assert single.sum() > objects.size // 2  # hits at many capacities, in every group
    assert np.all(single.reshape(4, -1).sum(axis=1) > 0)
