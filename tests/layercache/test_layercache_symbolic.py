"""sympy expressions of the models and the layer-split derivation."""

import numpy as np
import pytest

import layercache as lc
from test_che import reference as che_reference

sympy = pytest.importorskip("sympy")


@pytest.mark.parametrize("model", ["llru", "lru", "fifo", "lfifo"])
def test_lambdified_items_match_numeric_model(model):
    rng = np.random.default_rng(7)
    f = lc.lambdify_che(model)
    for _ in range(10):
        n, L = int(rng.integers(2, 200)), int(rng.integers(1, 5))
        lam = rng.dirichlet(np.full(n, 0.7))
        p = rng.dirichlet(np.ones(L), size=n) if rng.random() < 0.5 else rng.dirichlet(np.ones(L))
        s = rng.uniform(0.1, 3.0, (n, L))
        cap = rng.uniform(0.02, 0.9) * s.sum()
        res = lc.che_hit_ratio(lam, p, s, cap, model=model)
        assert abs(f.occupancy_at(lam, p, s, res.root) - cap) <= 1e-10 * cap
        assert f.hit_ratio_at(lam, p, s, res.root) == pytest.approx(res.hit_ratio, abs=1e-10)
        assert f.byte_hit_ratio_at(lam, p, s, res.root) == pytest.approx(res.byte_hit_ratio, abs=1e-10)
        np.testing.assert_allclose(f.item_hit_probability_at(lam, p, s, res.root), res.item_hit_probability,
                                   atol=1e-10, rtol=0)  # fmt: skip


@pytest.mark.parametrize("model", ["llru", "lru", "fifo"])
def test_explicit_fixed_point_equation(model):
    n, L = 3, 2
    eq, sym = lc.che_fixed_point_equation(n, L, model)
    hit_expr, _ = lc.che_hit_ratio_expression(n, L, model)
    args = [*sym["lam"], *sym["p"], *sym["s"], sym["T"]]
    occ = sympy.lambdify(args, eq.lhs)
    hit = sympy.lambdify(args, hit_expr)
    rng = np.random.default_rng(3)
    for _ in range(5):
        lam = rng.dirichlet(np.ones(n))
        p = rng.dirichlet(np.ones(L), size=n)
        s = rng.uniform(0.5, 2.0, (n, L))
        lo = s.sum(axis=1).max()  # every item admissible: the explicit equation has no admission rule
        cap = rng.uniform(lo, s.sum())
        res = lc.che_hit_ratio(lam, p, s, cap, model=model)
        values = [*lam, *p.ravel(), *s.ravel(), res.root]
        assert occ(*values) == pytest.approx(cap, rel=1e-10)
        assert hit(*values) == pytest.approx(res.hit_ratio, abs=1e-10)
    assert eq.rhs == sym["C"]


def test_split_layer_catalog():
    cat = lc.Catalog.from_profile(4, 3, "increasing")
    p = lc.version_profile(3, "high")
    p2, s2 = lc.split_layer(p, cat, layer=2, size_fraction=0.25, prob_fraction=0.4, overhead=0.1)
    assert p2.shape == (4,) and s2.shape == (4, 4)
    assert p2.sum() == pytest.approx(1.0) and p2[1] == pytest.approx(0.4 * p[1])
    s = cat.layer_sizes
    assert s2[:, 1] == pytest.approx(0.25 * s[:, 1]) and s2[:, 2] == pytest.approx(0.75 * 1.1 * s[:, 1])
    assert np.array_equal(s2[:, 3], s[:, 2])
    with pytest.raises(ValueError, match="layer must be an integer in 1..3"):
        lc.split_layer(p, cat, layer=4)
    with pytest.raises(ValueError, match="size_fraction"):
        lc.split_layer(p, cat, layer=1, size_fraction=1.0)


def split_cases():
    for alpha in (0.6, 1.0):
        for L, vprof, sprof in ((1, "uniform", "equal"), (2, "high", "equal"), (3, "low", "increasing"),
                                (4, "high", "decreasing")):  # fmt: skip
            for frac in (0.01, 0.1, 0.4):
                for k in range(1, L + 1):
                    for x, phi, theta in ((0.5, 0.5, 0.0), (0.3, 0.8, 0.0), (0.7, 0.2, 0.1)):
                        yield alpha, L, vprof, sprof, frac, k, x, phi, theta


def test_split_criterion_agrees_in_sign_with_the_model():
    n = 5000
    checked = 0
    for case, (alpha, L, vprof, sprof, frac, k, x, phi, theta) in enumerate(split_cases()):
        lam = lc.zipf_popularity(n, alpha)
        cat = lc.Catalog.from_profile(n, L, sprof)
        p = lc.version_profile(L, vprof)
        e = lc.layer_split_effect(lam, p, cat, frac * cat.layer_sizes.sum(), k, x, phi, theta)
        assert e.hits_lost >= 0
        if case % 10 == 0:  # the model change against the independent per-item reference (slow)
            p2, s2 = lc.split_layer(p, cat, k, x, phi, theta)
            before = che_reference(lam, p, cat.layer_sizes, frac * cat.layer_sizes.sum(), "llru")[2][0]
            after = che_reference(lam, p2, s2, frac * cat.layer_sizes.sum(), "llru")[2][0]
            assert e.delta == pytest.approx(after - before, abs=1e-11)
        if abs(e.delta) > 2e-4:
            checked += 1
            assert e.criterion_helps == e.helps, (alpha, L, vprof, frac, k, x, phi, theta, e)
    assert checked > 150


def test_split_derivation_is_symbolic():
    d = lc.split_derivation()
    lam, Q, pk, sk, x, phi, theta, T, eta = d["symbols"]
    # no overhead and no request moving: the split changes nothing
    assert sympy.simplify(d["dO"].subs({phi: 0, theta: 0})) == 0
    assert sympy.simplify(d["dH"].subs({phi: 0})) == 0
    # hits can only be lost at fixed T
    assert d["dH"].subs({lam: 1, Q: 0.8, pk: 0.5, phi: 0.5, T: 2.0}) < 0
    assert isinstance(d["helps"], sympy.StrictGreaterThan)


def coupled_split_trace(objects, versions, k, phi, rng):
    """The same trace after splitting layer k: version k -> k (share phi) or k + 1; above k: + 1."""
    v = versions.astype(np.int16)
    move = (v == k) & (rng.random(v.size) >= phi)
    return (v + ((v > k) | move)).astype(np.int8)


@pytest.mark.parametrize("case", ["helps", "hurts"])
def test_split_sign_agrees_with_simulation(case):
    n = 5000
    lam = lc.zipf_popularity(n, 0.8)
    if case == "helps":  # most requests want only the small lower part of a single layer
        L, vprof, k, x, phi, theta = 1, "uniform", 1, 0.2, 0.8, 0.0
    else:  # overhead on a split nobody needs
        L, vprof, k, x, phi, theta = 2, "high", 2, 0.5, 0.1, 0.3
    p = lc.version_profile(L, vprof)
    cat = lc.Catalog.from_profile(n, L, "equal")
    cap = 0.05 * cat.layer_sizes.sum()
    e = lc.layer_split_effect(lam, p, cat, cap, k, x, phi, theta)
    p2, s2 = lc.split_layer(p, cat, k, x, phi, theta)
    pre = lc.stationary_prefix(lam, p, seed=1)
    o, v = lc.irm_trace(lam, p, 25 * n, seed=2)
    o, v = np.concatenate([pre[0], o]), np.concatenate([pre[1], v])
    v2 = coupled_split_trace(o, v, k, phi, np.random.default_rng(3))
    warm = pre[0].size + 5 * n
    before = lc.simulate(o, v, policy="lru", capacity=cap, catalog=cat, warmup=warm)
    after = lc.simulate(o, v2, policy="lru", capacity=cap, catalog=lc.Catalog(s2), warmup=warm)
    sim_delta = after.hit_ratio - before.hit_ratio
    assert abs(e.delta) > 0.005  # clearly above the noise of a coupled 100k-request difference
    assert np.sign(sim_delta) == np.sign(e.delta) == (1 if case == "helps" else -1)
    assert e.criterion_helps == e.helps
    assert sim_delta == pytest.approx(e.delta, abs=0.004)
