"""Sarathi-Serve stall-free batching (FCFS or shortest-prompt-first admission).

Every iteration, within the token budget B (tokens): (1) every running decode,
oldest first (KV shortage preempts the newest active request); (2) started
prefills continue, oldest first, each chunk = min(remaining prompt, B - used);
(3) new requests in queue order (FCFS, or SPF for "sarathi-spf") with
head-of-line blocking. Registered as "sarathi" and "sarathi-spf".
"""

from numba import njit

from ._batching import admit_new_prefills, chunk_prefills, decode_running_in_order
from .cluster_engine import drive_colocated
from .engine import batch_clear


@njit(cache=True, inline="always")
def build_sarathi(spec, st, cfg, r):
    batch_clear(st, r)
    npf, tokens = decode_running_in_order(spec, st, cfg, r, 0, cfg.token_budget)
    tokens, _ = chunk_prefills(st, cfg, r, 0, npf, tokens)
    admit_new_prefills(spec, st, cfg, r, tokens)


@njit(cache=True)
def run_sarathi(spec, st, rec, out_len, cfg):
    return drive_colocated(build_sarathi, spec, st, rec, out_len, cfg)
