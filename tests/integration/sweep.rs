//! Sweeps end to end with networks small enough to train in a fraction of a
//! second: results, resume after interruption, shards and their merge, and
//! refusal of bad input before anything is written.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::Output;
use std::sync::atomic::AtomicUsize;

use crate::common::{
    assert_one_line_error, assert_success, job_ids, read_csv, scratch_dir, snnloc, tiny_net_config,
    without_seconds, TINY_NET as TINY,
};
use snnloc::config::Config;
use snnloc::engine::Engine;
use snnloc::run_folder::RunFolder;
use snnloc::sweep::{self, Options, Shard, SweepSpec, TrainProcess};
use tch::Device;

const EXE: &str = env!("CARGO_BIN_EXE_snnloc");

/// Starts each run as `snnloc train`, as the program's own sweep does, or
/// as `exe` when that is another program.
fn child(exe: &str) -> TrainProcess {
    TrainProcess {
        exe: exe.into(),
        device: "cpu".into(),
        threads: Some(1),
        inspect: false,
    }
}

/// `snnloc sweep` over a tiny envelope-power sweep, plus `extra` flags.
fn sweep_cli(out: &Path, values: &str, extra: &[&str]) -> Output {
    let out = out.to_str().unwrap();
    let mut args = vec!["sweep", "--param", "envelope-power", "--values", values];
    args.extend(["--repeats", "2", "--threads", "1", "--quiet", "--out", out]);
    args.extend(TINY);
    args.extend(extra);
    snnloc(&args)
}

fn number(row: &BTreeMap<String, String>, column: &str) -> f64 {
    row[column]
        .parse()
        .unwrap_or_else(|_| panic!("{column} = {:?} is not a number", row[column]))
}

/// The error-bar figures of a sweep of one option.
const ERROR_BAR_FIGURES: [&str; 4] = [
    "sweep_accuracy",
    "sweep_abs_error",
    "sweep_midpoint_error",
    "sweep_decoded_error",
];

/// The decoded error is measured in every run and summarised: finite and
/// below 90°, the mean error over uniform IPDs of a decoder stuck at one
/// end of the range.
fn assert_decoded_errors_in_range(
    runs: &[BTreeMap<String, String>],
    summary: &[BTreeMap<String, String>],
) {
    for set in ["train", "test"] {
        let run = format!("{set}_decoded_error_mean_over_samples");
        let summarised = format!("{run}_mean_over_repeats");
        let rows = runs.iter().map(|r| (r, &run));
        for (row, column) in rows.chain(summary.iter().map(|r| (r, &summarised))) {
            let error = number(row, column);
            assert!((0.0..90.0).contains(&error), "{column} {error}");
        }
    }
}

#[test]
fn sweep_records_every_run_and_summarises_across_repeats() {
    let out = scratch_dir("end-to-end");
    let spec = SweepSpec::new("envelope_power", "0,1,2", 2, tiny_net_config()).unwrap();
    let report = sweep::run(
        &spec,
        &Options {
            out: out.clone(),
            shard: Shard::ALL,
            launcher: &child(EXE),
            jobs: 2,
            max_runs: None,
            force: false,
            quiet: true,
            stop: &AtomicUsize::new(0),
            ideal: false,
        },
    )
    .unwrap();
    assert_eq!(
        (report.total, report.already_done, report.finished),
        (6, 0, 6)
    );

    let runs = read_csv(&out.join("runs.csv"));
    assert_eq!(runs.len(), 6);
    assert_eq!(job_ids(&out.join("runs.csv")), (0..6).collect::<Vec<_>>());
    for run in &runs {
        assert_eq!(run["param"], "envelope-power");
        assert!(number(run, "seed") < 2f64.powi(32));
        assert!(run["rerun"].starts_with("snnloc train "));
    }

    // summary.csv, recomputed here: population mean and std over repeats.
    let summary = read_csv(&out.join("summary.csv"));
    assert_eq!(summary.len(), 3);
    for (v, row) in summary.iter().enumerate() {
        let value = ["0.0", "1.0", "2.0"][v];
        assert_eq!((row["value"].as_str(), number(row, "x")), (value, v as f64));
        let repeats: Vec<_> = runs.iter().filter(|r| r["value"] == value).collect();
        assert_eq!(number(row, "count"), repeats.len() as f64);
        for metric in sweep::METRICS {
            let xs: Vec<f64> = repeats.iter().map(|r| number(r, metric)).collect();
            let mean = xs.iter().sum::<f64>() / xs.len() as f64;
            let std = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64).sqrt();
            let got_mean = number(row, &format!("{metric}_mean_over_repeats"));
            let got_std = number(row, &format!("{metric}_std_over_repeats"));
            assert!(
                (got_mean - mean).abs() <= 1e-9 * mean.abs().max(1.0),
                "{metric}"
            );
            assert!(
                (got_std - std).abs() <= 1e-9 * std.abs().max(1.0),
                "{metric}"
            );
        }
    }
    assert_decoded_errors_in_range(&runs, &summary);
    for stem in ERROR_BAR_FIGURES {
        for ext in ["png", "svg"] {
            let file = out.join(format!("{stem}.{ext}"));
            assert!(
                fs::metadata(&file).unwrap().len() > 1000,
                "{}",
                file.display()
            );
        }
    }

    // The rerun command reproduces its row alone.
    let row = &runs[3];
    let rerun_out = out.join("rerun");
    let mut args: Vec<&str> = row["rerun"].split_whitespace().skip(1).collect();
    args.extend(["--threads", "1", "--quiet", "--no-plots"]);
    args.extend(["--out", rerun_out.to_str().unwrap()]);
    assert_success(&snnloc(&args));
    let metrics: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(RunFolder::new(&rerun_out).metrics_path()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        metrics["test"]["abs_error_mean"].as_f64().unwrap(),
        number(row, "test_abs_error_mean_over_samples")
    );
    assert_eq!(
        metrics["train"]["accuracy_mean"].as_f64().unwrap(),
        number(row, "train_acc_mean_over_batches")
    );
    for (set, stat) in [("train", "mean"), ("test", "mean"), ("test", "std")] {
        let recorded = metrics[set][format!("decoded_error_{stat}")].as_f64();
        let column = format!("{set}_decoded_error_{stat}_over_samples");
        assert_eq!(recorded, Some(number(row, &column)), "{column}");
    }
    fs::remove_dir_all(&out).unwrap();
}

#[test]
fn sweep_inspects_its_runs_and_keeps_the_ideal_observer() {
    let out = scratch_dir("inspect-ideal");
    assert_success(&sweep_cli(&out, "2", &["--ideal", "--inspect"]));
    for run in ["0-0", "0-1"] {
        let inspect = out.join("runs").join(run).join("inspect");
        for file in [
            "hidden_tuning.png",
            "ideal_vs_network.svg",
            "ablation_single.csv",
        ] {
            assert!(inspect.join(file).is_file(), "{run}: {file} missing");
        }
    }
    let check = |out: &Path| {
        let summary = read_csv(&out.join("summary.csv"));
        let ideal = number(&summary[0], "ideal_accuracy_pct");
        assert!((0.0..=100.0).contains(&ideal), "{ideal}");
        for column in [
            "ideal_decoded_error_deg",
            "ideal_known_offset_decoded_error_deg",
        ] {
            let error = number(&summary[0], column);
            assert!((0.0..90.0).contains(&error), "{column} {error}");
        }
        // Per-call offsets: the observer told the offset as well.
        assert!(number(&summary[0], "ideal_known_offset_accuracy_pct") >= 0.0);
        let seed = snnloc::sweep::derive_seed(0, "2.0", 0) as f64;
        assert_eq!(number(&summary[0], "ideal_seed"), seed);
        summary
    };
    let first = check(&out);
    // Resumed without --ideal, the folder keeps its observer, unchanged.
    fs::remove_file(out.join("summary.csv")).unwrap();
    assert_success(&sweep_cli(&out, "2", &[]));
    assert_eq!(check(&out), first);
    let grid = ["--param", "tau", "--values", "5", "--ideal"];
    let o = out.join("grid");
    let grid = [&grid[..], &["--out", o.to_str().unwrap()]].concat();
    assert_one_line_error(
        &[&["sweep", "--param", "f", "--values", "20"][..], &grid].concat(),
        "not on grids",
    );
    fs::remove_dir_all(&out).unwrap();
}

#[test]
fn interrupted_sweep_resumes_each_job_exactly_once() {
    let out = scratch_dir("resume");
    let runs_csv = out.join("runs.csv");
    assert_success(&sweep_cli(&out, "0:1:1", &["--max-runs", "1"]));
    assert_eq!(job_ids(&runs_csv), vec![0]);

    // A kill in the middle of appending leaves a row without its newline.
    let mut torn = fs::read(&runs_csv).unwrap();
    torn.extend_from_slice(b"1,envelope-power,0,0.0,1,12");
    fs::write(&runs_csv, &torn).unwrap();

    assert_success(&sweep_cli(&out, "0:1:1", &[]));
    assert_eq!(job_ids(&runs_csv), vec![0, 1, 2, 3]);
    let text = fs::read_to_string(&runs_csv).unwrap();
    assert!(text.ends_with('\n') && !text.contains("0.0,1,12\n"));

    // A finished sweep runs nothing more.
    assert_success(&sweep_cli(&out, "0:1:1", &[]));
    assert_eq!(job_ids(&runs_csv), vec![0, 1, 2, 3]);
    fs::remove_dir_all(&out).unwrap();
}

#[test]
fn shards_cover_every_job_once_and_merge_to_the_whole_sweep() {
    let root = scratch_dir("shards");
    let whole = root.join("whole");
    let shards = [root.join("shard0"), root.join("shard1")];
    // The ideal observer travels with the one shard that keeps it.
    assert_success(&sweep_cli(&whole, "1,3", &["--ideal"]));
    for (k, dir) in shards.iter().enumerate() {
        let shard = format!("{k}/2");
        let ideal = if k == 0 { "--ideal" } else { "--quiet" };
        assert_success(&sweep_cli(dir, "1,3", &["--shard", &shard, ideal]));
    }
    let (ids0, ids1) = (
        job_ids(&shards[0].join("runs.csv")),
        job_ids(&shards[1].join("runs.csv")),
    );
    assert_eq!((ids0, ids1), (vec![0, 2], vec![1, 3]));

    let merged = root.join("merged");
    let merge = snnloc(&[
        "sweep-merge",
        "--quiet",
        "--out",
        merged.to_str().unwrap(),
        shards[0].to_str().unwrap(),
        shards[1].to_str().unwrap(),
    ]);
    assert_success(&merge);
    for file in ["runs.csv", "summary.csv"] {
        assert_eq!(
            without_seconds(read_csv(&merged.join(file))),
            without_seconds(read_csv(&whole.join(file))),
            "{file}"
        );
    }
    assert!(merged.join("sweep_accuracy.png").is_file());
    assert_eq!(read_csv(&merged.join("ideal.csv")).len(), 2);

    // A shard merged with a folder of another sweep is refused.
    let other = root.join("other");
    assert_success(&sweep_cli(
        &other,
        "1,3",
        &["--max-runs", "0", "--seed", "7"],
    ));
    let refused = snnloc(&[
        "sweep-merge",
        "--out",
        root.join("bad").to_str().unwrap(),
        shards[0].to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    assert!(!root.join("bad").exists());
    fs::remove_dir_all(&root).unwrap();
}

/// Runs a sweep expected to fail: non-zero exit, one line on stderr.
fn assert_refused(out: &Path, args: &[&str], expect: &str) {
    let mut full = vec!["sweep", "--out", out.to_str().unwrap()];
    full.extend(TINY);
    full.extend(args);
    assert_one_line_error(&full, expect);
}

#[test]
fn bad_input_is_one_line_and_writes_nothing() {
    let out = scratch_dir("bad");
    let ep = |rest: &[&'static str]| -> Vec<&'static str> {
        ["--param", "envelope-power"]
            .iter()
            .chain(rest)
            .copied()
            .collect()
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--param", "nope", "--values", "1"],
            "--param: unknown option 'nope'",
        ),
        (vec!["--param", "seed", "--values", "1,2"], "--param seed"),
        (ep(&["--values", "5:1:1"]), "stop"),
        (ep(&["--values", "0:1"]), "start:stop:step"),
        (ep(&["--values", "0:1:0"]), "step"),
        (ep(&["--values", "1,-1"]), "--envelope-power"),
        (
            vec!["--param", "rate-max", "--values", "500,2000"],
            "--rate-max",
        ),
        (ep(&["--values", "1", "--shard", "2/2"]), "--shard"),
        (ep(&["--values", "1", "--repeats", "0"]), "--repeats"),
    ];
    for (args, expect) in cases {
        assert_refused(&out, &args, expect);
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }

    // An existing folder of another sweep is left as it was.
    let args = ep(&["--values", "1,2", "--max-runs", "0"]);
    let mut first = vec!["sweep", "--out", out.to_str().unwrap()];
    first.extend(TINY);
    first.extend(&args);
    assert_success(&snnloc(&first));
    let before: Vec<_> = ["sweep.json", "runs.csv"]
        .iter()
        .map(|f| fs::read(out.join(f)).unwrap())
        .collect();
    assert_refused(
        &out,
        &[&args[..], &["--lr", "0.1"]].concat(),
        "base.training.lr",
    );
    assert_refused(&out, &[&args[..], &["--shard", "1/2"]].concat(), "shard.");
    let after: Vec<_> = ["sweep.json", "runs.csv"]
        .iter()
        .map(|f| fs::read(out.join(f)).unwrap())
        .collect();
    assert_eq!(before, after);
    // ... unless told to start afresh.
    let mut forced = first.clone();
    forced.extend(["--lr", "0.1", "--force"]);
    assert_success(&snnloc(&forced));
    assert!(fs::read_to_string(out.join("sweep.json"))
        .unwrap()
        .contains("0.1"));
    fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_failing_run_is_reported_and_leaves_no_row() {
    let out = scratch_dir("failing");
    let spec = SweepSpec::new("num-hidden", "3,4", 1, tiny_net_config()).unwrap();
    let error = sweep::run(
        &spec,
        &Options {
            out: out.clone(),
            shard: Shard::ALL,
            // Exits 1 without training, as a crashing run would.
            launcher: &child("false"),
            jobs: 1,
            max_runs: None,
            force: false,
            quiet: true,
            stop: &AtomicUsize::new(0),
            ideal: false,
        },
    )
    .unwrap_err();
    assert!(error.to_string().contains("2 of 2 runs failed"), "{error}");
    assert!(read_csv(&out.join("runs.csv")).is_empty());
    fs::remove_dir_all(&out).unwrap();
}

#[test]
fn values_ranges_and_seeds() {
    let values = sweep::parse_values;
    assert_eq!(
        values("0:1:0.25").unwrap(),
        ["0.00", "0.25", "0.50", "0.75", "1.00"]
    );
    assert_eq!(values("0:1:0.1").unwrap().last().unwrap(), "1.0");
    assert_eq!(values("10:30:10").unwrap(), ["10", "20", "30"]);
    assert_eq!(values(" 1, 2 ,3").unwrap(), ["1", "2", "3"]);
    assert!(values("1,,2").is_err() && values("0:1e3:1").is_err());

    // 2 and 2.0 are one value of envelope-power: rejected as a duplicate.
    assert!(SweepSpec::new("envelope-power", "2,2.0", 1, tiny_net_config()).is_err());
    let spec = SweepSpec::new("phase-offset", "per-call,per-sample", 3, tiny_net_config()).unwrap();
    let (x, label) = sweep::x_axis(&spec);
    assert_eq!(x, [0.0, 1.0]);
    assert!(label.contains("0 = per-call") && label.contains("1 = per-sample"));
    let seeds: BTreeSet<u64> = (0..spec.job_count()).map(|j| spec.job(j).seed).collect();
    assert_eq!(seeds.len(), 6);
    assert!(seeds.iter().all(|&s| s < 1 << 32));
    // Deterministic: the same inputs give the same seed, another base seed another.
    assert_eq!(sweep::derive_seed(0, "per-call", 1), spec.job(1).seed);
    assert_ne!(sweep::derive_seed(1, "per-call", 1), spec.job(1).seed);
    assert_eq!(
        "3/10".parse::<Shard>().unwrap(),
        Shard {
            index: 3,
            count: 10
        }
    );
    assert!("10/10".parse::<Shard>().is_err() && "1/0".parse::<Shard>().is_err());
}

#[test]
fn numpy_runs_of_a_sweep_use_the_engine_that_their_rerun_command_does() {
    let spec = SweepSpec::new("rng", "fast,numpy", 1, Config::default()).unwrap();
    for (job, engine) in [(0, Engine::Fused), (1, Engine::Reference)] {
        let run = spec.config(&spec.job(job)).unwrap();
        assert_eq!(Engine::resolve(&run, Device::Cpu).unwrap(), engine);
    }
    // The rerun commands leave the engine to the same rule.
    let out = scratch_dir("numpy-dry-run");
    let listed = snnloc(&[
        "sweep",
        "--param",
        "rng",
        "--values",
        "fast,numpy",
        "--dry-run",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_success(&listed);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(
        listed
            .lines()
            .all(|l| l.contains("--rng") && !l.contains("--engine")),
        "{listed}"
    );
}

#[test]
fn the_readmes_slurm_example_is_the_file_slurm_check_runs() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let example =
        std::fs::read_to_string(format!("{root}/scripts/slurm/envelope-power.sbatch")).unwrap();
    assert!(
        readme.contains(&format!("```sh\n{example}```")),
        "README.md's SLURM example is not scripts/slurm/envelope-power.sbatch"
    );
}
