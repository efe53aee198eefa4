"""Side by side: strata's feols/fepois (the whole command: start-up, CSV, fit) against
pyfixest's fit alone (the data already in a pandas frame), on the same generated panel of
children in local authorities over years. Prints each time and the ratio pyfixest / strata;
the machine is shared and noisy, so read the ratios, not the times.

Usage: python3 benches/compare_with_pyfixest.py [ROWS]   (default 10,000,000; needs pyfixest)
"""
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
folder = os.environ.get("STRATA_BENCH_DIR", "target/side-by-side")
os.makedirs(folder, exist_ok=True)
path = os.path.join(folder, f"panel_{rows}.csv")

rng = np.random.default_rng(2026)
if not os.path.exists(path):
    la = rng.integers(0, 150, rows)
    year = rng.integers(2013, 2026, rows)
    lsoa = la * 200 + rng.integers(0, 200, rows)  # 30,000 neighbourhoods nested in authorities
    x1, x2, x3 = rng.normal(size=rows), rng.normal(size=rows), rng.normal(size=rows)
    la_effect = rng.normal(0, 0.5, 150)[la]
    year_effect = 0.03 * (year - 2013)
    lsoa_effect = rng.normal(0, 0.3, 150 * 200)[lsoa]
    y = 1.0 + 0.5 * x1 - 0.3 * x2 + 0.1 * x3 + la_effect + year_effect + lsoa_effect + rng.normal(size=rows)
    exposure = rng.uniform(0.5, 2.0, rows)
    count = rng.poisson(np.exp(-1.0 + 0.2 * x1 - 0.1 * x2 + la_effect + year_effect) * exposure)
    frame = pd.DataFrame(
        {"la": la, "year": year, "lsoa": lsoa, "x1": x1.round(6), "x2": x2.round(6), "x3": x3.round(6),
         "y": y.round(6), "count": count, "exposure": exposure.round(6)}
    )
    frame.to_csv(path, index=False)

strata = os.environ.get("STRATA", "target/release/strata")
models = [
    ("feols_3fe", "feols", "y ~ x1 + x2 + x3 | la + year + lsoa"),
    ("fepois_2fe", "fepois", "count ~ x1 + x2 + offset(log(exposure)) | la + year"),
]

import pyfixest as pf  # noqa: E402  (imported after generation: its import is slow)

data = pd.read_csv(path)
print(f"rows {rows}, cores {os.cpu_count()}")
print(f"{'model':<12} {'strata_s':>9} {'pyfixest_s':>11} {'pyfixest/strata':>16}")
for name, command, formula in models:
    start = time.perf_counter()
    out = subprocess.run([strata, command, "--data", path, "--formula", formula, "--vcov", "iid", "--json"],
                         capture_output=True, text=True)
    strata_seconds = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"strata {command} failed: {out.stderr}")
    if command == "feols":
        pf.feols(formula, data=data, vcov="iid")  # compile numba's kernels once, outside the timing
        start = time.perf_counter()
        fit = pf.feols(formula, data=data, vcov="iid")
    else:
        fixest_formula = "count ~ x1 + x2 | la + year"
        pf.fepois(fixest_formula, data=data, vcov="iid", offset="log_exposure") if "log_exposure" in data else None
        data["log_exposure"] = np.log(data["exposure"])
        pf.fepois(fixest_formula, data=data, vcov="iid", offset="log_exposure")
        start = time.perf_counter()
        fit = pf.fepois(fixest_formula, data=data, vcov="iid", offset="log_exposure")
    pyfixest_seconds = time.perf_counter() - start
    import json
    ours = {c["term"]: c["estimate"] for c in json.loads(out.stdout)["coefficients"]}
    theirs = fit.coef().to_dict()
    worst = max(abs(ours[k] - v) / abs(v) for k, v in theirs.items())
    print(f"{name:<12} {strata_seconds:>9.2f} {pyfixest_seconds:>11.2f} {pyfixest_seconds / strata_seconds:>16.1f}"
          f"   (largest relative difference in estimates {worst:.1e})")
