#!/usr/bin/env bash
# Copies the project's public reference cases (../shared/reference beside the checkout) into
# tests/reference/, where the test suite reads them so that `cargo test` passes on a plain clone.
# The real_* cases are copied too: their data are small tables derived from the DfE panel (Open
# Government Licence v3.0), which DESIGN.md allows the repository to carry, as strata-data does
# (tests/reference/real_cla2024_negbin/README.md keeps the attribution). Each case's model.txt names, on its second line, the R or Python call that
# produced expected.json: rerun that call to regenerate a case from R.
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=${1:-../shared/reference}
test -d "$source_dir" || { echo "no reference set at $source_dir" >&2; exit 1; }
for case_dir in "$source_dir"/*/; do
    case=$(basename "$case_dir")
    mkdir -p "tests/reference/$case"
    cp "$case_dir"/data.csv "$case_dir"/model.txt "$case_dir"/expected.json "tests/reference/$case/"
done
echo "tests/reference: $(ls tests/reference | wc -l) cases"
