"""Optimal-matching distances, strata against sequenzo (Python) in the same run.

    python3 benches/compare_sequences.py [SEQUENCES] [MONTHS]

Generates SEQUENCES monthly pathways (default 10,000 × 36) from a sticky Markov chain over five
states (assessment, child in need, protection plan, looked after, closed) with a fixed seed,
writes them as long CSV (strata) and wide CSV (sequenzo), and times as a user meets each tool:
the whole `strata sequences` command (CSV reading included) against sequenzo reading its CSV,
building its SequenceData and computing the OM matrix (constant substitution 2, indel 1). Checks
that both give the same distances (on a sample of pairs) and prints the ratio of times.
"""

import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
months = int(sys.argv[2]) if len(sys.argv) > 2 else 36
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = os.path.join(root, "target", "side-by-side")
os.makedirs(out, exist_ok=True)
strata = os.path.join(root, "target", "release", "strata")

states = ["A", "C", "N", "P", "L"]
stay = {"A": 0.55, "N": 0.85, "P": 0.88, "L": 0.93, "C": 0.97}
moves = {"A": ["N", "C"], "N": ["P", "C", "A"], "P": ["L", "N", "C"], "L": ["C"], "C": ["A"]}
rng = np.random.default_rng(1)
rows = np.empty((n, months), dtype=object)
for i in range(n):
    s = "A"
    for t in range(months):
        rows[i, t] = s
        if rng.random() > stay[s]:
            s = rng.choice(moves[s])
ids = [f"c{i:06d}" for i in range(n)]
wide = pd.DataFrame(rows, columns=[f"m{t + 1}" for t in range(months)])
wide.insert(0, "id", ids)
wide_path = os.path.join(out, f"sequences_wide_{n}.csv")
long_path = os.path.join(out, f"sequences_long_{n}.csv")
wide.to_csv(wide_path, index=False)
long = wide.melt(id_vars="id", var_name="month", value_name="state")
long["month"] = long["month"].str[1:].astype(int)
long.to_csv(long_path, index=False)
print(f"{n} sequences x {months} months, {len(set(map(tuple, rows)))} distinct")

cmd = [strata, "sequences", "--data", long_path, "--id", "id", "--time", "month", "--state", "state",
       "--distance", "om", "--indel", "1", "--substitution", "constant:2"]
start = time.perf_counter()
subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
strata_seconds = time.perf_counter() - start

from sequenzo import SequenceData, get_distance_matrix  # noqa: E402

start = time.perf_counter()
frame = pd.read_csv(wide_path)
data = SequenceData(frame, time=[f"m{t + 1}" for t in range(months)], states=sorted(states), id_col="id")
matrix = get_distance_matrix(data, method="OM", sm="CONSTANT", indel=1, full_matrix=True)
sequenzo_seconds = time.perf_counter() - start
matrix = np.asarray(matrix)

# Same numbers: strata's JSON on the first 300 sequences against sequenzo's matrix.
head = long[long["id"].isin(ids[:300])]
head_path = os.path.join(out, "sequences_head.csv")
head.to_csv(head_path, index=False)
import json  # noqa: E402

result = json.loads(subprocess.run(cmd[:2] + ["--data", head_path] + cmd[4:] + ["--json"], check=True,
                                   capture_output=True).stdout)
condensed = np.asarray(result["distances"])
expected = matrix[:300, :300][np.triu_indices(300, 1)]
print(f"largest difference on the first 300 sequences: {np.max(np.abs(condensed - expected)):.3g}")
print(f"strata {strata_seconds:.2f} s, sequenzo {sequenzo_seconds:.2f} s: "
      f"strata {sequenzo_seconds / strata_seconds:.1f}x faster")
