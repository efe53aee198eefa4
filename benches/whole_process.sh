#!/usr/bin/env bash
# Whole-process timings as a user meets them: the whole `strata` command (start-up, reading the
# CSV, fitting, printing JSON) against R's fit alone on a frame already in memory, in the same
# run, on the data sets of benches/compare_with_r.sh. Prints each model's times, the ratio R fit /
# strata whole command, and strata's peak resident memory. Medians of three runs; the machine is
# shared and noisy, so read the ratios, not the seconds.
# Usage: benches/whole_process.sh [MODEL]   (glm, cox, km, lmm, schools, slopes, glmm, msm; default all)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${STRATA_BENCH_DIR:-target/side-by-side}
model=${1:-}
[ -f "$dir/schools.csv" ] || cargo bench --bench side_by_side -- generate "$dir"
cargo build --release -q -p strata-cli
strata=target/release/strata
x=$(printf ' + x%d' $(seq 2 10))
x="x1$x"

# name, then the strata command line after the binary
commands=(
  "glm|glm --data $dir/glm.csv --family poisson --formula 'y ~ $x + offset(log(population))'"
  "cox|cox --data $dir/cox.csv --ties efron --formula 'Surv(time, status) ~ $x'"
  "km|km --data $dir/cox.csv --formula 'Surv(time, status) ~ 1'"
  "lmm|lmm --data $dir/crossed.csv --formula 'y ~ 1 + (1 | student) + (1 | lecturer) + (1 | department)'"
  "schools|lmm --data $dir/schools.csv --formula 'y ~ x + (1 | lsoa) + (1 | school)'"
  "slopes|lmm --data $dir/slopes.csv --formula 'y ~ x + (1 + x | area) + (1 | la)'"
  "glmm|glmm --data $dir/binomial.csv --family binomial --formula 'y ~ deprivation + (1 | la) + (1 | area)'"
  "msm|msm --data $dir/msm.csv --subject id --time months --state state --qmatrix '0,0.1,0,0;0.1,0,0.1,0;0,0.1,0,0.1;0,0,0,0'"
)

# The median of three runs' elapsed seconds, and the largest peak resident memory (MB).
time_command() {
  local line=$1 runs=() peak=0
  for _ in 1 2 3; do
    local out
    out=$( { /usr/bin/time -f '%e %M' bash -c "$strata $line --json > /dev/null"; } 2>&1 | tail -1)
    runs+=("${out% *}")
    local kb=${out#* }
    [ "$kb" -gt "$peak" ] && peak=$kb
  done
  local median
  median=$(printf '%s\n' "${runs[@]}" | sort -g | sed -n 2p)
  echo "$median $((peak / 1024))"
}

declare -A whole memory
for entry in "${commands[@]}"; do
  name=${entry%%|*}
  [ -z "$model" ] || [ "$model" = "$name" ] || continue
  read -r seconds megabytes < <(time_command "${entry#*|}")
  whole[$name]=$seconds
  memory[$name]=$megabytes
done

r=""
if command -v Rscript >/dev/null; then
  r=$(Rscript benches/side_by_side.R "$dir" $model 2>/dev/null || true)
fi
echo "cores $(nproc), $(date -u +%Y-%m-%d)"
printf '%-8s %14s %10s %10s %18s\n' model strata_whole_s peak_MB R_fit_s R_fit/strata_whole
for entry in "${commands[@]}"; do
  name=${entry%%|*}
  [ -n "${whole[$name]:-}" ] || continue
  r_seconds=$(echo "$r" | awk -v n="$name" '$1 == n {print $2}')
  awk -v n="$name" -v s="${whole[$name]}" -v m="${memory[$name]}" -v r="${r_seconds:-}" 'BEGIN {
    if (r == "") printf "%-8s %14.3f %10d %10s %18s\n", n, s, m, "-", "-";
    else printf "%-8s %14.3f %10d %10.3f %18.1f\n", n, s, m, r, r / s }'
done
