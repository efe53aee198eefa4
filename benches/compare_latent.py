"""Latent class analysis, strata against stepmix (Python) in the same run.

    python3 benches/compare_latent.py [ROWS] [CLASSES] [STARTS] [--strata-only]

Generates ROWS assessments (default 100,000) × 40 binary factors from a latent class model of
CLASSES classes (default 12) whose factor prevalences are the DfE's national shares for 2024
(../shared/data/england/raw/c3_..., read if present: its 39 recorded factors, and a fortieth with
the median share; else 40 fixed shares between 1% and 33%),
writes them as CSV, and times as a user meets each tool: the whole `strata lca` command (CSV
reading included, standard errors skipped) against stepmix reading the CSV with pandas and
fitting the same model with the same number of random starts. Prints both log-likelihoods (the
optimum each reached) and the ratio of times. `--strata-only` skips stepmix, for sizes it cannot
run in reasonable time (3.6 million rows).
"""

import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd

args = [a for a in sys.argv[1:] if not a.startswith("--")]
rows = int(args[0]) if len(args) > 0 else 100_000
classes = int(args[1]) if len(args) > 1 else 12
starts = int(args[2]) if len(args) > 2 else 20
strata_only = "--strata-only" in sys.argv
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = os.path.join(root, "target", "side-by-side")
os.makedirs(out, exist_ok=True)
strata = os.path.join(root, "target", "release", "strata")

c3 = os.path.join(root, "..", "shared", "data", "england", "raw",
                  "c3_factors_identified_at_end_of_assessment_2018_to_2025.csv")
if os.path.exists(c3):
    table = pd.read_csv(c3)
    national = table[(table.geographic_level == "National") & (table.time_period == 2024)].iloc[0]
    columns = list(table.columns[table.columns.get_loc("Episodes_with_assessment_factor") + 1:])
    number = lambda v: pd.to_numeric(v, errors="coerce")  # noqa: E731 (suppression codes → NaN)
    shares = [number(national[c]) / number(national["Episodes_with_assessment_factor"]) for c in columns]
    factors = [(c.lower(), s) for c, s in zip(columns, shares) if 0 < s < 1][:40]
    while len(factors) < 40:
        factors.append((f"extra_{len(factors) + 1}", float(np.median([s for _, s in factors]))))
else:
    factors = [(f"factor_{j + 1}", s) for j, s in enumerate(np.linspace(0.01, 0.33, 40))]
names = [f for f, _ in factors]
p = np.array([s for _, s in factors])

rng = np.random.default_rng(2025)
weights = np.arange(1, classes + 1) ** -0.7
pi = weights / weights.sum()
multipliers = np.exp(1.2 * rng.standard_normal((classes, len(p))))
scale = p / (pi @ multipliers)
profiles = np.minimum(0.95, multipliers * scale)
cls = rng.choice(classes, size=rows, p=pi)
data = (rng.random((rows, len(p))) < profiles[cls]).astype(np.uint8)
path = os.path.join(out, f"assessments_{rows}.csv")
pd.DataFrame(data, columns=names).to_csv(path, index=False)
patterns = len(np.unique(data, axis=0))
print(f"{rows} assessments x {len(p)} factors, {patterns} distinct patterns; {classes} classes, {starts} starts")

cmd = [strata, "lca", "--data", path, "--indicators", ",".join(names), "--classes", str(classes),
       "--starts", str(starts), "--seed", "1", "--no-se", "--json"]
start = time.perf_counter()
result = subprocess.run(cmd, check=True, capture_output=True)
strata_seconds = time.perf_counter() - start
import json  # noqa: E402

fit = json.loads(result.stdout)
print(f"strata: log-likelihood {fit['log_likelihood']:.4f}, best reached by {fit['starts']['n_best']} of "
      f"{starts} starts, {strata_seconds:.1f} s")
if strata_only:
    sys.exit(0)

from stepmix.stepmix import StepMix  # noqa: E402

start = time.perf_counter()
frame = pd.read_csv(path)
model = StepMix(n_components=classes, measurement="binary", n_init=starts, random_state=1, verbose=0,
                progress_bar=0, max_iter=1000, abs_tol=1e-10)
model.fit(frame)
stepmix_seconds = time.perf_counter() - start
stepmix_ll = model.score(frame) * rows
print(f"stepmix: log-likelihood {stepmix_ll:.4f}, {stepmix_seconds:.1f} s")
print(f"strata {stepmix_seconds / strata_seconds:.1f}x faster; log-likelihood difference (strata - stepmix) "
      f"{fit['log_likelihood'] - stepmix_ll:.4f}")
