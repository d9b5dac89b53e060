#!/usr/bin/env bash
# Sets up libtorch (and the Python reference's numpy) if needed, then runs
# the whole test suite in release mode: the tests train small networks.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
cargo test --release "$@"
