"""Model and GPU descriptions: what a roofline latency model needs to know about each.

Units: bytes, FLOP/s, bytes/s, tokens.

* :class:`ModelSpec` holds the fields of a Hugging Face ``config.json`` that set
  the cost of a transformer layer (:func:`model_spec` reads a shipped name, a
  local ``config.json`` or a dict);
* :class:`GPUSpec` holds dense BF16/FP16 tensor throughput, memory bandwidth,
  memory capacity and interconnect bandwidth (:func:`gpu_spec` reads a shipped
  name or a dict).

Every shipped row names its source (``source``): the model's ``config.json`` on
the Hugging Face Hub, the vendor's datasheet for a GPU.
"""

from dataclasses import dataclass, fields, replace
import json
import os

__all__ = ["ModelSpec", "GPUSpec", "model_spec", "gpu_spec", "models", "gpus"]

GIB = 1024**3


@dataclass(frozen=True)
class ModelSpec:
    """Cost-setting fields of a decoder-only transformer (Hugging Face names in brackets).

    Attributes
    ----------
    name : str
        Hugging Face id, e.g. ``"meta-llama/Meta-Llama-3-8B"``.
    n_layers : int            [num_hidden_layers]
    hidden : int              [hidden_size]
    n_heads : int             [num_attention_heads]
    n_kv_heads : int          [num_key_value_heads] (= n_heads when absent)
    head_dim : int            [head_dim] (= hidden / n_heads when absent)
    ffn : int                 [intermediate_size] per expert
    vocab : int               [vocab_size]
    gated_mlp : bool          SwiGLU-style MLP with three matrices (Llama, Mistral, Qwen2)
    dtype_bytes : int         bytes per weight and KV element (2 for bf16/fp16)
    n_experts : int           [num_local_experts] 1 for a dense model
    experts_per_token : int   [num_experts_per_tok] 1 for a dense model
    source : str              where the numbers come from
    """

    name: str
    n_layers: int
    hidden: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    ffn: int
    vocab: int
    gated_mlp: bool = True
    dtype_bytes: int = 2
    n_experts: int = 1
    experts_per_token: int = 1
    source: str = ""

    def __post_init__(self):
        for f in ("n_layers", "hidden", "n_heads", "n_kv_heads", "head_dim", "ffn", "vocab",
                  "dtype_bytes", "n_experts", "experts_per_token"):
            v = getattr(self, f)
            if isinstance(v, bool) or int(v) != v or v < 1:
                raise ValueError(f"model {self.name!r}: {f} must be an integer >= 1, got {v!r}")
            object.__setattr__(self, f, int(v))
        if self.n_heads % self.n_kv_heads:
            raise ValueError(f"model {self.name!r}: n_heads ({self.n_heads}) must be a multiple of "
                             f"n_kv_heads ({self.n_kv_heads})")
        if self.experts_per_token > self.n_experts:
            raise ValueError(f"model {self.name!r}: experts_per_token ({self.experts_per_token}) "
                             f"exceeds n_experts ({self.n_experts})")

    @property
    def attention_params(self):
        """Weights of one layer's Q, K, V and output projections."""
        return self.hidden * (self.n_heads + 2 * self.n_kv_heads) * self.head_dim \
            + self.n_heads * self.head_dim * self.hidden

    @property
    def expert_params(self):
        """Weights of one MLP (one expert of an MoE layer)."""
        return (3 if self.gated_mlp else 2) * self.hidden * self.ffn

    @property
    def n_params(self):
        """All weights: layers (every expert and the router), embedding and LM head."""
        router = self.hidden * self.n_experts if self.n_experts > 1 else 0
        layer = self.attention_params + self.n_experts * self.expert_params + router
        return self.n_layers * layer + 2 * self.vocab * self.hidden

    @property
    def weight_bytes(self):
        return self.n_params * self.dtype_bytes

    @property
    def kv_bytes_per_token(self):
        """KV-cache bytes of one token over all layers: 2 x layers x KV heads x head dim x dtype."""
        return 2 * self.n_layers * self.n_kv_heads * self.head_dim * self.dtype_bytes


@dataclass(frozen=True)
class GPUSpec:
    """One accelerator.

    Attributes
    ----------
    name : str
    flops : float        dense BF16/FP16 tensor-core FLOP/s (no sparsity)
    mem_bw : float       memory bandwidth, bytes/s
    mem_bytes : float    memory capacity, bytes (the datasheet's "GB" read as GiB, as nvidia-smi reports it)
    link_bw : float      per-GPU interconnect bandwidth for all-reduce, bytes/s (one direction)
    source : str         where the numbers come from
    """

    name: str
    flops: float
    mem_bw: float
    mem_bytes: float
    link_bw: float
    source: str = ""

    def __post_init__(self):
        for f in ("flops", "mem_bw", "mem_bytes", "link_bw"):
            v = getattr(self, f)
            if isinstance(v, bool) or not float(v) > 0 or float(v) == float("inf"):
                raise ValueError(f"gpu {self.name!r}: {f} must be a finite number > 0, got {v!r}")
            object.__setattr__(self, f, float(v))


def _hf(repo):
    return f"https://huggingface.co/{repo}/blob/main/config.json"


# (alias, HF id, layers, hidden, heads, kv heads, head dim, ffn, vocab, experts, experts per token)
_MODEL_ROWS = [
    ("mistral-7b", "mistralai/Mistral-7B-Instruct-v0.2", 32, 4096, 32, 8, 128, 14336, 32000, 1, 1),
    ("llama-2-7b", "meta-llama/Llama-2-7b-hf", 32, 4096, 32, 32, 128, 11008, 32000, 1, 1),
    ("llama-2-13b", "meta-llama/Llama-2-13b-hf", 40, 5120, 40, 40, 128, 13824, 32000, 1, 1),
    ("llama-2-70b", "meta-llama/Llama-2-70b-hf", 80, 8192, 64, 8, 128, 28672, 32000, 1, 1),
    ("llama-3-8b", "meta-llama/Meta-Llama-3-8B", 32, 4096, 32, 8, 128, 14336, 128256, 1, 1),
    ("llama-3-70b", "meta-llama/Meta-Llama-3-70B", 80, 8192, 64, 8, 128, 28672, 128256, 1, 1),
    ("codellama-34b", "codellama/CodeLlama-34b-Instruct-hf", 48, 8192, 64, 8, 128, 22016, 32000, 1, 1),
    ("qwen2.5-7b", "Qwen/Qwen2.5-7B-Instruct", 28, 3584, 28, 4, 128, 18944, 152064, 1, 1),
    ("qwen2.5-32b", "Qwen/Qwen2.5-32B-Instruct", 64, 5120, 40, 8, 128, 27648, 152064, 1, 1),
    ("qwen2.5-72b", "Qwen/Qwen2.5-72B-Instruct", 80, 8192, 64, 8, 128, 29568, 152064, 1, 1),
    ("mixtral-8x7b", "mistralai/Mixtral-8x7B-v0.1", 32, 4096, 32, 8, 128, 14336, 32000, 8, 2),
    # ReLU MLP (two matrices): the models of DistServe's published fits
    ("opt-13b", "facebook/opt-13b", 40, 5120, 40, 40, 128, 20480, 50272, 1, 1),
    ("opt-66b", "facebook/opt-66b", 64, 9216, 72, 72, 128, 36864, 50272, 1, 1),
]

_MODELS = {
    alias: ModelSpec(hf, L, d, h, g, hd, f, v, not alias.startswith("opt-"), 2, e, k, _hf(hf))
    for alias, hf, L, d, h, g, hd, f, v, e, k in _MODEL_ROWS
}
_MODEL_ALIASES = {alias: alias for alias in _MODELS}
_MODEL_ALIASES.update({spec.name.lower(): alias for alias, spec in _MODELS.items()})
_MODEL_ALIASES.update({"mistralai/mistral-7b-v0.1": "mistral-7b", "mistralai/mistral-7b-instruct-v0.1": "mistral-7b",
                       "meta-llama/llama-3-8b": "llama-3-8b", "meta-llama/llama-3-70b": "llama-3-70b",
                       "meta-llama/llama-2-70b-chat-hf": "llama-2-70b", "meta-llama/llama-2-7b-chat-hf": "llama-2-7b",
                       "meta-llama/llama-2-13b-chat-hf": "llama-2-13b", "qwen/qwen2.5-7b": "qwen2.5-7b",
                       "qwen/qwen2.5-32b": "qwen2.5-32b", "qwen/qwen2.5-72b": "qwen2.5-72b",
                       "mistralai/mixtral-8x7b-instruct-v0.1": "mixtral-8x7b"})

_NV = "https://www.nvidia.com/"
# (name, dense BF16 TFLOP/s, memory TB/s, memory GB, interconnect GB/s, datasheet)
_GPU_ROWS = [
    ("a100-40gb", 312, 1.555, 40, 300, _NV + "content/dam/en-zz/Solutions/Data-Center/a100/pdf/"
     "nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf (SXM: BF16 312 TFLOPS dense, 1,555 GB/s, NVLink 600 GB/s "
     "bidirectional = 300 GB/s per direction)"),
    ("a100-80gb", 312, 2.039, 80, 300, _NV + "content/dam/en-zz/Solutions/Data-Center/a100/pdf/"
     "nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf (SXM: BF16 312 TFLOPS dense, 2,039 GB/s, NVLink 600 GB/s "
     "bidirectional)"),
    ("h100-sxm", 989, 3.35, 80, 450, _NV + "en-us/data-center/h100/ (H100 SXM: BF16 1,979 TFLOPS with sparsity = "
     "989 dense, 3.35 TB/s, NVLink 900 GB/s bidirectional)"),
    ("h100-pcie", 756, 2.0, 80, 300, _NV + "en-us/data-center/h100/ (H100 PCIe: BF16 1,513 TFLOPS with sparsity = "
     "756 dense, 2.0 TB/s, NVLink bridge 600 GB/s bidirectional)"),
    ("h200", 989, 4.8, 141, 450, _NV + "en-us/data-center/h200/ (H200 SXM: BF16 1,979 TFLOPS with sparsity, "
     "4.8 TB/s, 141 GB, NVLink 900 GB/s bidirectional)"),
    ("l40s", 362, 0.864, 48, 32, _NV + "en-us/data-center/l40s/ (BF16 733 TFLOPS with sparsity = 362 dense, "
     "864 GB/s, 48 GB, PCIe Gen4 x16 64 GB/s bidirectional)"),
    ("rtx-6000-ada", 364, 0.960, 48, 32, _NV + "en-us/design-visualization/rtx-6000/ (datasheet: FP8 tensor "
     "1,457 TFLOPS with sparsity = 364 BF16 dense, 960 GB/s GDDR6, 48 GB, PCIe Gen4 x16)"),
    ("a10g", 125, 0.600, 24, 32, _NV + "en-us/data-center/products/a10-gpu/ (NVIDIA A10 datasheet, the public "
     "sheet of AWS's A10G: BF16 125 TFLOPS dense, 600 GB/s, 24 GB, PCIe Gen4)"),
    ("a40", 149.7, 0.696, 48, 56.25, _NV + "content/dam/en-zz/Solutions/design-visualization/quadro-product-"
     "literature/proviz-print-nvidia-a40-datasheet-us-nvidia-1469711-r8-web.pdf (BF16 299.4 TFLOPS with sparsity, "
     "696 GB/s, 48 GB, NVLink 112.5 GB/s bidirectional)"),
    ("mi300x", 1307.4, 5.3, 192, 448, "https://www.amd.com/en/products/accelerators/instinct/mi300/mi300x.html "
     "(BF16 1,307.4 TFLOPS dense, 5.3 TB/s, 192 GB HBM3, Infinity Fabric 896 GB/s bidirectional)"),
]
_GPUS = {name: GPUSpec(name, tf * 1e12, tb * 1e12, gb * GIB, link * 1e9, src)
         for name, tf, tb, gb, link, src in _GPU_ROWS}
_GPU_ALIASES = {name: name for name in _GPUS}
_GPU_ALIASES.update({"a100": "a100-80gb", "h100": "h100-sxm", "h200-sxm": "h200", "rtx6000-ada": "rtx-6000-ada",
                     "rtx-6000ada": "rtx-6000-ada"})

# config.json keys: (field, keys tried in order, default when none is present or None = required)
_CONFIG_KEYS = [
    ("n_layers", ("num_hidden_layers", "n_layer", "num_layers"), None),
    ("hidden", ("hidden_size", "n_embd", "d_model"), None),
    ("n_heads", ("num_attention_heads", "n_head"), None),
    ("ffn", ("intermediate_size", "n_inner", "ffn_dim"), None),
    ("vocab", ("vocab_size",), None),
    ("n_kv_heads", ("num_key_value_heads", "n_kv_head", "num_kv_heads"), "n_heads"),
    ("head_dim", ("head_dim",), "hidden/n_heads"),
    ("n_experts", ("num_local_experts", "num_experts", "n_routed_experts"), 1),
    ("experts_per_token", ("num_experts_per_tok", "moe_topk"), 1),
]
_DTYPE_BYTES = {"bfloat16": 2, "float16": 2, "half": 2, "float32": 4, "float": 4, "float8": 1, "fp8": 1}


def _from_config(config, name):
    out = {}
    for field, keys, default in _CONFIG_KEYS:
        value = next((config[k] for k in keys if config.get(k) is not None), None)
        if value is None:
            if default is None:
                raise ValueError(f"model config {name!r} is missing the required field {keys[0]!r} "
                                 f"(also accepted: {list(keys[1:])})")
            value = (out["n_heads"] if default == "n_heads"
                     else out["hidden"] // out["n_heads"] if default == "hidden/n_heads" else default)
        out[field] = value
    act = str(config.get("hidden_act", config.get("activation_function", "silu"))).lower()
    out["gated_mlp"] = bool(config.get("gated_mlp", act in ("silu", "swiglu", "gelu_pytorch_tanh")
                                       and config.get("model_type", "llama") not in ("gpt2", "opt", "phi")))
    dtype = str(config.get("torch_dtype", "bfloat16")).lower().replace("torch.", "")
    if dtype not in _DTYPE_BYTES:
        raise ValueError(f"model config {name!r}: torch_dtype {dtype!r} is not one of {sorted(_DTYPE_BYTES)}")
    out["dtype_bytes"] = config.get("dtype_bytes", _DTYPE_BYTES[dtype])
    return ModelSpec(name=name, source=config.get("source", name), **out)


def model_spec(model):
    """A :class:`ModelSpec` from a shipped name, a ``config.json`` path, a dict or a ModelSpec.

    Parameters
    ----------
    model : str, os.PathLike, dict or ModelSpec
        A shipped alias or Hugging Face id (case-insensitive, see :func:`models`),
        the path of a Hugging Face ``config.json``, or its contents as a dict.

    Raises
    ------
    ValueError
        Unknown name (the message lists the known ones), unreadable file, or a
        config missing a required field (named).
    """
    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, dict):
        return _from_config(model, str(model.get("_name_or_path", model.get("name", "custom"))))
    if isinstance(model, (str, os.PathLike)):
        key = str(model).lower()
        if key in _MODEL_ALIASES:
            return _MODELS[_MODEL_ALIASES[key]]
        if os.path.isfile(model):
            try:
                with open(model) as fh:
                    config = json.load(fh)
            except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ValueError(f"cannot read model config {str(model)!r}: {exc}") from exc
            if not isinstance(config, dict):
                raise ValueError(f"model config {str(model)!r} is not a JSON object")
            return _from_config(config, str(config.get("_name_or_path", model)))
        raise ValueError(f"unknown model {str(model)!r}: not a config.json file and not one of the shipped "
                         f"models {sorted(_MODELS)} (or their Hugging Face ids)")
    raise ValueError(f"model must be a name, a config.json path, a dict or a ModelSpec, got {type(model).__name__}")


def gpu_spec(gpu):
    """A :class:`GPUSpec` from a shipped name (see :func:`gpus`), a dict of its fields, or a GPUSpec.

    A dict needs ``flops`` (FLOP/s), ``mem_bw`` (bytes/s), ``mem_bytes`` and
    ``link_bw`` (bytes/s); ``name`` and ``source`` are optional.
    """
    if isinstance(gpu, GPUSpec):
        return gpu
    if isinstance(gpu, dict):
        need = [f.name for f in fields(GPUSpec) if f.name not in ("name", "source")]
        missing = [k for k in need if k not in gpu]
        if missing:
            raise ValueError(f"gpu dict is missing {missing} (needs {need}; units FLOP/s, bytes/s, bytes)")
        unknown = sorted(set(gpu) - {f.name for f in fields(GPUSpec)})
        if unknown:
            raise ValueError(f"gpu dict has unknown keys {unknown}")
        return GPUSpec(**{"name": "custom", **gpu})
    if isinstance(gpu, str):
        key = gpu.lower()
        if key in _GPU_ALIASES:
            return _GPUS[_GPU_ALIASES[key]]
        raise ValueError(f"unknown gpu {gpu!r}: choose one of {sorted(_GPUS)} (aliases: "
                         f"{sorted(set(_GPU_ALIASES) - set(_GPUS))}) or pass a dict")
    raise ValueError(f"gpu must be a name, a dict or a GPUSpec, got {type(gpu).__name__}")


def models():
    """The shipped model table (pandas.DataFrame, one row per alias, with each row's source)."""
    import pandas as pd

    rows = [{"alias": a, **{f.name: getattr(s, f.name) for f in fields(s)},
             "params_b": s.n_params / 1e9, "kv_bytes_per_token": s.kv_bytes_per_token} for a, s in _MODELS.items()]
    return pd.DataFrame(rows).set_index("alias")


def gpus():
    """The shipped GPU table (pandas.DataFrame; TFLOP/s, TB/s, GiB, GB/s, and each row's source)."""
    import pandas as pd

    rows = [{"name": g.name, "tflops_bf16": g.flops / 1e12, "mem_tb_s": g.mem_bw / 1e12,
             "mem_gib": g.mem_bytes / GIB, "link_gb_s": g.link_bw / 1e9, "source": g.source} for g in _GPUS.values()]
    return pd.DataFrame(rows).set_index("name")


def with_fields(spec, **changes):
    """A copy of a ModelSpec or GPUSpec with some fields changed (validated again)."""
    return replace(spec, **changes)
