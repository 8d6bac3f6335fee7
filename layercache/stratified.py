"""Sampled curves stratified by object popularity: the default estimator of :func:`layercache.sampled_curve`.

Fixed-rate SHARDS samples each object with probability R, so the sample's
share of the objects of each popularity, above all of those whose
popularity puts them at the edge of a cache, varies from seed to seed; that
shifts the whole curve (SHARDS-adj corrects only the total of requests).
This estimator removes most of that variance by *two-phase sampling for
stratification* (a classic survey design), at the cost of a table of
counts:

1. In the same pass over the trace, every object of a larger spatial sample
   (rate ``R2 = min(1, COUNT_FACTOR R)``, same hash, so it contains the
   rate-R sample) has its requests counted, exactly (all requests of a
   sampled object are seen).
2. Objects are stratified by that count (strata ``sqrt(2)`` wide, merged
   from the most popular down until each holds ``MIN_OBJECTS`` objects of the
   rate-R sample). The phase-one sample estimates each stratum's requests
   ``N_g`` and objects ``O1_g`` with ``COUNT_FACTOR`` times the sample of the
   rate-R one.
3. SHARDS: the LRU stack runs on the rate-R sample with each object
   weighted, in the stack distances of the other objects, by
   ``O1_g / (R2 O_g)`` (``O_g``: its stratum's objects in the rate-R sample,
   so about ``1/R``); its own distance and admission use its size, so
   capacities are those of the full trace. MiniSim: the policy runs on the
   rate-R sample at capacity ``R C``.
4. Per stratum the misses scale by ``N_g / Q_g`` (``Q_g``: its sampled
   requests): ``hit_ratio = 1 - sum_g N_g / Q_g (Q_g - H_g) / n``; the byte
   and layer hit ratios are the same stratified ratios.

With ``COUNT_FACTOR = 1`` it is SHARDS-adj (all weights ``1/R``, misses
scaled by ``1/R``) but for the own-size rule; at rate 1 it is the exact curve.

Error (``hit_ratio_error``): delete-one-group jackknife over 16 groups of
objects (low bits of the hash, independent of sampling), both phases
together, the weights held fixed, times ``sqrt(1 - R)``. Holding the weights
fixed leaves out the noise of the distance scale, so it understates the
error where that dominates, at large capacities: on 200 samples at R = 0.05
of a 20,000-object Zipf(0.8) trace, the root mean square error was 1.2, 1.3
and 1.6 times the mean stated error at 10%, 20% and 40% of the objects, and
96.5%, 97.5% and 93.5% of the errors lay within 3 stated errors.

Accuracy and cost at R = 0.01 (``python benchmarks/bench_layercache_curve.py``,
10^7 Zipf(0.8) requests over 10^6 objects, 100 capacities 0.1%..50%, 20
hash seeds): mean absolute error over the curve 0.0030 on average (median
0.0028, 90th percentile 0.0051, largest 0.0065) against SHARDS-adj's 0.0057
(0.0043, 0.0112, 0.0161); 0.027-0.029 s, 11-12x faster than the exact
curve, against SHARDS-adj's 0.015-0.021 s (two runs on an idle 2-core
machine; load moves these by about 15%).
MiniSim of S3-FIFO at R = 0.01 on the same trace, 20 capacities 1%..50%, 10
seeds: 0.0027 against 0.0327 for the sample's own hit ratio. Memory: the count table holds
~``R2`` x the distinct objects (16 bytes a slot, at most half full; counts
saturate at 2**32 - 1 requests of one object); the rate-R sample is kept as
in the classic estimate, with each request's hash (8 bytes more).
"""

from __future__ import annotations

import numpy as np

from .curve import curve_frame, stack_counts
from .sampling import N_GROUPS, _ids, _limit, _row
from .simulation import _check_warmup, _prepare_trace

__all__ = ["stratified_curve"]

COUNT_FACTOR = 5  # R2 / R: the phase-one sample is this many times the rate-R one
MIN_OBJECTS = 5  # stack objects per merged stratum
_TABLE = 1 << 16  # initial slots (grows by doubling)


def stratified_curve(source, caps, rate, seed, warmup, catalog, layered, full_object_only, policy="lru",
                     method="shards"):
    """The stratified curve (module docstring) of a :class:`~layercache.sampling._Source`.

    ``method="shards"``: the weighted LRU stack of the rate-R sample;
    ``"minisim"``: one simulation of ``policy`` on the sample per capacity,
    at ``R C``, whose per-request hits the strata expand alike.
    """
    sample = _phase_one(source, rate, seed, warmup, catalog, layered, full_object_only)
    trace, kept_warmup, cells, n_cells = sample.trace, sample.kept_warmup, sample.cells, sample.n_cells
    if method == "shards":
        _, back, hits, layer_hits, bytes_hit = stack_counts(trace, caps, kept_warmup, cells, n_cells,
                                                            sample.weights)
    else:
        from .sampling import _scaled_simulation

        per_cap = [_scaled_simulation(trace, policy, c, rate, kept_warmup, cells, n_cells, layered,
                                      full_object_only) for c in caps]
        hits, layer_hits, bytes_hit = (np.stack([p[i] for p in per_cap], axis=1) for i in range(3))
        back = np.arange(caps.size)
    layers, volume = _request_volumes(trace)
    counted_cells = cells[kept_warmup:]
    g = n_cells // N_GROUPS

    def per_cell(weights=None):
        return np.bincount(counted_cells, weights=weights, minlength=n_cells).reshape(N_GROUPS, g)

    q, lq, bq = per_cell(), per_cell(layers[kept_warmup:]), per_cell(volume[kept_warmup:])
    shape = (N_GROUPS, g, -1)
    h = hits.reshape(shape)
    lh = layer_hits.reshape(shape)
    bh = bytes_hit.reshape(shape)
    big_n = sample.requests  # (N_GROUPS, g) phase-one estimate of each cell's requests
    estimate = _estimate(big_n, q, h, sample.counted_requests)
    jackknife = np.array([_estimate(_without(big_n, j) * N_GROUPS / (N_GROUPS - 1), _without(q, j),
                                    _without(h, j), sample.counted_requests) for j in range(N_GROUPS)])
    error = np.sqrt((N_GROUPS - 1) / N_GROUPS * ((jackknife - jackknife.mean(axis=0)) ** 2).sum(axis=0))
    factor = _expansion(big_n.sum(axis=0), q.sum(axis=0))[:, None]
    byte_est = _ratio(factor, bh.sum(axis=0), bq.sum(axis=0))
    layer_est = _ratio(factor, lh.sum(axis=0), lq.sum(axis=0))
    requests, layers_requested, bytes_requested = int(q.sum()), int(lq.sum()), float(bq.sum())
    hits_k, layers_k, bytes_k = (a.sum(axis=(0, 1)) for a in (h, lh, bh))
    error = np.sqrt(1.0 - rate) * error
    rows = [_row(caps[i], policy, trace.mode, requests, int(hits_k[k]), estimate[k], bytes_requested,
                 float(bytes_k[k]), layers_requested, int(layers_k[k]), rate, float(error[k]), byte_est[k],
                 layer_est[k]) for i, k in enumerate(back)]
    return curve_frame(rows)


class _Sample:
    """The rate-R sample with its strata: ``trace`` (prepared), ``kept_warmup``, ``cells`` (group x label of
    each request, int64), ``n_cells``, ``weights`` (each request's object weight), ``requests`` (N_GROUPS,
    labels): the phase-one estimate of each cell's counted requests, ``counted_requests`` of the trace."""


def _phase_one(source, rate, seed, warmup, catalog, layered, full_object_only):
    """One pass: the rate-R sample, and the counts of the rate-R2 objects that stratify it."""
    from .kernels.sample import count_sampled, slots_of

    rate2 = min(1.0, COUNT_FACTOR * rate)
    table, used, n, kept_warmup, kept = np.zeros(2 * _TABLE, np.uint64), 0, 0, 0, []
    for ids, versions, sizes in source.chunks():
        pos, keys, table, used = count_sampled(_ids(ids), int(seed), _limit(rate), _limit(rate2), n, warmup, table,
                                               used)
        kept_warmup += int(np.searchsorted(pos, max(0, warmup - n)))
        n += ids.size
        kept.append((ids[pos], None if versions is None else versions[pos], None if sizes is None else sizes[pos],
                     keys))
    warmup = _check_warmup(warmup, n)
    raw, versions, sizes, keys = (None if not kept or kept[0][k] is None else np.concatenate([c[k] for c in kept])
                                  for k in range(4))
    strata = _strata(table.reshape(-1, 2), rate, rate2)
    slots = slots_of(table, np.empty(0, np.uint64) if keys is None else keys)
    objects = (np.cumsum(strata.in_stack) - 1)[slots]  # sampled objects numbered 0.. in slot order
    if catalog is not None:  # the catalog rows of the sampled objects, in that order
        if raw is not None and raw.size and not 0 <= int(raw.min()) <= int(raw.max()) < catalog.n_objects:
            raise ValueError(f"objects must be ids 0..{catalog.n_objects - 1} of the catalog, found "
                             f"{int(raw.min()) if raw.min() < 0 else int(raw.max())}")
        rows = np.empty(int(strata.in_stack.sum()), dtype=np.int64)
        rows[objects] = raw
        catalog = type(catalog)(catalog.layer_sizes[rows], catalog.version_sizes[rows])
    out = _Sample()
    out.trace = _prepare_trace(objects, versions, catalog, sizes, layered, full_object_only)
    out.kept_warmup = kept_warmup
    labels = strata.label[slots]
    out.n_cells = N_GROUPS * strata.n_labels
    out.cells = strata.group[slots] * strata.n_labels + labels
    out.weights = strata.weight[labels]
    out.requests = strata.requests / rate2
    out.counted_requests = n - warmup
    return out


class _Strata:
    """Strata of the phase-one table: per slot ``label``, ``group``, ``in_stack``; per label ``weight``;
    ``requests`` (N_GROUPS, n_labels): the counted requests of the phase-one objects."""


def _strata(records, rate, rate2):
    """The strata of the phase-one count table (``records``: its (slots, 2) uint64 view)."""
    slots = np.flatnonzero(records[:, 1])
    keys = records[slots, 0]
    totals = (records[slots, 1] & np.uint64(0xFFFFFFFF)).astype(np.float64)
    counted = (records[slots, 1] >> np.uint64(32)).astype(np.float64)
    stratum = np.floor(2.0 * np.log2(totals)).astype(np.int64)
    in_stack = (keys >> np.uint64(11)) < np.uint64(_limit(rate))
    label, n_labels = _merged(stratum, in_stack)
    group = (keys & np.uint64(N_GROUPS - 1)).astype(np.int64)
    out = _Strata()
    out.n_labels = n_labels
    out.label = np.zeros(records.shape[0], dtype=np.int64)
    out.group = np.zeros(records.shape[0], dtype=np.int64)
    out.in_stack = np.zeros(records.shape[0], dtype=bool)
    out.label[slots], out.group[slots], out.in_stack[slots] = label, group, in_stack
    objects1 = np.bincount(label, minlength=n_labels)
    objects = np.bincount(label[in_stack], minlength=n_labels)
    out.weight = objects1 / (rate2 * np.maximum(objects, 1))
    out.requests = np.bincount(group * n_labels + label, weights=counted,
                               minlength=N_GROUPS * n_labels).reshape(N_GROUPS, n_labels)
    return out


def _merged(stratum, in_stack):
    """Label of each object: strata merged, most popular first, until each holds MIN_OBJECTS stack objects.

    A remainder of too few at the least popular end joins the label above it.
    Returns ``(labels, n_labels)``.
    """
    n_strata = int(stratum.max()) + 1 if stratum.size else 1
    held = np.bincount(stratum[in_stack], minlength=n_strata)
    merged = np.zeros(n_strata, dtype=np.int64)
    n_labels, count = 0, MIN_OBJECTS
    for s in range(n_strata - 1, -1, -1):
        if count >= MIN_OBJECTS:
            n_labels, count = n_labels + 1, 0
        merged[s] = n_labels - 1
        count += held[s]
    if count < MIN_OBJECTS and n_labels > 1:
        merged[merged == n_labels - 1] = n_labels - 2
        n_labels -= 1
    return merged[stratum], n_labels


def _without(a, j):
    """``a`` summed over groups, leaving group ``j`` out."""
    return a.sum(axis=0) - a[j]


def _expansion(big_n, q):
    """N_g / Q_g (0 where a stratum has no counted sampled request)."""
    return np.divide(big_n, q, out=np.zeros_like(big_n, dtype=np.float64), where=q > 0)


def _estimate(big_n, q, h, counted_requests):
    """``1 - sum_g N_g / Q_g (Q_g - H_g) / n`` at every capacity; shapes (g,), (g,), (g, K)."""
    if big_n.ndim == 2:
        big_n, q, h = big_n.sum(axis=0), q.sum(axis=0), h.sum(axis=0)
    if counted_requests == 0:
        return np.full(h.shape[-1], np.nan)
    misses = (_expansion(big_n, q)[:, None] * (q[:, None] - h)).sum(axis=0)
    return 1.0 - misses / counted_requests


def _ratio(factor, hit, requested):
    total = float((factor[:, 0] * requested).sum())
    return (factor * hit).sum(axis=0) / total if total > 0 else np.full(hit.shape[-1], np.nan)


def _request_volumes(trace):
    """(layers, bytes) of each request of a prepared sampled trace, float64 arrays of shape (n,)."""
    n = trace.objects.size
    if trace.mode == "flat":
        return np.ones(n), (trace.req_sizes.astype(np.float64) if trace.req_sizes.size else np.ones(n))
    cat = trace.catalog
    table = np.asarray(cat.layered_version_sizes if trace.mode == "layered" else cat.version_sizes,
                       dtype=np.float64).ravel()
    index = trace.objects.astype(np.int64) * cat.n_layers + trace.versions - 1
    layers = trace.versions.astype(np.float64) if trace.mode == "layered" else np.ones(n)
    return layers, table[index]
