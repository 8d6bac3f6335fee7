"""The public sweep: bit-identical across backends, resumable after SIGINT / SIGKILL, errors per configuration."""

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import layercache as lc
import queueing as q
import sweep_tasks
from layerq.configs import config_key, config_seed, expand_grid
from layerq.sweep import sweep

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def test_one_sweep_for_both_toolkits():
    assert lc.sweep is q.sweep is sweep


def test_grid_order_and_fixed_values():
    configs = expand_grid({"a": [1, 2], "b": ["x", "y", "z"], "c": 0.5})
    assert [(c["a"], c["b"]) for c in configs] == [(1, "x"), (1, "y"), (1, "z"), (2, "x"), (2, "y"), (2, "z")]
    assert all(c["c"] == 0.5 for c in configs)
    assert expand_grid([{"a": np.int64(3)}]) == [{"a": 3}]
    with pytest.raises(ValueError, match="'a' has no values"):
        expand_grid({"a": []})
    with pytest.raises(ValueError, match="must hold numbers"):
        expand_grid({"a": [object()]})


def test_seed_depends_on_the_configuration_only():
    a = config_seed({"alpha": 0.8, "policy": "lru"})
    assert a == config_seed({"policy": "lru", "alpha": np.float64(0.8)})  # order and numpy types do not matter
    assert a != config_seed({"alpha": 0.8, "policy": "fifo"})
    assert a == 9103195508641075078  # stable across versions: stored results depend on it
    assert config_key({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'


def test_mixed_sweep_is_bit_identical_serially_on_processes_and_on_dask():
    pytest.importorskip("dask.distributed")
    import cloudpickle

    cloudpickle.register_pickle_by_value(sweep_tasks)  # dask workers cannot import the tests directory
    grid = sweep_tasks.mixed_grid()
    assert len(grid) == 64
    serial = sweep(sweep_tasks.mixed, grid, backend="serial", store=False, progress=False)
    processes = sweep(sweep_tasks.mixed, grid, backend="processes", workers=2, store=False, progress=False)
    dask = sweep(sweep_tasks.mixed, grid, backend="dask", workers=2, store=False, progress=False)
    assert "error" not in serial
    assert list(serial.columns[:3]) == ["kind", "policy", "alpha"]  # parameters first, in grid order
    assert serial["kind"].tolist() == ["cache", "serve"] * 32
    assert serial.loc[serial["kind"] == "serve", "all_ttft_p50"].notna().all()
    assert serial.loc[serial["kind"] == "cache", "hit_ratio"].between(0, 1).all()
    pd.testing.assert_frame_equal(serial, processes, check_exact=True)
    pd.testing.assert_frame_equal(serial, dask, check_exact=True)


def test_cluster_sweep_is_bit_identical_serially_and_on_processes():
    grid = {"groups": ["prefill:1,decode:1", "colocated:2"], "router": ["round_robin", "power_of_two"],
            "bandwidth": [2e9, 1e12], "qps": 1.5, "n_requests": 64}
    serial = sweep(q.cluster_experiment, grid, backend="serial", store=False, progress=False)
    processes = sweep(q.cluster_experiment, grid, backend="processes", workers=2, store=False, progress=False)
    assert "error" not in serial and len(serial) == 8
    pd.testing.assert_frame_equal(serial, processes, check_exact=True)
    assert serial["seed"].nunique() == 8  # each configuration its own workload, from the configuration
    split = serial[serial["groups"] == "prefill:1,decode:1"]
    assert (split["g0_transfers"] == 64).all()
    assert serial.loc[serial["groups"] == "colocated:2", "g0_transfers"].eq(0).all()
    # a seed in the grid gives every configuration the same workload: the link alone changes the first gap
    paired = sweep(q.cluster_experiment, dict(grid, groups="prefill:1,decode:1", router="round_robin", seed=[3]),
                   backend="serial", store=False, progress=False)
    assert paired["all_ttft_p50"].nunique() == 1  # TTFT ends at the prefill, before the transfer
    assert paired["first_gap_p50"].is_monotonic_decreasing and paired["first_gap_p50"].nunique() == 2


def _flaky(x, seed):
    if x == 2:
        raise ValueError("x = 2 is not allowed")
    return {"y": x * 10, "u": float(np.random.default_rng(seed).random())}


@pytest.mark.parametrize("backend", ["serial", "processes"])
def test_a_raising_configuration_is_reported_and_the_others_finish(tmp_path, backend):
    with pytest.warns(RuntimeWarning, match="1 of 5 configurations raised"):
        table = sweep(_flaky, {"x": [0, 1, 2, 3, 4]}, backend=backend, workers=2, store=tmp_path, progress=False)
    assert table["y"].tolist()[:2] == [0, 10] and table["y"].tolist()[3:] == [30, 40]
    assert np.isnan(table["y"][2])
    assert table["error"].tolist() == [None, None, "ValueError: x = 2 is not allowed", None, None]
    stored = list(tmp_path.rglob("*.json"))
    assert len(stored) == 4  # the failed one is retried next time


def test_results_are_stored_and_reused(tmp_path):
    log = tmp_path / "calls.log"
    os.environ["SWEEP_TEST_LOG"] = str(log)
    try:
        first = sweep(sweep_tasks.slow, {"i": [0, 1, 2]}, backend="serial", store=tmp_path / "s", progress=False)
        again = sweep(sweep_tasks.slow, {"i": [0, 1, 2, 3]}, backend="serial", store=tmp_path / "s", progress=False)
    finally:
        del os.environ["SWEEP_TEST_LOG"]
    assert log.read_text().split() == ["0", "1", "2", "3"]  # the re-run computed only i = 3
    pd.testing.assert_frame_equal(first, again.iloc[:3], check_exact=True)


def _start(store, log, block_from=None):
    env = dict(os.environ, SWEEP_TEST_LOG=str(log), PYTHONPATH=os.pathsep.join([str(HERE), str(ROOT)]))
    if block_from is not None:
        env["SWEEP_TEST_BLOCK_FROM"] = str(block_from)
    return subprocess.Popen([sys.executable, "-c", f"import sweep_tasks; sweep_tasks.run_slow({str(store)!r})"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stored(store):
    return len(list(Path(store).rglob("*.json")))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_killed_sweep_resumes_with_only_the_missing_configurations(tmp_path, sig):
    store = tmp_path / "store"
    proc = _start(store, tmp_path / "first.log", block_from=12)  # 12.. take 10 s each: still running when signalled
    deadline = time.monotonic() + 120
    while _stored(store) < 8 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == (130 if sig == signal.SIGINT else -signal.SIGKILL)
    if sig == signal.SIGINT:
        assert "sweep interrupted" in err and "Traceback" not in err
    done = _stored(store)
    assert 8 <= done < 24

    rerun = _start(store, tmp_path / "rerun.log")
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert "rows 24" in out
    computed = sorted(int(i) for i in (tmp_path / "rerun.log").read_text().split())
    assert len(computed) == 24 - done
    assert _stored(store) == 24


def test_progress_in_a_log_file_is_plain_lines(tmp_path):
    code = ("import layercache as lc\n"
            "def f(i): return {'j': i}\n"
            "lc.sweep(f, {'i': list(range(40))}, backend='serial', store=False)\n")
    res = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "\r" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert 2 <= len(lines) <= 21 and lines[-1].startswith("sweep f: 40/40 configurations")


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="backend must be one of"):
        sweep(_flaky, {"x": [1]}, backend="threads", store=False)
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        sweep(_flaky, {"x": [1]}, workers=0, store=False)
    with pytest.raises(ValueError, match="grid must be a dict of lists or a list of dicts"):
        sweep(_flaky, "x", store=False)


def _where(kind, k, seed):
    return {"pid": os.getpid(), "seed_seen": seed}


def test_kernels_compile_in_this_process_before_workers_start():
    grid = {"kind": ["a", "b"], "k": list(range(8))}
    table = sweep(_where, grid, backend="processes", workers=2, store=False, progress=False)
    here = table["pid"] == os.getpid()
    # the first configuration of each kind ran here (compiling its kernels once), the rest on workers
    assert table.index[here].tolist() == [0, 8]
    assert (table["seed_seen"] == table["seed"]).all()
    assert table["seed"].tolist() == [config_seed(c) for c in expand_grid(grid)]


def test_a_seed_in_the_configuration_is_used_as_given():
    table = sweep(_where, {"kind": "a", "k": [1, 2], "seed": 7}, backend="serial", store=False, progress=False)
    assert table["seed_seen"].tolist() == [7, 7] and list(table.columns[:3]) == ["kind", "k", "seed"]
