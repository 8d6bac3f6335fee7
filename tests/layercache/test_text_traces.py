"""Text trace readers on real samples (tests/data/README.md), against libcachesim's own readers."""

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import layercache as lc
from layercache.idhash import hash_string_ids, xxh3_64
from xxh3_reference import xxh3_64 as xxh3_64_reference
from layercache.traces import ZeroSizeWarning

DATA = Path(__file__).resolve().parent.parent / "data"
TWITTER = DATA / "twitter_cluster_sample.csv"
KV = DATA / "meta_kvcache_sample.csv"
BLOCK = DATA / "meta_block_sample.csv"


def lcs_read(path, trace_type="CSV_TRACE", *, time=None, obj_id=None, size=None, header=False, numeric=False):
    """(ids, sizes, times) as libcachesim's reader gives them (it drops size-0 requests)."""
    lcs = pytest.importorskip("libcachesim")
    params = lcs.ReaderInitParam(obj_id_is_num=numeric, obj_id_is_num_set=True, has_header=header,
                                 has_header_set=True, delimiter=",")
    if trace_type == "CSV_TRACE":
        params.time_field, params.obj_id_field, params.obj_size_field = time, obj_id, size
    reader = lcs.TraceReader(str(path), getattr(lcs.TraceType, trace_type), params)
    reqs = [(r.obj_id, r.obj_size, r.clock_time) for r in reader]
    ids, sizes, times = zip(*reqs)
    return np.array(ids, dtype=np.uint64), np.array(sizes), np.array(times)


def test_hash_is_libcachesims_for_every_length_class(tmp_path):
    rng = np.random.default_rng(0)
    alphabet = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-+/"))
    lengths = [1, 2, 3, 4, 7, 8, 9, 16, 17, 31, 32, 33, 64, 65, 96, 97, 128, 129, 200, 240, 241, 500, 1024, 1025, 2100]
    keys = ["".join(rng.choice(alphabet, n)) for n in lengths]
    path = tmp_path / "keys.csv"
    path.write_text("".join(f"{i},{k},10\n" for i, k in enumerate(keys)))
    ids, _, _ = lcs_read(path, time=1, obj_id=2, size=3)
    assert [xxh3_64(k.encode()) for k in keys] == ids.tolist()
    np.testing.assert_array_equal(lc.read_trace(path, id_type="str")[0], ids)


def test_hash_kernel_equals_the_python_reference():
    rng = np.random.default_rng(2)
    data = [bytes(rng.integers(0, 256, n, dtype=np.uint8)) for n in [*range(0, 260), 511, 1024, 1025, 3000]]
    assert [xxh3_64(d) for d in data] == [xxh3_64_reference(d) for d in data]
    keys = np.array(["a", "bb", "a", "", "ccc"], dtype=object)
    assert hash_string_ids(keys).tolist() == [xxh3_64_reference(k.encode()) for k in keys]


def test_twitter_sample_is_detected_and_read():
    assert lc.detect_trace_format(TWITTER) == ("twitter", False)
    ids, sizes, times = lc.read_trace(TWITTER)
    frame = pd.read_csv(TWITTER, header=None)
    assert ids.size == len(frame) == 100
    np.testing.assert_array_equal(sizes, frame[2] + frame[3])  # key + value bytes
    np.testing.assert_array_equal(times, frame[0])
    # ids are libCacheSim's: read the key column with its CSV reader (key size as size: never 0)
    peer_ids, _, peer_times = lcs_read(TWITTER, time=1, obj_id=2, size=3)
    np.testing.assert_array_equal(ids, peer_ids)
    np.testing.assert_array_equal(times, peer_times)
    with pytest.warns(UserWarning, match="dropped 7 of 100 requests whose operation") as caught:
        gets = lc.read_trace(TWITTER, operations={"get", "gets"})[0]
    assert [w.filename for w in caught] == [__file__]  # the caller's line, not the reader's
    assert gets.size == (frame[5].isin(["get", "gets"])).sum() == 93


def test_meta_kvcache_sample_with_named_columns_matches_libcachesim():
    columns = lc.TraceColumns(id="key", size="size", time="op_time", operation="op")
    with pytest.warns(ZeroSizeWarning, match="skipped 16 of 99"):
        ids, sizes, times = lc.read_trace(KV, columns=columns)
    peer = lcs_read(KV, time=1, obj_id=2, size=6, header=True)  # libCacheSim drops size 0 too
    for ours, theirs in zip((ids, sizes, times), peer):
        np.testing.assert_array_equal(ours, theirs)


def test_meta_block_sample_header_is_honoured_and_matches_libcachesim():
    assert lc.detect_trace_format(BLOCK) == ("csv", False)
    ids, sizes, times = lc.read_trace(BLOCK)  # op_time, block_id, io_size found by name
    peer = lcs_read(BLOCK, time=1, obj_id=2, size=4, header=True)
    for ours, theirs in zip((ids, sizes, times), peer):
        np.testing.assert_array_equal(ours, theirs)
    chunks = list(lc.iter_trace_chunks(BLOCK, chunk_requests=97))
    assert len(chunks) == 11
    np.testing.assert_array_equal(np.concatenate([c[0] for c in chunks]), ids)


def test_header_in_another_order_is_honoured(tmp_path):
    # the reported silent misread: obj_id,obj_size,timestamp read as time,id,size
    path = tmp_path / "h.csv"
    path.write_text("obj_id,obj_size,timestamp\n17,300,5\n18,400,6\n17,300,7\n")
    ids, sizes, times = lc.read_trace(path)
    assert ids.tolist() == [17, 18, 17] and sizes.tolist() == [300, 400, 300] and times.tolist() == [5, 6, 7]
    path.write_text("a,b,c\n17,300,5\n")
    with pytest.raises(ValueError, match=r"header \(line 1\) \['a', 'b', 'c'\] names no id column"):
        lc.read_trace(path)
    ids, sizes, _ = lc.read_trace(path, columns=lc.TraceColumns(id="a", size=1))
    assert ids.tolist() == [17] and sizes.tolist() == [300]


def test_libcachesim_plain_text_traces(tmp_path):
    keys = pd.read_csv(TWITTER, header=None)[1]
    (tmp_path / "keys.txt").write_text("\n".join(keys) + "\n")
    numbers = np.random.default_rng(1).integers(0, 2**63, size=50, dtype=np.uint64)
    (tmp_path / "num.txt").write_text("".join(f"{x}\n" for x in numbers))
    assert lc.detect_trace_format(tmp_path / "keys.txt") == ("txt", False)
    ids, sizes, times = lc.read_trace(tmp_path / "keys.txt")
    # libCacheSim numbers string ids of plain text 1, 2, ... by first appearance (glib quarks) where
    # its CSV reader hashes them; we hash both ways: the same objects, other labels
    peer_ids, _, _ = lcs_read(tmp_path / "keys.txt", "PLAIN_TXT_TRACE")
    np.testing.assert_array_equal(lc.remap_ids(ids)[0], lc.remap_ids(peer_ids)[0])
    assert ids[0] == xxh3_64(keys[0].encode())
    assert (sizes == 1).all() and times.tolist() == list(range(100))
    ids, _, _ = lc.read_trace(tmp_path / "num.txt")
    np.testing.assert_array_equal(ids, numbers)
    np.testing.assert_array_equal(ids, lcs_read(tmp_path / "num.txt", "PLAIN_TXT_TRACE", numeric=True)[0])


def test_cdn_time_id_size_text(tmp_path):
    frame = pd.read_csv(BLOCK)
    ids = lc.read_trace(BLOCK)[0]
    text = "".join(f"{t} {i}  {s}\n" for t, i, s in zip(frame["op_time"], ids, frame["io_size"]))
    (tmp_path / "wiki.tr").write_text(text)
    assert lc.detect_trace_format(tmp_path / "wiki.tr") == ("cdn", False)
    got_ids, got_sizes, got_times = lc.read_trace(tmp_path / "wiki.tr")
    np.testing.assert_array_equal(got_ids, ids)
    np.testing.assert_array_equal(got_sizes, frame["io_size"])
    np.testing.assert_array_equal(got_times, frame["op_time"])


def _field(line, k, value):
    fields = line.split(",")
    fields[k] = value
    return ",".join(fields)


def _cut(src, dst, edit):
    lines = src.read_text().splitlines(keepends=True)
    dst.write_text("".join(edit(lines)))
    return dst


@pytest.mark.parametrize(
    "sample, fmt, edit, match",
    [
        (TWITTER, None, lambda ls: ls[:50] + [ls[50][:20] + "\n"] + ls[51:], "line 51 has 2 fields"),
        (TWITTER, None, lambda ls: ls[:-1] + [ls[-1][:-4]], "line 100 has 6 fields"),
        (TWITTER, None, lambda ls: ls[:9] + [ls[9].replace(",17,", ",1x7,")] + ls[10:], "line 10 size '1x7' is not"),
        (TWITTER, None, lambda ls: ls[:3] + ["\n"] + ls[3:], "line 4 is empty"),
        (BLOCK, None, lambda ls: ls[:30] + [_field(ls[30], 3, "big")] + ls[31:], "line 31 size 'big'"),
        (BLOCK, None, lambda ls: ls[:12] + [ls[12].rsplit(",", 3)[0] + "\n"] + ls[13:], "line 13 has 8 fields"),
        (BLOCK, None, lambda ls: ls[:5] + [ls[5].replace("17025", "x7025", 1)] + ls[6:], "line 6 time 'x7025"),
        (KV, None, lambda ls: ls[:1], "has a header but no requests"),
        (TWITTER, "txt", lambda ls: [], "is empty"),
    ],
)
def test_malformed_real_samples(tmp_path, sample, fmt, edit, match):
    path = _cut(sample, tmp_path / ("bad" + sample.suffix), edit)
    with pytest.raises(ValueError, match=r"bad\.csv.*" + match):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ZeroSizeWarning)
            lc.read_trace(path, fmt)


def test_missing_columns_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"no column named 'obj_size' in the header"):
        lc.read_trace(KV, columns=lc.TraceColumns(id="key", size="obj_size"))
    with pytest.raises(ValueError, match=r"the size column 9 is not among the 7 fields of line 1"):
        lc.read_trace(TWITTER, columns=lc.TraceColumns(id=1, size=9))
    with pytest.raises(ValueError, match="column 'key' is named but the file has no header"):
        lc.read_trace(TWITTER, columns=lc.TraceColumns(id="key"), header=False)
    with pytest.raises(ValueError, match="apply to text traces"):
        write = tmp_path / "t.bin"
        lc.write_oracle_general(write, [1, 2])
        lc.read_trace(write, columns=lc.TraceColumns(id=0))


def test_zstd_text_streams(tmp_path):
    import zstandard

    path = tmp_path / "twitter.csv.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(TWITTER.read_bytes()))
    assert lc.detect_trace_format(path) == ("twitter", True)
    np.testing.assert_array_equal(lc.read_trace(path)[0], lc.read_trace(TWITTER)[0])
    shutil.copy(TWITTER, tmp_path / "cluster52.0")  # public Twitter files carry no extension
    assert lc.detect_trace_format(tmp_path / "cluster52.0") == ("twitter", False)


def test_versioned_csv_with_64bit_ids_runs_as_its_dense_twin(tmp_path):
    rng = np.random.default_rng(5)
    dense, versions = lc.irm_trace(lc.zipf_popularity(300, 0.8), lc.version_profile(3), 5000, seed=rng)
    names = rng.integers(2**40, 2**64 - 1, size=300, dtype=np.uint64)
    frame = pd.DataFrame({"ts": np.arange(dense.size), "object": names[dense], "ver": versions, "bytes": 1})
    frame.loc[::50, "bytes"] = 0
    frame.to_csv(tmp_path / "v.csv", index=False)
    columns = lc.TraceColumns(id="object", version="ver", size="bytes", time="ts")
    with pytest.warns(ZeroSizeWarning, match="skipped 100 of 5000"):
        ids, vers, sizes, times = lc.read_versioned_trace(tmp_path / "v.csv", columns=columns)
    keep = frame["bytes"].to_numpy() > 0
    np.testing.assert_array_equal(ids, names[dense][keep])
    np.testing.assert_array_equal(vers, versions[keep])
    for policy in ("lru", "belady"):
        got = lc.simulate(ids, vers, policy=policy, capacity=60)
        want = lc.simulate(dense[keep], versions[keep], policy=policy, capacity=60)
        assert (got.hits, got.layers_hit) == (want.hits, want.layers_hit)
    bad = tmp_path / "bad.csv"
    bad.write_text("ts,object,ver\n1,5,2\n2,6,200\n")
    with pytest.raises(ValueError, match="line 3 version '200' is outside 1..127"):
        lc.read_versioned_trace(bad, columns=lc.TraceColumns(id="object", version="ver"))
    with pytest.raises(ValueError, match="must name a version column"):
        lc.read_versioned_trace(bad, columns=lc.TraceColumns(id="object"))


@pytest.mark.parametrize("fmt", ["csv", "txt", "twitter", "cdn"])
def test_every_text_format_refuses_an_empty_file(tmp_path, fmt):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty.csv' is empty"):
        lc.read_trace(tmp_path / "empty.csv", fmt)


@pytest.mark.parametrize(
    "text, match",
    [
        ("1 5 10\n2 6\n3 7 1\n", "line 2 has 2 fields"),
        ("1 5 10\n2 6 ten\n", "line 2 size 'ten' is not an integer"),
        ("1 5 10\n2 6 7 8\n", "line 2 has 4 fields"),
        ("1 5 10\n2 x 7\n", "line 2 id 'x' is not a non-negative decimal integer"),
    ],
)
def test_malformed_cdn_text(tmp_path, text, match):
    (tmp_path / "bad.tr").write_text(text)
    with pytest.raises(ValueError, match=r"bad\.tr.*" + match):
        lc.read_trace(tmp_path / "bad.tr", "cdn")


def test_binary_file_without_a_known_name_is_not_sniffed_as_text(tmp_path):
    lc.write_oracle_general(tmp_path / "w.bin", np.arange(1000))
    shutil.copy(tmp_path / "w.bin", tmp_path / "w.dat")
    with pytest.raises(ValueError, match="it is not text and its name names no binary format"):
        lc.detect_trace_format(tmp_path / "w.dat")
    assert lc.detect_trace_format(tmp_path / "w.bin") == ("oracleGeneral", False)
