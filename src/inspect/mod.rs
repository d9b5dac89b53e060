//! What a trained network learned, and how close it comes to the information
//! limit of the stimulus: inference only, on the CPU, without autograd.
//!
//! `record` runs the network once over a data set and keeps every hidden
//! spike train; the analyses read that recording: hidden tuning curves and
//! firing rates (`tuning`), the output tuning, the hidden activity of a few
//! samples (`activity`), the weights seen through the tuning order
//! (`weights`), ablations (`ablation`), and the Bayes-optimal observer of the
//! stimulus model beside the network (`ideal`, `compare`). `tables` and
//! `ideal_rows` turn the results into CSV rows, one serde type per file,
//! and `figures` hands them to `plots`.
//!
//! The analyses: 1 and 4 `hidden_tuning`, 2 `output_tuning`,
//! 3 `hidden_activity`, 5 `weight_maps`, 6 `ablation`, 7 `ideal_limits`
//! (`ideal_observer` for one observer) and `compare`; `inspect` runs them
//! all, `write_csvs` and `write_figures` write them.

mod ablation;
mod activity;
mod compare;
mod figures;
mod forward;
mod ideal;
mod ideal_rows;
mod tables;
mod tuning;
mod weights;

use std::f64::consts::PI;

use anyhow::{ensure, Result};
use serde::Serialize;
use tch::kind::Element;
use tch::{Device, Kind, Tensor};

use crate::config::Config;
use crate::labels::{continuise, discretise};
use crate::model::Weights;
use crate::stimulus::Dataset;

pub use ablation::{ablation, Ablation};
pub use activity::{hidden_activity, Activity, SampleActivity, ACTIVITY_SAMPLES};
pub use compare::{compare, Agreement, ClassComparison, Comparison};
pub use figures::*;
pub use forward::{predict, record, recorded_scores, Recording};
pub use ideal::{
    check_ideal, estimate_shared_offset, ideal_limits, ideal_observer, IdealLimits, IdealOptions,
    IdealResult, OffsetKnowledge, DEFAULT_PHASE_POINTS,
};
pub use ideal_rows::*;
pub use tables::*;
pub use tuning::{
    hidden_tuning, output_tuning, ClassStat, HiddenTuning, OutputTuning, Preference, UnitTuning,
};
pub use weights::{weight_maps, WeightMaps};

/// How well a set of class estimates localises.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Score {
    /// Samples whose estimated class is the true class, in percent.
    pub accuracy_pct: f64,
    /// Mean |true IPD − estimated class midpoint| in degrees: the error that
    /// `analysis::analyse` reports.
    pub abs_error_deg: f64,
    /// Mean |true class midpoint − estimated class midpoint| in degrees: the
    /// error of the classification alone, zero when the class is right.
    pub midpoint_error_deg: f64,
}

impl Score {
    /// The score of `estimated` classes against true IPDs (radians) and
    /// their classes; NaN for no samples.
    pub fn of(ipd: &[f64], true_class: &[usize], estimated: &[usize], num_classes: usize) -> Score {
        let n = estimated.len() as f64;
        let mid = |c: usize| continuise(c as i64, num_classes);
        let (mut correct, mut abs, mut midpoint) = (0.0, 0.0, 0.0);
        for ((&x, &t), &e) in ipd.iter().zip(true_class).zip(estimated) {
            correct += (t == e) as u8 as f64;
            abs += (x - mid(e)).abs();
            midpoint += (mid(t) - mid(e)).abs();
        }
        Score {
            accuracy_pct: 100.0 * correct / n,
            abs_error_deg: degrees(abs / n),
            midpoint_error_deg: degrees(midpoint / n),
        }
    }
}

/// Every analysis of one network on one data set.
pub struct Inspection {
    pub recording: Recording,
    /// The network's estimated class of each sample.
    pub predicted: Vec<usize>,
    pub hidden: HiddenTuning,
    pub output: OutputTuning,
    pub activity: Activity,
    pub weights: WeightMaps,
    pub ablation: Ablation,
    pub ideal: IdealLimits,
    pub comparison: Comparison,
}

/// Runs every analysis: the network once over `data` (in batches of
/// `batch-size`), then the analyses on that recording, and the ideal
/// observer on the same samples.
pub fn inspect(cfg: &Config, w: &Weights, data: &Dataset) -> Result<Inspection> {
    let recording = record(cfg, w, data)?;
    let predicted = predict(cfg, &recording, &w.w2)?;
    let hidden = hidden_tuning(cfg, &recording)?;
    let output = output_tuning(cfg, &recording, &w.w2)?;
    let activity = hidden_activity(cfg, w, data, &recording, &predicted, ACTIVITY_SAMPLES)?;
    let weights = weight_maps(cfg, w, &hidden.order)?;
    let ablation = ablation(cfg, &recording, &w.w2)?;
    let ideal = ideal_limits(cfg, data, DEFAULT_PHASE_POINTS)?;
    let comparison = compare(cfg, &recording, &predicted, &ideal);
    Ok(Inspection {
        recording,
        predicted,
        hidden,
        output,
        activity,
        weights,
        ablation,
        ideal,
        comparison,
    })
}

/// IPDs (radians) and true classes of a data set, the classes made as the
/// network's labels are (`labels::discretise` in float32). An IPD of
/// exactly ±90° goes to the edge class: float32 can round the generator's
/// largest IPD, just below π/2, up to π/2.
fn labelled_ipds(data: &Dataset, num_classes: usize) -> Result<(Vec<f64>, Vec<usize>)> {
    let ipd32 = data.ipd.f_to_device(Device::Cpu)?.f_to_kind(Kind::Float)?;
    let ipd = Vec::<f64>::try_from(&ipd32.f_to_kind(Kind::Double)?)?;
    let classes = Vec::<i64>::try_from(&discretise(&ipd32, num_classes)?)?;
    let true_class = ipd
        .iter()
        .zip(classes)
        .map(|(&x, c)| {
            ensure!(
                x.abs() <= PI / 2.0 + 1e-6,
                "IPD {x} rad is outside [-π/2, π/2]: not an IPD data set"
            );
            Ok(c.clamp(0, num_classes as i64 - 1) as usize)
        })
        .collect::<Result<_>>()?;
    Ok((ipd, true_class))
}

/// A `(n, k)` tensor as n rows.
fn rows<T: Element>(t: &Tensor) -> Result<Vec<Vec<T>>> {
    let cols = t.size()[1] as usize;
    let t = t.f_to_kind(T::KIND)?.f_contiguous()?;
    let mut flat = vec![T::ZERO; t.numel()];
    t.f_copy_data(&mut flat, t.numel())?;
    Ok(flat.chunks(cols.max(1)).map(<[T]>::to_vec).collect())
}

fn degrees(radians: f64) -> f64 {
    radians * 180.0 / PI
}

/// Width of one IPD class in degrees.
fn class_width_deg(num_classes: usize) -> f64 {
    180.0 / num_classes as f64
}
