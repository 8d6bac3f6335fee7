"""Scheduler registry: name -> where its jitted driver lives and how it is configured.

To add a scheduler, write its module (see the ``queueing.engine`` module
docstring, "Adding a scheduler") and add one line to ``SCHEDULERS``.
"""

from dataclasses import dataclass
from importlib import import_module

__all__ = ["SchedulerSpec", "SCHEDULERS", "ROUTER_NAMES", "scheduler_names", "get_scheduler",
           "check_scheduler_params"]

#: The routers of ``queueing.engine.ROUTERS``, named here so that listing them
#: (the command line's ``--help``) does not import the engine and Numba.
ROUTER_NAMES = ("round_robin", "least_outstanding", "least_work", "least_prefill_backlog", "power_of_two",
                "kv_least_loaded")


@dataclass(frozen=True)
class SchedulerSpec:
    """How to run one named scheduler.

    Attributes
    ----------
    module : str
        Submodule of ``queueing`` that defines the driver.
    driver : str
        Name of the ``@njit`` driver ``run_<name>(spec, st, rec, out_len, cfg)``.
    queue_order : {"fcfs", "spf", "priority"}
        Waiting-queue order: first come first served (preempted requests
        first), shortest prefill first, or strictest TBT class then shortest
        prefill; the kernels get it as ``queue_policy`` (``QUEUE_FCFS``,
        ``QUEUE_SPF``, ``QUEUE_PRIORITY`` of ``queueing.engine``).
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
    queue_order: str = "fcfs"
    variant: int = 0
    params: tuple = ()
    uses_budget: bool = True
    check: str = ""

    @property
    def queue_policy(self) -> int:
        """``queue_order`` as the engine's code (imports the engine, hence Numba, on first use)."""
        from . import engine

        return getattr(engine, f"QUEUE_{self.queue_order.upper()}")


_SLAI_PARAMS = (("theta_low", 5.0), ("theta_high", 10.0), ("kv_threshold", 0.96))
_RAD_PARAMS = (("tile", 128.0), ("prefills_per_cycle", 8.0), ("kv_reserve", 0.0))

SCHEDULERS = {
    "vllm": SchedulerSpec("sched_vllm", "run_vllm", "fcfs", uses_budget=False),
    "sarathi": SchedulerSpec("sched_sarathi", "run_sarathi", "fcfs"),
    "sarathi-spf": SchedulerSpec("sched_sarathi", "run_sarathi", "spf"),
    "slai-fcfs-fixed": SchedulerSpec("sched_slai", "run_slai", "fcfs", 1, _SLAI_PARAMS),
    "slai-spf-fixed": SchedulerSpec("sched_slai", "run_slai", "spf", 1, _SLAI_PARAMS),
    "slai": SchedulerSpec("sched_slai", "run_slai", "spf", 0, _SLAI_PARAMS),
    "slai-priority": SchedulerSpec("sched_slai", "run_slai", "priority", 0, _SLAI_PARAMS),
    "rad": SchedulerSpec("sched_rad", "run_rad", "fcfs", 0, _RAD_PARAMS + (("decode_budget", 0.0),),
                         check="check_rad_params"),
    "rad-alternating": SchedulerSpec("sched_rad_alternating", "run_rad_alternating", "fcfs", 0, _RAD_PARAMS,
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
