//! Renders every figure from small synthetic data and checks the files as a
//! viewer would get them: decodable PNGs of the right size with something
//! drawn on them, non-empty SVGs, and no debris when writing fails (figures
//! and every other file share one atomic writer).

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{initial_weights, luminance, small_config};
use snnloc::experiment::test_set;
use snnloc::inspect::{inspect, write_figures};
use snnloc::output::write_atomically;
use snnloc::plots::{
    analysis_figure, loss_curve, stimulus_raster, sweep_figure, tuning_grid, weight_heatmaps,
    AnalysisFigure, Colours, ErrorBarSeries, RasterPanel, ReferenceLine, TuningGrid, TuningPanel,
    WeightHeatmaps, WeightPanel,
};
use tch::Device;

/// A fresh directory per test, created: the figures are written into it.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = crate::common::scratch_dir(&format!("plots-{name}"));
    fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn variance(values: &[f64]) -> f64 {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64
}

fn dark_fraction(values: &[f64]) -> f64 {
    values.iter().filter(|&&v| v < 128.0).count() as f64 / values.len() as f64
}

/// Checks the pair a figure function returned and gives the PNG's luminance.
fn check_outputs(paths: &[PathBuf], stem: &Path, size: (u32, u32)) -> Vec<f64> {
    let png = stem.with_extension("png");
    let svg = stem.with_extension("svg");
    assert_eq!(paths, [png.clone(), svg.clone()]);

    let (w, h, lum) = luminance(&png);
    assert_eq!((w, h), size, "pixel size of {}", png.display());
    assert!(variance(&lum) > 100.0, "{} looks blank", png.display());

    let text = fs::read_to_string(&svg).expect("read svg");
    assert!(
        text.starts_with("<svg") && text.len() > 1000,
        "{} is empty",
        svg.display()
    );

    let leftovers: Vec<_> = fs::read_dir(stem.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    lum
}

/// Deterministic pseudo-random spikes with the given firing probability.
fn panels(density: f64, count: usize) -> Vec<RasterPanel> {
    let (steps, neurons) = (100, 200);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..count)
        .map(|i| {
            let spikes = (0..steps * neurons)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    u8::from(((state >> 11) as f64 / (1u64 << 53) as f64) < density)
                })
                .collect();
            RasterPanel {
                ipd_deg: i as i64 * 20 - 70,
                steps,
                neurons,
                spikes,
            }
        })
        .collect()
}

#[test]
fn raster_darkness_tracks_spike_density() {
    let dir = scratch_dir("raster");
    let mut darkness = Vec::new();
    for (name, density) in [("silent", 0.0), ("sparse", 0.05), ("dense", 0.4)] {
        let stem = dir.join(name);
        let paths = stimulus_raster(&panels(density, 8), &stem).expect("raster");
        let lum = check_outputs(&paths, &stem, (1000, 400));
        darkness.push(dark_fraction(&lum));
    }
    let [silent, sparse, dense] = darkness[..] else {
        unreachable!()
    };
    // Axes and text alone darken little; on top of that, nearest-neighbour
    // sampling makes the darkness added by spikes proportional to their
    // density (eight times the density, eight times the darkness).
    assert!(silent < 0.06, "axes and text alone are {silent} dark");
    assert!(sparse > silent + 0.01, "sparse {sparse} vs silent {silent}");
    let ratio = (dense - silent) / (sparse - silent);
    assert!(
        (6.0..10.0).contains(&ratio),
        "dense/sparse darkness ratio {ratio}, expected about 8"
    );
    fs::remove_dir_all(dir).ok();
}

#[test]
fn raster_takes_fewer_panels_and_rejects_bad_ones() {
    let dir = scratch_dir("raster-shapes");
    let stem = dir.join("three");
    let paths = stimulus_raster(&panels(0.2, 3), &stem).expect("three panels");
    check_outputs(&paths, &stem, (1000, 400));

    let tiny = RasterPanel {
        ipd_deg: 0,
        steps: 1,
        neurons: 1,
        spikes: vec![1],
    };
    let stem = dir.join("tiny");
    check_outputs(
        &stimulus_raster(&[tiny], &stem).expect("1x1 panel"),
        &stem,
        (1000, 400),
    );

    let err = stimulus_raster(&[], &dir.join("none")).unwrap_err();
    assert!(err.to_string().contains("1 to 8 panels"), "{err}");
    assert!(stimulus_raster(&panels(0.2, 9), &dir.join("nine")).is_err());
    let mut short = panels(0.2, 1);
    short[0].spikes.pop();
    let err = stimulus_raster(&short, &dir.join("short")).unwrap_err();
    assert!(err.to_string().contains("spike values"), "{err}");
    assert!(!dir.join("none.png").exists() && !dir.join("short.png").exists());
    fs::remove_dir_all(dir).ok();
}

#[test]
fn loss_curve_survives_non_finite_values() {
    let dir = scratch_dir("loss");
    let loss: Vec<f64> = (0..50)
        .map(|e| 2.0 * (-(e as f64) / 10.0).exp() + 0.1)
        .collect();
    let stem = dir.join("loss");
    check_outputs(&loss_curve(&loss, &stem).expect("loss"), &stem, (640, 480));

    let stem = dir.join("odd");
    let odd = [f64::NAN, 1.0, f64::INFINITY, 0.5, 0.4, f64::NEG_INFINITY];
    check_outputs(
        &loss_curve(&odd, &stem).expect("odd loss"),
        &stem,
        (640, 480),
    );
    let stem = dir.join("single");
    check_outputs(
        &loss_curve(&[0.7], &stem).expect("one epoch"),
        &stem,
        (640, 480),
    );

    assert!(loss_curve(&[], &dir.join("empty")).is_err());
    fs::remove_dir_all(dir).ok();
}

#[test]
fn analysis_figure_draws_histogram_and_confusion() {
    let dir = scratch_dir("analysis");
    let k = 12;
    let truth: Vec<f64> = (0..240).map(|i| -89.0 + (i % 180) as f64).collect();
    let estimate: Vec<f64> = truth
        .iter()
        .map(|t| t + 7.0)
        .chain([f64::NAN, 500.0])
        .collect();
    let mut confusion = vec![vec![0.0; k]; k];
    for j in 0..k {
        confusion[j][j] = 0.8;
        confusion[(j + 1) % k][j] = 0.2;
    }
    // A class never seen: its column is all NaN.
    for row in confusion.iter_mut() {
        row[k - 1] = f64::NAN;
    }
    let fig = AnalysisFigure {
        label: "Train",
        num_classes: k,
        ipd_true_deg: &truth,
        ipd_estimated_deg: &estimate,
        confusion: &confusion,
    };
    let stem = dir.join("analysis");
    check_outputs(
        &analysis_figure(&fig, &stem).expect("analysis"),
        &stem,
        (1000, 400),
    );

    let unseen = vec![vec![f64::NAN]];
    let single = AnalysisFigure {
        num_classes: 1,
        confusion: &unseen,
        ..fig
    };
    let stem = dir.join("single");
    check_outputs(
        &analysis_figure(&single, &stem).expect("one class"),
        &stem,
        (1000, 400),
    );

    let ragged = vec![vec![0.0; k]; k - 1];
    let err = analysis_figure(
        &AnalysisFigure {
            confusion: &ragged,
            ..fig
        },
        &dir.join("ragged"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("12 x 12"), "{err}");
    fs::remove_dir_all(dir).ok();
}

#[test]
fn sweep_figure_draws_error_bars() {
    let dir = scratch_dir("sweep");
    let x = [0.0, 1.0, 2.0, 5.0, 10.0, 100.0];
    let train = [20.0, 45.0, 60.0, 70.0, 75.0, 80.0];
    let test = [15.0, 40.0, f64::NAN, 62.0, 70.0, 72.0];
    let spread = [3.0, 4.0, 5.0, f64::INFINITY, -3.0, 2.0];
    let series = [
        ErrorBarSeries {
            label: "Training",
            x: &x,
            mean: &train,
            std: &spread,
        },
        ErrorBarSeries {
            label: "Test",
            x: &x,
            mean: &test,
            std: &spread,
        },
    ];
    let stem = dir.join("sweep");
    let paths = sweep_figure("Envelope power", "Accuracy (%)", &series, &[], &stem).expect("sweep");
    let plain = check_outputs(&paths, &stem, (800, 600));
    // A dashed limit, missing at one x as a per-call-only observer is.
    let ideal = [90.0, 92.0, 93.0, 94.0, 95.0, 96.0];
    let known = [f64::NAN, 95.0, 96.0, 97.0, 98.0, 99.0];
    let references = [
        ReferenceLine {
            label: "Ideal observer",
            x: &x,
            y: &ideal,
        },
        ReferenceLine {
            label: "Ideal, offset known",
            x: &x,
            y: &known,
        },
    ];
    let stem = dir.join("sweep-ideal");
    let paths = sweep_figure(
        "Envelope power",
        "Accuracy (%)",
        &series,
        &references,
        &stem,
    )
    .expect("sweep with references");
    let with_lines = check_outputs(&paths, &stem, (800, 600));
    assert!(dark_fraction(&with_lines) > dark_fraction(&plain));
    let [ideal, known] = references;
    let third = ReferenceLine {
        label: "third",
        ..known
    };
    let three = [ideal, known, third];
    assert!(sweep_figure("x", "y", &series, &three, &dir.join("three")).is_err());

    let short = ErrorBarSeries {
        label: "Short",
        x: &x,
        mean: &train[..2],
        std: &spread,
    };
    assert!(sweep_figure("x", "y", &[short], &[], &dir.join("short")).is_err());
    assert!(sweep_figure("x", "y", &[], &[], &dir.join("none")).is_err());
    fs::remove_dir_all(dir).ok();
}

/// Every figure of `inspect`, from an untrained network on 128 samples,
/// and its size; the tuning grids grow with the number of units.
#[test]
fn inspect_figures_decode_and_are_not_blank() {
    let dir = scratch_dir("inspect");
    let cfg = small_config();
    let w = initial_weights(&cfg);
    let data = test_set(&cfg, Device::Cpu).unwrap();
    let ins = inspect(&cfg, &w, &data).unwrap();
    let files = write_figures(&dir, &cfg, &ins).expect("figures");
    let sizes = [
        ("hidden_tuning", (1300, 889)),
        ("output_tuning", (880, 559)),
        ("hidden_activity", (1200, 760)),
        ("hidden_rates", (900, 450)),
        ("weights_w1", (1200, 500)),
        ("weights_w2", (760, 500)),
        ("weights_input_class", (1200, 500)),
        ("ablation", (1100, 450)),
        ("ideal_vs_network", (1100, 460)),
    ];
    assert_eq!(files.len(), 2 * sizes.len());
    for (pair, (name, size)) in files.chunks(2).zip(sizes) {
        check_outputs(pair, &dir.join(name), size);
    }
    fs::remove_dir_all(dir).ok();
}

#[test]
fn inspect_figures_refuse_bad_shapes() {
    let dir = scratch_dir("inspect-bad");
    let panel = TuningPanel {
        title: "unit 0".into(),
        mean: vec![1.0, 2.0],
        low: vec![0.5],
        high: vec![1.5, 2.5],
        mark_x: None,
        muted: false,
    };
    let grid = TuningGrid {
        title: "t",
        x: &[0.0, 1.0],
        x_label: "x",
        y_label: "y",
        panels: &[panel],
    };
    let err = tuning_grid(&grid, &dir.join("tuning")).unwrap_err();
    assert!(err.to_string().contains("one mean, low and high"), "{err}");
    let ragged = [vec![1.0f32, 2.0], vec![3.0]];
    let maps = WeightHeatmaps {
        panels: &[WeightPanel {
            title: "W",
            x_label: "x",
            y_label: "y",
            x_range: 0.0..2.0,
            y_range: 0.0..2.0,
            values: &ragged,
            x_dividers: &[],
        }],
        colour_label: "w",
        colours: Colours::Signed,
        size: (400, 300),
    };
    assert!(weight_heatmaps(&maps, &dir.join("ragged")).is_err());
    assert!(
        fs::read_dir(&dir).unwrap().next().is_none(),
        "files written"
    );
    fs::remove_dir_all(dir).ok();
}

#[test]
fn write_failures_are_reported_and_leave_nothing_behind() {
    let dir = scratch_dir("failures");
    let missing = dir.join("no-such-dir").join("loss");
    let err = loss_curve(&[1.0, 0.5], &missing).unwrap_err();
    let message = err.to_string();
    assert!(message.starts_with("cannot write figure"), "{message}");
    assert!(message.contains("no-such-dir"), "{message}");

    // A directory squatting on the PNG's name makes the final rename fail
    // after both files were rendered.
    fs::create_dir(dir.join("taken.png")).unwrap();
    let err = loss_curve(&[1.0, 0.5], &dir.join("taken")).unwrap_err();
    assert!(err.to_string().starts_with("cannot write figure"), "{err}");

    // Every file goes through one writer; two writers of one path in one
    // process each get a temporary name of their own.
    let shared = dir.join("shared.csv");
    let mut temp_names = Vec::new();
    write_atomically(&shared, |outer| {
        fs::write(outer, "outer")?;
        write_atomically(&shared, |inner| {
            temp_names.push(inner.to_path_buf());
            Ok(fs::write(inner, "inner")?)
        })?;
        temp_names.push(outer.to_path_buf());
        Ok(())
    })
    .expect("nested writers");
    assert_ne!(temp_names[0], temp_names[1]);
    for name in &temp_names {
        let name = name.file_name().unwrap().to_string_lossy();
        assert!(
            name.starts_with(".shared.csv.tmp-") && name.ends_with(".csv"),
            "{name}"
        );
    }
    assert_eq!(fs::read_to_string(&shared).unwrap(), "outer");

    let err = write_atomically(&dir.join("failed.csv"), |tmp| {
        fs::write(tmp, "partial")?;
        anyhow::bail!("the writer gave up")
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "the writer gave up");

    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["shared.csv", "taken.png"], "debris left behind");
    fs::remove_dir_all(dir).ok();
}
