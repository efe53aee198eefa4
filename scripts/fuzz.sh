#!/usr/bin/env bash
# Fuzzes the parsers that take user input — the CSV reader (and its cutting into pieces) and the
# formula parser — with many more generated inputs than the test suite runs (default 200,000
# each; a few minutes on 2 cores). Usage: scripts/fuzz.sh [CASES]
set -euo pipefail
cd "$(dirname "$0")/.."
export STRATA_FUZZ_CASES=${1:-200000}
cargo test --release -p strata-core --test fuzz
cargo test --release -p strata-core --lib any_text_in_pieces_reads_as_in_one
