"""Metrics over the flat engine records, named as vLLM and Vidur name them.

Units: seconds, tokens, requests/s. Per request: ``ttft`` (arrival to first
token), ``e2e`` (arrival to last token), ``tpot`` ((e2e - ttft) / (D - 1)),
``scheduling_delay`` (arrival to first admission), per-request TBT statistics
over the gaps between consecutive tokens (preemption stalls included).
Class-level TBT percentiles pool every gap of the class's requests.
"""

import numpy as np
from numba import njit

__all__ = ["request_tbt_stats", "token_gaps", "first_gaps", "summarize", "kept_up_share"]


@njit(cache=True)
def _tbt_stats(tok_off, tok_time, q):
    n = tok_off.size - 1
    pq = np.full(n, np.nan)
    mx = np.full(n, np.nan)
    for i in range(n):
        a = tok_off[i]
        b = tok_off[i + 1]
        m = b - a - 1
        if m < 1:
            continue
        g = np.empty(m)
        for k in range(m):
            g[k] = tok_time[a + k + 1] - tok_time[a + k]
        g.sort()
        pos = q / 100.0 * (m - 1)
        lo = int(np.floor(pos))
        hi = min(lo + 1, m - 1)
        pq[i] = g[lo] + (g[hi] - g[lo]) * (pos - lo)
        mx[i] = g[m - 1]
    return pq, mx


def request_tbt_stats(tok_off, tok_time, q=99.0):
    """Per-request q-th percentile (numpy 'linear') and maximum of TBT gaps; NaN for D = 1.

    Parameters
    ----------
    tok_off : int64 (n+1,)
        CSR offsets: request i's tokens are ``tok_time[tok_off[i]:tok_off[i+1]]``.
    tok_time : float64 (sum D,)
        Emission time (s) of every output token.
    """
    return _tbt_stats(np.asarray(tok_off, np.int64), np.asarray(tok_time, np.float64), float(q))


def token_gaps(tok_off, tok_time):
    """All TBT gaps (s) and the request each belongs to: ``(gaps float64 (g,), request int64 (g,))``."""
    tok_off = np.asarray(tok_off)
    gaps = np.diff(tok_time)
    owner = np.repeat(np.arange(tok_off.size - 1), np.diff(tok_off))[1:]
    keep = np.ones(gaps.size, bool)
    keep[tok_off[1:-1] - 1] = False  # a gap across a request boundary
    keep &= np.isfinite(gaps)  # requests never served
    return gaps[keep], owner[keep]


def first_gaps(tok_off, tok_time):
    """The first TBT gap (s) of every served request with at least two tokens, float64 (m,).

    The gap from the first token to the second: in a disaggregated cluster
    it holds the wait for decode memory, the KV transfer and the first decode.
    """
    tok_off = np.asarray(tok_off)
    two = np.flatnonzero(np.diff(tok_off) >= 2)
    gaps = tok_time[tok_off[two] + 1] - tok_time[tok_off[two]]
    return gaps[np.isfinite(gaps)]


def kept_up_share(arrival, prompt_tokens, first_token, served):
    """Share of the served prompt tokens whose request had its first token by the last arrival.

    A measure of backlog in work: about 1 when the replicas keep up with the
    arrivals, falling towards 0 as the queue grows through the run.
    """
    arrival = np.asarray(arrival, np.float64)
    prompt = np.asarray(prompt_tokens, np.float64)
    served = np.asarray(served, bool)
    if not served.any():
        return 1.0
    with np.errstate(invalid="ignore"):
        done = served & (np.asarray(first_token) <= arrival.max())
    return float(prompt[done].sum()) / float(prompt[served].sum())


def _pct(x, q):
    return float(np.percentile(x, q)) if x.size else np.nan


def summarize(requests, tok_off, tok_time, classes):
    """Summary table: one row per SLO class plus ``"all"``.

    Columns: ``n``, ``ttft_p50``, ``ttft_mean``, ``ttft_p99``, ``tbt_p50``,
    ``tbt_p99`` (pooled gaps), ``tpot_mean``, ``e2e_p50``, ``e2e_p99``,
    ``scheduling_delay_p50``, ``scheduling_delay_p99``, ``tbt_slo``,
    ``tbt_slo_attainment`` (share of gaps within the class's TBT SLO),
    ``request_slo_attainment`` (share of requests whose p99 TBT meets it),
    ``throughput_rps``, ``throughput_tokens_per_s`` (output tokens), ``preemptions``.
    """
    import pandas as pd

    served = requests["served"].to_numpy()
    gaps, owner = token_gaps(tok_off, tok_time)
    cls_of_req = requests["slo_class_id"].to_numpy()
    gap_cls = cls_of_req[owner]
    gap_ok = gaps <= requests["tbt_slo"].to_numpy()[owner]
    t0 = requests["arrival"].min()
    span = np.nanmax(requests["finish"].to_numpy()) - t0 if served.any() else np.nan
    rows = []
    for k, c in [(-1, None), *enumerate(classes)]:
        sel = served & ((cls_of_req == k) if k >= 0 else True)
        gsel = (gap_cls == k) if k >= 0 else np.ones(gaps.size, bool)
        g = gaps[gsel]
        within = gap_ok[gsel]
        r = requests[sel]
        tbt_slo = c.tbt if c is not None else np.nan
        p99r = r["p99_tbt"].to_numpy()
        ok_r = np.isnan(p99r) | (p99r <= r["tbt_slo"].to_numpy())
        rows.append({
            "class": "all" if c is None else c.name,
            "n": int(sel.sum()),
            "ttft_p50": _pct(r["ttft"].to_numpy(), 50),
            "ttft_mean": float(r["ttft"].mean()) if len(r) else np.nan,
            "ttft_p99": _pct(r["ttft"].to_numpy(), 99),
            "tbt_p50": _pct(g, 50),
            "tbt_p99": _pct(g, 99),
            "tpot_mean": float(r["tpot"].mean()) if len(r) else np.nan,
            "e2e_p50": _pct(r["e2e"].to_numpy(), 50),
            "e2e_p99": _pct(r["e2e"].to_numpy(), 99),
            "scheduling_delay_p50": _pct(r["scheduling_delay"].to_numpy(), 50),
            "scheduling_delay_p99": _pct(r["scheduling_delay"].to_numpy(), 99),
            "tbt_slo": tbt_slo,
            "tbt_slo_attainment": float(within.mean()) if within.size else np.nan,
            "request_slo_attainment": float(ok_r.mean()) if ok_r.size else np.nan,
            "throughput_rps": len(r) / span if span > 0 else np.nan,
            "throughput_tokens_per_s": float(r["output_tokens"].sum()) / span if span > 0 else np.nan,
            "preemptions": int(r["n_preemptions"].sum()),
        })
    return pd.DataFrame(rows).set_index("class")
