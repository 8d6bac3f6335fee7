"""The one-pass LRU curve equals simulate at every capacity, hit for hit (every mode, any sizes)."""

import numpy as np
import pytest

import layercache as lc

COLUMNS = ("requests", "hits", "bytes_requested", "bytes_hit")


def _trace(seed, n=2500, n_obj=150, n_layers=3):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(n_obj, 0.3))
    objects = rng.choice(n_obj, size=n, p=p)
    versions = rng.integers(1, n_layers + 1, n)
    return rng, objects, versions


def _assert_equal_to_simulate(frame, caps, columns=COLUMNS, **kwargs):
    assert frame["capacity"].tolist() == [float(c) for c in caps]
    for row, cap in zip(frame.itertuples(), caps):
        sim = lc.simulate(policy="lru", capacity=cap, **kwargs)
        for col in columns:
            assert getattr(row, col) == getattr(sim, col), (cap, col)


@pytest.mark.parametrize("variable", [False, True])
def test_flat_curve_on_a_1000_point_grid(variable):
    rng, objects, _ = _trace(1)
    sizes = rng.integers(1, 60, 150)[objects] if variable else None
    caps = np.linspace(1, 3000 if variable else 160, 1000)
    frame = lc.hit_ratio_curve(objects, capacities=caps, sizes=sizes, warmup=300)
    _assert_equal_to_simulate(frame, caps, objects=objects, sizes=sizes, warmup=300)


@pytest.mark.parametrize("mode", ["layered", "versions", "full"])
@pytest.mark.parametrize("variable", [False, True])
def test_versioned_curves_on_a_1000_point_grid(mode, variable):
    rng, objects, versions = _trace(2 + variable)
    layer_sizes = rng.integers(1, 9, (150, 3)).astype(float) if variable else np.ones((150, 3))
    catalog = lc.Catalog(layer_sizes)
    caps = rng.permutation(np.linspace(0.5, 900 if variable else 300, 1000))  # any order, rows in that order
    kwargs = dict(objects=objects, versions=versions, catalog=catalog, layered=mode == "layered",
                  full_object_only=mode == "full", warmup=100)
    frame = lc.hit_ratio_curve(capacities=caps, **kwargs)
    columns = COLUMNS + (("layers_requested", "layers_hit") if mode == "layered" else ())
    _assert_equal_to_simulate(frame, caps, columns, **kwargs)
    if mode == "layered":
        assert np.allclose(frame["layer_hit_ratio"], frame["layers_hit"] / frame["layers_requested"])


def test_large_objects_make_lru_non_monotone_and_the_curve_follows():
    # object 1 (size 5) is refused at capacities < 5, so it cannot evict object 0
    objects = np.array([0, 1, 0, 1, 0])
    sizes = np.array([1, 5, 1, 5, 1])
    frame = lc.hit_ratio_curve(objects, capacities=[1, 4, 5, 6], sizes=sizes)
    assert frame["hits"].tolist() == [2, 2, 0, 3]
    assert frame["hits"].tolist() == [lc.simulate(objects, policy="lru", capacity=c, sizes=sizes).hits
                                      for c in (1, 4, 5, 6)]


def test_changing_sizes_are_refused():
    with pytest.raises(ValueError, match="sizes"):
        lc.hit_ratio_curve([0, 1, 0], capacities=[2], sizes=[1, 1, 2])


def test_other_policies_simulate_each_capacity():
    _, objects, _ = _trace(5, n=500)
    frame = lc.hit_ratio_curve(objects, policy="fifo", capacities=[3, 30])
    assert frame["hits"].tolist() == [lc.simulate(objects, policy="fifo", capacity=c).hits for c in (3, 30)]


@pytest.mark.parametrize("kwargs, match", [
    (dict(capacities=[]), "capacities"),
    (dict(capacities=[1, 0]), "capacities"),
    (dict(capacities=[1, -2]), "capacities"),
    (dict(capacities=[np.inf]), "capacities"),
    (dict(capacities=[np.nan]), "capacities"),
    (dict(capacities=["a"]), "capacities"),
    (dict(capacities=[1], policy="nope"), "policy"),
    (dict(capacities=[1], method="nope"), "method"),
    (dict(capacities=[1], method="shards", rate=0.0), "rate"),
    (dict(capacities=[1], method="shards", rate=1.5), "rate"),
    (dict(capacities=[1], method="shards", rate=np.nan), "rate"),
    (dict(capacities=[1], method="shards", policy="fifo"), "policy"),
    (dict(capacities=[1], rate=0.5), "sampling"),
])
def test_bad_input_names_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lc.hit_ratio_curve([0, 1, 2, 0], **kwargs)


def test_fractional_sizes_are_exact_away_from_rounding_ties():
    # layer sizes 0.25, 0.275, 0.275, 0.275 (the studies' catalog): 0.275 is not a binary fraction, so the
    # curve's and the simulator's byte sums round differently. Every byte stack distance is a multiple of
    # 1/40 in exact arithmetic: at capacities 1/80 away from those the two agree hit for hit; at a capacity
    # that is such a multiple, an access at exactly that distance may go either way (bounded here).
    _, objects, versions = _trace(7, n=4000, n_layers=4)
    catalog = lc.Catalog.from_profile(150, 4, "equal", overhead=0.1)
    assert np.array_equal(catalog.layer_sizes[0] * 40, [10, 11, 11, 11])
    kwargs = dict(objects=objects, versions=versions, catalog=catalog, warmup=200)
    away = (np.arange(1, 5000, 13) + 0.5) / 40
    frame = lc.hit_ratio_curve(capacities=away, **kwargs)
    _assert_equal_to_simulate(frame, away, ("requests", "hits", "layers_requested", "layers_hit"), **kwargs)
    assert frame["hits"].iloc[-1] > 0 and frame["hits"].iloc[0] < frame["hits"].iloc[-1]
    # at a tie only the requests at exactly that distance may differ: their number, from the same catalog
    # in integer units (exact sums), is hits(40 C) - hits(40 C - 1/2)
    ties = np.arange(1, 5000, 13) / 40
    frame = lc.hit_ratio_curve(capacities=ties, **kwargs)
    units = dict(kwargs, catalog=lc.Catalog(np.rint(catalog.layer_sizes * 40)))
    tied = (lc.hit_ratio_curve(capacities=ties * 40, **units)["hits"].to_numpy()
            - lc.hit_ratio_curve(capacities=ties * 40 - 0.5, **units)["hits"].to_numpy())
    differ = 0
    for row, cap, bound in zip(frame.itertuples(), ties, tied):
        sim = lc.simulate(policy="lru", capacity=cap, **kwargs)
        assert abs(row.hits - sim.hits) <= bound, cap
        differ += row.hits != sim.hits
    assert differ < len(ties) / 4
