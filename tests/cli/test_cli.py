"""The ``layercache`` and ``queueing`` commands end to end (subprocess): results equal the API's,
bad input gives one line on stderr and a non-zero exit code, never a traceback."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import layercache as lc
import queueing as q

ROOT = Path(__file__).resolve().parent.parent.parent


def run(package, *args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", f"{package}.cli", *map(str, args)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def ok_json(package, *args):
    res = run(package, *args, "--json")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    """The same 6,000-request Zipf trace as an oracleGeneral file and as a CSV (time, id, size)."""
    d = tmp_path_factory.mktemp("traces")
    rng = np.random.default_rng(7)
    ids = (rng.zipf(1.2, 6_000) % 900) * 7919 + 3  # sparse ids, remapped on reading
    sizes = rng.integers(1, 5_000, 900)[(ids - 3) // 7919]
    lc.write_oracle_general(d / "t.oracleGeneral.bin", ids, sizes, np.arange(ids.size))
    pd.DataFrame({"time": np.arange(ids.size), "id": ids, "size": sizes}).to_csv(d / "t.csv", index=False)
    return d, ids, sizes


@pytest.mark.parametrize("name", ["t.oracleGeneral.bin", "t.csv"])
def test_simulate_counts_equal_the_api(traces, name):
    d, ids, sizes = traces
    rows = ok_json("layercache", "simulate", d / name, "--policy", "lru", "fifo", "--capacity", 50, 200,
                   "--warmup", 1000)
    assert [(r["policy"], r["capacity"]) for r in rows] == [("lru", 50), ("lru", 200), ("fifo", 50), ("fifo", 200)]
    for r in rows:
        api = lc.simulate(ids, policy=r["policy"], capacity=r["capacity"], warmup=1000)
        assert (r["requests"], r["hits"], r["hit_ratio"]) == (api.requests, api.hits, api.hit_ratio)
    if name.endswith(".bin"):
        byte = ok_json("layercache", "simulate", d / name, "--policy", "lru", "--capacity", 100_000, "--byte")
        api = lc.simulate(ids, policy="lru", capacity=100_000, sizes=sizes)
        assert (byte[0]["hits"], byte[0]["byte_hit_ratio"]) == (api.hits, api.byte_hit_ratio)


@pytest.mark.parametrize("table_ids", [None, 100])  # 100: most ids are remapped on disk (layercache.spill_remap)
def test_simulate_streams_the_file_as_the_in_memory_api(traces, capsys, monkeypatch, table_ids):
    """Every policy, unit and byte sizes, capacities as fractions of the working set: the numbers of read_trace + simulate."""
    import layercache.spill_remap as spill
    from layercache.cli import main

    if table_ids is not None:
        monkeypatch.setattr(spill, "_TABLE_IDS", table_ids)
    d, _, _ = traces
    path = d / "t.oracleGeneral.bin"
    ids, sizes, _, originals = lc.read_trace(path, remap=True)
    first = np.unique(ids, return_index=True)[1]
    for byte, working_set in ((False, originals.size), (True, float(sizes[first].sum()))):
        rc, out, err = in_process(main, capsys, "simulate", path, "--policy", *lc.POLICIES, "--capacity-fraction",
                                  0.05, 0.3, "--warmup", 500, "--json", *(["--byte"] if byte else []))
        assert rc == 0, err
        rows = json.loads(out)
        assert len(rows) == 2 * len(lc.POLICIES)
        for r in rows:
            assert r["capacity"] in (0.05 * working_set, 0.3 * working_set)
            api = lc.simulate(ids, policy=r["policy"], capacity=r["capacity"], sizes=sizes if byte else None,
                              warmup=500)
            assert (r["requests"], r["hits"], r["hit_ratio"], r["byte_hit_ratio"]) == \
                (api.requests, api.hits, api.hit_ratio, api.byte_hit_ratio), r


def test_simulate_capacity_fraction_table_csv_and_plot(traces, tmp_path):
    d, ids, _ = traces
    n_distinct = np.unique(ids).size
    res = run("layercache", "simulate", d / "t.csv", "--policy", "lru", "--capacity-fraction", 0.1,
              "--plot", tmp_path / "hr.png")
    assert res.returncode == 0, res.stderr
    header, row = res.stdout.strip().splitlines()
    assert header.split() == ["policy", "capacity", "requests", "hits", "hit_ratio", "byte_hit_ratio"]
    assert row.split()[3] == str(lc.simulate(ids, policy="lru", capacity=0.1 * n_distinct).hits)
    assert (tmp_path / "hr.png").stat().st_size > 0


def test_model_equals_che():
    rows = ok_json("layercache", "model", "--objects", 500, "--alpha", 0.8, "--model", "lru", "llru",
                   "--layers", 3, "--overhead", 0.1, "--capacity", 20, 80)
    catalog = lc.Catalog.from_profile(500, 3, "equal", overhead=0.1)
    pop, pmf = lc.zipf_popularity(500, 0.8), lc.version_profile(3, "uniform")
    for r in rows:
        sizes = catalog.layer_sizes if r["model"] == "llru" else catalog.version_sizes
        assert r["hit_ratio"] == lc.che_hit_ratio(pop, pmf, sizes, r["capacity"], model=r["model"]).hit_ratio


def one_line_error(res, code, *words):
    """``res``: a finished subprocess, or ``(exit code, stdout, stderr)`` of an in-process run."""
    rc, out, err = (res.returncode, res.stdout, res.stderr) if hasattr(res, "returncode") else res
    assert rc == code, (rc, err)
    assert "Traceback" not in err and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for w in words:
        assert w in lines[0], lines[0]


def in_process(main, capsys, *args):
    """Run a command's ``main`` here (no interpreter start-up: the error cases are many)."""
    try:
        rc = main([str(a) for a in args])
    except SystemExit as exc:  # argparse usage errors
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


def test_layercache_bad_input_is_one_line(traces, tmp_path, capsys):
    from layercache.cli import main

    d, _, _ = traces
    (tmp_path / "cut.bin").write_bytes((d / "t.oracleGeneral.bin").read_bytes()[:1000])
    (tmp_path / "bad.csv").write_text("0,1,1\n1,x,5\n")
    # two in a real process: exit code and stderr exactly as a shell sees them
    one_line_error(run("layercache", "simulate", tmp_path / "none.bin", "--policy", "lru", "--capacity", 5),
                   1, "not found", "none.bin")
    one_line_error(run("layercache", "simulate", d / "t.csv", "--policy", "lru", "--capacity", 5, "--frobnicate"),
                   2, "unrecognized arguments: --frobnicate")
    one_line_error(in_process(main, capsys, "simulate", tmp_path / "cut.bin", "--policy", "lru", "--capacity", 5),
                   1, "truncated")
    one_line_error(in_process(main, capsys, "simulate", tmp_path / "bad.csv", "--policy", "lru", "--capacity", 5),
                   1, "line 2", "id 'x'")
    one_line_error(in_process(main, capsys, "simulate", d / "t.csv", "--policy", "nope", "--capacity", 5),
                   2, "--policy", "invalid choice: 'nope'", "lru")
    for bad in ("0", "-2", "inf"):
        one_line_error(in_process(main, capsys, "simulate", d / "t.csv", "--policy", "lru", "--capacity", bad),
                       2, "--capacity", "> 0")
    one_line_error(in_process(main, capsys, "simulate", d / "t.csv", "--policy", "lru", "--warmup", 10**9,
                              "--capacity", 5), 1, "--warmup")
    one_line_error(in_process(main, capsys, "simulate", d / "t.csv", "--policy", "lru"), 1, "--capacity")
    one_line_error(in_process(main, capsys, "model", "--objects", 10, "--alpha", 0.8, "--model", "nope",
                              "--capacity", 2), 1, "model")
    one_line_error(in_process(main, capsys, "bogus"), 2, "invalid choice: 'bogus'")


def test_policy_choices_come_from_simulate():
    res = run("layercache", "simulate", "--help")
    assert res.returncode == 0
    for policy in lc.POLICIES:
        assert policy in res.stdout


def test_queueing_simulate_equals_the_api(tmp_path):
    rows = ok_json("queueing", "simulate", "--scheduler", "slai", "--qps", 1.5, "-n", 128, "--seed", 3)
    w = q.poisson_workload(*q.sharegpt4(), 1.5, 128, seed=3, cap_factor=3.0)
    summary = q.simulate(w, "slai").summary()
    assert [r["class"] for r in rows] == list(summary.index)
    assert [r["ttft_p99"] for r in rows] == summary["ttft_p99"].tolist()

    prompt, output = q.sharegpt4()
    arrivals = np.cumsum(np.full(64, 0.5))
    pd.DataFrame({"t": arrivals, "p": prompt[:64], "d": output[:64]}).to_csv(tmp_path / "w.csv", index=False)
    rows = ok_json("queueing", "simulate", "--scheduler", "vllm", "--workload", tmp_path / "w.csv",
                   "--prompt-column", "p", "--output-column", "d", "--arrival-column", "t")
    summary = q.simulate(q.trace_workload(arrivals, prompt[:64], output[:64]), "vllm").summary()
    assert rows[0]["e2e_p50"] == summary.loc["all", "e2e_p50"]


def test_queueing_bad_input_is_one_line(tmp_path, capsys):
    from queueing.cli import main

    one_line_error(run("queueing", "simulate", "--scheduler", "slai", "--qps", 1, "--workload",
                       tmp_path / "none.csv"), 1, "none.csv")
    one_line_error(in_process(main, capsys, "simulate", "--scheduler", "fifo9", "--qps", 1), 2,
                   "invalid choice: 'fifo9'")
    one_line_error(in_process(main, capsys, "simulate", "--scheduler", "slai"), 1, "qps")
    one_line_error(in_process(main, capsys, "simulate", "--scheduler", "slai", "--qps", 0), 2, "--qps")
    (tmp_path / "w.csv").write_text("num_prefill_tokens,num_decode_tokens\n10,abc\n")
    one_line_error(in_process(main, capsys, "simulate", "--scheduler", "slai", "--qps", 1, "--workload",
                              tmp_path / "w.csv"), 1, "num_decode_tokens")


def test_sweep_files_run_with_the_sweep_api(tmp_path):
    (tmp_path / "grid.toml").write_text(
        'task = "irm"\nbackend = "serial"\n[grid]\npolicy = ["lru", "fifo"]\ncapacity_fraction = [0.05, 0.2]\n'
        "n_objects = 300\nrequests_per_object = 5\nwarmup_per_object = 2\n")
    res = run("layercache", "sweep", "grid.toml", "--csv", "--quiet", "--plot", "sweep.png", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    table = pd.read_csv(pd.io.common.StringIO(res.stdout))
    api = lc.sweep(lc.irm_experiment, {"policy": ["lru", "fifo"], "capacity_fraction": [0.05, 0.2],
                                       "n_objects": 300, "requests_per_object": 5, "warmup_per_object": 2},
                   backend="serial", store=False, progress=False)
    assert table["hits"].tolist() == api["hits"].tolist()
    assert (tmp_path / "sweep-results").is_dir() and (tmp_path / "sweep.png").is_file()

    (tmp_path / "serve.toml").write_text(
        'task = "serve"\nbackend = "serial"\n[grid]\nscheduler = ["sarathi", "slai"]\nqps = [0.5, 1.0]\n'
        "n_requests = 48\n")
    res = run("queueing", "sweep", "serve.toml", "--json", "--quiet", "--store", "st", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert [r["scheduler"] for r in json.loads(res.stdout)] == ["sarathi", "sarathi", "slai", "slai"]
    (tmp_path / "bad.toml").write_text('task = "irm"\n[grid\n')
    one_line_error(run("layercache", "sweep", "bad.toml", cwd=tmp_path), 1, "not valid TOML")
