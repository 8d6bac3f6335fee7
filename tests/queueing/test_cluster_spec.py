"""Clusters as the command line writes them: the compact spec, its file form, the per-group table and
the fluid capacity of a given cluster."""

import json

import numpy as np
import pytest

import queueing as q
from queueing.cluster import Link, ReplicaGroup, simulate_cluster
from queueing.cluster_theory import split_capacity


def test_spec_gives_the_groups_with_defaults_and_overrides():
    groups = q.parse_groups("prefill:1:token_budget=2048:model=llama-2-7b:gpu=a100-80gb:tensor_parallel=2, "
                            "decode:3", scheduler="slai", token_budget=256, max_active=64)
    assert groups == [
        ReplicaGroup("prefill", 1, "slai", model="llama-2-7b", gpu="a100-80gb", tensor_parallel=2,
                     token_budget=2048, max_active=64),
        ReplicaGroup("decode", 3, "slai", token_budget=256, max_active=64)]
    assert q.parse_groups("colocated:4") == [ReplicaGroup("colocated", 4)]  # None defaults: ReplicaGroup's own
    mixed = q.parse_groups("colocated:2:scheduler=slai:theta_low=3:kv-capacity-tokens=100000,prefill:1,decode:1",
                           scheduler="slai", model=None)
    assert mixed[0] == ReplicaGroup("colocated", 2, "slai", kv_capacity_tokens=100_000, params={"theta_low": 3.0})
    assert [g.role for g in mixed] == ["colocated", "prefill", "decode"]


def test_file_gives_the_same_groups_as_the_spec(tmp_path):
    spec = "prefill:2:token_budget=1024,decode:2:scheduler=sarathi"
    (tmp_path / "c.toml").write_text('[[groups]]\nrole = "prefill"\ncount = 2\ntoken_budget = 1024\n'
                                     '[[groups]]\nrole = "decode"\ncount = 2\nscheduler = "sarathi"\n')
    (tmp_path / "c.json").write_text(json.dumps({"groups": [{"role": "prefill", "count": 2, "token_budget": 1024},
                                                            {"role": "decode", "count": 2}]}))
    want = q.parse_groups(spec, max_active=96)
    assert q.read_groups(tmp_path / "c.toml", max_active=96) == want
    assert q.read_groups(tmp_path / "c.json", max_active=96) == want


@pytest.mark.parametrize("spec, words", [
    ("", ["groups must be a spec"]),
    ("prefil:2", ["group 1", "role must be one of", "'prefil'"]),
    ("prefill:2,decode", ["group 2", "needs a count"]),
    ("colocated:0", ["count must be >= 1"]),
    ("colocated:two", ["count must be an integer", "'two'"]),
    ("colocated:2:token_budget", ["'token_budget' is not KEY=VALUE"]),
    ("colocated:2:token_budget=1.5", ["token_budget must be an integer"]),
    ("colocated:2:theta_low=3", ["unknown setting 'theta_low'"]),  # sarathi has no theta_low
    ("colocated:2:scheduler=slai:theta_low=x", ["theta_low must be a number"]),
    ("colocated:2:scheduler=fifo", ["scheduler must be one of", "'fifo'"]),
])
def test_bad_specs_raise_naming_the_group_and_setting(spec, words):
    with pytest.raises(ValueError) as err:
        q.parse_groups(spec)
    for w in words:
        assert w in str(err.value)


def test_bad_files_raise_naming_the_file(tmp_path):
    with pytest.raises(ValueError, match="'none.toml' not found"):
        q.read_groups("none.toml")
    (tmp_path / "bad.toml").write_text("[[groups]\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        q.read_groups(tmp_path / "bad.toml")
    (tmp_path / "empty.json").write_text('{"groups": []}')
    with pytest.raises(ValueError, match="needs 'groups'"):
        q.read_groups(tmp_path / "empty.json")
    (tmp_path / "typed.json").write_text('{"groups": [{"role": "colocated", "count": 2.5}]}')
    with pytest.raises(ValueError, match="typed.json: group 1: count must be an integer"):
        q.read_groups(tmp_path / "typed.json")


@pytest.fixture(scope="module")
def split_run():
    w = q.poisson_workload(*q.sharegpt4(), 1.5, 96, seed=1)
    link = Link(2e9, 0.003)
    return w, link, simulate_cluster(w, q.parse_groups("colocated:1,prefill:2,decode:1"), link=link,
                                     router="least_prefill_backlog")


def test_group_summary_adds_up_the_replicas_and_times_the_transfers(split_run):
    w, link, res = split_run
    table, rep, req = res.group_summary(), res.replicas, res.requests
    assert table["role"].tolist() == ["colocated", "prefill", "decode"]
    assert table["replicas"].tolist() == [1, 2, 1]
    for col in ("batches", "prefill_tokens", "decode_tokens", "requests_prefilled", "requests_decoded"):
        assert table[col].tolist() == rep.groupby("group")[col].sum().tolist()
    assert table.loc[1, "utilization"] == pytest.approx(rep.loc[rep.group == 1, "utilization"].mean())
    assert table.loc[1, "utilization_max"] == rep.loc[rep.group == 1, "utilization"].max()
    assert (table["kv_peak"] > 0).all() and (table["kv_peak"] <= 1).all()
    # every request prefilled by the prefill group is transferred, each taking P kv_bytes / bandwidth + latency
    moved = req[req.prefill_replica >= 0]
    assert table["transfers"].tolist() == [0, len(moved), 0] and len(moved) > 20
    kv = res.params["kv_bytes_per_token"]
    span = np.sort((moved.prompt_tokens * kv / link.bandwidth + link.latency).to_numpy())
    assert table.loc[1, "transfer_p50"] == pytest.approx(np.median(span), rel=1e-12)
    assert table.loc[1, "transfer_p99"] == pytest.approx(np.percentile(span, 99), rel=1e-12)
    assert table.loc[1, "kv_gb_sent"] == pytest.approx(moved.prompt_tokens.sum() * kv / 1e9, rel=1e-12)
    assert table.loc[1, "transfer_wait_p50"] >= 0
    assert table.loc[[0, 2], "transfer_p50"].isna().all()


def test_cluster_capacity_is_the_theory_of_the_same_groups():
    prompt, output = q.sharegpt4()
    groups = q.parse_groups("prefill:2:token_budget=1024,decode:3:max_active=64")
    got = q.cluster_capacity(groups, prompt, output, Link(25e9))
    want = split_capacity(2, 3, prompt, output, bandwidth=25e9, kv_bytes_per_token=131072.0, prefill_budget=1024,
                          decode_budget=512, max_active=64)
    assert got == dict(replicas=5, **want.to_dict())
    colo = q.cluster_capacity(q.parse_groups("colocated:3:token_budget=256"), prompt, output)
    assert colo["rate"] == 3 * q.lambda_star(prompt, output, token_budget=256).rate
    with pytest.raises(ValueError, match="not one with roles"):
        q.cluster_capacity(q.parse_groups("colocated:1,prefill:1,decode:1"), prompt, output)
