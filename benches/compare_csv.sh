#!/usr/bin/env bash
# Reading CSV files: `strata frame` (the whole command: start-up, reading, typing every column,
# describing them) against data.table::fread (its read alone, on every core) on the benchmark
# files the other comparisons write (run benches/compare_categorical.sh and
# benches/compare_with_pyfixest.py first). Prints MB/s and peak resident memory; the machine is
# shared and noisy, so read the ratios. Usage: benches/compare_csv.sh [FILE.csv ...]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${STRATA_BENCH_DIR:-target/side-by-side}
files=("$@")
[ ${#files[@]} -gt 0 ] || files=("$dir/panel_1000000.csv" "$dir/categorical_1e6.csv" "$dir/panel_10000000.csv")
cargo build --release -q -p strata-cli
strata=target/release/strata
have_fread=$(Rscript -e 'cat(requireNamespace("data.table", quietly = TRUE))' 2>/dev/null || echo FALSE)
echo "cores $(nproc)"
printf '%-24s %8s %10s %10s %12s %12s %10s\n' file MB strata_s strata_MB/s strata_peak_MB fread_s fread/strata
for f in "${files[@]}"; do
  [ -f "$f" ] || { echo "missing $f (see the header of this script)"; continue; }
  mb=$(awk -v b="$(stat -c %s "$f")" 'BEGIN {printf "%.0f", b / 1e6}')
  best=""; peak=""
  for _ in 1 2 3; do
    out=$( { /usr/bin/time -f "%e %M" "$strata" frame --data "$f" > /dev/null; } 2>&1 | tail -1)
    s=${out% *}; m=${out#* }
    if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN {exit !(a < b)}'; then best=$s; peak=$m; fi
  done
  fread_s=NA; ratio=NA
  if [ "$have_fread" = TRUE ]; then
    fread_s=$(Rscript -e "suppressMessages(library(data.table)); setDTthreads(0); \
      t <- sapply(1:3, function(i) system.time(fread('$f', showProgress = FALSE))[['elapsed']]); cat(min(t))")
    ratio=$(awk -v r="$fread_s" -v s="$best" 'BEGIN {printf "%.2f", r / s}')
  fi
  printf '%-24s %8s %10s %10.0f %12.0f %12s %10s\n' "$(basename "$f")" "$mb" "$best" \
    "$(awk -v m="$mb" -v s="$best" 'BEGIN {print m / s}')" "$(awk -v k="$peak" 'BEGIN {print k / 1024}')" "$fread_s" "$ratio"
done
