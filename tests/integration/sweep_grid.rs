//! Grid sweeps of two options end to end, with networks that train in a
//! fraction of a second: every cell once, its runs and heatmaps, resume,
//! shards, and refusal of bad input before anything is written.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Output;

use crate::common::{
    assert_one_line_error, assert_success, job_ids, luminance, read_csv, scratch_dir, snnloc,
    without_seconds, TINY_NET as TINY,
};
use snnloc::config::{self as options, Config};
use snnloc::run_folder::RunFolder;

/// `snnloc sweep` over the grid tau-ms 1,2 x envelope-power 1,2, once per
/// cell, plus `extra` flags.
fn grid_cli(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["sweep", "--param", "tau-ms", "--values", "1,2"];
    args.extend(["--param", "envelope-power", "--values", "1,2"]);
    args.extend(["--threads", "1", "--quiet", "--out", out.to_str().unwrap()]);
    args.extend(TINY);
    args.extend(extra);
    snnloc(&args)
}

fn number(text: &str) -> f64 {
    text.parse()
        .unwrap_or_else(|_| panic!("{text:?} is not a number"))
}

const CELLS: [(&str, &str); 4] = [
    ("1.0", "1.0"),
    ("1.0", "2.0"),
    ("2.0", "1.0"),
    ("2.0", "2.0"),
];

#[test]
fn a_grid_runs_every_cell_once_and_maps_the_means() {
    let out = scratch_dir("grid");
    assert_success(&grid_cli(&out, &["--jobs", "2"]));

    let runs = read_csv(&out.join("runs.csv"));
    assert_eq!(job_ids(&out.join("runs.csv")), [0, 1, 2, 3]);
    let seeds: BTreeSet<&str> = runs.iter().map(|r| r["seed"].as_str()).collect();
    assert_eq!(seeds.len(), 4);
    for run in &runs {
        let job: usize = run["job"].parse().unwrap();
        let (value, value2) = CELLS[job];
        assert_eq!(
            [&run["param"], &run["value"], &run["param2"], &run["value2"]],
            ["tau-ms", value, "envelope-power", value2]
        );
        assert_eq!(
            [&run["value_index"], &run["value2_index"]],
            [&(job / 2).to_string(), &(job % 2).to_string()]
        );
        // The run's own config holds both values and its seed.
        let dir = out.join(format!("runs/{}-{}-0", job / 2, job % 2));
        let text = fs::read_to_string(RunFolder::new(&dir).config_path()).unwrap();
        let cfg: Config = serde_json::from_str(&text).unwrap();
        let text_of = |name: &str| options::option(name).unwrap().text(&cfg);
        assert_eq!(
            [text_of("tau-ms"), text_of("envelope-power")],
            [value, value2]
        );
        assert_eq!(cfg.run.seed.to_string(), run["seed"]);
        assert!(run["rerun"].contains(&format!("--envelope-power {value2}")));
    }

    let summary = read_csv(&out.join("summary.csv"));
    assert_eq!(summary.len(), 4);
    for (row, (value, value2)) in summary.iter().zip(CELLS) {
        assert_eq!(
            [&row["value"], &row["value2"], &row["count"]],
            [value, value2, "1"]
        );
    }

    // Each heatmap: tau-ms down, envelope-power across, runs.csv's numbers
    // (one repeat per cell, so the mean is the run's own).
    let maps = [
        ("grid_test_accuracy", "test_acc_mean_over_batches"),
        ("grid_test_abs_error", "test_abs_error_mean_over_samples"),
        (
            "grid_test_midpoint_error",
            "test_midpoint_error_mean_over_samples",
        ),
        (
            "grid_test_decoded_error",
            "test_decoded_error_mean_over_samples",
        ),
    ];
    for (stem, column) in maps {
        let mut reader = csv::Reader::from_path(out.join(format!("{stem}.csv"))).unwrap();
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header, ["tau-ms \\ envelope-power", "1.0", "2.0"], "{stem}");
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2, "{stem}");
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(&row[0], CELLS[2 * i].0);
            for j in 0..2 {
                let run = &runs
                    .iter()
                    .find(|r| r["job"] == (2 * i + j).to_string())
                    .unwrap();
                assert_eq!(
                    number(&row[j + 1]),
                    number(&run[column]),
                    "{stem} [{i}][{j}]"
                );
            }
        }
        assert!(fs::metadata(out.join(format!("{stem}.svg"))).unwrap().len() > 1000);
        let (w, h, lum) = luminance(&out.join(format!("{stem}.png")));
        assert_eq!((w, h), (800, 600));
        // Not blank: the cells and the colour bar cover much of the figure.
        let coloured = lum.iter().filter(|&&l| l < 200.0).count() as f64 / lum.len() as f64;
        assert!(
            coloured > 0.2,
            "{stem}: only {coloured} of the pixels are coloured"
        );
    }
    // A grid has heatmaps instead of the error-bar figures.
    assert!(!out.join("sweep_accuracy.png").exists());
    fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_stopped_grid_resumes_and_shards_merge_to_the_whole_grid() {
    let root = scratch_dir("grid-resume");
    let whole = root.join("whole");
    let runs_csv = whole.join("runs.csv");
    assert_success(&grid_cli(&whole, &["--max-runs", "2"]));
    assert_eq!(job_ids(&runs_csv), [0, 1]);
    let first_two = fs::read_to_string(&runs_csv).unwrap();
    assert_success(&grid_cli(&whole, &[]));
    assert_eq!(job_ids(&runs_csv), [0, 1, 2, 3]);
    assert!(fs::read_to_string(&runs_csv)
        .unwrap()
        .starts_with(&first_two));

    let shards = [root.join("shard0"), root.join("shard1")];
    for (k, dir) in shards.iter().enumerate() {
        assert_success(&grid_cli(dir, &["--shard", &format!("{k}/2")]));
    }
    assert_eq!(job_ids(&shards[0].join("runs.csv")), [0, 2]);
    let merged = root.join("merged");
    let mut merge = vec!["sweep-merge", "--quiet", "--out", merged.to_str().unwrap()];
    merge.extend(shards.iter().map(|d| d.to_str().unwrap()));
    assert_success(&snnloc(&merge));
    for file in ["runs.csv", "summary.csv", "grid_test_accuracy.csv"] {
        assert_eq!(
            without_seconds(read_csv(&merged.join(file))),
            without_seconds(read_csv(&whole.join(file))),
            "{file}"
        );
    }
    assert!(merged.join("grid_test_abs_error.png").is_file());
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn bad_grids_are_one_line_naming_the_flag_and_write_nothing() {
    let out = scratch_dir("grid-bad");
    let cases: [(&[&str], &str); 6] = [
        (
            &[
                "--param", "tau-ms", "--values", "1", "--param", "tau", "--values", "2",
            ],
            "--param tau-ms is given twice",
        ),
        (
            &[
                "--param",
                "tau-ms",
                "--values",
                "1",
                "--param",
                "lr",
                "--values",
                "1",
                "--param",
                "num-hidden",
                "--values",
                "3",
            ],
            "--param is given 3 times",
        ),
        (
            &["--param", "tau-ms", "--values", "1", "--param", "lr"],
            "--param is given 2 times but --values 1",
        ),
        (
            &[
                "--param", "tau-ms", "--values", "1", "--param", "seed", "--values", "1",
            ],
            "--param seed",
        ),
        (
            &[
                "--param",
                "tau-ms",
                "--values",
                "1",
                "--param",
                "envelope-power",
                "--values",
                "-1",
            ],
            "--envelope-power",
        ),
        (
            &[
                "--param",
                "tau-ms",
                "--values",
                "1:200:1",
                "--param",
                "lr",
                "--values",
                "0.001:0.2:0.001",
            ],
            "--values give a grid of 200 x 200 cells",
        ),
    ];
    for (args, expect) in cases {
        let mut full = vec!["sweep", "--out", out.to_str().unwrap()];
        full.extend(TINY);
        full.extend(args);
        assert_one_line_error(&full, expect);
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}
