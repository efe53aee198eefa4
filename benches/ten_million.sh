#!/usr/bin/env bash
# Ten million rows: the Poisson GLM (10 covariates and an offset), the Cox model (10 covariates,
# Efron ties), Kaplan–Meier and the Gini and concentration indices, each as the whole `strata`
# command (reading the CSV included) with its peak resident memory, against R's fit (after
# data.table::fread) and R's peak, in the same run. The files are ten copies of the 1,000,000-row
# files of the side-by-side benches (about 900 MB each; 0.96 GB of numbers). Read the ratios, not
# the seconds: the machine is shared and noisy.
# Usage: benches/ten_million.sh   (R optional; about ten minutes with R)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${STRATA_BENCH_DIR:-target/side-by-side}
[ -f "$dir/schools.csv" ] || cargo bench --bench side_by_side -- generate "$dir"
for name in glm cox; do
  [ -f "$dir/${name}_10m.csv" ] || { head -1 "$dir/$name.csv"; for _ in $(seq 10); do tail -n +2 "$dir/$name.csv"; done; } > "$dir/${name}_10m.csv"
done
cargo build --release -q -p strata-cli
strata=target/release/strata
x="x1$(printf ' + x%d' $(seq 2 10))"

# Elapsed seconds and peak resident MB of a command line.
measure() {
  local out
  out=$( { /usr/bin/time -f '%e %M' bash -c "$1" > /dev/null; } 2>&1 | tail -1)
  echo "${out% *} $((${out#* } / 1024))"
}

r_fit() {
  command -v Rscript > /dev/null || return 0
  Rscript -e "
    suppressMessages(library(survival)); x <- '$x'
    d <- data.table::fread('$2', data.table = FALSE)
    t <- system.time(switch('$1',
      glm = glm(as.formula(paste('y ~', x, '+ offset(log(population))')), family = poisson, data = d),
      cox = coxph(as.formula(paste('Surv(time, status) ~', x)), data = d, ties = 'efron'),
      km = survfit(Surv(time, status) ~ 1, data = d)))
    cat(t[['elapsed']], '\n')" 2> /dev/null
}

echo "cores $(nproc), $(date -u +%Y-%m-%d), 10,000,000 rows"
printf '%-13s %14s %12s %10s %10s %16s\n' model strata_whole_s strata_peak_MB R_fit_s R_peak_MB R_fit/strata_whole
run() {
  local name=$1 line=$2 r_model=${3:-} file=${4:-}
  read -r seconds peak < <(measure "$strata $line --json")
  local r_seconds="-" r_peak="-" ratio="-"
  if [ -n "$r_model" ] && command -v Rscript > /dev/null; then
    local out
    out=$( { /usr/bin/time -f 'peak %M' bash -c "$(declare -f r_fit); x='$x'; r_fit $r_model $file"; } 2>&1)
    r_seconds=$(echo "$out" | head -1 | tr -d ' ')
    r_peak=$(( $(echo "$out" | awk '/^peak/ {print $2}') / 1024 ))
    ratio=$(awk -v r="$r_seconds" -v s="$seconds" 'BEGIN {printf "%.1f", r / s}')
  fi
  printf '%-13s %14s %12s %10s %10s %16s\n' "$name" "$seconds" "$peak" "$r_seconds" "$r_peak" "$ratio"
}
run glm "glm --data $dir/glm_10m.csv --family poisson --formula 'y ~ $x + offset(log(population))'" glm "$dir/glm_10m.csv"
run cox "cox --data $dir/cox_10m.csv --ties efron --formula 'Surv(time, status) ~ $x'" cox "$dir/cox_10m.csv"
run km "km --data $dir/cox_10m.csv --formula 'Surv(time, status) ~ 1'" km "$dir/cox_10m.csv"
run gini "inequality --data $dir/glm_10m.csv --value population"
run concentration "inequality --data $dir/glm_10m.csv --value population --rank x1"
