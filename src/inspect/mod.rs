//! What a trained network learned, and how close it comes to the information
//! limit of the stimulus: inference only, on the CPU, without autograd.
//!
//! `record` runs the network once over a data set and keeps every hidden
//! spike train; the analyses read that recording: hidden tuning curves and
//! firing rates (`tuning`), the output tuning, the hidden activity of a few
//! samples (`activity`), the weights seen through the tuning order
//! (`weights`), ablations (`ablation`), and the network beside the
//! Bayes-optimal observer of the stimulus (`crate::ideal`, compared in
//! `compare`). `inspect` runs them all; `tables` and `ideal_rows` turn the
//! results into CSV rows, one serde type per file, and `figures` hands them
//! to `plots`.

mod ablation;
mod activity;
mod compare;
pub mod delay_rows;
pub mod figures;
mod forward;
pub mod ideal_rows;
pub mod tables;
mod tuning;
mod weights;

use anyhow::Result;

use crate::config::Config;
use crate::ideal::{ideal_limits, IdealLimits, DEFAULT_PHASE_POINTS};
use crate::model::Weights;
use crate::stimulus::Dataset;

pub use ablation::{ablation, Ablation};
pub use activity::{hidden_activity, Activity, SampleActivity, ACTIVITY_SAMPLES};
pub use compare::{compare, Agreement, ClassComparison, Comparison};
pub use figures::write_figures;
pub use forward::{estimate, predict, record, recorded_scores, Estimates, Recording};
pub use tables::write_csvs;
pub use tuning::{
    hidden_tuning, output_tuning, ClassStat, HiddenTuning, OutputTuning, Preference, UnitTuning,
};
pub use weights::{weight_maps, WeightMaps};

/// Every analysis of one network on one data set.
pub struct Inspection {
    pub recording: Recording,
    /// The network's estimated class and decoded IPD of each sample.
    pub network: Estimates,
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
    let network = estimate(cfg, &recording, &w.w2)?;
    let hidden = hidden_tuning(cfg, &recording)?;
    let output = output_tuning(cfg, &recording, &w.w2)?;
    let activity = hidden_activity(cfg, w, data, &recording, &network.class, ACTIVITY_SAMPLES)?;
    let weights = weight_maps(cfg, w, &hidden.order)?;
    let ablation = ablation(cfg, &recording, &w.w2)?;
    let ideal = ideal_limits(cfg, data, DEFAULT_PHASE_POINTS)?;
    let comparison = compare(cfg, &recording, &network, &ideal);
    Ok(Inspection {
        recording,
        network,
        hidden,
        output,
        activity,
        weights,
        ablation,
        ideal,
        comparison,
    })
}
