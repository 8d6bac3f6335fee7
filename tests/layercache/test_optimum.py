"""Static optimum (exact and greedy knapsack) and static LFU allocation."""

import itertools

import numpy as np
import pytest

import layercache as lc


def brute_force(lam, p, s, capacity, mode, objective="hit"):
    """Best request (or byte) hit ratio by enumerating every allocation (tiny catalogs).

    Bytes are counted per request: a request for version l served from the
    cache gets version l's bytes (layered: the bytes of the cached layers up
    to l, so a request above the cached prefix gets that prefix).
    """
    n, L = s.shape
    p = np.broadcast_to(p, s.shape)
    S = np.cumsum(s, axis=1)
    version_bytes = S if mode == "layered" else s
    per_request = (lambda i, l: 1.0) if objective == "hit" else (lambda i, l: version_bytes[i, l])
    total = sum(lam[i] * p[i, l] * per_request(i, l) for i in range(n) for l in range(L))

    def served(i, l, kept):  # kept: layers of object i (layered), or whether version / object is kept
        if mode == "layered":
            if kept == 0:
                return 0.0
            return 1.0 * (l < kept) if objective == "hit" else S[i, min(l, kept - 1)]
        return per_request(i, l) if kept else 0.0

    best = 0.0
    if mode == "versions":
        choices = (np.array(keep, bool).reshape(n, L) for keep in itertools.product((0, 1), repeat=n * L))
        for x in choices:
            if s[x].sum() <= capacity:
                best = max(best, sum(lam[i] * p[i, l] * served(i, l, x[i, l]) for i in range(n) for l in range(L)))
        return best / total
    options = range(L + 1) if mode == "layered" else (0, 1)
    for ms in itertools.product(options, repeat=n):
        cost = sum(S[i, m - 1] if mode == "layered" else s[i, -1] for i, m in enumerate(ms) if m)
        if cost <= capacity:
            best = max(best, sum(lam[i] * p[i, l] * served(i, l, m) for i, m in enumerate(ms) for l in range(L)))
    return best / total


@pytest.mark.parametrize("objective", ["hit", "byte"])
@pytest.mark.parametrize("mode", ["layered", "versions", "full"])
def test_exact_and_greedy_bracket_the_brute_force_optimum(mode, objective):
    rng = np.random.default_rng({"layered": 1, "versions": 2, "full": 3}[mode])
    n, L = (4, 3) if mode != "versions" else (3, 3)
    ratio = "hit_ratio" if objective == "hit" else "byte_hit_ratio"
    for draw in range(16):
        lam = rng.dirichlet(np.ones(n))
        p = rng.dirichlet(np.ones(L))
        s = rng.uniform(0.2, 2.0, (n, L))
        if draw % 2:  # identical objects (one class in the exact model), two of equal popularity
            s[:] = s[0]
            lam[2] = lam[1]
            lam /= lam.sum()
        cap = rng.uniform(0.3, 0.8) * (np.cumsum(s, 1)[:, -1].sum() if mode == "layered" else s.sum())
        best = brute_force(lam, p, s, cap, mode, objective)
        ex = lc.static_optimum(lam, p, s, cap, mode=mode, method="exact", objective=objective)
        gr = lc.static_optimum(lam, p, s, cap, mode=mode, method="greedy", objective=objective)
        assert getattr(ex, ratio) == pytest.approx(best, abs=1e-12)
        assert ex.upper_bound == pytest.approx(best, abs=1e-12) and ex.gap <= 1e-12  # a certificate
        assert ex.used <= cap + 1e-9 and gr.used <= cap + 1e-9
        assert getattr(gr, ratio) <= best + 1e-12 <= gr.upper_bound + 2e-12
        # the gap is the bound minus the value reached, and it bounds the distance to the optimum
        assert gr.gap == pytest.approx(gr.upper_bound - getattr(gr, ratio), abs=1e-15)
        assert best - getattr(gr, ratio) <= gr.gap + 1e-12


@pytest.mark.parametrize("objective", ["hit", "byte"])
@pytest.mark.parametrize("method", ["exact", "greedy"])
@pytest.mark.parametrize("mode", ["layered", "versions", "full"])
def test_room_for_everything_serves_everything(mode, method, objective):
    lam = lc.zipf_popularity(30, 0.8)
    p = lc.version_profile(3, "low")
    cat = lc.Catalog.from_profile(30, 3, "increasing", overhead=0.2)
    total = {"layered": cat.layer_sizes, "versions": cat.version_sizes, "full": cat.version_sizes[:, -1]}[mode].sum()
    a = lc.static_optimum(lam, p, cat, total, mode=mode, method=method, objective=objective)
    assert a.hit_ratio == pytest.approx(1.0, abs=1e-14) and a.byte_hit_ratio == pytest.approx(1.0, abs=1e-14)
    assert a.used == pytest.approx(total, rel=1e-14)
    b = lc.static_optimum(lam, p, cat, 0.999 * total, mode=mode, method=method, objective=objective)
    assert b.hit_ratio < 1.0 and b.byte_hit_ratio < 1.0


def greedy_vs_exact(mode, alpha, L, vprof, sprof, n, fractions=(0.01, 0.05, 0.2, 0.5)):
    """Largest relative shortfall of the greedy answer below the exact one."""
    lam = lc.zipf_popularity(n, alpha)
    p = lc.version_profile(L, vprof)
    cat = lc.Catalog.from_profile(n, L, sprof, overhead=0.2)
    worst = 0.0
    for frac in fractions:
        cap = frac * cat.layer_sizes.sum()
        ex = lc.static_optimum(lam, p, cat, cap, mode=mode, method="exact")
        gr = lc.static_optimum(lam, p, cat, cap, mode=mode, method="greedy")
        assert gr.hit_ratio <= ex.hit_ratio + 1e-9 <= gr.upper_bound + 2e-9
        worst = max(worst, (ex.hit_ratio - gr.hit_ratio) / ex.hit_ratio)
    return worst


@pytest.mark.parametrize("mode", ["layered", "versions", "full"])
def test_greedy_within_a_tenth_of_a_percent_of_exact(mode):
    assert greedy_vs_exact(mode, 0.8, 3, "uniform", "equal", 200 if mode != "versions" else 100) <= 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["layered", "versions", "full"])
def test_greedy_within_a_tenth_of_a_percent_of_exact_grid(mode):
    worst = 0.0
    for alpha, L, vprof, sprof in itertools.product((0.6, 0.8, 1.0, 1.2), (2, 3, 5), ("uniform", "low", "high"),
                                                    ("equal", "increasing", "decreasing")):  # fmt: skip
        worst = max(worst, greedy_vs_exact(mode, alpha, L, vprof, sprof, 300 if mode != "versions" else 120))
    print(f"greedy vs exact, mode={mode}: largest relative shortfall {worst:.2e}")
    assert worst <= 1e-3


def test_layered_allocation_is_a_prefix_and_reports_consistently():
    lam = lc.zipf_popularity(2000, 0.9)
    p = lc.version_profile(4, "low")
    cat = lc.Catalog.from_profile(2000, 4, "decreasing")
    cap = 0.1 * cat.layer_sizes.sum()
    a = lc.static_optimum(lam, p, cat, cap, method="greedy")
    m = a.layers
    assert m.shape == (2000,) and m.min() >= 0 and m.max() <= 4
    S = cat.layered_version_sizes
    used = sum(S[i, k - 1] for i, k in enumerate(m) if k)
    assert a.used == pytest.approx(used) and used <= cap
    hit = sum(lam[i] * p[:k].sum() for i, k in enumerate(m))
    assert a.hit_ratio == pytest.approx(hit, abs=1e-12)
    assert a.to_frame().loc[0, "method"] == "greedy"
    b = lc.static_optimum(lam, p, cat, cap, method="greedy", objective="byte")
    assert b.byte_hit_ratio >= a.byte_hit_ratio - 1e-12
    assert b.gap == pytest.approx(b.upper_bound - b.byte_hit_ratio, abs=1e-15)
    assert b.upper_bound >= b.byte_hit_ratio > a.byte_hit_ratio  # bytes: the large lower layers pay


def test_one_layer_modes_coincide():
    lam = lc.zipf_popularity(400, 0.8)
    cat = lc.Catalog.from_profile(400, 1)
    r = [lc.static_optimum(lam, None, cat, 40.0, mode=m).hit_ratio for m in ("layered", "versions", "full")]
    assert r[0] == pytest.approx(r[1]) and r[1] == pytest.approx(r[2])
    assert r[0] == pytest.approx(lam[:40].sum())


@pytest.mark.parametrize("layered", [True, False])
def test_static_optimum_bounds_every_online_policy(layered):
    n, L = 1000, 3
    lam = lc.zipf_popularity(n, 0.9)
    p = lc.version_profile(L, "high")
    cat = lc.Catalog.from_profile(n, L, "increasing", overhead=0.1)
    pre = lc.stationary_prefix(lam, p, seed=3)
    o, v = lc.irm_trace(lam, p, 60 * n, seed=4)
    o, v = np.concatenate([pre[0], o]), np.concatenate([pre[1], v])
    warm = pre[0].size + 20 * n
    mode = "layered" if layered else "versions"
    total = (cat.layer_sizes if layered else cat.version_sizes).sum()
    for frac in (0.02, 0.2):
        cap = frac * total
        opt = lc.static_optimum(lam, p, cat, cap, mode=mode, method="greedy")
        for policy in ("lru", "fifo", "lfu", "perfect_lfu"):
            sim = lc.simulate(o, v, policy=policy, capacity=cap, catalog=cat, layered=layered, warmup=warm)
            # 3 standard errors of a 40k-request hit ratio
            assert sim.hit_ratio <= opt.upper_bound + 3 * np.sqrt(0.25 / sim.requests)
            assert sim.hit_ratio <= opt.hit_ratio + 3 * np.sqrt(0.25 / sim.requests)


def test_perfect_lfu_converges_to_static_lfu_allocation():
    n, L = 500, 3
    lam = lc.zipf_popularity(n, 1.0)
    p = lc.version_profile(L, "low")
    cat = lc.Catalog.unit(n, L)
    o, v = lc.irm_trace(lam, p, 400 * n, seed=5)
    for cap in (30.0, 150.0):
        alloc = lc.static_lfu_allocation(lam, p, cat, cap)
        assert alloc.used == cap and np.isnan(alloc.upper_bound)
        sim = lc.simulate(o, v, policy="perfect_lfu", capacity=cap, catalog=cat, warmup=100 * n)
        # demand paging keeps one slot for the item just missed: between the allocations of C - 1 and C
        lower = lc.static_lfu_allocation(lam, p, cat, cap - 1.0)
        noise = 4 * np.sqrt(0.25 / sim.requests)
        assert lower.hit_ratio - noise <= sim.hit_ratio <= alloc.hit_ratio + noise
        opt = lc.static_optimum(lam, p, cat, cap)
        assert opt.hit_ratio >= alloc.hit_ratio - 1e-12


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(mode="flat"), "mode must be one of"),
        (dict(method="dp"), "method must be"),
        (dict(objective="layers"), "objective must be one of"),
        (dict(node_limit=10.0), "node_limit must be an integer >= 1"),
        (dict(node_limit=0), "node_limit must be an integer >= 1"),
        (dict(core=-1), "core must be an integer >= 0"),
        (dict(capacity=-1.0), "capacity must be finite and > 0"),
        (dict(popularity=[0.2, 0.2]), "popularity must sum to 1"),
        (dict(sizes=np.ones((3, 2))), "sizes has 3 rows"),
    ],
)
def test_bad_input(kwargs, match):
    args = dict(popularity=[0.5, 0.5], version_probs=[0.5, 0.5], sizes=np.ones((2, 2)), capacity=1.0)
    extra = {k: kwargs.pop(k) for k in ("mode", "method", "objective", "node_limit", "core") if k in kwargs}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        lc.static_optimum(args["popularity"], args["version_probs"], args["sizes"], args["capacity"], **extra)


def test_node_limit_keeps_a_valid_bound_and_repeats_exactly():
    # decreasing layer sizes: every object's hull is one segment, the LP bound is loose (hard case)
    n = 300
    lam = lc.zipf_popularity(n, 0.6)
    p = lc.version_profile(4, "uniform")
    cat = lc.Catalog.from_profile(n, 4, "decreasing", overhead=0.1)
    cap = 0.05 * n
    exact = lc.static_optimum(lam, p, cat, cap, method="exact")
    assert exact.gap <= 1e-12
    runs = [lc.static_optimum(lam, p, cat, cap, method=m, node_limit=1) for m in ("exact", "exact", "greedy")]
    assert runs[0].to_dict() == runs[1].to_dict() and np.array_equal(runs[0].layers, runs[1].layers)
    for r in runs:
        assert r.hit_ratio <= exact.hit_ratio + 1e-12 <= r.upper_bound + 2e-12
        assert r.gap == pytest.approx(r.upper_bound - r.hit_ratio, abs=1e-15)
