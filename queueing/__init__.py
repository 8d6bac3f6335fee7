"""queueing: simulation and theory of LLM inference scheduling (prefill/decode batching).

Public names are re-exported here and loaded lazily (PEP 562), so that
``import queueing`` stays fast and heavy dependencies (numba kernels, sympy,
pandas) load on first use.
"""

from importlib import import_module

# public name -> submodule that defines it
_EXPORTS = {
    "AffineLatency": "latency",
    "PiecewiseLatency": "latency",
    "TileLatency": "latency",
    "TableLatency": "latency",
    "default_latency": "latency",
    "intercept_free_tile_latency": "latency",
    "microbenchmark_table": "latency",
    "Workload": "workloads",
    "SLOClass": "workloads",
    "DEFAULT_SLO_CLASSES": "workloads",
    "sharegpt4": "workloads",
    "azure_conv": "workloads",
    "read_lengths_csv": "workloads",
    "synthetic_lengths": "workloads",
    "poisson_arrivals": "workloads",
    "gamma_arrivals": "workloads",
    "assign_slo_classes": "workloads",
    "poisson_workload": "workloads",
    "trace_workload": "workloads",
    "sharegpt4_workload": "workloads",
    "azure_conv_workload": "workloads",
    "simulate": "simulation",
    "SimulationResult": "simulation",
    "FLUID_RULES": "simulation",
    "scheduler_names": "registry",
    "capacity_search": "capacity",
    "max_capacity": "capacity",
    "CapacityResult": "capacity",
    "meets_criterion": "capacity",
    "lambda_star": "theory",
    "workload_moments": "theory",
    "tiling_loss_table": "theory",
    "static_split_capacity": "theory",
    "static_split_table": "theory",
    "tile_waste": "theory",
    "fluid_capacity": "fluid",
    "fluid_path": "fluid",
    "fluid_growth_rate": "fluid",
    "capacity_function": "symbolic",
    "best_token_budget": "planner",
    "replicas_needed": "planner",
    "plan_capacity": "planner",
    "best_pd_split": "planner",
    "simulate_cluster": "cluster",
    "ReplicaGroup": "cluster",
    "Link": "cluster",
    "ClusterResult": "cluster",
    "parse_groups": "cluster_spec",
    "read_groups": "cluster_spec",
    "cluster_capacity": "planner",
    "split_capacity": "cluster_theory",
    "split_capacity_table": "cluster_theory",
    "simulated_window": "fluid",
    "roofline_latency": "roofline",
    "RooflineLatency": "roofline",
    "models": "hardware",
    "gpus": "hardware",
    "model_spec": "hardware",
    "gpu_spec": "hardware",
    "ModelSpec": "hardware",
    "GPUSpec": "hardware",
    "calibrate": "calibration",
    "CalibrationResult": "calibration",
    "sweep": "layerq.sweep",  # one runner for both toolkits
    "make_workload": "experiments",
    "serve_experiment": "experiments",
    "cluster_experiment": "experiments",
    "capacity_experiment": "experiments",
    "plot_latency": "plots",
    "plot_capacity": "plots",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'queueing' has no attribute {name!r}") from None
    value = getattr(import_module(module if "." in module else f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
