"""Streaming a classic trace from disk equals the in-memory simulation, hit for hit.

The in-memory simulators are held against libcachesim and slow references
elsewhere; here every policy, unit and byte capacity, and windows cut at
awkward places (1, 7, 64 requests, a window the size of the trace) must give
the same counts and the same final cache contents as the in-memory run.
"""

import os
import warnings

import numpy as np
import pytest

import layercache as lc
from layercache.kernels.state import cached_items
from layercache.simulation import POLICIES, _simulate
from layercache.traces import ORACLE_GENERAL_DTYPE, ZeroSizeWarning

DATA = os.path.join(os.path.dirname(__file__), os.pardir, "data")


def make_trace(n=1_500, n_objects=300, seed=4):
    """Zipf-like requests over sparse 64-bit ids, one size per object (bytes)."""
    rng = np.random.default_rng(seed)
    names = rng.integers(2**40, 2**64, size=n_objects, dtype=np.uint64, endpoint=False)
    obj = rng.zipf(1.2, size=n) % n_objects
    obj_sizes = rng.integers(1, 50, size=n_objects)
    return names[obj], obj_sizes[obj]


def split(ids, sizes, pieces=5):
    """The trace as an iterator of (ids, sizes) chunks of uneven lengths."""
    cuts = np.sort(np.random.default_rng(0).choice(np.arange(1, ids.size), pieces - 1, replace=False))
    return zip(np.split(ids, cuts), np.split(sizes, cuts))


def assert_same(streamed, in_memory):
    (res_s, state_s), (res_m, state_m) = streamed, in_memory
    assert (res_s.requests, res_s.hits, res_s.bytes_requested, res_s.bytes_hit) == \
        (res_m.requests, res_m.hits, res_m.bytes_requested, res_m.bytes_hit)
    if res_m.per_request is not None:
        assert isinstance(res_s.per_request, np.memmap)
        np.testing.assert_array_equal(res_s.per_request, res_m.per_request)
    # both remap 64-bit ids in order of first appearance: the same dense ids
    np.testing.assert_array_equal(cached_items(state_s), cached_items(state_m))


@pytest.mark.parametrize("policy", POLICIES)
def test_every_policy_every_window_size(policy):
    ids, sizes = make_trace()
    for chunk in (1, 7, 64, ids.size):
        with lc.stream_trace(split(ids, sizes), chunk_requests=chunk) as staged:
            for size_mode, capacity, warmup in ((None, 40, 0), ("trace", 900, 0), ("trace", 700, 333)):
                memory_sizes = None if size_mode is None else sizes
                streamed = _simulate(staged, None, policy, capacity, None, size_mode, True, warmup, False, False,
                                     True)
                in_memory = _simulate(ids, None, policy, capacity, None, memory_sizes, True, warmup, False, False,
                                      True)
                assert streamed[0].hits > 0
                assert_same(streamed, in_memory)


VERSIONED_MODES = {"layered": (True, False), "versions": (False, False), "full": (True, True)}


@pytest.mark.parametrize("policy", POLICIES)
def test_versioned_every_mode_every_window_size(policy):
    """Layered (accesses run one item at a time, counts summed per request), versions and full-object modes."""
    n_objects, n_layers = 120, 4
    catalog = lc.Catalog.from_profile(n_objects, n_layers, "increasing", overhead=0.1)
    objects, versions = lc.irm_trace(lc.zipf_popularity(n_objects, 0.9), lc.version_profile(n_layers), 1_200, seed=3)
    cut, total_hits = 500, 0
    for chunk in (1, 7, objects.size):
        chunks = iter([(objects[:cut], versions[:cut]), (objects[cut:], versions[cut:])])
        with lc.stream_trace(chunks, catalog=catalog, chunk_requests=chunk) as staged:
            for layered, full_only in VERSIONED_MODES.values():
                # 0.5: layers 3 and 4 cannot sit with their lower layers (S[i, j] > capacity)
                for capacity, warmup in ((0.5, 0), (12.0, 0), (30.0, 111)):
                    if policy in ("s3fifo", "slru") and capacity < 10:
                        continue  # a queue or segment would be empty (refused, as in libCacheSim)
                    (res_s, state_s), (res_m, state_m) = (
                        _simulate(trace, ver, policy, capacity, cat, None, layered, warmup, full_only, False, True)
                        for trace, ver, cat in ((staged, None, None), (objects, versions, catalog)))
                    assert (res_s.mode, res_s.requests, res_s.hits, res_s.layers_requested, res_s.layers_hit) == \
                        (res_m.mode, res_m.requests, res_m.hits, res_m.layers_requested, res_m.layers_hit)
                    np.testing.assert_array_equal(res_s.per_request, res_m.per_request)  # layers served
                    # fractional sizes summed per window: equal up to rounding
                    assert res_s.bytes_hit == pytest.approx(res_m.bytes_hit, rel=1e-12)
                    assert res_s.bytes_requested == pytest.approx(res_m.bytes_requested, rel=1e-12)
                    np.testing.assert_array_equal(cached_items(state_s), cached_items(state_m))
                    total_hits += res_s.hits
    assert total_hits > 0


@pytest.mark.parametrize("table_ids", [1, 37])
def test_ids_past_the_table_spill_to_disk(monkeypatch, table_ids):
    """Past ``table_ids`` distinct ids, staging numbers them by partition on disk: the same hits, ids mapped back."""
    import layercache.spill_remap as spill

    monkeypatch.setattr(spill, "_TABLE_IDS", table_ids)
    monkeypatch.setattr(spill, "_BLOCK", 101)  # the finishing passes in many blocks
    ids, sizes = make_trace(seed=5)
    memory_dense, memory_originals = lc.remap_ids(ids)
    with lc.stream_trace(split(ids, sizes), chunk_requests=64) as staged:
        dense = np.fromfile(staged.directory / "objects.bin", dtype=np.int32)
        assert isinstance(staged.original_ids, np.memmap)
        np.testing.assert_array_equal(staged.original_ids[dense], ids)
        np.testing.assert_array_equal(np.unique(dense), np.arange(staged.n_objects))
        assert staged.n_objects == memory_originals.size
        # the table's ids keep first-appearance order; the spilled ones are numbered after them
        first = memory_dense < table_ids
        np.testing.assert_array_equal(dense[first], memory_dense[first])
        assert dense[~first].min() == table_ids
        assert sorted(os.listdir(staged.directory)) == ["objects.bin", "original_ids.bin", "sizes.bin",
                                                        "versions.bin"]
        for policy in POLICIES:
            for size_mode, capacity in ((None, 40), ("trace", 900)):
                (res_s, state_s), (res_m, state_m) = (
                    _simulate(trace, None, policy, capacity, None, sz, True, 0, False, False, False)
                    for trace, sz in ((staged, size_mode), (ids, None if size_mode is None else sizes)))
                assert (res_s.hits, res_s.bytes_hit, res_s.requests) == (res_m.hits, res_m.bytes_hit, res_m.requests)
                assert res_s.hits > 0
                np.testing.assert_array_equal(np.sort(staged.original_ids[cached_items(state_s)]),
                                              np.sort(memory_originals[cached_items(state_m)]))


def test_versioned_text_file_streams_as_read_versioned_trace(tmp_path):
    """A text trace with a version column (read_versioned_trace's input) staged from the file with a catalog."""
    import pandas as pd

    n_objects, n_layers = 80, 3
    catalog = lc.Catalog.from_profile(n_objects, n_layers, "increasing", overhead=0.1)
    objects, versions = lc.irm_trace(lc.zipf_popularity(n_objects, 0.9), lc.version_profile(n_layers), 900, seed=8)
    frame = pd.DataFrame({"ts": np.arange(objects.size), "object": objects, "ver": versions, "bytes": 7})
    frame.loc[::40, "bytes"] = 0  # skipped, as by the reader
    path = tmp_path / "v.csv"
    frame.to_csv(path, index=False)
    columns = lc.TraceColumns(id="object", version="ver", size="bytes", time="ts")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroSizeWarning)
        ids, vers, _, _ = lc.read_versioned_trace(path, columns=columns)
        staged = lc.stream_trace(path, catalog=catalog, columns=columns, chunk_requests=50)
    assert staged.n_requests == ids.size == 900 - 23
    with staged:
        for policy in ("lru", "belady", "arc"):
            for layered, full_only in VERSIONED_MODES.values():
                got, want = (lc.simulate(trace, ver, policy=policy, capacity=15.0, catalog=cat, layered=layered,
                                         full_object_only=full_only, warmup=100)
                             for trace, ver, cat in ((staged, None, None), (ids, vers, catalog)))
                assert (got.mode, got.requests, got.hits, got.layers_hit) == \
                    (want.mode, want.requests, want.hits, want.layers_hit)
                assert got.hits > 0
    with pytest.raises(ValueError, match="must name a version column"):
        lc.stream_trace(path, catalog=catalog)
    with pytest.raises(ValueError, match="objects must lie in 0..9"):
        lc.stream_trace(path, catalog=lc.Catalog.unit(10, n_layers), columns=columns, zero_sizes="unit")


def test_versioned_chunks_checked_against_the_catalog():
    catalog = lc.Catalog.unit(5, 2)
    with pytest.raises(ValueError, match="versions must lie in 1..2"):
        lc.stream_trace(iter([(np.array([0, 1]), np.array([1, 3]))]), catalog=catalog)
    with pytest.raises(ValueError, match="objects must lie in 0..4"):
        lc.stream_trace(iter([(np.array([0, 5]), np.array([1, 1]))]), catalog=catalog)
    with pytest.raises(ValueError, match="tuple \\(objects, versions\\)"):
        lc.stream_trace(iter([np.array([0, 1])]), catalog=catalog)
    with lc.stream_trace(iter([(np.array([0, 1]), np.array([1, 2]))]), catalog=catalog) as staged:
        with pytest.raises(ValueError, match="bypass is not available when streaming a layered trace"):
            lc.simulate(staged, policy="belady", capacity=2, bypass=True)
        with pytest.raises(ValueError, match="a catalog gives their sizes"):
            lc.simulate(staged, policy="lru", capacity=2, sizes="trace")


def write_raw_oracle(path, ids, sizes):
    """An oracleGeneral file written record by record (sizes may be 0, as in real traces)."""
    rec = np.zeros(ids.size, dtype=ORACLE_GENERAL_DTYPE)
    rec["id"], rec["size"], rec["time"], rec["next_access"] = ids, sizes, np.arange(ids.size), -1
    rec.tofile(path)


@pytest.mark.parametrize("zero_sizes", ["skip", "unit"])
def test_file_with_zero_sizes_as_the_readers(tmp_path, zero_sizes):
    ids, sizes = make_trace(seed=9)
    sizes = np.where(np.arange(ids.size) % 13 == 5, 0, sizes)  # size-0 requests, also of cached objects
    path = tmp_path / "t.oracleGeneral.bin"
    write_raw_oracle(path, ids, sizes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroSizeWarning)
        mem_ids, mem_sizes, _ = lc.read_trace(path, zero_sizes=zero_sizes)
        staged = lc.stream_trace(path, zero_sizes=zero_sizes, chunk_requests=7)
    assert staged.n_requests == mem_ids.size < ids.size + (zero_sizes == "unit")
    with staged:
        for policy in ("lru", "belady", "s3fifo"):
            for size_mode, capacity in ((None, 40), ("trace", 900)):
                memory_sizes = None if size_mode is None else mem_sizes
                assert_same(_simulate(staged, None, policy, capacity, None, size_mode, True, 0, False, False, False),
                            _simulate(mem_ids, None, policy, capacity, None, memory_sizes, True, 0, False, False,
                                      False))


def test_path_and_reader_iterator_directly(tmp_path):
    ids, sizes = make_trace(seed=2)
    path = tmp_path / "t.bin"
    write_raw_oracle(path, ids, sizes)
    expected = lc.simulate(ids, policy="arc", capacity=800, sizes=sizes)
    for source in (path, str(path), lc.iter_trace_chunks(path, chunk_requests=100)):
        got = lc.simulate(source, policy="arc", capacity=800, sizes="trace")
        assert (got.hits, got.bytes_hit, got.requests) == (expected.hits, expected.bytes_hit, expected.requests)


def test_size0_chunks_skipped_with_a_count():
    ids, sizes = make_trace(n=200)
    sizes[[3, 50]] = 0
    with pytest.warns(ZeroSizeWarning, match="skipped 2 of 200"):
        staged = lc.stream_trace(split(ids, sizes))
    with staged:
        assert staged.n_requests == 198
    with pytest.raises(ValueError, match="request 3 .*size 0"):
        lc.stream_trace(split(ids, sizes), zero_sizes="error")


def test_zero_size_warning_names_the_callers_line(tmp_path):
    ids, sizes = make_trace(n=200)
    sizes[[3, 50]] = 0
    path = tmp_path / "t.oracleGeneral.bin"
    write_raw_oracle(path, ids, sizes)
    calls = {
        "stream_trace(chunks)": lambda: lc.stream_trace(split(ids, sizes)).close(),
        "stream_trace(path)": lambda: lc.stream_trace(path, chunk_requests=7).close(),
        "simulate(path)": lambda: lc.simulate(path, policy="lru", capacity=5),
        "read_trace": lambda: lc.read_trace(path),
        "a loop over iter_trace_chunks": lambda: [chunk for chunk in lc.iter_trace_chunks(path, chunk_requests=64)],
    }
    for name, call in calls.items():
        with pytest.warns(ZeroSizeWarning, match="skipped 2 of 200") as caught:
            call()
        assert [os.path.basename(w.filename) for w in caught] == [os.path.basename(__file__)], name


def test_real_csv_sample_streams_as_in_memory():
    path = os.path.join(DATA, "meta_kvcache_sample.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroSizeWarning)
        ids, sizes, _ = lc.read_trace(path)
        staged = lc.stream_trace(path, chunk_requests=97)
    with staged:
        for policy in ("fifo", "lfu", "sieve"):
            capacity = 0.05 * float(sizes.sum())
            got = lc.simulate(staged, policy=policy, capacity=capacity, sizes="trace")
            want = lc.simulate(ids, policy=policy, capacity=capacity, sizes=sizes)
            assert (got.hits, got.bytes_hit) == (want.hits, want.bytes_hit)


def test_id_only_chunks_are_unit_sized():
    ids, _ = make_trace(n=400)
    with lc.stream_trace(iter(np.array_split(ids, 3)), chunk_requests=50) as staged:
        assert not staged.has_sizes
        got = lc.simulate(staged, policy="twoq", capacity=30)
        assert got.hits == lc.simulate(ids, policy="twoq", capacity=30).hits
        with pytest.raises(ValueError, match="sizes=.trace. needs a classic trace with sizes"):
            lc.simulate(staged, policy="lru", capacity=30, sizes="trace")


def test_staged_files_are_removed(tmp_path):
    ids, sizes = make_trace(n=300)
    staged = lc.stream_trace(split(ids, sizes), directory=tmp_path)
    lc.simulate(staged, policy="belady", capacity=100, sizes="trace")
    assert len(os.listdir(tmp_path)) == 1
    staged.close()
    assert os.listdir(tmp_path) == []


def test_empty_trace():
    with lc.stream_trace(iter([np.zeros(0, dtype=np.uint64)])) as staged:
        res = lc.simulate(staged, policy="lru", capacity=3)
    assert (res.requests, res.hits) == (0, 0)


@pytest.mark.parametrize("kwargs, match", [
    ({"versions": np.ones(3, dtype=np.int8)}, "carries its versions and catalog"),
    ({"per_request": 1}, "per_request must be a bool or a file path"),
    ({"full_object_only": True}, "full_object_only needs a versioned trace"),
    ({"sizes": np.ones(3)}, "sizes must be None"),
    ({"warmup": 4}, "warmup must be an integer in 0..3"),
    ({"policy": "lrux"}, "policy must be one of"),
])
def test_bad_arguments(kwargs, match):
    with lc.stream_trace(iter([(np.array([5, 6, 5]), np.array([1, 2, 1]))])) as staged:
        args = {"policy": "lru", "capacity": 2.0, **kwargs}
        with pytest.raises(ValueError, match=match):
            lc.simulate(staged, **args)


def test_per_request_to_a_file(tmp_path):
    ids, sizes = make_trace(n=500)
    want = lc.simulate(ids, policy="s3fifo", capacity=300, sizes=sizes, per_request=True).per_request
    assert want.sum() > 0
    path = tmp_path / "outcomes.npy"
    got = lc.simulate(split(ids, sizes), policy="s3fifo", capacity=300, sizes="trace", per_request=path)
    np.testing.assert_array_equal(got.per_request, want)
    assert not got.per_request.flags.writeable
    np.testing.assert_array_equal(np.load(path), want)  # an .npy file, kept after the temporary staging is gone
    with lc.stream_trace(split(ids, sizes)) as staged:
        first = lc.simulate(staged, policy="lru", capacity=300, sizes="trace", per_request=True).per_request
        second = lc.simulate(staged, policy="lru", capacity=300, per_request=True).per_request
        assert first.filename != second.filename and os.path.dirname(first.filename) == str(staged.directory)
    with pytest.raises(ValueError, match="stage the trace with stream_trace\\(\\) first, or give per_request a file"):
        lc.simulate(split(ids, sizes), policy="lru", capacity=300, per_request=True)
    with pytest.raises(ValueError, match="a file path applies to streamed traces"):
        lc.simulate(ids, policy="lru", capacity=300, per_request=path)
    with lc.stream_trace(iter([np.zeros(0, dtype=np.uint64)])) as staged:
        assert lc.simulate(staged, policy="lru", capacity=3, per_request=True).per_request.shape == (0,)


@pytest.mark.parametrize("chunks, match", [
    ([(np.array([1, 2]), np.array([1, 1])), np.array([3])], "every chunk must carry sizes"),
    ([(np.array([1, 2]),)], "a tuple of 1"),
    ([(np.array([1, 2]), np.array([1]))], "same shape"),
    ([np.array([1.5, 2.0])], "ids must be integers"),
    ([np.array([1, -2])], "negative id"),
])
def test_bad_chunks(chunks, match):
    with pytest.raises(ValueError, match=match):
        lc.stream_trace(iter(chunks))


def test_bad_source_and_options(tmp_path):
    with pytest.raises(ValueError, match="source must be a trace file path or an iterator"):
        lc.stream_trace([1, 2, 3])
    with pytest.raises(ValueError, match="chunk_requests must be an integer >= 1"):
        lc.stream_trace(iter([np.array([1])]), chunk_requests=0)
    with pytest.raises(ValueError, match="format and read options apply to trace files"):
        lc.stream_trace(iter([np.array([1])]), format="csv")
    with pytest.raises(FileNotFoundError):
        lc.simulate(str(tmp_path / "missing.bin"), policy="lru", capacity=1)


@pytest.mark.slow
def test_large_file_streams_as_in_memory(tmp_path):
    """2 x 10^7 requests over 8 x 10^6 objects, written in chunks; the benchmark runs 2 x 10^8.

    About 5 x 10^6 distinct objects: more than staging's in-memory table holds, so ids are also spilled.
    """
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "bench_stream", os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "benchmarks",
                                     "bench_layercache_stream.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    path = tmp_path / "big.oracleGeneral"
    total = bench.build_file(path, 2 * 10**7, 8 * 10**6, 0.8, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroSizeWarning)
        staged = lc.stream_trace(path)
        ids, sizes, _, _ = lc.read_trace(path, remap=True)
    from layercache.spill_remap import _TABLE_IDS

    assert staged.n_objects > _TABLE_IDS and isinstance(staged.original_ids, np.memmap)
    with staged:
        for policy in POLICIES:
            got = lc.simulate(staged, policy=policy, capacity=0.01 * total, sizes="trace")
            want = lc.simulate(ids, policy=policy, capacity=0.01 * total, sizes=sizes)
            assert (got.hits, got.bytes_hit, got.requests) == (want.hits, want.bytes_hit, want.requests), policy
