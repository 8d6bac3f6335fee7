"""Numba kernels of the trace simulators (private).

Every policy works on *items* with dense 0-based ids ``0..n_items-1`` and
sizes in the capacity's unit. A policy is a small ``access`` function on a
shared tuple of state arrays (:mod:`.state`); :mod:`.driver` maps requests to
items (layering lives there, once) and calls the policy by integer code.
"""
