"""The one cluster driver: every role runs its own registered batch builder.

A cluster's roles may use different schedulers (e.g. prefill replicas on
Sarathi-Serve, decode replicas on vLLM): the driver is the engine's
``replica_loop`` (``queueing.cluster_engine``) with a builder that dispatches
on the replica's role configuration ``cfg.builder``. One compiled driver
serves every cluster (it compiles every builder once, on first use).
"""

from numba import njit

from .cluster_engine import replica_loop
from .sched_rad import build_rad
from .sched_rad_alternating import build_rad_alternating
from .sched_sarathi import build_sarathi
from .sched_slai import build_slai
from .sched_vllm import build_vllm

BUILD_SARATHI, BUILD_VLLM, BUILD_SLAI, BUILD_RAD, BUILD_RAD_ALTERNATING = 0, 1, 2, 3, 4
# registered driver (``SchedulerSpec.driver``) -> batch builder id (``Config.builder``)
BUILDERS = {"run_sarathi": BUILD_SARATHI, "run_vllm": BUILD_VLLM, "run_slai": BUILD_SLAI, "run_rad": BUILD_RAD,
            "run_rad_alternating": BUILD_RAD_ALTERNATING}


@njit(cache=True, inline="always")
def build_by_id(spec, st, cfg, r):
    """Build replica ``r``'s batch with the builder ``cfg.builder`` (an id of ``BUILDERS``)."""
    b = cfg.builder
    if b == BUILD_SARATHI:
        build_sarathi(spec, st, cfg, r)
    elif b == BUILD_VLLM:
        build_vllm(spec, st, cfg, r)
    elif b == BUILD_SLAI:
        build_slai(spec, st, cfg, r)
    elif b == BUILD_RAD:
        build_rad(spec, st, cfg, r)
    elif b == BUILD_RAD_ALTERNATING:
        build_rad_alternating(spec, st, cfg, r)


@njit(cache=True)
def run_cluster(spec, st, rec, out_len, cfgs, cl):
    """Drive a cluster (``queueing.cluster_engine``) until done or a STATUS_ code."""
    return replica_loop(build_by_id, spec, st, rec, out_len, cfgs, cl)
