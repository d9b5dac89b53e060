//! One serde row type per CSV file, the rows of each analysis, and the
//! writers. IPDs and phases are in degrees, rates in spikes/s; "left" is
//! the first ear, "right" the second, which lags by the IPD.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use super::delay_rows::delay_rows;
use super::ideal_rows::{class_rows, sample_rows, summary_rows};
use super::{Ablation, Activity, HiddenTuning, Inspection, OutputTuning, WeightMaps};
use crate::config::Config;
use crate::labels::class_ipd_deg;
use crate::output::{create_dir, write_csv_rows};

pub const HIDDEN_TUNING_CSV: &str = "hidden_tuning.csv";
pub const HIDDEN_UNITS_CSV: &str = "hidden_units.csv";
pub const OUTPUT_TUNING_CSV: &str = "output_tuning.csv";
pub const HIDDEN_ACTIVITY_CSV: &str = "hidden_activity.csv";
pub const WEIGHTS_W1_CSV: &str = "weights_w1.csv";
pub const WEIGHTS_W2_CSV: &str = "weights_w2.csv";
pub const WEIGHTS_INPUT_CLASS_CSV: &str = "weights_input_class.csv";
pub const ABLATION_SINGLE_CSV: &str = "ablation_single.csv";
pub const ABLATION_CUMULATIVE_CSV: &str = "ablation_cumulative.csv";
pub const IDEAL_SUMMARY_CSV: &str = "ideal_summary.csv";
pub const IDEAL_CLASSES_CSV: &str = "ideal_classes.csv";
pub const IDEAL_SAMPLES_CSV: &str = "ideal_samples.csv";
/// Written beside the others only where each unit has its own τ.
pub const TIME_CONSTANTS_CSV: &str = "time_constants.csv";
/// Written beside the others only where the hidden layer is recurrent.
pub const WEIGHTS_REC_CSV: &str = "weights_rec.csv";
/// Written beside the others only where the synapses have delays.
pub const SYNAPTIC_DELAYS_CSV: &str = "synaptic_delays.csv";

/// Every file `write_csvs` writes, in its order.
pub const CSV_FILES: [&str; 12] = [
    HIDDEN_TUNING_CSV,
    HIDDEN_UNITS_CSV,
    OUTPUT_TUNING_CSV,
    HIDDEN_ACTIVITY_CSV,
    WEIGHTS_W1_CSV,
    WEIGHTS_W2_CSV,
    WEIGHTS_INPUT_CLASS_CSV,
    ABLATION_SINGLE_CSV,
    ABLATION_CUMULATIVE_CSV,
    IDEAL_SUMMARY_CSV,
    IDEAL_CLASSES_CSV,
    IDEAL_SAMPLES_CSV,
];

/// `time_constants.csv`: one unit's membrane time constant, beside the IPD
/// it stands for (a hidden unit's preferred IPD, empty where it is silent;
/// a readout unit's class midpoint).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimeConstantRow {
    pub layer: &'static str,
    pub unit: usize,
    pub ipd_deg: Option<f64>,
    pub tau_ms: f32,
}

/// `hidden_tuning.csv`: one hidden unit's rate on one true class.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HiddenTuningRow {
    pub unit: usize,
    /// Position in the order by preferred IPD.
    pub rank: usize,
    pub class: usize,
    pub class_ipd_deg: f64,
    pub n_samples: usize,
    pub rate_mean_hz: f64,
    pub rate_sd_hz: f64,
    /// mean ∓ 1.96 SD across samples.
    pub rate_low_hz: f64,
    pub rate_high_hz: f64,
}

/// `hidden_units.csv`: one hidden unit's preference and rate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HiddenUnitRow {
    pub unit: usize,
    pub rank: usize,
    /// Empty for a silent unit, here and in the next four columns.
    pub preferred_class: Option<usize>,
    pub preferred_ipd_deg: Option<f64>,
    pub tuning_width_deg: Option<f64>,
    pub peak_rate_hz: Option<f64>,
    pub trough_rate_hz: Option<f64>,
    pub mean_rate_hz: f64,
    pub rate_sd_hz: f64,
    pub spikes: u64,
    pub silent: bool,
}

/// `output_tuning.csv`: one output unit's readout on one true class.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutputTuningRow {
    pub output: usize,
    /// Midpoint of the class this output stands for.
    pub output_ipd_deg: f64,
    pub class: usize,
    pub class_ipd_deg: f64,
    pub n_samples: usize,
    /// The class score: the readout summed over time, or its maximum with
    /// `readout` max.
    pub score_mean: f64,
    pub score_sd: f64,
    pub score_low: f64,
    pub score_high: f64,
    pub probability_mean: f64,
}

/// `hidden_activity.csv`: one hidden unit at one step of one sample.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActivityRow {
    pub sample: usize,
    pub ipd_deg: f64,
    pub true_class: usize,
    pub predicted_class: usize,
    pub step: usize,
    pub time_ms: f64,
    pub unit: usize,
    pub membrane: f32,
    pub spike: u8,
}

/// `weights_w1.csv`: one weight from a fibre to a hidden unit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct W1Row {
    pub ear: &'static str,
    pub fibre: usize,
    pub delay_deg: f64,
    pub unit: usize,
    pub rank: usize,
    pub weight: f32,
}

/// `weights_w2.csv`: one weight from a hidden unit to an output.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct W2Row {
    pub unit: usize,
    pub rank: usize,
    pub class: usize,
    pub class_ipd_deg: f64,
    pub weight: f32,
}

/// `weights_rec.csv`: one entry of W_rec, from one hidden unit to another,
/// each with its rank by preferred IPD.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecurrentRow {
    pub from_unit: usize,
    pub from_rank: usize,
    pub to_unit: usize,
    pub to_rank: usize,
    pub weight: f32,
}

/// `weights_input_class.csv`: one entry of W1·W2.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InputClassRow {
    pub ear: &'static str,
    pub fibre: usize,
    pub delay_deg: f64,
    pub class: usize,
    pub class_ipd_deg: f64,
    pub weight: f32,
}

/// `ablation_single.csv`: the network with one unit silenced.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AblationRow {
    pub unit: usize,
    /// 0 for the least important unit.
    pub importance_rank: usize,
    pub accuracy_pct: f64,
    pub accuracy_lost_pct: f64,
    pub abs_error_deg: f64,
    pub abs_error_gained_deg: f64,
    pub midpoint_error_deg: f64,
    pub decoded_error_deg: f64,
}

/// `ablation_cumulative.csv`: the network with the `silenced` least
/// important units silenced.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CumulativeRow {
    pub silenced: usize,
    /// The unit silenced last; empty for the intact network.
    pub last_unit: Option<usize>,
    pub accuracy_pct: f64,
    pub abs_error_deg: f64,
    pub midpoint_error_deg: f64,
    pub decoded_error_deg: f64,
}

pub fn hidden_tuning_rows(cfg: &Config, tuning: &HiddenTuning) -> Vec<HiddenTuningRow> {
    let rank = ranks(&tuning.order);
    let mut rows = Vec::new();
    for (unit, u) in tuning.units.iter().enumerate() {
        for (class, s) in u.per_class.iter().enumerate() {
            rows.push(HiddenTuningRow {
                unit,
                rank: rank[unit],
                class,
                class_ipd_deg: class_ipd_deg(class, cfg.data.num_classes),
                n_samples: s.n,
                rate_mean_hz: s.mean,
                rate_sd_hz: s.sd,
                rate_low_hz: s.low(),
                rate_high_hz: s.high(),
            });
        }
    }
    rows
}

pub fn hidden_unit_rows(tuning: &HiddenTuning) -> Vec<HiddenUnitRow> {
    let rank = ranks(&tuning.order);
    let rows = tuning.units.iter().enumerate().map(|(unit, u)| {
        let p = u.preferred;
        HiddenUnitRow {
            unit,
            rank: rank[unit],
            preferred_class: p.map(|p| p.class),
            preferred_ipd_deg: p.map(|p| p.ipd_deg),
            tuning_width_deg: p.map(|p| p.width_deg),
            peak_rate_hz: p.map(|p| p.peak_rate_hz),
            trough_rate_hz: p.map(|p| p.trough_rate_hz),
            mean_rate_hz: u.mean_rate_hz,
            rate_sd_hz: u.rate_sd_hz,
            spikes: u.spikes,
            silent: u.silent(),
        }
    });
    rows.collect()
}

pub fn time_constant_rows(
    cfg: &Config,
    tuning: &HiddenTuning,
    [hidden, output]: &[Vec<f32>; 2],
) -> Vec<TimeConstantRow> {
    let row = |layer, unit, ipd_deg, &tau_ms: &f32| TimeConstantRow {
        layer,
        unit,
        ipd_deg,
        tau_ms,
    };
    let units = tuning.units.iter().zip(hidden).enumerate();
    let hidden = units.map(|(j, (u, tau))| row("hidden", j, u.preferred.map(|p| p.ipd_deg), tau));
    let classes = output.iter().enumerate();
    let n = cfg.data.num_classes;
    let output = classes.map(|(k, tau)| row("output", k, Some(class_ipd_deg(k, n)), tau));
    hidden.chain(output).collect()
}

pub fn output_tuning_rows(cfg: &Config, tuning: &OutputTuning) -> Vec<OutputTuningRow> {
    let mid = |c| class_ipd_deg(c, cfg.data.num_classes);
    let mut rows = Vec::new();
    for (output, (scores, probabilities)) in
        tuning.score.iter().zip(&tuning.probability).enumerate()
    {
        for (class, (s, &p)) in scores.iter().zip(probabilities).enumerate() {
            rows.push(OutputTuningRow {
                output,
                output_ipd_deg: mid(output),
                class,
                class_ipd_deg: mid(class),
                n_samples: s.n,
                score_mean: s.mean,
                score_sd: s.sd,
                score_low: s.low(),
                score_high: s.high(),
                probability_mean: p,
            });
        }
    }
    rows
}

pub fn activity_rows(activity: &Activity) -> Vec<ActivityRow> {
    let mut rows = Vec::new();
    for s in &activity.samples {
        for (step, (spikes, membrane)) in s.spikes.iter().zip(&s.membrane).enumerate() {
            for (unit, (&spike, &v)) in spikes.iter().zip(membrane).enumerate() {
                rows.push(ActivityRow {
                    sample: s.sample,
                    ipd_deg: s.ipd_deg,
                    true_class: s.true_class,
                    predicted_class: s.predicted_class,
                    step,
                    time_ms: activity.time_ms[step],
                    unit,
                    membrane: v,
                    spike: spike as u8,
                });
            }
        }
    }
    rows
}

/// W1 per ear, fibre by fibre, units in rank order.
pub fn w1_rows(maps: &WeightMaps) -> Vec<W1Row> {
    let mut rows = Vec::new();
    for (ear, w) in [("left", &maps.w1_left), ("right", &maps.w1_right)] {
        for (fibre, weights) in w.iter().enumerate() {
            for (rank, &weight) in weights.iter().enumerate() {
                rows.push(W1Row {
                    ear,
                    fibre,
                    delay_deg: maps.delay_deg[fibre],
                    unit: maps.unit_order[rank],
                    rank,
                    weight,
                });
            }
        }
    }
    rows
}

pub fn w2_rows(cfg: &Config, maps: &WeightMaps) -> Vec<W2Row> {
    let mut rows = Vec::new();
    for (rank, weights) in maps.w2.iter().enumerate() {
        for (class, &weight) in weights.iter().enumerate() {
            rows.push(W2Row {
                unit: maps.unit_order[rank],
                rank,
                class,
                class_ipd_deg: class_ipd_deg(class, cfg.data.num_classes),
                weight,
            });
        }
    }
    rows
}

pub fn recurrent_rows(order: &[usize], w_rec: &[Vec<f32>]) -> Vec<RecurrentRow> {
    let entries = w_rec.iter().enumerate().flat_map(|(from_rank, row)| {
        row.iter()
            .enumerate()
            .map(move |(to_rank, &weight)| RecurrentRow {
                from_unit: order[from_rank],
                from_rank,
                to_unit: order[to_rank],
                to_rank,
                weight,
            })
    });
    entries.collect()
}

pub fn input_class_rows(cfg: &Config, maps: &WeightMaps) -> Vec<InputClassRow> {
    let mut rows = Vec::new();
    let ears = [
        ("left", &maps.input_class_left),
        ("right", &maps.input_class_right),
    ];
    for (ear, w) in ears {
        for (fibre, weights) in w.iter().enumerate() {
            for (class, &weight) in weights.iter().enumerate() {
                rows.push(InputClassRow {
                    ear,
                    fibre,
                    delay_deg: maps.delay_deg[fibre],
                    class,
                    class_ipd_deg: class_ipd_deg(class, cfg.data.num_classes),
                    weight,
                });
            }
        }
    }
    rows
}

pub fn ablation_rows(ablation: &Ablation) -> Vec<AblationRow> {
    let rank = ranks(&ablation.importance_order);
    let intact = ablation.intact;
    let rows = ablation
        .single
        .iter()
        .enumerate()
        .map(|(unit, s)| AblationRow {
            unit,
            importance_rank: rank[unit],
            accuracy_pct: s.accuracy_pct,
            accuracy_lost_pct: intact.accuracy_pct - s.accuracy_pct,
            abs_error_deg: s.abs_error_deg,
            abs_error_gained_deg: s.abs_error_deg - intact.abs_error_deg,
            midpoint_error_deg: s.midpoint_error_deg,
            decoded_error_deg: s.decoded_error_deg,
        });
    rows.collect()
}

pub fn cumulative_rows(ablation: &Ablation) -> Vec<CumulativeRow> {
    let rows = ablation
        .cumulative
        .iter()
        .enumerate()
        .map(|(k, s)| CumulativeRow {
            silenced: k,
            last_unit: k.checked_sub(1).map(|i| ablation.importance_order[i]),
            accuracy_pct: s.accuracy_pct,
            abs_error_deg: s.abs_error_deg,
            midpoint_error_deg: s.midpoint_error_deg,
            decoded_error_deg: s.decoded_error_deg,
        });
    rows.collect()
}

/// Writes every CSV of an inspection into `dir` (created if needed) and
/// returns their paths: `CSV_FILES`, `TIME_CONSTANTS_CSV` where each unit
/// has its own τ, `WEIGHTS_REC_CSV` where the layer is recurrent and
/// `SYNAPTIC_DELAYS_CSV` where the synapses have delays.
pub fn write_csvs(dir: &Path, cfg: &Config, ins: &Inspection) -> Result<Vec<PathBuf>> {
    let (hidden, maps, ablation) = (&ins.hidden, &ins.weights, &ins.ablation);
    create_dir(dir)?;
    let path = |name: &str| dir.join(name);
    write_csv_rows(&path(HIDDEN_TUNING_CSV), hidden_tuning_rows(cfg, hidden))?;
    write_csv_rows(&path(HIDDEN_UNITS_CSV), hidden_unit_rows(hidden))?;
    write_csv_rows(
        &path(OUTPUT_TUNING_CSV),
        output_tuning_rows(cfg, &ins.output),
    )?;
    write_csv_rows(&path(HIDDEN_ACTIVITY_CSV), activity_rows(&ins.activity))?;
    write_csv_rows(&path(WEIGHTS_W1_CSV), w1_rows(maps))?;
    write_csv_rows(&path(WEIGHTS_W2_CSV), w2_rows(cfg, maps))?;
    write_csv_rows(&path(WEIGHTS_INPUT_CLASS_CSV), input_class_rows(cfg, maps))?;
    write_csv_rows(&path(ABLATION_SINGLE_CSV), ablation_rows(ablation))?;
    write_csv_rows(&path(ABLATION_CUMULATIVE_CSV), cumulative_rows(ablation))?;
    write_csv_rows(
        &path(IDEAL_SUMMARY_CSV),
        summary_rows(&ins.ideal, Some(&ins.comparison)),
    )?;
    write_csv_rows(&path(IDEAL_CLASSES_CSV), class_rows(cfg, &ins.comparison))?;
    write_csv_rows(
        &path(IDEAL_SAMPLES_CSV),
        sample_rows(&ins.recording, &ins.network, &ins.ideal),
    )?;
    let mut files: Vec<PathBuf> = CSV_FILES.iter().map(|name| path(name)).collect();
    if let Some(tau) = &maps.tau_ms {
        files.push(path(TIME_CONSTANTS_CSV));
        write_csv_rows(
            &files[files.len() - 1],
            time_constant_rows(cfg, hidden, tau),
        )?;
    }
    if let Some(w_rec) = &maps.w_rec {
        files.push(path(WEIGHTS_REC_CSV));
        let rows = recurrent_rows(&maps.unit_order, w_rec);
        write_csv_rows(&files[files.len() - 1], rows)?;
    }
    if let Some(delays) = &maps.delays_ms {
        files.push(path(SYNAPTIC_DELAYS_CSV));
        write_csv_rows(&files[files.len() - 1], delay_rows(cfg, maps, delays))?;
    }
    Ok(files)
}

/// `ranks[unit]`: the position of each unit in `order`.
fn ranks(order: &[usize]) -> Vec<usize> {
    let mut rank = vec![0; order.len()];
    for (r, &unit) in order.iter().enumerate() {
        rank[unit] = r;
    }
    rank
}
