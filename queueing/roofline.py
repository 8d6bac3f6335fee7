"""Roofline latency model of one engine iteration, from a model and a GPU description.

Units: seconds, tokens, bytes, FLOP. Per GPU of a tensor-parallel group of
``t`` GPUs (Megatron sharding: every projection split t ways, two all-reduces
of the hidden state per layer), one iteration of ``P`` prefill tokens (chunks
whose prompt context before them is ``k``) and ``D`` decodes whose KV contexts
sum to ``C`` costs

* linear layers: ``max(FLOPs / (eff_compute * peak), weight bytes / (eff_memory * bandwidth))``
  with FLOPs = 2 (P + D) x active weights; an MoE layer reads every expert
  that the batch's tokens touch (``E (1 - (1 - k_e/E)^n)`` expected under
  uniform routing) but computes only ``k_e`` per token;
* element-wise work (norms, residual adds, rotary, activation, KV write):
  bytes per token / (eff_memory * bandwidth);
* prefill attention: 4 x heads x head_dim FLOPs per (query, key) pair, pairs
  ``P (k + P / 2)``, at eff_attention of peak;
* decode attention: the KV bytes of all ``C`` context tokens at eff_kv of
  the bandwidth, plus ``attention_fixed_s`` per layer;
* LM head for every sequence that emits a token (each decode, and one per
  prefill batch);
* all-reduce: ``2 (t - 1) / t`` x hidden bytes per token over eff_link x the
  link bandwidth, plus ``allreduce_latency_s``, twice per layer;
* overheads: ``per_layer_s`` per layer, ``per_iteration_s`` per iteration,
  ``per_request_s`` per sequence in the batch (engine bookkeeping, sampling).

The engine passes ``prefill_context_tokens`` as the effective ``k`` with
``P (k + P / 2) = sum_i c_i (k_i + c_i / 2)`` over the batch's chunks ``c_i``
with contexts ``k_i`` (exactly ``k`` for one chunk).
"""

from dataclasses import dataclass, field

import numpy as np

from .hardware import gpu_spec, model_spec
from .latency import KIND_ROOFLINE

__all__ = ["RooflineLatency", "roofline_latency", "DEFAULT_FACTORS", "FACTOR_NAMES", "COMPONENTS"]

#: Efficiency factors and overheads of a GPU outside every fitted class (and the start of each
#: fit): rounded medians of the per-class fits (``data/roofline_factors.csv``); for the terms
#: that only one class measures (attention kernels with FlashInfer, all-reduce, per-iteration
#: and per-request engine overheads: the A100), that class's rounded value.
DEFAULT_FACTORS = {
    "eff_compute": 0.68,
    "eff_memory": 0.80,
    "eff_attention": 0.28,
    "eff_kv": 0.80,
    "eff_link": 0.30,
    "per_layer_s": 35e-6,
    "attention_fixed_s": 20e-6,
    "per_iteration_s": 1e-3,
    "per_request_s": 50e-6,
    "allreduce_latency_s": 40e-6,
}
FACTOR_NAMES = tuple(DEFAULT_FACTORS)
_EFFICIENCIES = ("eff_compute", "eff_memory", "eff_attention", "eff_kv", "eff_link")

#: additive parts of an iteration (``RooflineLatency.components``)
COMPONENTS = ("linear", "elementwise", "prefill_attention", "decode_attention", "allreduce", "lm_head", "overhead")


@dataclass(frozen=True)
class RooflineLatency:
    """Iteration time of ``model`` on ``tensor_parallel`` x ``gpu`` (see the module docstring).

    Build with :func:`roofline_latency`. ``factors`` holds every entry of
    :data:`DEFAULT_FACTORS`.
    """

    model: object
    gpu: object
    tensor_parallel: int = 1
    factors: dict = field(default_factory=lambda: dict(DEFAULT_FACTORS))

    def __post_init__(self):
        m = model_spec(self.model)
        g = gpu_spec(self.gpu)
        t = self.tensor_parallel
        if isinstance(t, bool) or int(t) != t or t < 1:
            raise ValueError(f"tensor_parallel must be an integer >= 1, got {t!r}")
        t = int(t)
        if m.n_heads % t:
            raise ValueError(f"tensor_parallel={t} does not divide the {m.n_heads} attention heads of {m.name}")
        if m.n_kv_heads % t and t % m.n_kv_heads:
            raise ValueError(f"tensor_parallel={t} neither divides nor is a multiple of the {m.n_kv_heads} "
                             f"KV heads of {m.name}")
        unknown = sorted(set(self.factors) - set(DEFAULT_FACTORS))
        if unknown:
            raise ValueError(f"unknown factor(s) {unknown}; accepted: {list(DEFAULT_FACTORS)}")
        f = {**DEFAULT_FACTORS, **self.factors}
        for k, v in f.items():
            v = float(v)
            hi = 1.0 if k in _EFFICIENCIES else np.inf
            lo_ok = v > 0 if k in _EFFICIENCIES else v >= 0
            if not (np.isfinite(v) and lo_ok and v <= hi):
                rng = "(0, 1]" if k in _EFFICIENCIES else "[0, inf)"
                raise ValueError(f"{k} must be in {rng}, got {v!r}")
            f[k] = v
        object.__setattr__(self, "model", m)
        object.__setattr__(self, "gpu", g)
        object.__setattr__(self, "tensor_parallel", t)
        object.__setattr__(self, "factors", f)

    # ------------------------------------------------------------ coefficients
    def coefficients(self):
        """Per-iteration coefficients (s per unit), the form the jitted kernel evaluates."""
        m, g, t, f = self.model, self.gpu, self.tensor_parallel, self.factors
        L, b = m.n_layers, m.dtype_bytes
        flops = f["eff_compute"] * g.flops
        bw = f["eff_memory"] * g.mem_bw
        kv_heads = max(m.n_kv_heads / t, 1.0)
        router = m.hidden * m.n_experts if m.n_experts > 1 else 0
        active = m.attention_params + m.experts_per_token * m.expert_params + router
        act_width = (3 if m.gated_mlp else 2) * m.ffn * m.experts_per_token
        elem_bytes = b * (10 * m.hidden + ((m.n_heads + m.n_kv_heads) * 2 * m.head_dim + act_width) / t
                          + 2 * kv_heads * m.head_dim)
        ar = 2.0 if t > 1 else 0.0
        return {
            "ctx": L * 2 * kv_heads * m.head_dim * b / (f["eff_kv"] * g.mem_bw),
            "lin_flop": L * 2 * active / t / flops,
            "w_dense": L * b * (m.attention_params + router) / t / bw,
            "w_expert": L * b * m.expert_params / t / bw,
            "n_experts": float(m.n_experts),
            "k_experts": float(m.experts_per_token),
            "elem": L * elem_bytes / bw,
            "pair": L * 4 * (m.n_heads / t) * m.head_dim / (f["eff_attention"] * g.flops),
            "attn_fixed": L * f["attention_fixed_s"],
            "ar_tok": ar * L * 2 * (t - 1) / t * m.hidden * b / (f["eff_link"] * g.link_bw),
            "ar_fixed": ar * L * f["allreduce_latency_s"],
            "fixed": L * f["per_layer_s"] + f["per_iteration_s"],
            "per_seq": f["per_request_s"],
            "lm_flop": 2 * m.hidden * m.vocab / t / flops,
            "lm_bytes": m.hidden * m.vocab * b / t / bw,
        }

    def kernel_params(self):
        c = self.coefficients()
        return KIND_ROOFLINE, np.array([c["ctx"], c["lin_flop"], c["w_dense"], c["w_expert"], c["n_experts"],
                                        c["k_experts"], c["elem"], c["pair"], c["attn_fixed"], c["ar_tok"],
                                        c["ar_fixed"], c["fixed"], c["per_seq"], c["lm_flop"], c["lm_bytes"]])

    # ------------------------------------------------------------ evaluation
    def components(self, prefill_tokens, n_decodes=0, decode_context_tokens=0, prefill_context_tokens=0):
        """Seconds of each part of :data:`COMPONENTS` (dict of float64 arrays, broadcast shapes)."""
        c = self.coefficients()
        P, D, C, K = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (
            prefill_tokens, n_decodes, decode_context_tokens, prefill_context_tokens)))
        n = P + D
        if c["n_experts"] > 1:
            touched = c["n_experts"] * -np.expm1(n * np.log1p(-c["k_experts"] / c["n_experts"]))
        else:
            touched = np.where(n > 0, 1.0, 0.0)
        busy = n > 0
        out_seqs = D + (P > 0)
        return {
            "linear": np.where(busy, np.maximum(c["lin_flop"] * n, c["w_dense"] * busy + c["w_expert"] * touched), 0.0),
            "elementwise": c["elem"] * n,
            "prefill_attention": c["pair"] * P * (K + P / 2),
            "decode_attention": c["ctx"] * C + c["attn_fixed"] * busy,
            "allreduce": c["ar_tok"] * n + c["ar_fixed"] * busy,
            "lm_head": np.where(out_seqs > 0, np.maximum(c["lm_flop"] * out_seqs, c["lm_bytes"]), 0.0),
            "overhead": c["fixed"] + c["per_seq"] * out_seqs,
        }

    def iteration_time(self, prefill_tokens, n_decodes=0, decode_context_tokens=0, prefill_context_tokens=0):
        """Seconds of one iteration (vectorised, broadcast over the four arguments)."""
        parts = self.components(prefill_tokens, n_decodes, decode_context_tokens, prefill_context_tokens)
        return sum(parts.values())

    def separable(self, max_tokens=32768):
        """This model as ``g(p + d) + c C`` for the capacity theory (a :class:`TableLatency`).

        Every token row is priced as a prefill row without its attention (the
        prefill attention, the per-sequence LM head and overhead of decode
        rows are left out); ``c`` is the exact decode-attention cost per
        context token.
        """
        from .latency import TableLatency

        n = np.unique(np.concatenate([np.arange(1, 257), np.geomspace(256, max_tokens, 200).round()]))
        parts = self.components(n, 0, 0, 0)
        seconds = sum(v for k, v in parts.items() if k != "prefill_attention")
        return TableLatency(tuple(n), tuple(seconds), self.coefficients()["ctx"])

    def kv_capacity_tokens(self, memory_utilization=0.9, activation_bytes=1 * 1024**3):
        """KV-cache tokens one replica (``tensor_parallel`` GPUs) holds; see :func:`kv_capacity_tokens`."""
        return kv_capacity_tokens(self.model, self.gpu, self.tensor_parallel, memory_utilization, activation_bytes)


def kv_capacity_tokens(model, gpu, tensor_parallel=1, memory_utilization=0.9, activation_bytes=1 * 1024**3):
    """KV-cache tokens of one replica of ``model`` over ``tensor_parallel`` GPUs.

    ``(memory x memory_utilization - weights / t - activation_bytes) /
    (KV bytes per token / t)`` per GPU (vLLM's rule, its default utilisation
    0.9); KV heads fewer than ``t`` are replicated, one per GPU.

    Raises
    ------
    ValueError
        When the weights and activations do not fit in the GPUs' memory.
    """
    m = model_spec(model)
    g = gpu_spec(gpu)
    t = int(tensor_parallel)
    if not 0 < memory_utilization <= 1:
        raise ValueError(f"memory_utilization must be in (0, 1], got {memory_utilization!r}")
    if activation_bytes < 0:
        raise ValueError(f"activation_bytes must be >= 0, got {activation_bytes!r}")
    free = g.mem_bytes * memory_utilization - m.weight_bytes / t - activation_bytes
    kv_heads = max(m.n_kv_heads / t, 1.0)
    per_token = 2 * m.n_layers * kv_heads * m.head_dim * m.dtype_bytes
    tokens = int(free // per_token) if free > 0 else 0
    if tokens < 1024:
        raise ValueError(
            f"model {m.name} ({m.weight_bytes / 1024**3:.1f} GiB of weights) does not fit on tensor_parallel={t} "
            f"x {g.name} ({g.mem_bytes / 1024**3:.0f} GiB each at memory_utilization={memory_utilization}): "
            f"{max(free, 0) / 1024**3:.2f} GiB per GPU left for the KV cache; use more GPUs or a larger GPU")
    return tokens


def resolve_hardware(latency, kv_capacity_tokens, model, gpu, tensor_parallel, default_kv):
    """The (latency model, KV tokens) of a call that names a ``model`` and ``gpu`` or neither.

    With neither, ``latency`` and ``kv_capacity_tokens`` (``None``:
    ``default_kv``) are returned unchanged; with both, the roofline of
    ``model`` on ``tensor_parallel`` x ``gpu`` and its derived KV capacity
    (unless ``kv_capacity_tokens`` is given).
    """
    if model is None and gpu is None:
        if tensor_parallel != 1:
            raise ValueError(f"tensor_parallel={tensor_parallel!r} needs model= and gpu=")
        return latency, default_kv if kv_capacity_tokens is None else kv_capacity_tokens
    if model is None or gpu is None:
        raise ValueError(f"pass both model= and gpu= (got model={model!r}, gpu={gpu!r})")
    if latency is not None:
        raise ValueError("pass either latency= or model= and gpu=, not both")
    lat = roofline_latency(model, gpu, tensor_parallel)
    return lat, lat.kv_capacity_tokens() if kv_capacity_tokens is None else kv_capacity_tokens


def roofline_latency(model, gpu, tensor_parallel=1, **factors):
    """Roofline latency model of ``model`` on ``tensor_parallel`` x ``gpu``.

    Parameters
    ----------
    model : str, path, dict or ModelSpec
        See :func:`queueing.hardware.model_spec`.
    gpu : str, dict or GPUSpec
        See :func:`queueing.hardware.gpu_spec`.
    tensor_parallel : int
        GPUs per replica; must divide the attention heads.
    **factors
        Overrides of :data:`DEFAULT_FACTORS`. Without them, the factors fitted
        for the GPU's class (``queueing.calibration.fitted_factors``) are
        used when there are any, else the defaults.

    Returns
    -------
    RooflineLatency
    """
    from .calibration import fitted_factors

    g = gpu_spec(gpu)
    base = fitted_factors(g.name) or {}
    return RooflineLatency(model, g, tensor_parallel, {**DEFAULT_FACTORS, **base, **factors})
