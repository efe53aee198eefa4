#!/usr/bin/env bash
# Fuzzes what takes user input with many more generated inputs than the test suite runs: the
# CSV reader (and its cutting into pieces), the formula parser, and the command line's options
# (every subcommand with options from its --help and odd values; the reference cases' commands
# with values replaced). Usage: scripts/fuzz.sh [CASES] — CASES parser inputs each (default
# 200,000; a few minutes on 2 cores) and CASES/50 command lines. The test profile is optimised,
# so this reuses the build of `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
cases=${1:-200000}
STRATA_FUZZ_CASES=$cases cargo test -q -p strata-core --test fuzz
STRATA_FUZZ_CASES=$cases cargo test -q -p strata-core --lib any_text_in_pieces_reads_as_in_one
STRATA_FUZZ_CASES=$((cases / 50)) cargo test -q -p strata-cli --test options_fuzz
