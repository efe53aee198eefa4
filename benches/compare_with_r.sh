#!/usr/bin/env bash
# Side-by-side timings of strata and R on identical data: prints each model's time in both
# and the ratio R / strata (the machine is shared and noisy: read the ratios, not the times).
# Usage: benches/compare_with_r.sh [MODEL]   (glm, cox, km, lmm, slopes, glmm, msm, inequality; default all)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${STRATA_BENCH_DIR:-target/side-by-side}
model=${1:-}
[ -f "$dir/schools.csv" ] || cargo bench --bench side_by_side -- generate "$dir"
strata=$(cargo bench --bench side_by_side -- time "$dir" $model 2>/dev/null)
echo "$strata" | grep -E '^(sort|gini|theil|concentration)_' || true
if ! command -v Rscript >/dev/null; then
  echo "Rscript not found: strata's times only"; echo "$strata"; exit 0
fi
r=$(Rscript benches/side_by_side.R "$dir" $model 2>/dev/null)
printf '%-12s %10s %10s %8s\n' model strata_s R_s R/strata
while read -r name seconds; do
  r_seconds=$(echo "$r" | awk -v n="$name" '$1 == n {print $2}')
  [ -n "$r_seconds" ] || continue
  awk -v n="$name" -v s="$seconds" -v r="$r_seconds" 'BEGIN {printf "%-12s %10.3f %10.3f %8.1f\n", n, s, r, r / s}'
done <<< "$strata"
