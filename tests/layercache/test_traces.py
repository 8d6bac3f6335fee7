"""Trace files: round trips, chunked reading, libcachesim compatibility, bad input."""

import numpy as np
import pandas as pd
import pytest
import zstandard

from layercache.remap import remap_ids
from layercache.traces import (
    ORACLE_GENERAL_DTYPE,
    detect_trace_format,
    iter_trace_chunks,
    oracle_next_access,
    read_csv_trace,
    read_oracle_general,
    read_trace,
    write_oracle_general,
    ZeroSizeWarning,
)


def make_trace(n=5_000, n_objects=400, seed=0):
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 2**64, size=n_objects, dtype=np.uint64, endpoint=False)
    pool[:2] = [0, 2**64 - 1]
    ids = pool[rng.zipf(1.3, size=n) % n_objects]
    sizes = rng.integers(1, 2**32, size=n)
    times = np.sort(rng.integers(0, 2**32, size=n))
    return ids, sizes, times


def next_access_reference(ids):
    """Slow reference: 1-based index of the next request for the same id, -1 if none."""
    last, out = {}, [-1] * len(ids)
    for t in range(len(ids) - 1, -1, -1):
        out[t] = last.get(int(ids[t]), -1)
        last[int(ids[t])] = t + 1
    return np.array(out, dtype=np.int64)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", ["t.bin", "t.oracleGeneral.bin.zst", "t.oracleGeneral"])
def test_oracle_general_round_trip(tmp_path, name):
    ids, sizes, times = make_trace()
    path = tmp_path / name
    write_oracle_general(path, ids, sizes, times, chunk_requests=777)
    got_ids, got_sizes, got_times = read_trace(path)
    np.testing.assert_array_equal(got_ids, ids)
    np.testing.assert_array_equal(got_sizes, sizes)
    np.testing.assert_array_equal(got_times, times)
    assert (got_ids.dtype, got_sizes.dtype, got_times.dtype) == (np.uint64, np.int64, np.float64)
    explicit = read_oracle_general(path)
    np.testing.assert_array_equal(explicit[0], ids)


@pytest.mark.parametrize("name", ["t.bin", "t.bin.zst"])
@pytest.mark.parametrize("chunk", [1, 333, 4_999, 5_000, 10**6])
def test_chunked_equals_whole(tmp_path, name, chunk):
    ids, sizes, times = make_trace()
    path = tmp_path / name
    write_oracle_general(path, ids, sizes, times)
    chunks = list(iter_trace_chunks(path, chunk_requests=chunk))
    assert all(1 <= c[0].size <= chunk for c in chunks)
    for k, whole in enumerate((ids, sizes, times)):
        np.testing.assert_array_equal(np.concatenate([c[k] for c in chunks]), whole)
    dense, rs, rt, original = read_trace(path, remap=True, chunk_requests=chunk)
    ref_dense, ref_original = remap_ids(ids)
    np.testing.assert_array_equal(dense, ref_dense)
    np.testing.assert_array_equal(original, ref_original)
    np.testing.assert_array_equal(rs, sizes)
    assert dense.dtype == np.int32


@pytest.mark.parametrize("name, bound_mib", [("big.bin", 2), ("big.bin.zst", 12)])
def test_chunked_reading_memory_is_bounded(tmp_path, name, bound_mib):
    """Files larger than memory: peak allocation depends on the chunk, not the file."""
    import tracemalloc

    n = 1_000_000  # 24 MB of records
    ids = np.random.default_rng(7).integers(0, 2**64, size=n, dtype=np.uint64, endpoint=False)
    write_oracle_general(tmp_path / name, ids)
    del ids
    tracemalloc.start()
    try:
        count = sum(chunk[0].size for chunk in iter_trace_chunks(tmp_path / name, chunk_requests=10_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == n
    assert peak < bound_mib * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_defaults_and_empty_trace(tmp_path):
    write_oracle_general(tmp_path / "d.bin", [5, 9, 5])
    ids, sizes, times = read_trace(tmp_path / "d.bin")
    assert ids.tolist() == [5, 9, 5] and sizes.tolist() == [1, 1, 1] and times.tolist() == [0, 1, 2]
    for name in ("e.bin", "e.bin.zst"):
        write_oracle_general(tmp_path / name, np.zeros(0, dtype=np.uint64))
        out = read_trace(tmp_path / name, remap=True)
        assert [a.size for a in out] == [0, 0, 0, 0]


def test_zstd_without_content_size_and_multiple_frames(tmp_path):
    ids, sizes, times = make_trace()
    write_oracle_general(tmp_path / "p.bin", ids, sizes, times)
    payload = (tmp_path / "p.bin").read_bytes()
    half = 24 * 2_000
    compressor = zstandard.ZstdCompressor(write_content_size=False)
    frames = compressor.compress(payload[:half]) + compressor.compress(payload[half:])
    (tmp_path / "m.bin.zst").write_bytes(frames)
    got = read_trace(tmp_path / "m.bin.zst")
    np.testing.assert_array_equal(got[0], ids)
    np.testing.assert_array_equal(got[1], sizes)


def test_csv_round_trip_with_and_without_header(tmp_path):
    ids, sizes, times = make_trace(n=2_000)
    frame = pd.DataFrame({"time": times / 8, "id": ids, "size": sizes})
    frame.to_csv(tmp_path / "h.csv", index=False)
    frame.to_csv(tmp_path / "n.csv", index=False, header=False)
    frame.to_csv(tmp_path / "z.csv.zst", index=False, header=False)
    frame.to_csv(tmp_path / "s.txt", index=False, sep=" ")
    for name, kwargs in [("h.csv", {}), ("n.csv", {}), ("z.csv.zst", {}), ("s.txt", {"delimiter": " "})]:
        got_ids, got_sizes, got_times = read_trace(tmp_path / name, **kwargs)
        np.testing.assert_array_equal(got_ids, ids)
        np.testing.assert_array_equal(got_sizes, sizes)
        np.testing.assert_array_equal(got_times, times / 8)
    chunks = list(iter_trace_chunks(tmp_path / "h.csv", chunk_requests=300))
    np.testing.assert_array_equal(np.concatenate([c[0] for c in chunks]), ids)
    dense, _, _, original = read_csv_trace(tmp_path / "h.csv", remap=True)
    np.testing.assert_array_equal(original[dense], ids)
    assert dense.dtype == np.int32


@pytest.mark.parametrize(
    "text, ids",
    [("time,id,size\r\n1,2,3\r\n4,5,6\r\n", [2, 5]), ("1,2,3\n4,5,6", [2, 5])],
)
def test_csv_edge_layouts(tmp_path, text, ids):
    (tmp_path / "e.csv").write_bytes(text.encode())
    got_ids, got_sizes, got_times = read_trace(tmp_path / "e.csv")
    assert got_ids.tolist() == ids and got_sizes.size == got_times.size == len(ids)


@pytest.mark.parametrize(
    "text, match",
    [("", "is empty"), ("time,id,size\n", "has a header but no requests"), ("\n\n1,2,3\n", "line 1 is empty")],
)
def test_csv_without_requests(tmp_path, text, match):
    (tmp_path / "e.csv").write_bytes(text.encode())
    with pytest.raises(ValueError, match=match):
        read_trace(tmp_path / "e.csv")


def test_numpy_files(tmp_path):
    ids, sizes, times = make_trace(n=1_000)
    records = np.zeros(ids.size, dtype=ORACLE_GENERAL_DTYPE)
    records["id"], records["size"], records["time"] = ids, sizes, times
    np.save(tmp_path / "r.npy", records)
    np.save(tmp_path / "i.npy", ids)
    np.savez(tmp_path / "a.npz", ids=ids, sizes=sizes, times=times)
    np.savez(tmp_path / "b.npz", ids=ids)
    for name in ("r.npy", "a.npz"):
        got = read_trace(tmp_path / name, chunk_requests=128)
        for k, want in enumerate((ids, sizes, times)):
            np.testing.assert_array_equal(got[k], want)
    for name in ("i.npy", "b.npz"):
        got_ids, got_sizes, got_times = read_trace(tmp_path / name)
        np.testing.assert_array_equal(got_ids, ids)
        assert (got_sizes == 1).all() and (got_times == np.arange(ids.size)).all()


def test_format_detection():
    assert detect_trace_format("a/w.oracleGeneral.bin.zst") == ("oracleGeneral", True)
    assert detect_trace_format("cluster52.oracleGeneral") == ("oracleGeneral", False)
    assert detect_trace_format("x.CSV") == ("csv", False)
    assert detect_trace_format("x.txt.zst") == ("csv", True)
    assert detect_trace_format("x.npz") == ("npz", False)
    with pytest.raises(ValueError, match="format="):
        detect_trace_format("trace.dat")


def test_explicit_format_overrides_name(tmp_path):
    ids, sizes, times = make_trace(n=100)
    write_oracle_general(tmp_path / "trace.dat", ids, sizes, times)
    np.testing.assert_array_equal(read_trace(tmp_path / "trace.dat", format="oracleGeneral")[0], ids)


def test_zero_sizes_skip_unit_or_error(tmp_path):
    records = np.zeros(4, dtype=ORACLE_GENERAL_DTYPE)
    records["id"], records["size"] = [5, 6, 7, 5], [10, 0, 3, 10]
    records.tofile(tmp_path / "z.bin")
    with pytest.raises(ValueError, match=r"request 1 \(0-based\) has size 0.*zero_sizes='skip'"):
        read_trace(tmp_path / "z.bin", zero_sizes="error")
    with pytest.warns(ZeroSizeWarning, match="skipped 1 of 4 requests of size 0"):
        ids, sizes, times = read_trace(tmp_path / "z.bin")  # the default: skip, counted
    assert ids.tolist() == [5, 7, 5] and sizes.tolist() == [10, 3, 10] and times.tolist() == [0, 0, 0]
    ids, sizes, _ = read_trace(tmp_path / "z.bin", zero_sizes="unit")
    assert ids.tolist() == [5, 6, 7, 5] and sizes.tolist() == [10, 1, 3, 10]


def test_zero_size_choice_is_libcachesims_and_belady_sees_the_filtered_trace(tmp_path):
    lcs = pytest.importorskip("libcachesim")
    import layercache as lc

    ids, _, times = make_trace(n=3000)
    sizes = (ids % np.uint64(97)).astype(np.int64) + 1  # one size per object
    sizes[::7] = 0
    kept = sizes > 0
    records = np.zeros(ids.size, dtype=ORACLE_GENERAL_DTYPE)  # the writer refuses size 0; real files have it
    records["id"], records["size"], records["time"], records["next_access"] = ids, sizes, times, -1
    records.tofile(tmp_path / "z.bin")
    with pytest.warns(ZeroSizeWarning, match=f"skipped {int((~kept).sum())} of 3000"):
        r_ids, r_sizes, _ = read_trace(tmp_path / "z.bin")
    np.testing.assert_array_equal(r_ids, ids[kept])
    for capacity in (50, 400):
        reader = lcs.TraceReader(str(tmp_path / "z.bin"), lcs.TraceType.ORACLE_GENERAL_TRACE)
        miss_ratio, _ = lcs.LRU(capacity).process_trace(reader)  # libCacheSim drops size 0 by default
        ours = lc.simulate(r_ids, policy="lru", capacity=capacity, sizes=r_sizes)
        assert ours.hits == round((1 - miss_ratio) * r_ids.size)
        # Belady's next uses come from the trace after the choice, not from the file's field
        belady = lc.simulate(r_ids, policy="belady", capacity=capacity, sizes=r_sizes)
        direct = lc.simulate(ids[kept], policy="belady", capacity=capacity, sizes=sizes[kept])
        assert belady.hits == direct.hits


# --------------------------------------------------------------------------- next access


def test_next_access_matches_reference():
    ids, _, _ = make_trace(n=3_000)
    np.testing.assert_array_equal(oracle_next_access(ids), next_access_reference(ids))
    assert oracle_next_access([4, 4, 8, 4]).tolist() == [2, 4, -1, -1]


def test_written_next_access(tmp_path):
    ids, sizes, times = make_trace(n=500)
    write_oracle_general(tmp_path / "n.bin", ids, sizes, times, next_access=True)
    write_oracle_general(tmp_path / "u.bin", ids, sizes, times)
    written = np.fromfile(tmp_path / "n.bin", dtype=ORACLE_GENERAL_DTYPE)["next_access"]
    np.testing.assert_array_equal(written, next_access_reference(ids))
    assert (np.fromfile(tmp_path / "u.bin", dtype=ORACLE_GENERAL_DTYPE)["next_access"] == -1).all()
    # never trusted: both files read the same
    for a, b in zip(read_trace(tmp_path / "n.bin"), read_trace(tmp_path / "u.bin")):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- libcachesim


def libcachesim_requests(path):
    import libcachesim as lcs

    reader = lcs.TraceReader(str(path), lcs.TraceType.ORACLE_GENERAL_TRACE)
    rows = [(r.obj_id, r.obj_size, r.clock_time, r.next_access_vtime) for r in reader]
    return [np.array([row[k] for row in rows], dtype=dt) for k, dt in enumerate((np.uint64, np.int64, np.int64, np.int64))]


@pytest.mark.parametrize("name", ["c.oracleGeneral.bin", "c.oracleGeneral.bin.zst"])
def test_libcachesim_reads_our_files(tmp_path, name):
    ids, sizes, times = make_trace(n=3_000)
    path = tmp_path / name
    write_oracle_general(path, ids, sizes, times, next_access=True)
    got_ids, got_sizes, got_times, got_next = libcachesim_requests(path)
    np.testing.assert_array_equal(got_ids, ids)
    np.testing.assert_array_equal(got_sizes, sizes)
    np.testing.assert_array_equal(got_times, times)
    ref = next_access_reference(ids)
    np.testing.assert_array_equal(got_next, np.where(ref < 0, np.iinfo(np.int64).max, ref))


def test_we_read_libcachesims_own_conversion(tmp_path):
    """libCacheSim converts a CSV to oracleGeneral; we read it and agree on next access."""
    import libcachesim as lcs

    rng = np.random.default_rng(4)
    ids = rng.integers(1, 2**63, size=80, dtype=np.uint64)[rng.integers(0, 80, size=1_000)]
    sizes = rng.integers(1, 10_000, size=ids.size)
    times = np.arange(ids.size) * 3
    pd.DataFrame({"t": times, "id": ids, "s": sizes}).to_csv(tmp_path / "in.csv", index=False, header=False)
    params = lcs.ReaderInitParam()
    params.time_field, params.obj_id_field, params.obj_size_field = 1, 2, 3
    params.has_header, params.delimiter, params.obj_id_is_num = False, ",", True
    reader = lcs.TraceReader(str(tmp_path / "in.csv"), lcs.TraceType.CSV_TRACE, params)
    out = tmp_path / "conv.oracleGeneral.bin"
    lcs.Util.convert_to_oracleGeneral(reader._reader, str(out))
    got_ids, got_sizes, got_times = read_trace(out)
    np.testing.assert_array_equal(got_ids, ids)
    np.testing.assert_array_equal(got_sizes, sizes)
    np.testing.assert_array_equal(got_times, times)
    written = np.fromfile(out, dtype=ORACLE_GENERAL_DTYPE)["next_access"]
    np.testing.assert_array_equal(written, oracle_next_access(ids))


def slow_belady_hits(ids, capacity):
    """Brute-force MIN, unit sizes, demand paging."""
    positions = {}
    for t, x in enumerate(ids):
        positions.setdefault(int(x), []).append(t)
    cursor = {x: 0 for x in positions}
    cache, hits = set(), 0
    for t, x in enumerate(map(int, ids)):
        cursor[x] += 1
        if x in cache:
            hits += 1
            continue
        if len(cache) >= capacity:

            def next_use(y):
                p = positions[y]
                return p[cursor[y]] if cursor[y] < len(p) else float("inf")

            cache.remove(max(cache, key=next_use))
        cache.add(x)
    return hits


def test_libcachesim_belady_uses_our_next_access(tmp_path):
    import libcachesim as lcs

    rng = np.random.default_rng(5)
    ids = rng.integers(0, 2**64, size=60, dtype=np.uint64)[rng.zipf(1.2, size=2_000) % 60]
    path = tmp_path / "b.oracleGeneral.bin"
    write_oracle_general(path, ids, next_access=True)
    for capacity in (5, 20):
        reader = lcs.TraceReader(str(path), lcs.TraceType.ORACLE_GENERAL_TRACE)
        miss_ratio, _ = lcs.Belady(capacity).process_trace(reader)
        assert round((1 - miss_ratio) * ids.size) == slow_belady_hits(ids, capacity)


# --------------------------------------------------------------------------- bad input


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="nowhere.bin"):
        read_trace("/nonexistent/nowhere.bin")


def test_directory_is_not_a_trace(tmp_path):
    (tmp_path / "d.bin").mkdir()
    with pytest.raises(ValueError, match="not a regular file"):
        read_trace(tmp_path / "d.bin")


def test_truncated_plain_file(tmp_path):
    write_oracle_general(tmp_path / "t.bin", np.arange(10))
    data = (tmp_path / "t.bin").read_bytes()
    (tmp_path / "t.bin").write_bytes(data[:-5])
    with pytest.raises(ValueError, match=r"t\.bin.*235 bytes, not a multiple of the 24-byte.*9 records and 19"):
        read_trace(tmp_path / "t.bin")
    with pytest.raises(ValueError, match="not a multiple"):
        next(iter_trace_chunks(tmp_path / "t.bin"))


def test_compressed_file_without_zst_suffix(tmp_path):
    blob = zstandard.ZstdCompressor().compress(bytes(24 * 100))
    (tmp_path / "w.bin").write_bytes(blob + bytes(-len(blob) % 24))  # aligned, so only the magic tells
    with pytest.raises(ValueError, match=r"w\.bin.*zstd magic number"):
        read_trace(tmp_path / "w.bin")


def test_zstd_payload_not_whole_records(tmp_path):
    (tmp_path / "m.bin.zst").write_bytes(zstandard.ZstdCompressor().compress(bytes(24 * 10 + 7)))
    with pytest.raises(ValueError, match=r"m\.bin\.zst.*decompressed size 247 bytes is not a multiple of the 24"):
        read_trace(tmp_path / "m.bin.zst")


def test_zstd_truncated_inside_frame(tmp_path):
    ids, sizes, times = make_trace()
    write_oracle_general(tmp_path / "t.bin.zst", ids, sizes, times)
    data = (tmp_path / "t.bin.zst").read_bytes()
    (tmp_path / "t.bin.zst").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"t\.bin\.zst.*ends inside a frame"):
        read_trace(tmp_path / "t.bin.zst")


@pytest.mark.parametrize("damage", ["garbage", "flipped", "empty"])
def test_corrupt_zstd(tmp_path, damage):
    path = tmp_path / "c.bin.zst"
    ids, sizes, times = make_trace()
    write_oracle_general(path, ids, sizes, times)
    data = bytearray(path.read_bytes())
    if damage == "garbage":
        data = b"this is not zstd" * 10
    elif damage == "flipped":
        mid = len(data) // 2
        data[mid : mid + 16] = bytes(b ^ 0xFF for b in data[mid : mid + 16])
    else:
        data = b""
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"c\.bin\.zst.*(corrupt zstd|empty|ends inside)"):
        read_trace(path)


@pytest.mark.parametrize(
    "text, match",
    [
        ("1,5\n2,6\n", "line 1 has 2 fields"),
        ("1,5,10,3\n", "line 1 has 4 fields"),
        ("time,id,size\n1,5,10\n2,6,7,9\n", "line 3 has 4 fields"),
        ("1,5,10\n2,6\n", "line 2 has 2 fields"),
        ("1,5,10\n2,abc,10\n", "line 2 id 'abc' is not a non-negative decimal integer.*id_type='str'"),
        ("1,5,10\n2,-5,10\n", "line 2 id '-5' is not a non-negative decimal integer"),
        ("1,18446744073709551616,10\n", "line 1 id .* is outside"),
        ("1,5,10\nx,6,10\n", "line 2 time 'x' is not a number"),
        ("1,5,10\n2,6,1.5\n", "line 2 size '1.5' is not an integer"),
        ("1,5,10\n2,6,-3\n", "line 2 size '-3' is outside 0..2\\*\\*63-1"),
        ("1,5,0\n", "request 0 .* has size 0"),
        ("1,5,99999999999999999999\n", "line 1 size .* is outside 0..2\\*\\*63-1"),
        ("1,5,10\nnan,6,10\n", "line 2 time 'nan' is not finite"),
        ("1,5,10\n2,6,\n", "line 2 size '' is not an integer"),
    ],
)
def test_malformed_csv(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"bad\.csv.*" + match):
        read_trace(path, zero_sizes="error")


def test_bad_numpy_files(tmp_path):
    np.savez(tmp_path / "a.npz", ids=np.arange(5), sizes=np.ones(4))
    with pytest.raises(ValueError, match="'sizes' must be 1-D with one entry per request"):
        read_trace(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", objects=np.arange(5))
    with pytest.raises(ValueError, match="needs an array 'ids'"):
        read_trace(tmp_path / "b.npz")
    np.save(tmp_path / "c.npy", np.zeros((3, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="1-D"):
        read_trace(tmp_path / "c.npy")
    np.save(tmp_path / "d.npy", np.array([1, -2, 3]))
    with pytest.raises(ValueError, match=r"request 1 \(0-based\) has negative id -2"):
        read_trace(tmp_path / "d.npy")
    (tmp_path / "e.npy").write_bytes(b"not numpy at all")
    with pytest.raises(ValueError, match=r"e\.npy.*not a readable"):
        read_trace(tmp_path / "e.npy")


def test_bad_options(tmp_path):
    write_oracle_general(tmp_path / "o.bin", [1, 2])
    with pytest.raises(ValueError, match="chunk_requests"):
        read_trace(tmp_path / "o.bin", chunk_requests=0)
    with pytest.raises(ValueError, match="zero_sizes"):
        list(iter_trace_chunks(tmp_path / "o.bin", zero_sizes="drop"))
    with pytest.raises(ValueError, match="format must be one of"):
        read_trace(tmp_path / "o.bin", format="parquet")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"ids": [1, 2], "sizes": [1, 0]}, "sizes must lie in 1..4294967295"),
        ({"ids": [1, 2], "sizes": [1, 2**32]}, "sizes must lie in 1..4294967295"),
        ({"ids": [1, 2], "sizes": [1]}, r"sizes must have shape \(2,\)"),
        ({"ids": [1, 2], "times": [-1, 0]}, "times must lie in 0..4294967295"),
        ({"ids": [-1, 2]}, "ids must be non-negative integers"),
        ({"ids": [1.5, 2]}, "ids must be non-negative integers"),
        ({"ids": [[1, 2]]}, "1-D"),
        ({"ids": [1, 2], "next_access": [1]}, r"next_access must have shape \(2,\)"),
    ],
)
def test_writer_rejects_bad_input(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        write_oracle_general(tmp_path / "w.bin", **kwargs)
