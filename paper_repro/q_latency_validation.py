"""Roofline latency model against published measurements, per (model, GPU, TP).

Parameters: every shipped measurement (``queueing/data/README.md``): Vidur's
per-layer operator profiles (non-attention operators at 1..4096 batch tokens,
TP 1..8; attention kernels of prefill chunks and decode batches) on A100-80GB,
H100-SXM and A40, and the SLAI microbenchmark (Mistral-7B, one RTX 6000 Ada).
Each is predicted from the model's ``config.json`` fields and the GPU's
datasheet with the efficiency factors fitted once per GPU class
(``queueing.calibration.fit_gpu_classes``) and, for comparison, with the
factors of a fit that left that GPU out. Not in the paper (it has one machine);
this is the evidence that the simulator's other machines are grounded. Quick
and full modes are the same (the study is analytical, ~10 s).
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from queueing.calibration import fit_gpu_classes, leave_one_gpu_out


def compute(quick: bool = True):
    fits = fit_gpu_classes()
    logo = leave_one_gpu_out()
    frames = []
    for gpu, res in fits.items():
        t = res.table.copy()
        t["pred_left_out_s"] = logo[gpu]["pred_s"].to_numpy()
        t["rel_err_left_out"] = logo[gpu]["rel_err"].to_numpy()
        frames.append(t)
    return pd.concat(frames, ignore_index=True)


def plot(table):
    err = table.assign(fit=table["rel_err"].abs(), out=table["rel_err_left_out"].abs())
    pairs = err.groupby(["model", "gpu", "tensor_parallel"])[["fit", "out"]].median().reset_index()
    # one readable row per (model, GPU, TP) pair on the right
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, max(4.4, 0.17 * len(pairs) + 1.2)),
                                   gridspec_kw={"width_ratios": [1, 1]})
    markers = dict(linear="o", attention="^", iteration="s")
    colors = dict(zip(sorted(table["gpu"].unique()), plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for (gpu, scope), sub in table.groupby(["gpu", "scope"]):
        ax1.loglog(1e3 * sub["time_s"], 1e3 * sub["pred_s"], markers[scope], ms=3, alpha=0.6,
                   color=colors[gpu], label=f"{gpu}, {scope}")
    lim = [1e3 * table["time_s"].min() / 2, 1e3 * table["time_s"].max() * 2]
    ax1.plot(lim, lim, "k-", lw=0.8)
    for f in (0.85, 1.15):
        ax1.plot(lim, np.multiply(lim, f), "k:", lw=0.6)
    ax1.set(xlabel="measured time (ms, all layers)", ylabel="predicted time (ms)",
            title="fitted factors per GPU class (dotted: +-15%)")
    ax1.legend(fontsize=7, loc="upper left")
    labels = [f"{m} {g} TP{t}" for m, g, t in zip(pairs["model"], pairs["gpu"], pairs["tensor_parallel"])]
    y = np.arange(len(pairs))
    ax2.barh(y - 0.2, 100 * pairs["fit"], height=0.4, label="fitted on this GPU")
    ax2.barh(y + 0.2, 100 * pairs["out"], height=0.4, label="GPU left out of the fit")
    ax2.axvline(15, color="k", lw=0.8, ls=":")
    ax2.axvline(30, color="k", lw=0.8, ls="--")
    ax2.set_yticks(y, labels, fontsize=7)
    ax2.set_ylim(-0.8, len(pairs) - 0.2)
    ax2.set(xlabel="median |relative error| (%)", title="error per (model, GPU, TP); targets 15% / 30%")
    ax2.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
