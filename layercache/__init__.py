"""layercache: simulators and analytical models for caching layered data objects.

Public names are re-exported here and loaded lazily (PEP 562), so that
``import layercache`` stays fast and heavy dependencies (numba kernels, sympy,
pandas) load on first use.
"""

from importlib import import_module

# public name -> submodule that defines it
_EXPORTS = {
    "Catalog": "catalog",
    "zipf_popularity": "popularity",
    "version_profile": "popularity",
    "touch_probabilities": "popularity",
    "check_pmf": "popularity",
    "irm_trace": "workload",
    "IdRemapper": "remap",
    "remap_ids": "remap",
    "read_trace": "traces",
    "read_versioned_trace": "traces",
    "iter_trace_chunks": "traces",
    "read_oracle_general": "traces",
    "read_csv_trace": "traces",
    "write_oracle_general": "traces",
    "oracle_next_access": "traces",
    "ZeroSizeWarning": "traces",
    "ZERO_SIZE_CHOICES": "traces",
    "detect_trace_format": "trace_formats",
    "TraceColumns": "text_traces",
    "ORACLE_GENERAL_DTYPE": "trace_formats",
    "layer_trace": "layering",
    "simulate": "simulation",
    "stream_trace": "streaming",
    "StagedTrace": "streaming",
    "POLICIES": "simulation",
    "hit_ratio_curve": "curve",
    "CURVE_METHODS": "curve",
    "sampled_curve": "sampling",
    "POLICY_OPTIONS": "simulation",
    "SimulationResult": "result",
    "CheResult": "che",
    "CheCurve": "che",
    "CHE_MODELS": "che",
    "che_characteristic_time": "che",
    "che_hit_ratio": "che",
    "che_lru_hit_ratio": "che",
    "che_llru_hit_ratio": "che",
    "che_fifo_hit_ratio": "che",
    "che_lfifo_hit_ratio": "che",
    "che_full_object_hit_ratio": "che",
    "che_hit_ratio_curve": "che",
    "StaticAllocation": "optimum",
    "static_optimum": "optimum",
    "static_lfu_allocation": "optimum",
    "che_item_expressions": "symbolic",
    "che_fixed_point_equation": "symbolic",
    "che_hit_ratio_expression": "symbolic",
    "lambdify_che": "symbolic",
    "split_derivation": "symbolic",
    "split_layer": "symbolic",
    "layer_split_effect": "symbolic",
    "LayerSplitEffect": "symbolic",
    "stationary_prefix": "compare",
    "compare_model_simulation": "compare",
    "sweep": "layerq.sweep",  # one runner for both toolkits
    "irm_experiment": "experiments",
    "trace_experiment": "experiments",
    "plot_hit_ratio": "plots",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'layercache' has no attribute {name!r}") from None
    value = getattr(import_module(module if "." in module else f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
