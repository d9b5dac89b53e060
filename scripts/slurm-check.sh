#!/usr/bin/env bash
# Runs the README's SLURM job array for real, on a one-node cluster started
# here, and checks that it gives the sweep one machine gives:
#
#   sudo scripts/slurm-check.sh        (root: it starts munged, slurmctld, slurmd)
#
# 1. installs Debian's slurm-wlm and munge if they are missing;
# 2. starts munged, slurmctld and slurmd with a generated slurm.conf, all
#    state in a temporary folder;
# 3. submits scripts/slurm/envelope-power.sbatch (the README's example) as
#    an array of 3 tasks with a small sweep, and `snnloc sweep-merge` as a
#    job that depends on it, and waits for both;
# 4. runs the same sweep on this machine alone and compares the two
#    runs.csv row for row, wall-clock seconds aside;
# 5. stops every daemon it started, whatever happened.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
snnloc="$root/target/release/snnloc"
[ "$(id -u)" -eq 0 ] || { echo "error: slurm-check.sh starts SLURM's daemons and needs root" >&2; exit 1; }
[ -x "$snnloc" ] || (cd "$root" && cargo build --release --bin snnloc)
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  packages=(slurm-wlm munge)
  apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null; }
fi

work="$(mktemp -d /tmp/snnloc-slurm.XXXXXX)"
chmod 755 "$work"
pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap stop EXIT

# munge: a fresh key and socket of its own.
mkdir -p "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 700 "$work/munge"
chmod 400 "$work/munge/munge.key"
munged --force --key-file="$work/munge/munge.key" --socket="$work/munge/socket" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/log" --seed-file="$work/munge/seed"
pids+=("$(cat "$work/munge/munged.pid")")

host="$(hostname -s)"
cpus="$(nproc)"
memory="$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)"
mkdir -p "$work/state" "$work/spool" "$work/jobs"
export SLURM_CONF="$work/slurm.conf"
cat >"$SLURM_CONF" <<CONF
ClusterName=snnloc-check
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge/socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=check Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 100); do [ -s "$work/slurmctld.pid" ] && [ -s "$work/slurmd.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/slurmctld.pid")" "$(cat "$work/slurmd.pid")")
for _ in $(seq 100); do sinfo -h -o %T 2>/dev/null | grep -qE '^idle' && break; sleep 0.2; done
sinfo -h -o "node %N: %T, %c CPUs"

# A small sweep: 2 values x 2 repeats of a short training, in 3 shards.
export VALUES="0,2" REPEATS=2
export EXTRA="--epochs 2 --n-training-batches 4 --n-testing-batches 2 --batch-size 32"
export PATH="$(dirname "$snnloc"):$PATH"
cd "$work/jobs"
array=$(sbatch --parsable --array=0-2 --cpus-per-task=1 --export=ALL "$root/scripts/slurm/envelope-power.sbatch")
merge=$(sbatch --parsable --dependency="afterok:$array" --export=ALL \
  --wrap "snnloc sweep-merge --out envelope-power sweep-shard-*")
echo "array job $array, merge job $merge"
for _ in $(seq 600); do
  [ -z "$(squeue -h -j "$array,$merge" 2>/dev/null)" ] && break
  sleep 0.5
done
[ -f envelope-power/runs.csv ] || { echo "error: the merge job wrote no runs.csv" >&2; cat slurm-*.out >&2 || true; exit 1; }

# The same sweep on this machine alone.
snnloc sweep --param envelope-power --values "$VALUES" --repeats "$REPEATS" --seed 0 \
  --jobs 2 --threads 1 $EXTRA --out one-machine --quiet
without_seconds() {
  python3 - "$1" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for row in sorted(rows, key=lambda r: int(r["job"]) if "job" in r else 0):
    row.pop("seconds", None)
    print(",".join(f"{k}={v}" for k, v in row.items()))
PY
}
if diff <(without_seconds envelope-power/runs.csv) <(without_seconds one-machine/runs.csv); then
  echo "SLURM check passed: the merged runs.csv of $(($(wc -l <envelope-power/runs.csv) - 1)) runs equals one machine's, row for row"
else
  echo "error: the SLURM sweep's runs.csv differs from one machine's (above)" >&2
  exit 1
fi
