"""Default latency model (Mistral-7B, RTX 6000 Ada) against the published SLAI microbenchmark.

Parameters: one 2048-token prompt alone at token budgets 64..1024, exactly the
measurement in ``queueing/data/slai_token_budget_microbench.csv`` (the only
published latency data of the SLAI setup). The measured batch time is a mean
over every iteration of the run, which includes one decode-only iteration per
request; the prediction counts it the same way. Quick and full modes are the
same (the study is analytical).
"""

import matplotlib.pyplot as plt
import numpy as np

from queueing.latency import default_latency, microbenchmark_table


def compute(quick: bool = True):
    return microbenchmark_table(default_latency(), prompt_tokens=2048)


def plot(table):
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(11, 3.4))
    ax1.plot(table["chunk"], table["ttft_ms"], "o", label="measured")
    ax1.plot(table["chunk"], table["ttft_pred_ms"], "-", label="model")
    ax1.set(xlabel="token budget (chunk)", ylabel="TTFT of a 2048-token prompt (ms)", xscale="log")
    ax1.legend()
    ax2.plot(table["chunk"], table["batch_ms"], "o", label="measured")
    ax2.plot(table["chunk"], table["batch_pred_ms"], "-", label="model")
    ax2.set(xlabel="token budget (chunk)", ylabel="mean iteration time (ms)", xscale="log")
    prefill = np.arange(0, 1025)
    lat = default_latency()
    for n_decodes in (0, 32, 128):
        ax3.plot(prefill, 1e3 * lat.iteration_time(prefill, n_decodes, n_decodes * 2000),
                 label=f"{n_decodes} decodes, 2000-token contexts")
    ax3.set(xlabel="prefill tokens in the batch", ylabel="iteration time (ms)")
    ax3.legend()
    fig.suptitle("Latency model calibration: within "
                 f"{100 * table['ttft_rel_err'].abs().max():.1f}% (TTFT), "
                 f"{100 * table['batch_rel_err'].abs().max():.1f}% (batch time)")
    fig.tight_layout()
    return fig
