"""Numba kernels of the trace simulators (private).

Every policy works on *items* with dense 0-based ids ``0..n_items-1`` and
sizes in the capacity's unit, on a shared tuple of state arrays
(:mod:`.state`): :mod:`.recency` (LRU and FIFO: per-item stamps swept by a
tail over the access sequence), :mod:`.lfu` (in-cache LFU on the frequency
buckets of :mod:`.buckets`, perfect LFU on the indexed heap of :mod:`.heap`)
and :mod:`.belady` (heap), and the queue policies on the doubly linked
queues and rings of :mod:`.lists`: :mod:`.clock`, :mod:`.sieve`,
:mod:`.s3fifo`, :mod:`.twoq`, :mod:`.arc`, :mod:`.slru` (each as
libCacheSim; each inlined into its own entry point only, which keeps the
others quick to compile). :mod:`.driver` maps
requests to items (layering lives there, once) and holds the one simulation
loop, compiled once per policy (``run_lru``, ...), which Python calls by
global name. :mod:`.stack` replays the same item accesses on Mattson's LRU
stack for whole hit-ratio curves; :mod:`.sample` hashes ids for spatial
sampling.

Developer note: numba's on-disk cache is keyed on the file of the compiled
function, not on the modules it inlines. After editing a policy module,
delete ``layercache/kernels/__pycache__`` so that the driver is recompiled.
"""
