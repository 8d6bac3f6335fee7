"""Extract the per-layer linear-operator times of Vidur's published profiles into a small CSV.

Usage: python scripts/extract_vidur_profiles.py VIDUR_GIT_DIR > queueing/data/vidur_linear_profiles.csv

Reads ``data/profiling/compute/<gpu>/<model>/mlp.csv`` at the commit below with
``git show`` and keeps, for a grid of batch token counts and every tensor-
parallel degree, the sum of the median times (ms) of one layer's operators
other than attention: input and post-attention RMSNorm, QKV projection, rotary,
output projection, MLP up/gate projection, activation, down projection and the
two residual adds.
"""

import io
import subprocess
import sys

import pandas as pd

COMMIT = "7d47513363ec447a741ac5e47241580b47724fbf"
MODELS = {  # Vidur path -> alias in queueing.hardware
    "meta-llama/Llama-2-7b-hf": "llama-2-7b",
    "meta-llama/Llama-2-70b-hf": "llama-2-70b",
    "meta-llama/Meta-Llama-3-8B": "llama-3-8b",
    "meta-llama/Meta-Llama-3-70B": "llama-3-70b",
    "codellama/CodeLlama-34b-Instruct-hf": "codellama-34b",
}
GPUS = {"a100": "a100-80gb", "h100": "h100-sxm", "a40": "a40"}
TOKENS = [1, 4, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
OPS = ["input_layernorm", "attn_pre_proj", "attn_rope", "attn_post_proj", "post_attention_layernorm",
       "mlp_up_proj", "mlp_act", "mlp_down_proj", "add", "add"]


def main(git_dir):
    rows = []
    for gdir, gpu in GPUS.items():
        for mdir, alias in MODELS.items():
            path = f"data/profiling/compute/{gdir}/{mdir}/mlp.csv"
            try:
                text = subprocess.run(["git", "--git-dir", git_dir, "show", f"{COMMIT}:{path}"], check=True,
                                      capture_output=True, text=True).stdout
            except subprocess.CalledProcessError:
                continue
            df = pd.read_csv(io.StringIO(text))
            df = df[df["num_tokens"].isin(TOKENS)]
            ms = sum(df[f"time_stats.{op}.median"] for op in OPS)
            for (tp, n), t in zip(zip(df["num_tensor_parallel_workers"], df["num_tokens"]), ms):
                rows.append((alias, gpu, int(tp), int(n), round(float(t), 5)))
    out = pd.DataFrame(rows, columns=["model", "gpu", "tensor_parallel", "tokens", "layer_ms"])
    out = out.groupby(["model", "gpu", "tensor_parallel", "tokens"], as_index=False)["layer_ms"].median()
    out["layer_ms"] = out["layer_ms"].round(5)
    out.to_csv(sys.stdout, index=False)


if __name__ == "__main__":
    main(sys.argv[1])
