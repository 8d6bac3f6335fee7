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


def test_queueing_cluster_equals_the_api(tmp_path, capsys):
    from queueing.cli import main

    spec = "prefill:1:token_budget=1024,decode:2"
    out = ok_json("queueing", "cluster", "--groups", spec, "--bandwidth", 2e9, "--link-latency", 0.002, "--router",
                  "least_prefill_backlog", "--decode-router", "least_work", "--qps", 1.5, "-n", 96, "--seed", 2,
                  "--max-active", 64, "--theory")
    w = q.poisson_workload(*q.sharegpt4(), 1.5, 96, seed=2, cap_factor=3.0)
    groups = q.parse_groups(spec, max_active=64)
    link = q.Link(2e9, 0.002)
    res = q.simulate_cluster(w, groups, link=link, router="least_prefill_backlog", decode_router="least_work")
    summary, table = res.summary(), res.group_summary()
    assert [r["class"] for r in out["summary"]] == list(summary.index)
    assert [r["ttft_p99"] for r in out["summary"]] == summary["ttft_p99"].tolist()
    assert [r["utilization"] for r in out["groups"]] == table["utilization"].tolist()
    assert out["groups"][0]["transfer_p50"] == table.loc[0, "transfer_p50"] and out["groups"][1]["transfer_p50"] is None
    fluid = q.cluster_capacity(groups, w.prompt_tokens, w.output_tokens, link)
    assert out["theory"][0]["rate"] == fluid["rate"] and out["theory"][0]["binding"] == fluid["binding"]
    assert out["theory"][0]["simulated_rps"] == summary.loc["all", "throughput_rps"]

    # the same cluster from a TOML file, in this process; text output has one titled table per part
    (tmp_path / "c.toml").write_text('[[groups]]\nrole = "prefill"\ncount = 1\ntoken_budget = 1024\n'
                                     '[[groups]]\nrole = "decode"\ncount = 2\n')
    rc, text, err = in_process(main, capsys, "cluster", "--groups", tmp_path / "c.toml", "--bandwidth", 2e9,
                               "--link-latency", 0.002, "--router", "least_prefill_backlog", "--decode-router",
                               "least_work", "--qps", 1.5, "-n", 96, "--seed", 2, "--max-active", 64)
    assert rc == 0, err
    lines = text.splitlines()
    assert lines[0] == "summary:" and "groups:" in lines and "theory:" not in lines
    assert lines[lines.index("groups:") + 2].split()[:4] == ["0", "prefill", "1", "sarathi"]
    rc, text, err = in_process(main, capsys, "cluster", "--groups", "colocated:2", "--qps", 1.5, "-n", 48, "--csv",
                               "--theory")
    blocks = text.split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == ["# summary", "# groups", "# theory"]
    theory = pd.read_csv(pd.io.common.StringIO(blocks[2]), comment="#")
    w = q.poisson_workload(*q.sharegpt4(), 1.5, 48, seed=0)  # the theory of the run's own lengths
    assert theory.loc[0, "rate"] == pytest.approx(2 * q.lambda_star(w.prompt_tokens, w.output_tokens).rate, rel=1e-12)


def test_queueing_plan_equals_best_pd_split():
    rows = ok_json("queueing", "plan", "--replicas", 5, "--bandwidth", 25e9, "--tbt-slo", 0.1)
    plan = q.best_pd_split(5, *q.sharegpt4(), tbt_slo=0.1, bandwidth=25e9, kv_bytes_per_token=131072.0)
    assert [(r["n_prefill"], r["n_decode"]) for r in rows] == [(1, 4), (2, 3), (3, 2), (4, 1)]
    assert [r["rate"] for r in rows] == plan.table["rate"].tolist()
    assert [r["best"] for r in rows] == [r["n_prefill"] == plan.n_prefill for r in rows]
    assert rows[0]["colocated_rate"] == plan.colocated_capacity


def test_queueing_cluster_bad_input_is_one_line(capsys):
    from queueing.cli import main

    base = ("--qps", 1, "-n", 20)
    one_line_error(run("queueing", "cluster", "--groups", "prefill:2", *base), 1, "no decode replica")
    for args, code, words in [
        (("--groups", "prefil:2,decode:2"), 1, ["groups: group 1", "role must be one of"]),
        (("--groups", "prefill:2:budget=9,decode:2"), 1, ["unknown setting 'budget'", "token_budget"]),
        (("--groups", "none.toml"), 1, ["groups file 'none.toml' not found"]),
        (("--groups", "colocated:1,prefill:1,decode:1", "--theory"), 1, ["colocated replicas or of prefill"]),
        (("--groups", "colocated:2", "--router", "nope"), 2, ["--router", "invalid choice: 'nope'", "power_of_two"]),
        (("--groups", "prefill:1,decode:1", "--bandwidth", 0), 2, ["--bandwidth", "> 0"]),
        (("--groups", "prefill:1,decode:1", "--link-latency", -1), 2, ["--link-latency", ">= 0"]),
        (("--groups", "colocated:2", "--tensor-parallel", 2), 1, ["tensor_parallel=2 needs model= and gpu="]),
    ]:
        one_line_error(in_process(main, capsys, "cluster", *args, *base), code, *words)
    one_line_error(in_process(main, capsys, "cluster", "--qps", 1), 2, "--groups")
    one_line_error(in_process(main, capsys, "plan", "--replicas", 1), 2, "--replicas", ">= 2")
    one_line_error(in_process(main, capsys, "plan", "--replicas", 4, "--gpu", "h100-sxm"), 1, "model=")


def test_help_and_usage_errors_import_neither_numba_nor_pandas():
    code = ("import sys\n"
            "from queueing.cli import main\n"
            "for argv in (['--help'], ['cluster', '--help'], ['cluster', '--groups', 'x', '--router', 'no'],\n"
            "             ['simulate', '--scheduler', 'nope']):\n"
            "    try:\n"
            "        main(argv)\n"
            "    except SystemExit:\n"
            "        pass\n"
            "assert main(['cluster', '--groups', 'prefil:2', '--qps', '1']) == 1\n"
            "print(sorted(m for m in ('numba', 'pandas', 'queueing.engine') if m in sys.modules))\n")
    res = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "[]"


def test_names_listed_without_the_engine_are_the_engines():
    from queueing import engine, registry

    assert registry.ROUTER_NAMES == tuple(engine.ROUTERS)
    codes = {"fcfs": engine.QUEUE_FCFS, "spf": engine.QUEUE_SPF, "priority": engine.QUEUE_PRIORITY}
    for spec in registry.SCHEDULERS.values():
        assert spec.queue_policy == codes[spec.queue_order]
    assert [registry.SCHEDULERS[n].queue_policy for n in ("sarathi", "slai", "slai-priority")] == [0, 1, 2]


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
    (tmp_path / "cluster.toml").write_text(
        'task = "cluster"\nbackend = "serial"\n[grid]\ngroups = ["prefill:1,decode:1", "colocated:2"]\nqps = 1.0\n'
        "n_requests = 32\nbandwidth = 2e9\n")
    res = run("queueing", "sweep", "cluster.toml", "--json", "--quiet", "--store", "st", "--plot", "c.png",
              cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    api = q.sweep(q.cluster_experiment, {"groups": ["prefill:1,decode:1", "colocated:2"], "qps": 1.0, "n_requests": 32,
                                         "bandwidth": 2e9}, backend="serial", store=False, progress=False)
    assert [r["first_gap_p50"] for r in json.loads(res.stdout)] == api["first_gap_p50"].tolist()
    assert (tmp_path / "c.png").is_file()
    (tmp_path / "bad.toml").write_text('task = "irm"\n[grid\n')
    one_line_error(run("layercache", "sweep", "bad.toml", cwd=tmp_path), 1, "not valid TOML")
