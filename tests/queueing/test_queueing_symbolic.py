"""sympy closed forms, lambdified, against the numeric fluid capacities (1e-10)."""

import numpy as np
import pytest

from queueing import fluid as F, symbolic as S, theory as T
from queueing.latency import AffineLatency, TileLatency, default_latency

RNG = np.random.default_rng(2)
P = RNG.integers(1, 4000, 300)
D = RNG.integers(2, 800, 300)
FREE = dict(kv_capacity_tokens=10**9, max_active=10**6)
MODELS = [default_latency(), TileLatency(), AffineLatency()]


def test_derivation_is_the_spec_formula():
    import sympy as sp

    expr, rows = S.derive_capacity("rad")
    B, EA, ED, EP, G, c = sp.symbols("B EA ED EP G c", positive=True)
    assert sp.simplify(expr - B / (G * (EP + ED) + c * B * EA)) == 0


@pytest.mark.parametrize("lat", MODELS, ids=lambda m: type(m).__name__)
def test_sympy_equals_numeric(lat):
    m = T.workload_moments(P, D)
    f = S.capacity_function("rad", lat)
    for B in (128, 256, 512, 1024):
        num = F.fluid_capacity("rad", P, D, lat, token_budget=B, **FREE)
        assert abs(f(m, token_budget=B) - num) <= 1e-10
    f = S.capacity_function("static", lat)
    for bd in (16, 64, 100, 256):  # both branches
        num = F.fluid_capacity("static", P, D, lat, prefill_budget=512 - bd, decode_budget=bd, **FREE)
        assert abs(f(m, prefill_budget=512 - bd, decode_budget=bd) - num) <= 1e-10
    g, c = T.latency_parts(lat)
    tau_p = float(np.mean(g(P)))
    num = F.fluid_capacity("vllm", P, D, lat, max_active=64, kv_capacity_tokens=10**9)
    assert abs(S.capacity_function("vllm", lat)(m, tau_p=tau_p, Y=64) - num) <= 1e-10


def test_unknown_policy():
    with pytest.raises(ValueError, match="unknown policy"):
        S.derive_capacity("fifo")
