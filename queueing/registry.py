"""Scheduler registry: name -> where its jitted driver lives and how it is configured.

To add a scheduler, write its module (see the ``queueing.engine`` module
docstring, "Adding a scheduler") and add one line to ``SCHEDULERS``.
"""

from dataclasses import dataclass
from importlib import import_module

from .engine import QUEUE_FCFS, QUEUE_PRIORITY, QUEUE_SPF

__all__ = ["SchedulerSpec", "SCHEDULERS", "scheduler_names", "get_scheduler", "check_scheduler_params"]


@dataclass(frozen=True)
class SchedulerSpec:
    """How to run one named scheduler.

    Attributes
    ----------
    module : str
        Submodule of ``queueing`` that defines the driver.
    driver : str
        Name of the ``@njit`` driver ``run_<name>(spec, st, rec, out_len, cfg)``.
    queue_policy : int
        Waiting-queue order: ``QUEUE_FCFS`` (preempted requests first),
        ``QUEUE_SPF`` (shortest prefill first) or ``QUEUE_PRIORITY``
        (strictest TBT class, then shortest prefill).
    variant : int
        Scheduler-specific option, passed as ``cfg.variant``.
    params : tuple of (str, float)
        Extra keyword parameters of ``simulate`` and their defaults, passed in
        this order as ``cfg.sched_params`` (float64 array).
    uses_budget : bool
        Whether batches respect ``token_budget`` (checked with ``check_invariants``).
    check : str
        Name of a plain Python function ``f(params, token_budget)`` in the
        module that raises ``ValueError`` (naming the parameter) when the
        parameters are out of range; run before the kernel. Empty: none.
    """

    module: str
    driver: str
    queue_policy: int = QUEUE_FCFS
    variant: int = 0
    params: tuple = ()
    uses_budget: bool = True
    check: str = ""


_SLAI_PARAMS = (("theta_low", 5.0), ("theta_high", 10.0), ("kv_threshold", 0.96))
_RAD_PARAMS = (("tile", 128.0), ("prefills_per_cycle", 8.0), ("kv_reserve", 0.0))

SCHEDULERS = {
    "vllm": SchedulerSpec("sched_vllm", "run_vllm", QUEUE_FCFS, uses_budget=False),
    "sarathi": SchedulerSpec("sched_sarathi", "run_sarathi", QUEUE_FCFS),
    "sarathi-spf": SchedulerSpec("sched_sarathi", "run_sarathi", QUEUE_SPF),
    "slai-fcfs-fixed": SchedulerSpec("sched_slai", "run_slai", QUEUE_FCFS, 1, _SLAI_PARAMS),
    "slai-spf-fixed": SchedulerSpec("sched_slai", "run_slai", QUEUE_SPF, 1, _SLAI_PARAMS),
    "slai": SchedulerSpec("sched_slai", "run_slai", QUEUE_SPF, 0, _SLAI_PARAMS),
    "slai-priority": SchedulerSpec("sched_slai", "run_slai", QUEUE_PRIORITY, 0, _SLAI_PARAMS),
    "rad": SchedulerSpec("sched_rad", "run_rad", QUEUE_FCFS, 0, _RAD_PARAMS + (("decode_budget", 0.0),),
                         check="check_rad_params"),
    "rad-alternating": SchedulerSpec("sched_rad_alternating", "run_rad_alternating", QUEUE_FCFS, 0, _RAD_PARAMS,
                                     check="check_rad_params"),
}


def scheduler_names():
    """Registered scheduler names, sorted."""
    return sorted(SCHEDULERS)


def check_scheduler_params(spec, params, token_budget):
    """Run the scheduler's own range checks (``SchedulerSpec.check``) on ``params`` (dict, name -> float)."""
    if spec.check:
        getattr(import_module(f".{spec.module}", __package__), spec.check)(params, token_budget)


def get_scheduler(name):
    """Return ``(SchedulerSpec, driver)`` for a registered name; ``ValueError`` otherwise."""
    try:
        spec = SCHEDULERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown scheduler {name!r}; choose one of {scheduler_names()}") from None
    return spec, getattr(import_module(f".{spec.module}", __package__), spec.driver)
