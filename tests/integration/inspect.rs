//! What a network learned: `snnloc::inspect`'s recording, tuning,
//! activity, weights, ablation and CSVs, and `snnloc inspect`.

use std::f64::consts::PI;
use std::path::Path;

use crate::common::{
    assert_has_lines, assert_one_line_error, assert_success, draw, initial_weights, scratch_dir,
    small_config as small, snnloc, TINY_NET,
};
use snnloc::config::{Config, Readout, Reset};
use snnloc::engine::Engine;
use snnloc::experiment::test_set;
use snnloc::ideal::*;
use snnloc::inspect::figures::*;
use snnloc::inspect::tables::*;
use snnloc::inspect::*;
use snnloc::model::{DaleSigns, Weights};
use snnloc::run_folder::RunFolder;
use snnloc::spikes::Spikes;
use snnloc::stimulus::Dataset;
use tch::{Device, Kind, Tensor};

/// The recording's scores are the reference engine's, bit for bit, and
/// its estimates the fused engine's, on 128 samples in batches of 32.
fn assert_recording_matches_the_engines(cfg: &Config, w: &Weights) {
    let data = test_set(cfg, Device::Cpu).unwrap();
    let rec = record(cfg, w, &data).unwrap();
    assert_eq!(rec.hidden_spikes.size(), [128, 100, 30]);
    let batches: Vec<Tensor> = (0..4)
        .map(|b| data.spikes.narrow(0, 32 * b, 32).to_kind(Kind::Float))
        .collect();
    let engine = |e: Engine| -> Tensor {
        let scores = |s: &Tensor| e.class_scores(&Spikes::from(s), w, cfg).unwrap();
        Tensor::cat(&batches.iter().map(scores).collect::<Vec<_>>(), 0)
    };
    assert!(recorded_scores(cfg, &rec, &w.w2)
        .unwrap()
        .equal(&engine(Engine::Reference)));
    let fused = Vec::<i64>::try_from(engine(Engine::Fused).argmax(1, false)).unwrap();
    let predicted = predict(cfg, &rec, &w.w2).unwrap();
    assert_eq!(
        predicted,
        fused.iter().map(|&c| c as usize).collect::<Vec<_>>()
    );
}

#[test]
fn recorded_network_matches_the_engines() {
    let cfg = small();
    assert_recording_matches_the_engines(&cfg, &initial_weights(&cfg));
}

#[test]
fn recorded_network_honours_every_model_option() {
    let mut cfg = small();
    let net = &mut cfg.network;
    net.reset = Reset::Subtractive;
    net.threshold = 0.6;
    net.tau_hidden_ms = 5.0;
    net.tau_output_ms = 35.0;
    net.readout = Readout::Max;
    net.dale_inhibitory_input = 0.3;
    net.dale_inhibitory_hidden = 0.2;
    // As `snnloc train` saves them: the signed weights the network uses.
    let raw = initial_weights(&cfg);
    let w = DaleSigns::new(&cfg)
        .unwrap()
        .unwrap()
        .effective(&raw)
        .unwrap()
        .detached_copy(Device::Cpu)
        .unwrap();
    assert_recording_matches_the_engines(&cfg, &w);
    // The options change what the recording holds.
    let data = test_set(&cfg, Device::Cpu).unwrap();
    let plain = small();
    let spikes = |cfg: &Config| record(cfg, &w, &data).unwrap().hidden_spikes;
    assert!(!spikes(&cfg).equal(&spikes(&plain)));
}

/// 4 classes of 10 samples; a sample of class c has input fibre c spiking
/// at steps 1-3. Unit 0 listens to fibre 2 only and votes for class 2,
/// unit 1 hears nothing, unit 2 hears fibres 0-3 but has no output weights.
fn hand_built() -> (Config, Weights, Dataset) {
    let mut cfg = Config::default();
    cfg.stimulus.anf_per_ear = 4;
    cfg.data.num_classes = 4;
    cfg.network.num_hidden = 3;
    cfg.stimulus.duration_ms = 10.0;
    cfg.data.batch_size = 8;
    let (mut ipd, mut spikes) = (Vec::new(), vec![0u8; 40 * 10 * 8]);
    for i in 0..40 {
        let (class, k) = (i % 4, i / 4);
        ipd.push((-PI / 2.0 + (class as f64 + 0.2 + 0.06 * k as f64) * PI / 4.0) as f32);
        for step in 1..4 {
            spikes[(i * 10 + step) * 8 + class] = 1;
        }
    }
    let mut w1 = vec![0f32; 8 * 3];
    w1[2 * 3] = 2.0;
    for fibre in 0..4 {
        w1[fibre * 3 + 2] = 2.0;
    }
    let mut w2 = vec![0f32; 3 * 4];
    w2[2] = 1.0;
    let w = Weights {
        w1: Tensor::from_slice(&w1).view([8, 3]),
        w2: Tensor::from_slice(&w2).view([3, 4]),
        tau: None,
        w_rec: None,
        delays: None,
    };
    let data = Dataset {
        ipd: Tensor::from_slice(&ipd),
        spikes: Tensor::from_slice(&spikes).view([40, 10, 8]),
    };
    (cfg, w, data)
}

#[test]
fn hand_built_unit_is_tuned_to_its_class() {
    let (cfg, w, data) = hand_built();
    let rec = record(&cfg, &w, &data).unwrap();
    let tuning = hidden_tuning(&cfg, &rec).unwrap();
    // Input at steps 1-3 through weight 2: the potential is 2 at step 2,
    // the unit spikes at steps 3 and 4 and is reset: 2 spikes in 10 ms.
    let rates =
        |j: usize| -> Vec<f64> { tuning.units[j].per_class.iter().map(|s| s.mean).collect() };
    assert_eq!(rates(0), [0.0, 0.0, 200.0, 0.0]);
    assert!(tuning.units[0]
        .per_class
        .iter()
        .all(|s| s.n == 10 && s.sd == 0.0));
    let p = tuning.units[0].preferred.unwrap();
    assert_eq!(
        (p.class, p.width_deg, p.peak_rate_hz, p.trough_rate_hz),
        (2, 45.0, 200.0, 0.0)
    );
    assert!((p.ipd_deg - 22.5).abs() < 1e-9);
    assert!(tuning.units[1].silent() && tuning.units[1].preferred.is_none());
    assert_eq!(rates(2), [200.0; 4]);
    assert_eq!(tuning.units[2].preferred.unwrap().width_deg, 180.0);
    assert_eq!(tuning.order, [2, 0, 1]);

    let output = output_tuning(&cfg, &rec, &w.w2).unwrap();
    let of_output_2: Vec<f64> = output.score[2].iter().map(|s| s.mean).collect();
    assert!(of_output_2[2] > 0.0 && [0, 1, 3].iter().all(|&c| of_output_2[c] == 0.0));

    let predicted = predict(&cfg, &rec, &w.w2).unwrap();
    let activity = hidden_activity(&cfg, &w, &data, &rec, &predicted, 4).unwrap();
    let classes: Vec<usize> = activity.samples.iter().map(|s| s.true_class).collect();
    assert_eq!(classes, [0, 1, 2, 3]);
    let of_class_2 = &activity.samples[2];
    assert_eq!(of_class_2.membrane[2][0], 2.0);
    let unit_0_spikes: Vec<usize> = (0..10).filter(|&t| of_class_2.spikes[t][0]).collect();
    assert_eq!(unit_0_spikes, [3, 4]);
    assert!(activity.samples[0].spikes.iter().all(|row| !row[0]));

    let maps = weight_maps(&cfg, &w, &tuning.order).unwrap();
    assert_eq!(maps.w1_left[2][1], 2.0);
    assert_eq!(maps.input_class_left[2][2], 2.0);
    assert!(maps.w1_right.iter().flatten().all(|&x| x == 0.0));
    assert_eq!(maps.w2[1], [0.0, 0.0, 1.0, 0.0]);
}

#[test]
fn ablating_a_silent_or_disconnected_unit_changes_nothing() {
    let (cfg, w, data) = hand_built();
    let rec = record(&cfg, &w, &data).unwrap();
    let a = ablation(&cfg, &rec, &w.w2).unwrap();
    // Classes 0 (every score 0, argmax 0) and 2 are right.
    assert_eq!(a.intact.accuracy_pct, 50.0);
    assert_eq!(a.single[1], a.intact);
    assert_eq!(a.single[2], a.intact);
    assert_eq!(a.single[0].accuracy_pct, 25.0);
    assert_eq!(a.importance_order, [1, 2, 0]);
    let cumulative: Vec<f64> = a.cumulative.iter().map(|s| s.accuracy_pct).collect();
    assert_eq!(cumulative, [50.0, 50.0, 50.0, 25.0]);

    // The same on the real stimulus, with unit 3 cut from the readout and
    // unit 5 inhibited by every fibre.
    let cfg = small();
    let w = initial_weights(&cfg);
    let _ = w.w2.narrow(0, 3, 1).fill_(0.0);
    let _ = w.w1.narrow(1, 5, 1).fill_(-1.0);
    let data = draw(&cfg, 96);
    let rec = record(&cfg, &w, &data).unwrap();
    assert!(hidden_tuning(&cfg, &rec).unwrap().units[5].silent());
    let a = ablation(&cfg, &rec, &w.w2).unwrap();
    assert_eq!(a.single[3], a.intact);
    assert_eq!(a.single[5], a.intact);
    assert_eq!(a.cumulative.len(), 31);
    assert_eq!(a.cumulative[0], a.intact);
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    (header, reader.records().map(Result::unwrap).collect())
}

/// Each CSV's name, header and row count for `small()` (30 hidden units,
/// 12 classes, 200 fibres, 100 steps, 128 samples, per-call offsets).
fn expected_csvs() -> [(&'static str, &'static str, usize); 12] {
    let tuning =
        "unit,rank,class,class_ipd_deg,n_samples,rate_mean_hz,rate_sd_hz,rate_low_hz,rate_high_hz";
    let units = "unit,rank,preferred_class,preferred_ipd_deg,tuning_width_deg,peak_rate_hz,\
                 trough_rate_hz,mean_rate_hz,rate_sd_hz,spikes,silent";
    let output = "output,output_ipd_deg,class,class_ipd_deg,n_samples,score_mean,score_sd,\
                  score_low,score_high,probability_mean";
    let activity = "sample,ipd_deg,true_class,predicted_class,step,time_ms,unit,membrane,spike";
    let single = "unit,importance_rank,accuracy_pct,accuracy_lost_pct,abs_error_deg,\
                  abs_error_gained_deg,midpoint_error_deg,decoded_error_deg";
    let summary = "classifier,offset_deg,offset_window_ms,n_samples,accuracy_pct,abs_error_deg,midpoint_error_deg,\
                   decoded_error_deg,map_ipd_rms_deg,right_where_network_wrong,\
                   wrong_where_network_right,phase_points,seconds";
    let classes = "class,class_ipd_deg,n_samples,network_accuracy_pct,ideal_accuracy_pct,\
                   ideal_known_offset_accuracy_pct,network_abs_error_deg,ideal_abs_error_deg,\
                   ideal_known_offset_abs_error_deg,network_midpoint_error_deg,\
                   ideal_midpoint_error_deg,ideal_known_offset_midpoint_error_deg,\
                   network_decoded_error_deg,ideal_decoded_error_deg,\
                   ideal_known_offset_decoded_error_deg";
    let samples = "sample,ipd_deg,true_class,network_class,network_decoded_ipd_deg,ideal_class,\
                   ideal_probability,ideal_true_class_probability,ideal_map_ipd_deg,\
                   ideal_decoded_ipd_deg,ideal_known_offset_class,network_correct,ideal_correct";
    [
        (HIDDEN_TUNING_CSV, tuning, 30 * 12),
        (HIDDEN_UNITS_CSV, units, 30),
        (OUTPUT_TUNING_CSV, output, 12 * 12),
        (HIDDEN_ACTIVITY_CSV, activity, 8 * 100 * 30),
        (
            WEIGHTS_W1_CSV,
            "ear,fibre,delay_deg,unit,rank,weight",
            200 * 30,
        ),
        (
            WEIGHTS_W2_CSV,
            "unit,rank,class,class_ipd_deg,weight",
            30 * 12,
        ),
        (
            WEIGHTS_INPUT_CLASS_CSV,
            "ear,fibre,delay_deg,class,class_ipd_deg,weight",
            200 * 12,
        ),
        (ABLATION_SINGLE_CSV, single, 30),
        (
            ABLATION_CUMULATIVE_CSV,
            "silenced,last_unit,accuracy_pct,abs_error_deg,midpoint_error_deg,decoded_error_deg",
            31,
        ),
        (IDEAL_SUMMARY_CSV, summary, 3),
        (IDEAL_CLASSES_CSV, classes, 12),
        (IDEAL_SAMPLES_CSV, samples, 128),
    ]
}

#[test]
fn every_csv_has_its_shape_and_labels() {
    let cfg = small();
    let w = initial_weights(&cfg);
    let data = test_set(&cfg, Device::Cpu).unwrap();
    let ins = inspect(&cfg, &w, &data).unwrap();
    let dir = scratch_dir("inspect-csv");
    let written = write_csvs(&dir, &cfg, &ins).unwrap();
    assert_eq!(written.len(), 12);
    for (name, header, rows) in expected_csvs() {
        let (got_header, records) = read_csv(&dir.join(name));
        let want: Vec<String> = header.split(',').map(|s| s.trim().to_string()).collect();
        assert_eq!(got_header, want, "{name}");
        assert_eq!(records.len(), rows, "{name}");
    }
    let column = |name: &str, col: usize| -> Vec<String> {
        read_csv(&dir.join(name))
            .1
            .iter()
            .map(|r| r[col].to_string())
            .collect()
    };
    assert_eq!(
        column(IDEAL_SUMMARY_CSV, 0),
        ["network", "ideal", "ideal-known-offset"]
    );
    let ears = column(WEIGHTS_W1_CSV, 0);
    assert!(ears[..3000].iter().all(|e| e == "left") && ears[3000..].iter().all(|e| e == "right"));
    let mut ranks: Vec<usize> = column(HIDDEN_UNITS_CSV, 1)
        .iter()
        .map(|r| r.parse().unwrap())
        .collect();
    ranks.sort_unstable();
    assert_eq!(ranks, (0..30).collect::<Vec<_>>());
    let midpoints: Vec<f64> = column(IDEAL_CLASSES_CSV, 1)
        .iter()
        .map(|x| x.parse().unwrap())
        .collect();
    assert!((midpoints[0] + 82.5).abs() < 1e-9 && (midpoints[11] - 82.5).abs() < 1e-9);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_inputs_are_errors() {
    let (cfg, w, data) = hand_built();
    let mut wide = cfg.clone();
    wide.network.num_hidden = 4;
    assert!(record(&wide, &w, &data).is_err());
    assert!(weight_maps(&cfg, &w, &[0, 0, 1]).is_err());
    let far = Dataset {
        ipd: Tensor::from_slice(&[3.0f32; 40]),
        spikes: data.spikes.shallow_clone(),
    };
    assert!(record(&cfg, &w, &far).is_err());
    let mut other = cfg.clone();
    other.stimulus.anf_per_ear = 5;
    let err = ideal_observer(&other, &data, &IdealOptions::default()).unwrap_err();
    assert!(err.to_string().contains("do not fit"), "{err}");
}

/// `snnloc ARGS` must succeed; its standard output.
fn stdout_of(args: &[&str]) -> String {
    let out = snnloc(args);
    assert_success(&out);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn train_inspects_and_the_inspect_command_repeats_it() {
    let dir = scratch_dir("inspect-cli");
    let d = dir.to_str().unwrap();
    let train = [
        "train",
        "--out",
        d,
        "--inspect",
        "--no-plots",
        "--threads",
        "1",
    ];
    let stdout = stdout_of(&[&train[..], &TINY_NET].concat());
    assert_has_lines(
        &stdout,
        &[
            "Network: accuracy",
            "Hidden units: ",
            "Ideal observer: accuracy",
            "Ideal observer told the shared offset",
        ],
    );
    let inspected = dir.join("inspect");
    let figures = [
        HIDDEN_TUNING_FIGURE,
        OUTPUT_TUNING_FIGURE,
        HIDDEN_ACTIVITY_FIGURE,
        HIDDEN_RATES_FIGURE,
        WEIGHTS_W1_FIGURE,
        WEIGHTS_W2_FIGURE,
        WEIGHTS_INPUT_CLASS_FIGURE,
        ABLATION_FIGURE,
        IDEAL_FIGURE,
    ];
    let images = figures
        .iter()
        .flat_map(|f| [format!("{f}.png"), format!("{f}.svg")]);
    for file in CSV_FILES.iter().map(|f| f.to_string()).chain(images) {
        assert!(inspected.join(&file).is_file(), "{file} missing");
    }
    assert!(!inspected.join(TIME_CONSTANTS_CSV).exists());

    // On the run's own test set, the command gives the same tables (the
    // ideal summary aside, which holds seconds). The thread count must be
    // the same: it changes how libtorch sums the ideal observer's matmuls.
    let again = dir.join("again");
    let a = again.to_str().unwrap();
    let quiet = stdout_of(&["inspect", d, "--out", a, "-q", "--threads", "1"]);
    assert!(quiet.is_empty(), "{quiet}");
    let read = |dir: &Path, name: &str| std::fs::read(dir.join(name)).unwrap();
    for name in CSV_FILES.iter().filter(|&&n| n != IDEAL_SUMMARY_CSV) {
        assert!(read(&inspected, name) == read(&again, name), "{name}");
    }
    // With --seed, on a fresh test set.
    let other = dir.join("other");
    let o = other.to_str().unwrap();
    stdout_of(&["inspect", d, "--out", o, "--seed", "5", "-q"]);
    assert!(read(&inspected, IDEAL_SAMPLES_CSV) != read(&other, IDEAL_SAMPLES_CSV));

    assert_one_line_error(&["inspect", "/nonexistent/run"], "no such folder");
    assert_one_line_error(&["inspect", o], "cannot read config.json");
    std::fs::copy(
        RunFolder::new(&dir).config_path(),
        RunFolder::new(&other).config_path(),
    )
    .unwrap();
    assert_one_line_error(&["inspect", o], "no weights.safetensors");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn learned_time_constants_and_recurrent_weights_are_tabled_and_drawn() {
    let dir = scratch_dir("inspect-tau");
    let d = dir.to_str().unwrap();
    let tau = [
        "--tau-ms",
        "2",
        "--tau-init",
        "gamma",
        "--learn-tau",
        "on",
        "--recurrent",
        "on",
    ];
    let train = ["train", "--out", d, "--inspect", "--no-plots", "-q"];
    stdout_of(&[&train[..], &tau, &TINY_NET].concat());
    let inspected = dir.join("inspect");
    for figure in [TIME_CONSTANTS_FIGURE, WEIGHTS_REC_FIGURE] {
        for ext in ["png", "svg"] {
            let file = format!("{figure}.{ext}");
            assert!(inspected.join(&file).is_file(), "{file} missing");
        }
    }
    // W_rec, unit to unit: 5 x 5.
    let (header, rows) = read_csv(&inspected.join(WEIGHTS_REC_CSV));
    assert_eq!(header[4], "weight");
    assert_eq!(rows.len(), 25);
    let (header, rows) = read_csv(&inspected.join(TIME_CONSTANTS_CSV));
    assert_eq!(header, ["layer", "unit", "ipd_deg", "tau_ms"]);
    // TINY_NET's 5 hidden units and the default 12 classes.
    let layer = |name: &str| -> Vec<f64> {
        let rows = rows.iter().filter(|r| &r[0] == name);
        rows.map(|r| r[3].parse().unwrap()).collect()
    };
    let (hidden, output) = (layer("hidden"), layer("output"));
    assert_eq!((hidden.len(), output.len()), (5, 12));
    // Drawn from a gamma distribution: spread, and positive.
    for taus in [&hidden, &output] {
        assert!(taus.iter().all(|&t| t > 0.0), "{taus:?}");
        assert!(taus.iter().any(|&t| t != taus[0]), "{taus:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
