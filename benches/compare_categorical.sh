#!/usr/bin/env bash
# strata's whole multinom / ordinal commands (start-up, CSV, fit) against R's fit alone, on the
# same generated files; prints the ratios R / strata. Needs Rscript with nnet and ordinal.
# Usage: benches/compare_categorical.sh [multinom|clm|clmm]   (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${STRATA_BENCH_DIR:-target/side-by-side}
command -v Rscript >/dev/null || { echo "Rscript not found"; exit 1; }
[ -f "$dir/categorical_1e6.csv" ] || Rscript benches/compare_categorical.R "$dir" generate
cargo build --release -q -p strata-cli
strata=target/release/strata
x="x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10"
time_of() { local start end; start=$(date +%s.%N); "$@" > /dev/null; end=$(date +%s.%N); echo "$end - $start" | bc; }
models=${1:-multinom clm clmm}
for m in $models; do
  case $m in
    multinom) s_multinom=$(time_of $strata multinom --data "$dir/categorical_1e6.csv" --formula "decision ~ $x" --levels nfa,cin,cpp,cla) ;;
    clm) s_clm=$(time_of $strata ordinal --data "$dir/categorical_1e6.csv" --formula "grade ~ $x" --levels inadequate,requires,good,outstanding) ;;
    clmm) s_clmm=$(time_of $strata ordinal --data "$dir/clmm_2e5.csv" --formula "grade ~ z1 + z2 + z3 + (1 | la)" --levels inadequate,requires,good,outstanding) ;;
    *) echo "unknown model $m (multinom, clm, clmm)" >&2; exit 1 ;;
  esac
done
r=$(Rscript benches/compare_categorical.R "$dir" time $models)
echo "$r" | grep '^#' || true
printf '%-10s %10s %10s %8s\n' model strata_s R_s R/strata
for m in $models; do
  s_var="s_$m"; r_s=$(echo "$r" | awk -v n=$m '$1 == n {print $2}')
  awk -v n=$m -v s=${!s_var} -v r=$r_s 'BEGIN {printf "%-10s %10.2f %10.2f %8.1f\n", n, s, r, r / s}'
done
