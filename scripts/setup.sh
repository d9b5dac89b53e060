#!/usr/bin/env bash
# Provides libtorch 2.13.0 (the version tch 0.26 is built against) from PyPI's
# torch==2.13.0 wheel, in a project-local virtual environment, and exposes it
# through the stable symlink `.libtorch` that `.cargo/config.toml` names.
# Idempotent: a second run with everything present only checks and exits.
# A user whose LIBTORCH already points at libtorch 2.13 can skip this script.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
link="$root/.libtorch"
torch_version="2.13.0"
python="${PYTHON:-python3}"

have_torch() {
  [ -x "$venv/bin/python" ] &&
    [ -f "$link/lib/libtorch_cpu.so" ] &&
    [ -f "$venv/.snnloc-torch-$torch_version" ]
}

if have_torch; then
  exit 0
fi

if ! command -v cargo >/dev/null; then
  echo "setup: cargo not found; install Rust with https://rustup.rs (curl --proto '=https' -sSf https://sh.rustup.rs | sh)" >&2
  exit 1
fi
if ! command -v "$python" >/dev/null; then
  echo "setup: $python not found; install Python 3.10+ or set PYTHON=/path/to/python3" >&2
  exit 1
fi
echo "setup: installing torch==$torch_version (about 4.7 GB with its CUDA libraries) into $venv" >&2
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv" || {
  echo "setup: could not create a virtual environment; on Debian/Ubuntu: apt-get install python3-venv" >&2
  exit 1
}
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "torch==$torch_version" numpy safetensors
site="$("$venv/bin/python" -c 'import torch, os; print(os.path.dirname(torch.__file__))')"
ln -sfn "$site" "$link"
touch "$venv/.snnloc-torch-$torch_version"
echo "setup: libtorch $torch_version ready at $link"
