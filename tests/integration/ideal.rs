//! The ideal observer of the stimulus: `snnloc::inspect::ideal_*` and
//! `snnloc ideal`.

use std::f64::consts::PI;

use crate::common::{draw, small_config as small};
use snnloc::config::{Config, PhaseOffset};
use snnloc::engine::Engine;
use snnloc::experiment::{run, test_set};
use snnloc::ideal::*;
use snnloc::inspect::ideal_rows::*;
use snnloc::inspect::tables::*;
use snnloc::inspect::*;
use snnloc::stimulus::{firing_probabilities, input_signal, Dataset, StimulusRng};
use tch::{Device, Tensor};

fn per_sample(mut cfg: Config) -> Config {
    cfg.stimulus.phase_offset = PhaseOffset::PerSample;
    cfg
}

#[test]
fn per_sample_offsets_have_no_known_offset_observer() {
    let cfg = per_sample(small());
    let limits = ideal_limits(&cfg, &draw(&cfg, 64), DEFAULT_PHASE_POINTS).unwrap();
    assert!(limits.known_offset.is_none());
    let rows = summary_rows(&limits, None);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].classifier, "ideal");
    assert!(rows[0].right_where_network_wrong.is_none());
}

#[test]
fn ideal_observer_is_at_chance_without_an_envelope() {
    let mut cfg = per_sample(small());
    cfg.stimulus.envelope_power = 0.0;
    let result = ideal_observer(&cfg, &draw(&cfg, 600), &IdealOptions::default()).unwrap();
    // Every phase and IPD is equally likely: a flat posterior, and an
    // accuracy within 5 standard errors of 1/12.
    assert!(result
        .posterior
        .iter()
        .flatten()
        .all(|p| (p - 1.0 / 12.0).abs() < 1e-9));
    // A flat posterior's median is the middle of the range.
    assert!(result.median_ipd.iter().all(|m| m.abs() < 1e-9));
    let se = 100.0 * ((1.0 / 12.0) * (11.0 / 12.0) / 600.0f64).sqrt();
    assert!(
        (result.score.accuracy_pct - 100.0 / 12.0).abs() < 5.0 * se,
        "{:?}",
        result.score
    );
}

#[test]
fn ideal_posterior_peaks_at_the_true_ipd_without_noise() {
    // Spikes replaced by their expectation: the likelihood is largest at
    // the true parameters (Gibbs' inequality). IPDs at least 7° from a
    // class edge, where the posterior (about 1° wide) is all in one class.
    let cfg = Config::default();
    let cases = [
        (-67.0, 0.4),
        (-37.3, 2.0),
        (7.0, 3.3),
        (22.5, 4.1),
        (52.0, 5.0),
        (82.0, 6.1),
    ];
    let spikes: Vec<f32> = cases
        .iter()
        .flat_map(|&(ipd, offset)| firing_probabilities(&cfg, f64::to_radians(ipd), offset))
        .map(|p| p as f32)
        .collect();
    let ipd: Vec<f32> = cases
        .iter()
        .map(|&(ipd, _)| f64::to_radians(ipd) as f32)
        .collect();
    let data = Dataset {
        ipd: Tensor::from_slice(&ipd),
        spikes: Tensor::from_slice(&spikes).view([6, 100, 200]),
    };
    let result = ideal_observer(&cfg, &data, &IdealOptions::default()).unwrap();
    for (i, &(ipd, _)) in cases.iter().enumerate() {
        let map = result.map_ipd[i].to_degrees();
        assert!((map - ipd).abs() < 0.1, "MAP {map}° for IPD {ipd}°");
        let median = result.median_ipd[i].to_degrees();
        assert!(
            (median - ipd).abs() < 0.1,
            "median {median}° for IPD {ipd}°"
        );
        let class = ((ipd + 90.0) / 15.0) as usize;
        assert_eq!(result.predicted[i], class);
        assert!(
            result.posterior[i][class] > 0.99,
            "{:?}",
            result.posterior[i]
        );
    }
    for (i, &(ipd, offset)) in cases.iter().enumerate() {
        let known = IdealOptions {
            offset: OffsetKnowledge::Known(offset),
            ..Default::default()
        };
        let one = Dataset {
            ipd: data.ipd.narrow(0, i as i64, 1),
            spikes: data.spikes.narrow(0, i as i64, 1),
        };
        let result = ideal_observer(&cfg, &one, &known).unwrap();
        assert!((result.map_ipd[0].to_degrees() - ipd).abs() < 0.1);
    }
}

/// Expected spikes (no noise) of IPDs in degrees, the phase offset drawn
/// afresh every `window` steps: offset k·1.3 + 0.4 in window k.
fn jumping_offsets(cfg: &Config, ipds: &[f64], window: usize) -> Dataset {
    let row = 2 * cfg.stimulus.anf_per_ear;
    let spikes: Vec<f32> = ipds
        .iter()
        .flat_map(|&ipd| {
            (0..cfg.duration_steps()).flat_map(move |t| {
                let offset = (t / window) as f64 * 1.3 + 0.4;
                let p = firing_probabilities(cfg, ipd.to_radians(), offset);
                p[t * row..(t + 1) * row].to_vec()
            })
        })
        .map(|p| p as f32)
        .collect();
    let ipd: Vec<f32> = ipds.iter().map(|d| d.to_radians() as f32).collect();
    let shape = [ipds.len() as i64, cfg.duration_steps() as i64, row as i64];
    Dataset {
        ipd: Tensor::from_slice(&ipd),
        spikes: Tensor::from_slice(&spikes).view(shape),
    }
}

#[test]
fn an_offset_window_of_the_whole_stimulus_is_the_ideal_observer() {
    let cfg = per_sample(small());
    let data = draw(&cfg, 64);
    let whole = IdealOptions {
        offset: OffsetKnowledge::UnknownPerWindow(cfg.duration_steps()),
        ..Default::default()
    };
    let windowed = ideal_observer(&cfg, &data, &whole).unwrap();
    let ideal = ideal_observer(&cfg, &data, &IdealOptions::default()).unwrap();
    assert_eq!(windowed.posterior, ideal.posterior);
    assert_eq!(windowed.median_ipd, ideal.median_ipd);
    assert!(ideal_observer(
        &cfg,
        &data,
        &IdealOptions {
            offset: OffsetKnowledge::UnknownPerWindow(0),
            ..whole
        }
    )
    .is_err());
}

#[test]
fn forgetting_the_offset_between_windows_finds_the_ipd_where_the_offset_jumps_between_them() {
    // Each window's likelihood peaks at its own offset and the true IPD:
    // the observer that marginalises each window apart finds the IPD; the
    // one that assumes one offset for the whole stimulus is misled.
    let cfg = Config::default();
    let ipds = [-67.0, -37.3, 7.0, 22.5, 52.0, 82.0];
    let data = jumping_offsets(&cfg, &ipds, 10);
    let forgetful = IdealOptions {
        offset: OffsetKnowledge::UnknownPerWindow(10),
        ..Default::default()
    };
    let windowed = ideal_observer(&cfg, &data, &forgetful).unwrap();
    let ideal = ideal_observer(&cfg, &data, &IdealOptions::default()).unwrap();
    let (mut windowed_error, mut ideal_error) = (0.0, 0.0);
    for (i, &ipd) in ipds.iter().enumerate() {
        let map = windowed.map_ipd[i].to_degrees();
        assert!((map - ipd).abs() < 0.5, "MAP {map}° for IPD {ipd}°");
        assert_eq!(windowed.predicted[i], ((ipd + 90.0) / 15.0) as usize);
        windowed_error += (map - ipd).abs();
        ideal_error += (ideal.map_ipd[i].to_degrees() - ipd).abs();
    }
    assert!(
        ideal_error > 10.0 * windowed_error,
        "{ideal_error} vs {windowed_error}"
    );
}

#[test]
fn ideal_observer_does_not_change_on_a_finer_grid() {
    let cfg = per_sample(small());
    let data = draw(&cfg, 256);
    let coarse = ideal_observer(&cfg, &data, &IdealOptions::default()).unwrap();
    let fine = IdealOptions {
        phase_points: 720,
        ..Default::default()
    };
    let fine = ideal_observer(&cfg, &data, &fine).unwrap();
    assert_eq!((coarse.phase_points, fine.phase_points), (360, 720));
    assert_eq!(coarse.predicted, fine.predicted);
    let largest = coarse
        .posterior
        .iter()
        .flatten()
        .zip(fine.posterior.iter().flatten())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(largest < 1e-3, "posteriors differ by up to {largest}");
    assert!((coarse.map_ipd_rms_deg - fine.map_ipd_rms_deg).abs() < 0.05);
    // A sharper envelope, a narrower likelihood: a finer grid.
    let mut sharp = cfg.clone();
    sharp.stimulus.envelope_power = 100.0;
    let few = draw(&sharp, 8);
    let sharp = ideal_observer(&sharp, &few, &IdealOptions::default()).unwrap();
    assert_eq!(sharp.phase_points, 840);
    // A grid rounded up to whole IPD cells per class (no envelope, no
    // width to resolve).
    let mut seven = cfg;
    seven.data.num_classes = 7;
    seven.stimulus.envelope_power = 0.0;
    let odd = IdealOptions {
        phase_points: 100,
        ..Default::default()
    };
    assert_eq!(
        ideal_observer(&seven, &few, &odd).unwrap().phase_points,
        112
    );
}

#[test]
fn shared_offset_is_recovered_and_knowing_it_helps() {
    let cfg = small();
    let ipd: Vec<f64> = (0..512)
        .map(|i| (i as f64 + 0.5) / 512.0 * PI - PI / 2.0)
        .collect();
    // input_signal draws the per-call offset first.
    let truth = 2.0 * PI * StimulusRng::new(&cfg).unwrap().uniform();
    let mut rng = StimulusRng::new(&cfg).unwrap();
    let data = input_signal(&cfg, &ipd, &mut rng, Device::Cpu).unwrap();
    let estimate = estimate_shared_offset(&cfg, &data).unwrap();
    let gap = (estimate - truth + PI).rem_euclid(2.0 * PI) - PI;
    assert!(
        gap.abs().to_degrees() < 0.1,
        "estimate {estimate} vs {truth}"
    );
    let limits = ideal_limits(&cfg, &data, DEFAULT_PHASE_POINTS).unwrap();
    let (offset, known) = limits.known_offset.unwrap();
    assert_eq!(offset, estimate);
    let unknown = limits.unknown_offset.score;
    assert!(known.score.accuracy_pct >= unknown.accuracy_pct - 1.0);
    assert!(known.map_ipd_rms_deg < limits.unknown_offset.map_ipd_rms_deg);
}

#[test]
fn the_posterior_median_errs_less_than_the_map_class_midpoint() {
    // The default stimulus (per-call offsets), on the test set of seed 0.
    let cfg = small();
    let data = test_set(&cfg, Device::Cpu).unwrap();
    let limits = ideal_limits(&cfg, &data, DEFAULT_PHASE_POINTS).unwrap();
    let (_, known) = limits.known_offset.as_ref().unwrap();
    for r in [&limits.unknown_offset, known] {
        let s = r.score;
        assert!(s.decoded_error_deg.is_finite(), "{s:?}");
        assert!(s.decoded_error_deg < s.abs_error_deg, "{s:?}");
        // Below even what classes cost when every one is right.
        assert!(s.decoded_error_deg < 3.75, "{s:?}");
        assert_eq!(r.median_ipd.len(), data.len());
    }
    let rows = summary_rows(&limits, None);
    assert_eq!(
        rows[0].decoded_error_deg,
        limits.unknown_offset.score.decoded_error_deg
    );
}

#[test]
fn ideal_observer_is_not_beaten_by_a_trained_network() {
    let mut cfg = per_sample(Config::default());
    cfg.data.n_training_batches = 16;
    cfg.data.n_testing_batches = 8;
    cfg.training.epochs = 4;
    cfg.run.seed = 3;
    let outcome = run(&cfg, Device::Cpu, Engine::Fused, |_| Ok(())).unwrap();
    let data = test_set(&cfg, Device::Cpu).unwrap();
    let w = outcome.weights.detached_copy(Device::Cpu).unwrap();
    let rec = record(&cfg, &w, &data).unwrap();
    let network = estimate(&cfg, &rec, &w.w2).unwrap();
    assert_eq!(network.class, predict(&cfg, &rec, &w.w2).unwrap());
    let limits = ideal_limits(&cfg, &data, DEFAULT_PHASE_POINTS).unwrap();
    let c = compare(&cfg, &rec, &network, &limits);
    assert!((c.network.accuracy_pct - outcome.test.accuracy_mean).abs() < 1e-9);
    // The same samples and decoder as the analysis's; the fused engine's
    // scores may differ from the recording's (the reference engine's) in
    // their last bits, and the analysis sums in its shuffled order.
    let decoded = c.network.decoded_error_deg;
    let analysed = outcome.test.decoded_error_mean;
    assert!((decoded - analysed).abs() < 1e-3, "{decoded} vs {analysed}");
    let ideal = limits.unknown_offset.score;
    let n = rec.len() as f64;
    let se = 100.0 * (ideal.accuracy_pct / 100.0 * (1.0 - ideal.accuracy_pct / 100.0) / n).sqrt();
    assert!(
        ideal.accuracy_pct >= c.network.accuracy_pct - 3.0 * se,
        "{c:?}"
    );
    let a = c.agreement;
    assert_eq!(
        a.both + a.network_only + a.ideal_only + a.neither,
        rec.len()
    );
    assert!(a.ideal_only >= a.network_only);
    assert_eq!(c.per_class.iter().map(|k| k.n).sum::<usize>(), rec.len());
}

#[test]
fn ideal_command_prints_both_observers_and_writes_them() {
    let dir = crate::common::scratch_dir("ideal-cli");
    let d = dir.to_str().unwrap();
    let small = [
        "--batch-size",
        "16",
        "--n-testing-batches",
        "2",
        "--threads",
        "1",
    ];
    let out = crate::common::snnloc(&[&["ideal", "--out", d], &small[..]].concat());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Ideal observer: accuracy"), "{stdout}");
    assert!(
        stdout.contains("decoded (posterior median) error"),
        "{stdout}"
    );
    assert!(stdout.contains("told the shared offset"), "{stdout}");
    let mut reader = csv::Reader::from_path(dir.join(IDEAL_SUMMARY_CSV)).unwrap();
    let observers: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[0].to_string())
        .collect();
    assert_eq!(observers, ["ideal", "ideal-known-offset"]);

    let windowed = ["ideal", "--offset-window-ms", "5", "--out", d];
    let out = crate::common::snnloc(&[&windowed[..], &small[..]].concat());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("forgets the offset after every 5 ms"),
        "{stdout}"
    );
    let mut reader = csv::Reader::from_path(dir.join(IDEAL_SUMMARY_CSV)).unwrap();
    let last = reader.records().last().unwrap().unwrap();
    assert_eq!((&last[0], &last[2]), ("ideal-offset-window", "5.0"));
    for width in ["0.4", "101", "nan"] {
        crate::common::assert_one_line_error(
            &["ideal", "--offset-window-ms", width],
            "--offset-window-ms",
        );
    }

    let per_sample = ["ideal", "--phase-offset", "per-sample", "-q"];
    let out = crate::common::snnloc(&[&per_sample[..], &small[..]].concat());
    assert!(out.status.success() && out.stdout.is_empty());
    crate::common::assert_one_line_error(
        &[
            "ideal",
            "--anf-per-ear",
            "1000",
            "--duration-ms",
            "1000",
            "--n-training-batches",
            "1",
            "--n-testing-batches",
            "1",
        ],
        "likelihood table",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
