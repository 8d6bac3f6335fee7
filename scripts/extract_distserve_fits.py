"""Extract DistServe's published A100-80GB latency fits into a small CSV.

Usage: python scripts/extract_distserve_fits.py DISTSERVE_GIT_DIR > queueing/data/distserve_a100_fits.csv

Reads ``simdistserve/estimators/profile_data/profiler-a100-80g.distserve.json``
at the commit below: per (model, TP) the coefficients, in ms, of
``prefill = a + b * sum(len) + c * sum(len^2)`` and of
``decode = a + b * sum(context) + c * batch_size`` (one triple below the batch-
size threshold, one at or above it), as used by ``simdistserve/estimators/time_estimator.py``.
"""

import json
import subprocess
import sys

COMMIT = "82831f1604cc6b10bebd360f6c437a07790dde9f"
PATH = "simdistserve/estimators/profile_data/profiler-a100-80g.distserve.json"
ALIASES = {"facebook/opt-13b": "opt-13b", "facebook/opt-66b": "opt-66b"}


def main(git_dir):
    text = subprocess.run(["git", "--git-dir", git_dir, "show", f"{COMMIT}:{PATH}"], check=True,
                          capture_output=True, text=True).stdout
    print("model,tensor_parallel,kind,a_ms,b_ms,c_ms,small_bs_below")
    for model, per_tp in json.loads(text).items():
        for tp, p in per_tp.items():
            thr = p["decoding_large_small_bs_threshold"]
            for kind in ("prefill", "decoding_smallbs", "decoding_largebs"):
                a, b, c = p[kind]
                print(f"{ALIASES[model]},{tp},{kind},{a:.6g},{b:.6g},{c:.6g},{thr}")


if __name__ == "__main__":
    main(sys.argv[1])
