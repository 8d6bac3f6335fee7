"""LLM scheduling theory: capacity lost without optimal tiling and without dynamic allocation.

Parameters: ShareGPT4 lengths, the default latency model padded to tiles of
128 token rows (a tile-quantised GPU; the calibrated model itself is not
quantised), KV capacity 235,728 tokens, at most 128 active requests.
Left: token budgets 448..1024 that are or are not multiples of the tile,
against the aligned budget on the same padded GPU. Right: a token budget of
512 split statically between prefill tokens and decode slots, against the
dynamic allocation (lambda* at the same budget). Quick and full modes are the
same (the study is analytical). The paper states both principles; its
numbers are not public.
"""

import matplotlib.pyplot as plt
import pandas as pd

import queueing as q

from .q_common import lengths

BUDGETS = [448, 480, 512, 544, 576, 640, 704, 768, 896, 960, 1024]


def compute(quick: bool = True):
    from queueing.theory import static_split_table, tiling_loss_table

    prompt, output = lengths()
    tiling = tiling_loss_table(prompt, output, tile=128, budgets=BUDGETS).assign(table="tiling")
    split = static_split_table(prompt, output, token_budget=512).assign(table="static_split")
    return pd.concat([tiling, split], ignore_index=True)


def plot(table):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    t = table[table["table"] == "tiling"]
    ax1.plot(t["budget"], t["capacity"], "o-", label="budget B (padded to tiles)")
    ax1.plot(t["budget"], t["aligned_capacity"], "s--", label="aligned budget 128*ceil(B/128)")
    ax1.set(xlabel="token budget B", ylabel="capacity (requests/s)", title="optimal tiling (tile = 128 rows)")
    ax1.legend()
    s = table[table["table"] == "static_split"]
    ax2.plot(s["decode_budget"], s["capacity"], "o-", label="static split of B = 512")
    ax2.plot(s["decode_budget"], s["dynamic_capacity"], "k:", label="dynamic allocation (lambda*)")
    ax2.set(xlabel="decode slots B_d (prefill tokens B_p = 512 - B_d)", ylabel="capacity (requests/s)",
            title="dynamic resource allocation")
    ax2.legend()
    fig.suptitle("Capacity on ShareGPT4 with the default Mistral-7B / RTX 6000 Ada latency model")
    fig.tight_layout()
    return fig
