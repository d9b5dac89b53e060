#!/usr/bin/env bash
# One call that checks the CUDA path on a machine with an NVIDIA GPU, and
# writes everything it saw to one report file:
#
#   scripts/gpu-check.sh [REPORT]      (default: gpu-check-report.txt)
#
# 1. the GPU (nvidia-smi) and the CUDA install (scripts/setup.sh --cuda,
#    unless LIBTORCH already points at a CUDA libtorch 2.13);
# 2. the release build and the test suite;
# 3. `train --device cuda` with the fast generator, and `train --device
#    cuda --rng numpy` beside the CPU reference engine on the same seed and
#    config: the loss histories side by side and their largest difference
#    (CUDA draws weights and batch orders from the GPU's generator, so the
#    numpy runs share the stimulus, not the trajectory);
# 4. the seconds of a GPU epoch against a CPU one.
#
# Sized to finish in under 8 minutes on a fresh machine with a network:
# the trainings use the notebook's network on 16 batches for 3 epochs.
# Each step's failure is recorded and the next step still runs; the exit
# status is that of the first failed step.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
report="$(realpath -m "${1:-gpu-check-report.txt}")"
work="$(mktemp -d)"
status=0
: >"$report"

say() { printf '%s\n' "$*" | tee -a "$report"; }
# step NAME SECONDS COMMAND...: runs it under a time limit, its output into
# the report, and notes how it ended.
step() {
  local name="$1" limit="$2"
  shift 2
  say "== $name"
  local start=$SECONDS
  timeout "$limit" "$@" >>"$report" 2>&1
  local rc=$?
  say "-- $name: exit $rc after $((SECONDS - start)) s"
  if [ "$rc" -ne 0 ] && [ "$status" -eq 0 ]; then status=$rc; fi
  return "$rc"
}

say "snnloc GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
step "GPU" 30 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
if [ -z "${LIBTORCH:-}" ]; then
  step "CUDA install" 240 scripts/setup.sh --cuda
fi
step "build" 300 cargo build --release
snnloc="$root/target/release/snnloc"
step "tests" 300 cargo test --release

small=(--n-training-batches 16 --n-testing-batches 8 --epochs 3 --seed 0 --no-plots --quiet)
step "train --device cuda" 120 "$snnloc" train --device cuda "${small[@]}" --out "$work/cuda-fast"
step "train --device cuda --rng numpy" 120 "$snnloc" train --device cuda --rng numpy "${small[@]}" --out "$work/cuda-numpy"
step "train --device cpu --engine reference --rng numpy" 120 \
  "$snnloc" train --device cpu --engine reference --rng numpy "${small[@]}" --out "$work/cpu-numpy"
step "train --device cpu (fused)" 120 "$snnloc" train --device cpu "${small[@]}" --out "$work/cpu-fast"

say "== loss histories and epoch seconds"
python3 - "$work" 2>&1 <<'EOF' | tee -a "$report" || { [ "$status" -eq 0 ] && status=1; }
import csv, json, os, sys
work = sys.argv[1]
runs = ["cuda-fast", "cuda-numpy", "cpu-numpy", "cpu-fast"]
loss, seconds, meta = {}, {}, {}
for run in runs:
    path = os.path.join(work, run)
    if not os.path.exists(os.path.join(path, "metrics.json")):
        print(f"{run}: no finished run")
        continue
    rows = list(csv.DictReader(open(os.path.join(path, "loss.csv"))))
    loss[run] = [float(r["loss"]) for r in rows]
    seconds[run] = [float(r["seconds"]) for r in rows]
    m = json.load(open(os.path.join(path, "metrics.json")))
    meta[run] = (m.get("device"), m.get("engine"), m["test"]["accuracy_mean"])
print("epoch  " + "  ".join(f"{r:>12}" for r in loss))
for e in range(max((len(v) for v in loss.values()), default=0)):
    print(f"{e + 1:>5}  " + "  ".join(f"{v[e]:12.6f}" if e < len(v) else " " * 12 for v in loss.values()))
for run, (device, engine, acc) in meta.items():
    print(f"{run}: device {device}, engine {engine}, test accuracy {acc:.2f} %, "
          f"median epoch {sorted(seconds[run])[len(seconds[run]) // 2]:.3f} s")
if "cuda-numpy" in loss and "cpu-numpy" in loss:
    diff = max(abs(a - b) for a, b in zip(loss["cuda-numpy"], loss["cpu-numpy"]))
    print(f"largest |loss difference|, CUDA against the CPU reference engine (numpy draws): {diff:.3e}")
EOF
rm -rf "$work"
say "report: $report"
exit "$status"
