"""Characteristic-time models against an independent per-item reference."""

import numpy as np
import pytest
from scipy.optimize import brentq

import layercache as lc
from layercache.che import CHE_MODELS


def reference(lam, p, s, capacity, model):
    """Naive per-item model: brentq on the explicit sum (no binning)."""
    lam = np.asarray(lam, float)
    s = np.asarray(s, float)
    p = np.broadcast_to(np.asarray(p, float), s.shape)
    present = s > 0
    req = lam[:, None] * p * present
    levels = np.arange(1, s.shape[1] + 1)
    if model in ("llru", "lfifo"):
        Q = np.flip(np.cumsum(np.flip(p, 1), 1), 1)
        rate = lam[:, None] * Q * present
        span = np.cumsum(s, 1)
        w_req, w_byte, w_layer, size = req, rate * s, rate, s
    elif model in ("lru", "fifo"):
        rate, span, size = req, s, s
        w_req, w_byte, w_layer = req, req * s, req * levels
    else:
        last = present.sum(1) - 1
        size = span = s[np.arange(len(lam)), last]
        rate = lam
        w_req, w_byte, w_layer = lam, (req * s).sum(1), req @ levels
    totals = [w_req.sum(), w_byte.sum(), w_layer.sum()]
    ok = (span <= capacity) & (rate > 0)
    h = (lambda x: -np.expm1(-x)) if CHE_MODELS[model][1] == 0 else (lambda x: x / (1 + x))
    occ = lambda T: np.sum(np.where(ok, size * h(rate * T), 0.0))  # noqa: E731
    if np.sum(np.where(ok, size, 0.0)) <= capacity:
        T, hit = np.inf, ok.astype(float)
    else:
        hi = 1.0
        while occ(hi) < capacity:
            hi *= 2
        T = brentq(lambda t: occ(t) - capacity, 0.0, hi, xtol=1e-300, rtol=1e-15)
        hit = np.where(ok, h(rate * T), 0.0)
    ratios = [np.sum(w * hit) / tot for w, tot in zip((w_req, w_byte, w_layer), totals)]
    return T, hit, ratios


def random_case(rng, n, L, per_object=False, absent=False):
    lam = rng.dirichlet(np.full(n, 0.5))
    s = rng.uniform(0.1, 3.0, (n, L))
    if per_object:
        p = rng.dirichlet(np.ones(L), size=n)
    else:
        p = rng.dirichlet(np.ones(L))
    if absent and L > 1:
        k = rng.integers(1, L + 1, n)  # layers per object
        s[np.arange(L)[None, :] >= k[:, None]] = 0.0
        p = np.broadcast_to(p, (n, L)) * (s > 0)
        p = p / p.sum(1, keepdims=True)
    return lam, p, s


@pytest.mark.parametrize("model", list(CHE_MODELS))
@pytest.mark.parametrize("per_object,absent", [(False, False), (True, False), (True, True)])
def test_matches_reference(model, per_object, absent):
    # a stable seed per case (the hash of a string changes with every process)
    rng = np.random.default_rng([list(CHE_MODELS).index(model), per_object, absent])
    for _ in range(5):
        n, L = int(rng.integers(5, 300)), int(rng.integers(1, 5))
        lam, p, s = random_case(rng, n, L, per_object, absent)
        total = s.sum() if model != "full" else s.max(1).sum() * 1.0
        cap = float(rng.uniform(0.01, 0.9) * total)
        res = lc.che_hit_ratio(lam, p, s, cap, model=model)
        T, hit, ratios = reference(lam, p, s, cap, model)
        assert res.converged
        if np.isfinite(T):
            assert res.root == pytest.approx(T, rel=1e-11)
            assert res.occupancy == pytest.approx(cap, rel=1e-11)
        else:
            assert np.isinf(res.root)
        assert res.hit_ratio == pytest.approx(ratios[0], abs=1e-12)
        assert res.byte_hit_ratio == pytest.approx(ratios[1], abs=1e-12)
        if CHE_MODELS[model][0] == 0:
            assert res.layer_hit_ratio == pytest.approx(ratios[2], abs=1e-12)
        else:
            assert res.layer_hit_ratio is None
        np.testing.assert_allclose(res.item_hit_probability, hit, atol=1e-12)
        req = np.broadcast_to(p, s.shape) * lam[:, None]
        assert np.sum(res.request_hit_probability * req) == pytest.approx(res.hit_ratio, abs=1e-12)


def test_oversize_items_follow_the_simulator_rule():
    # layer 2 of object 0 fits alone (size 1) but not with its base (2 + 1 > 2.5): never admitted
    lam = np.array([0.6, 0.4])
    s = np.array([[2.0, 1.0], [0.5, 0.5]])
    p = np.array([0.5, 0.5])
    res = lc.che_llru_hit_ratio(lam, p, s, 2.5)
    assert res.item_hit_probability[0, 1] == 0.0
    T, hit, ratios = reference(lam, p, s, 2.5, "llru")
    np.testing.assert_allclose(res.item_hit_probability, hit, atol=1e-12)
    assert res.hit_ratio == pytest.approx(ratios[0], abs=1e-12)
    assert res.byte_hit_ratio == pytest.approx(ratios[1], abs=1e-12)
    assert res.layer_hit_ratio == pytest.approx(ratios[2], abs=1e-12)


def test_lower_layers_larger_than_the_cache_against_simulation():
    # every tenth object has a base layer larger than the cache: none of its layers is ever cached,
    # yet its requests (and their many bytes) count in the totals; the other layers share the cache
    n = 1000
    lam = lc.zipf_popularity(n, 0.8)
    p = np.array([0.5, 0.5])
    s = np.ones((n, 2))
    s[3::10, 0] = 60.0
    cap = 50.0
    che = lc.che_llru_hit_ratio(lam, p, s, cap)
    _, _, ratios = reference(lam, p, s, cap, "llru")
    assert [che.hit_ratio, che.byte_hit_ratio, che.layer_hit_ratio] == pytest.approx(ratios, abs=1e-12)
    pre = lc.stationary_prefix(lam, p, seed=11)
    o, v = lc.irm_trace(lam, p, 60 * n, seed=12)
    o, v = np.concatenate([pre[0], o]), np.concatenate([pre[1], v])
    sim = lc.simulate(o, v, policy="lru", capacity=cap, catalog=lc.Catalog(s), warmup=pre[0].size + 10 * n)
    # measured: |model - simulation| < 4e-4 on each ratio (50,000 counted requests); the byte hit ratio is
    # 0.035, and weighting the large layers by their request instead of their touch rate gives 0.11
    assert che.hit_ratio == pytest.approx(sim.hit_ratio, abs=0.004)
    assert che.byte_hit_ratio == pytest.approx(sim.byte_hit_ratio, abs=0.004)
    assert che.layer_hit_ratio == pytest.approx(sim.layer_hit_ratio, abs=0.004)


def test_wide_rate_range_and_extreme_skew():
    lam = lc.zipf_popularity(50_000, 2.5)  # rates over ~12 decades
    p = lc.version_profile(3, "high")
    s = lc.Catalog.from_profile(50_000, 3, "decreasing").layer_sizes
    for frac in (1e-4, 0.01, 0.5, 0.99):
        cap = frac * s.sum()
        res = lc.che_llru_hit_ratio(lam, p, s, cap)
        T, _, ratios = reference(lam, p, s, cap, "llru")
        assert res.root == pytest.approx(T, rel=1e-10)
        assert res.hit_ratio == pytest.approx(ratios[0], abs=1e-12)


def test_one_layer_models_coincide():
    lam = lc.zipf_popularity(1000, 0.8)
    cat = lc.Catalog.from_profile(1000, 1)
    # independent expectations: unit items, sum (1 - e^{-lam T}) = C (LRU), sum lam T / (1 + lam T) = C (FIFO)
    T = brentq(lambda t: np.sum(-np.expm1(-lam * t)) - 100.0, 0.0, 1e9, xtol=1e-300, rtol=1e-15)
    lru = np.sum(lam * -np.expm1(-lam * T))
    T = brentq(lambda t: np.sum(lam * t / (1 + lam * t)) - 100.0, 0.0, 1e12, xtol=1e-300, rtol=1e-15)
    fifo = np.sum(lam * lam * T / (1 + lam * T))
    for m in ("llru", "lru", "full"):
        assert lc.che_hit_ratio(lam, None, cat, 100.0, model=m).hit_ratio == pytest.approx(lru, abs=1e-13), m
    for m in ("lfifo", "fifo"):
        assert lc.che_hit_ratio(lam, None, cat, 100.0, model=m).hit_ratio == pytest.approx(fifo, abs=1e-13), m
    assert fifo < lru  # FIFO below LRU under IRM


def test_curve_matches_point_solves_and_is_monotone():
    lam = lc.zipf_popularity(5000, 0.9)
    p = lc.version_profile(4, "low")
    cat = lc.Catalog.from_profile(5000, 4, "increasing", overhead=0.1)
    caps = np.linspace(0.005, 1.2, 40) * cat.layer_sizes.sum()
    curve = lc.che_hit_ratio_curve(lam, p, cat, caps, model="llru")
    for k in (0, 17, 39):
        one = lc.che_llru_hit_ratio(lam, p, cat, caps[k])
        assert curve.hit_ratio[k] == one.hit_ratio
        assert curve.layer_hit_ratio[k] == one.layer_hit_ratio
    finite = np.isfinite(curve.characteristic_time)
    assert np.all(np.diff(curve.hit_ratio) >= 0) and np.all(np.diff(curve.hit_ratio[finite]) > 0)
    assert curve.hit_ratio[-1] == 1.0 and np.isinf(curve.characteristic_time[-1])
    df = curve.to_frame()
    assert len(df) == 40 and {"capacity", "hit_ratio", "characteristic_time"} <= set(df.columns)


def test_capacity_beyond_catalog_is_the_limit():
    lam = lc.zipf_popularity(100, 0.8)
    cat = lc.Catalog.from_profile(100, 3)
    res = lc.che_llru_hit_ratio(lam, lc.version_profile(3), cat, 1e9)
    assert np.isinf(res.root) and res.converged
    assert res.hit_ratio == res.byte_hit_ratio == res.layer_hit_ratio == 1.0
    assert np.all(res.item_hit_probability == 1.0)
    assert lc.che_characteristic_time(lam, lc.version_profile(3), cat, 1e9) == np.inf


def test_zero_rate_objects_take_no_memory():
    lam = lc.zipf_popularity(200, 0.7)
    lam0 = np.concatenate([lam, np.zeros(50)])
    s = np.ones((250, 2))
    a = lc.che_llru_hit_ratio(lam0, [0.3, 0.7], s, 40.0)
    b = lc.che_llru_hit_ratio(lam, [0.3, 0.7], s[:200], 40.0)
    assert a.root == b.root and a.hit_ratio == b.hit_ratio
    assert np.all(a.item_hit_probability[200:] == 0)
    # capacity holding every requested item: the limit, even below the catalog size
    c = lc.che_llru_hit_ratio(lam0, [0.3, 0.7], s, 400.0)
    assert c.hit_ratio == 1.0 and np.isinf(c.root)


def test_deterministic_and_result_api():
    lam = lc.zipf_popularity(300, 1.0)
    r1 = lc.che_lru_hit_ratio(lam, [0.5, 0.5], np.ones((300, 2)), 30.0)
    r2 = lc.che_lru_hit_ratio(lam, [0.5, 0.5], np.ones((300, 2)), 30.0)
    assert r1.to_dict() == r2.to_dict()
    assert r1.iterations > 0 and r1.function_calls >= r1.iterations and r1.flag == "converged"
    assert r1.characteristic_time == r1.root
    assert list(r1.to_frame().columns)[:3] == ["model", "capacity", "characteristic_time"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(popularity=[0.5, 0.4]), "popularity must sum to 1"),
        (dict(popularity=[[0.5, 0.5]]), "popularity must be 1-D"),
        (dict(popularity=[1.2, -0.2]), "negative"),
        (dict(version_probs=[0.5, 0.6]), "version_probs must sum to 1"),
        (dict(version_probs=[1 / 3] * 3), "version_probs has 3 versions"),
        (dict(version_probs=np.full((3, 2), 0.5)), r"shape \(L,\) or \(N, L\)"),
        (dict(sizes=np.ones((3, 2))), "sizes has 3 rows"),
        (dict(sizes=-np.ones((2, 2))), "sizes must be finite and >= 0"),
        (dict(sizes=np.array([[1.0, 0.0], [1.0, 1.0]])), "probability > 0 to a version"),
        (dict(sizes=np.array([[0.0, 1.0], [1.0, 1.0]])), "first layer"),
        (dict(capacity=0.0), "capacity must be finite and > 0"),
        (dict(capacity=np.nan), "capacity must be finite and > 0"),
        (dict(model="lfu"), "model must be one of"),
    ],
)
def test_bad_input(kwargs, match):
    args = dict(popularity=[0.5, 0.5], version_probs=[0.5, 0.5], sizes=np.ones((2, 2)), capacity=1.0, model="llru")
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        lc.che_hit_ratio(args["popularity"], args["version_probs"], args["sizes"], args["capacity"], model=args["model"])
