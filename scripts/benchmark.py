#!/usr/bin/env python3
"""Times the notebook's code (scripts/reference.py) and snnloc side by side.

One run of this script measures, on the same machine, libtorch and thread
count: stimulus generation for the training set, one training epoch, the test
analysis, a whole default training (the median of --train-repeats interleaved
runs each), and an 11-value x N-repeat envelope-power sweep on a reduced
config, and prints each time, the ratio notebook/snnloc and the peak memory.
With --project it also times snnloc alone on the notebook's Project: the 11
envelope powers x 5 repeats on the default config.

It also times snnloc's `--preset best` (with per-sample phase offsets, the
stimulus its target is set on) beside the notebook's default config, one
training each, and prints epochs per second, wall time, peak memory and test
accuracy (--skip-best leaves it out).

It then checks that a run's speed does not depend on who launched it: the
same default training (one thread) alone and as the child of `snnloc sweep`,
and alone with glibc malloc's mmap and trim thresholds pinned low (128 KiB)
and high (256 MiB) through the environment. Both ratios should be within 10%.

Run it with the project's venv (scripts/setup.sh makes it) after
`cargo build --release`:

    .venv/bin/python scripts/benchmark.py --threads 2

With --markdown it also prints the figures as a Markdown table, headed by
the date, machine and library versions, for docs/performance.md.
"""

import argparse
import csv
import datetime
import platform
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SNNLOC = os.path.join(ROOT, "target", "release", "snnloc")
# The binary timed; --snnloc sets it.
SNNLOC = DEFAULT_SNNLOC
REFERENCE = os.path.join(ROOT, "scripts", "reference.py")
ENVELOPE_POWERS = "0,1,2,3,4,5,10,30,40,50,100"


def measure(cmd, env):
    """Runs a command; returns its wall seconds and peak resident memory (MB)."""
    start = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # wait4 reports the resources of this child alone, not of all children.
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    stderr = child.stderr.read().decode(errors="replace")
    child.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"benchmark: {' '.join(cmd)} failed:\n{stderr}")
    return wall, usage.ru_maxrss / 1024


def thread_env(threads):
    env = dict(os.environ)
    # Both programs use libtorch's OpenMP pool; pin it to the same size.
    env["OMP_NUM_THREADS"] = str(threads)
    env["MKL_NUM_THREADS"] = str(threads)
    env["RAYON_NUM_THREADS"] = str(threads)
    return env


def launch_ratios(repeats, work):
    """Wall seconds of one default training (1 thread) launched four ways: as
    a `snnloc sweep` child, alone with the child's own config, and alone with
    malloc's thresholds pinned low and high. Interleaved, and the fastest of
    the repeats of each, which other load on the machine disturbed least."""
    env = thread_env(1)
    low = {"MALLOC_TRIM_THRESHOLD_": "131072", "MALLOC_MMAP_THRESHOLD_": "131072"}
    high = {"MALLOC_TRIM_THRESHOLD_": "268435456", "MALLOC_MMAP_THRESHOLD_": "268435456"}
    times = {"child": [], "alone": [], "low": [], "high": []}
    for i in range(repeats):
        sweep_dir = os.path.join(work, f"launch-sweep-{i}")
        measure(
            [SNNLOC, "sweep", "--param", "envelope-power", "--values", "2", "--repeats", "1",
             "--jobs", "1", "--threads", "1", "--device", "cpu", "--quiet", "--out", sweep_dir],
            env,
        )
        with open(os.path.join(sweep_dir, "runs.csv"), newline="") as f:
            (row,) = csv.DictReader(f)
        times["child"].append(float(row["seconds"]))
        # The child's command line (runner.rs), on the child's config.
        alone = [SNNLOC, "train", "--config", os.path.join(sweep_dir, "runs", "0-0", "config.json"),
                 "--out", os.path.join(work, f"launch-alone-{i}"),
                 "--no-plots", "--quiet", "--device", "cpu", "--threads", "1"]
        for name, extra in (("alone", {}), ("low", low), ("high", high)):
            times[name].append(measure(alone, {**env, **extra})[0])
    return {name: min(t) for name, t in times.items()}


def preset_comparison(threads, env, work):
    """One snnloc training of the default config and one of --preset best:
    (name, epochs per second, wall seconds, peak MB, test accuracy) each."""
    rows = []
    for name, flags in (
        ("notebook default", []),
        ("--preset best --phase-offset per-sample", ["--preset", "best", "--phase-offset", "per-sample"]),
    ):
        out = os.path.join(work, "preset-" + str(len(rows)))
        wall, rss = measure(
            [SNNLOC, "train", "--threads", str(threads), "--quiet", "--no-plots", "--device", "cpu",
             "--out", out, *flags],
            env,
        )
        with open(os.path.join(out, "metrics.json")) as f:
            metrics = json.load(f)
        epochs = metrics["seconds"]["epochs"]
        rows.append((name, len(epochs) / sum(epochs), wall, rss, metrics["test"]["accuracy_mean"]))
    return rows


def machine_line(threads):
    """The date, CPU, vector level and library versions a table was measured with."""
    cpu = "unknown CPU"
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and cpu == "unknown CPU":
                    cpu = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    vectors = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE only"

    def version(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT).stdout.strip() or "unknown"
        except OSError:
            return "unknown"

    import torch

    rustc = version(["rustc", "--version"])
    commit = version(["git", "rev-parse", "--short", "HEAD"])
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{date}; {cpu} ({vectors}), {os.cpu_count()} cores, {platform.machine()}; "
        f"torch {torch.__version__}, {rustc}, snnloc {commit}; {threads} threads each"
    )


def print_markdown(line, rows, memory, project):
    print(f"\nMeasured {line}:\n")
    print("| what | notebook (s) | snnloc (s) | notebook / snnloc |")
    print("| --- | ---: | ---: | ---: |")
    for name, slow, fast in rows:
        print(f"| {name} | {slow:.3f} | {fast:.3f} | {slow / fast:.1f}× |")
    if project is not None:
        print(f"| Project, 11 x 5 default trainings (snnloc only) | not run | {project:.1f} | |")
    print(f"| peak memory, whole default train (MB) | {memory['notebook']:.0f} | {memory['snnloc']:.0f} | |")


def python_sweep_code(values, repeats, flags):
    """The notebook's Project loop: one Python process, one run per value and repeat."""
    runs = [
        ["--envelope-power", v, "--seed", str(r), "--quiet", *flags]
        for v in values.split(",")
        for r in range(repeats)
    ]
    return (
        f"import sys; sys.path.insert(0, {os.path.join(ROOT, 'scripts')!r}); import reference\n"
        f"for argv in {runs!r}:\n    reference.main(argv)\n"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="libtorch threads for both")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per value in the sweep")
    parser.add_argument(
        "--sweep-flags",
        default="--n-training-batches 16 --n-testing-batches 8 --epochs 5",
        help="the reduced config of the sweep comparison",
    )
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument(
        "--train-repeats", type=int, default=3, help="whole default trainings per side (the median is shown)"
    )
    parser.add_argument(
        "--project", action="store_true", help="also time snnloc on the notebook's Project (11 x 5 default trainings)"
    )
    parser.add_argument(
        "--launch-repeats", type=int, default=5, help="repeats of each launch of the launch comparison"
    )
    parser.add_argument("--skip-launch", action="store_true")
    parser.add_argument("--skip-best", action="store_true", help="leave out the --preset best timing")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--markdown", action="store_true", help="also print the figures as a Markdown table")
    parser.add_argument("--snnloc", default=DEFAULT_SNNLOC, help="the snnloc binary to time (default: the release build)")
    args = parser.parse_args()
    global SNNLOC
    SNNLOC = os.path.abspath(args.snnloc)
    if not os.path.exists(SNNLOC):
        sys.exit(f"benchmark: no snnloc at {SNNLOC}: build it first (cargo build --release)")

    env = thread_env(args.threads)
    python = sys.executable
    work = tempfile.mkdtemp(prefix="snnloc-bench-")
    try:
        rows, memory = [], {}

        # Whole default trainings, interleaved; each side's median run.
        ref_runs, ours_runs = [], []
        for i in range(args.train_repeats):
            ref_json = os.path.join(work, f"reference-{i}.json")
            wall, rss = measure(
                [python, REFERENCE, "--threads", str(args.threads), "--quiet", "--json", ref_json], env
            )
            ref_runs.append((wall, rss, ref_json))
            ours_dir = os.path.join(work, f"train-{i}")
            wall, rss = measure(
                [SNNLOC, "train", "--threads", str(args.threads), "--quiet", "--device", "cpu", "--out", ours_dir],
                env,
            )
            ours_runs.append((wall, rss, ours_dir))
        ref_wall, memory["notebook"], ref_json = sorted(ref_runs)[len(ref_runs) // 2]
        ours_wall, memory["snnloc"], ours_dir = sorted(ours_runs)[len(ours_runs) // 2]
        with open(ref_json) as f:
            ref = json.load(f)["seconds"]
        with open(os.path.join(ours_dir, "metrics.json")) as f:
            ours = json.load(f)["seconds"]
        rows.append(("stimulus, training set (4096 samples)", ref["data_train"], ours["data_train"]))
        rows.append(
            ("training epoch (median, 64 x 64)", statistics.median(ref["epochs"]), statistics.median(ours["epochs"]))
        )
        rows.append(("test analysis (2048 samples)", ref["analysis_test"], ours["analysis_test"]))
        rows.append(
            (f"whole default train (process wall, median of {args.train_repeats})", ref_wall, ours_wall)
        )

        if not args.skip_sweep:
            flags = args.sweep_flags.split()
            sweep_py, _ = measure(
                [python, "-c", python_sweep_code(ENVELOPE_POWERS, args.repeats, flags + ["--threads", str(args.threads)])],
                env,
            )
            # The same cores for both: the notebook's loop uses them as libtorch
            # threads, snnloc as one single-threaded run per core.
            sweep_rs, _ = measure(
                [SNNLOC, "sweep", "--param", "envelope-power", "--values", ENVELOPE_POWERS,
                 "--repeats", str(args.repeats), "--out", os.path.join(work, "sweep"),
                 "--jobs", str(args.threads), "--threads", "1", "--device", "cpu", "--quiet", *flags],
                env,
            )
            rows.append((f"sweep 11 x {args.repeats} ({args.sweep_flags})", sweep_py, sweep_rs))

        project = None
        if args.project:
            # The notebook's Project on the default config: 11 powers x 5
            # repeats, one single-threaded run per core.
            project, _ = measure(
                [SNNLOC, "sweep", "--param", "envelope-power", "--values", ENVELOPE_POWERS,
                 "--repeats", "5", "--out", os.path.join(work, "project"),
                 "--jobs", str(args.threads), "--threads", "1", "--device", "cpu", "--quiet"],
                env,
            )

        print(f"threads: {args.threads}; machine: {os.cpu_count()} CPUs")
        print(f"{'what':48} {'notebook s':>11} {'snnloc s':>9} {'ratio':>7}")
        for name, slow, fast in rows:
            print(f"{name:48} {slow:11.3f} {fast:9.3f} {slow / fast:6.1f}x")
        print(f"{'peak memory, whole default train (MB)':48} {memory['notebook']:11.0f} {memory['snnloc']:9.0f}")
        figures = {"threads": args.threads, "rows": rows, "peak_rss_mb": memory}
        if project is not None:
            figures["project_seconds"] = project
            print(
                f"{'Project, 11 x 5 default trainings (snnloc only)':48} {'':11} {project:9.3f}"
                f"   (notebook not run; 55 x its median train would be {55 * ref_wall:.0f} s)"
            )

        if not args.skip_best:
            best = preset_comparison(args.threads, env, work)
            figures["presets"] = best
            print(f"\n{'snnloc train':48} {'epochs/s':>9} {'wall s':>8} {'peak MB':>8} {'test %':>7}")
            for name, rate, wall, rss, accuracy in best:
                print(f"{name:48} {rate:9.2f} {wall:8.1f} {rss:8.0f} {accuracy:7.1f}")

        if not args.skip_launch:
            launch = launch_ratios(args.launch_repeats, work)
            figures["launch_seconds"] = launch
            print(f"\nsnnloc default train, 1 thread, fastest of {args.launch_repeats}:")
            for what, slow, fast in (
                ("as a sweep child / alone", launch["child"], launch["alone"]),
                ("malloc thresholds 128 KiB / 256 MiB", launch["low"], launch["high"]),
            ):
                ratio = slow / fast
                verdict = "within 10%" if abs(ratio - 1) <= 0.1 else "NOT within 10%"
                print(f"{what:48} {slow:8.3f} s / {fast:.3f} s = {ratio:.3f} ({verdict})")
        if args.markdown:
            print_markdown(machine_line(args.threads), rows, memory, project)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(figures, f, indent=2)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
