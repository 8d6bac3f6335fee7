"""Dense id remapping: against a dict reference, across chunks, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layercache import remap as remap_module
from layercache.remap import IdRemapper, remap_ids


def dict_remap(ids):
    """Slow reference: first-appearance dense ids with a dict."""
    table, dense = {}, []
    for x in ids:
        dense.append(table.setdefault(int(x), len(table)))
    return np.array(dense, dtype=np.int64), np.array(list(table), dtype=np.uint64)


def random_raw_ids(rng, n, n_distinct):
    pool = rng.integers(0, 2**64, size=n_distinct, dtype=np.uint64, endpoint=False)
    pool[: min(2, n_distinct)] = [0, 2**64 - 1][: min(2, n_distinct)]
    return pool[rng.integers(0, n_distinct, size=n)]


def test_hand_example():
    dense, original = remap_ids(np.array([900, 7, 900, 5, 7], dtype=np.uint64))
    assert dense.tolist() == [0, 1, 0, 2, 1]
    assert dense.dtype == np.int32
    assert original.tolist() == [900, 7, 5]
    assert original.dtype == np.uint64


def test_matches_dict_reference_on_random_64bit_ids():
    rng = np.random.default_rng(1)
    ids = random_raw_ids(rng, 50_000, 9_000)  # > 4096 initial slots: the table grows
    dense, original = remap_ids(ids)
    ref_dense, ref_original = dict_remap(ids)
    np.testing.assert_array_equal(dense, ref_dense)
    np.testing.assert_array_equal(original, ref_original)
    np.testing.assert_array_equal(original[dense], ids)


@pytest.mark.parametrize("stride_bits", [0, 20, 32, 48, 58])
def test_structured_ids_do_not_break_the_hash(stride_bits):
    # multiples of large powers of two collide under a plain modulo hash
    ids = (np.arange(20_000, dtype=np.uint64) << np.uint64(stride_bits))[::-1]
    ids = np.concatenate([ids, ids[::3]])
    dense, original = remap_ids(ids)
    ref_dense, _ = dict_remap(ids)
    np.testing.assert_array_equal(dense, ref_dense)
    np.testing.assert_array_equal(original[dense], ids)


def test_chunks_are_consistent_with_whole_array():
    rng = np.random.default_rng(2)
    ids = random_raw_ids(rng, 30_000, 7_000)
    whole, original = remap_ids(ids)
    cuts = np.sort(rng.integers(0, ids.size, size=12))
    remapper = IdRemapper()  # starts small and grows across chunks
    parts = [remapper(chunk) for chunk in np.split(ids, cuts)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    np.testing.assert_array_equal(remapper.original_ids, original)
    assert remapper.n_ids == original.size


def test_signed_ids_and_out_argument():
    ids = np.array([-1, 3, -1, -(2**63)], dtype=np.int64)
    dense, original = remap_ids(ids)
    assert dense.tolist() == [0, 1, 0, 2]
    np.testing.assert_array_equal(original.view(np.int64), [-1, 3, -(2**63)])
    remapper = IdRemapper(dtype=np.int64)
    out = np.full(4, -7, dtype=np.int64)
    assert remapper(ids, out=out) is out
    assert out.tolist() == [0, 1, 0, 2]


def test_widen_keeps_ids():
    remapper = IdRemapper()
    first = remapper([10, 20, 10])
    remapper.widen()
    second = remapper([20, 30])
    assert first.dtype == np.int32 and second.dtype == np.int64
    assert second.tolist() == [1, 2]


def test_empty_input():
    dense, original = remap_ids(np.zeros(0, dtype=np.uint64))
    assert dense.size == 0 and original.size == 0
    assert remap_ids([])[0].size == 0


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([1.5, 2.0]), "integers"),
        (np.zeros((2, 2), dtype=np.int64), "1-D"),
        (np.array([True, False]), "integers"),
    ],
)
def test_bad_ids(bad, match):
    with pytest.raises(ValueError, match=match):
        remap_ids(bad)


def test_bad_remapper_arguments():
    with pytest.raises(ValueError, match="int32 or int64"):
        IdRemapper(dtype=np.float64)
    with pytest.raises(ValueError, match="expected_ids"):
        IdRemapper(expected_ids=-1)
    with pytest.raises(ValueError, match="out must be"):
        IdRemapper()([1, 2], out=np.empty(2, dtype=np.int64))


def test_kernels_run_as_plain_python(monkeypatch):
    # NUMBA_DISABLE_JIT equivalent for this module: the Python bodies of the kernels
    for name in ("_remap_kernel", "_rebuild_kernel", "_slot"):
        kernel = getattr(remap_module, name)
        monkeypatch.setattr(remap_module, name, getattr(kernel, "py_func", kernel))
    monkeypatch.setattr(remap_module, "prefetch", lambda arr, i: None)  # a JIT intrinsic; a no-op hint
    rng = np.random.default_rng(3)
    ids = random_raw_ids(rng, 6_000, 3_000)
    remapper = IdRemapper()
    dense = np.concatenate([remapper(ids[:2500]), remapper(ids[2500:])])
    np.testing.assert_array_equal(dense, dict_remap(ids)[0])


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=200),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=4),
)
def test_property_chunked_remap_equals_reference(ids, cuts):
    arr = np.array(ids, dtype=np.uint64)
    ref_dense, ref_original = dict_remap(ids)
    remapper = IdRemapper()
    parts = [remapper(c) for c in np.split(arr, sorted(min(c, arr.size) for c in cuts))]
    np.testing.assert_array_equal(np.concatenate(parts) if parts else [], ref_dense)
    np.testing.assert_array_equal(remapper.original_ids, ref_original)
