//! How well a trained network localises: the notebook's `analyse`.

use std::f64::consts::PI;

use anyhow::Result;
use serde::{Deserialize, Deserializer, Serialize};
use tch::Device;

use crate::config::Config;
use crate::data::{data_generator, EngineData};
use crate::engine::Engine;
use crate::host::rows;
use crate::labels::{continuise, decoded_ipd, discretise};
use crate::model::Weights;

/// Accuracy and error of a network on one data set.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Analysis {
    /// Mean over batches of the batch accuracy, in percent.
    pub accuracy_mean: f64,
    /// Standard deviation over batches (population, like `np.std`), percent.
    pub accuracy_std: f64,
    /// Mean over samples of |true IPD - estimated class midpoint|, degrees.
    pub abs_error_mean: f64,
    /// Standard deviation over samples of that error, degrees.
    pub abs_error_std: f64,
    /// Mean over samples of |true class midpoint - estimated class
    /// midpoint|, degrees: 0 for a correct class, as the research project
    /// measured it.
    pub midpoint_error_mean: f64,
    /// Standard deviation over samples of that error, degrees.
    pub midpoint_error_std: f64,
    /// Mean over samples of |true IPD - decoded IPD|, degrees, the IPD
    /// decoded as the median of the class probabilities
    /// (`labels::decoded_ipd`). A metrics.json written before this was
    /// measured has none, which reads as NaN; so does null, which is how
    /// serde_json writes NaN.
    #[serde(default = "not_measured", deserialize_with = "null_as_nan")]
    pub decoded_error_mean: f64,
    /// Standard deviation over samples of that error, degrees.
    #[serde(default = "not_measured", deserialize_with = "null_as_nan")]
    pub decoded_error_std: f64,
    /// Each hidden unit's mean firing rate over the data set, spikes/s.
    pub hidden_rates_hz: Vec<f64>,
    /// Counts, `confusion[estimated][true]`.
    pub confusion: Vec<Vec<u64>>,
    #[serde(skip)]
    pub ipd_true_deg: Vec<f64>,
    #[serde(skip)]
    pub ipd_estimated_deg: Vec<f64>,
}

impl Analysis {
    /// Each true-class column divided by its total, as the notebook plots
    /// it: column j is the distribution of estimates for true class j.
    /// A class that never occurred gives a column of NaN, as in numpy.
    pub fn confusion_normalised(&self) -> Vec<Vec<f64>> {
        let n = self.confusion.len();
        let totals: Vec<u64> = (0..n)
            .map(|j| self.confusion.iter().map(|row| row[j]).sum())
            .collect();
        self.confusion
            .iter()
            .map(|row| {
                row.iter()
                    .zip(&totals)
                    .map(|(&c, &total)| c as f64 / total as f64)
                    .collect()
            })
            .collect()
    }
}

/// Accuracy of guessing: one over the number of classes, in percent.
pub fn chance_level(num_classes: usize) -> f64 {
    100.0 / num_classes as f64
}

/// Runs the network on `data` in shuffled full batches (one `randperm`, as
/// the notebook's analysis does) and measures accuracy and error.
pub fn analyse(data: &EngineData, w: &Weights, cfg: &Config, engine: Engine) -> Result<Analysis> {
    let n = cfg.data.num_classes;
    let mut confusion = vec![vec![0u64; n]; n];
    let mut accuracies = Vec::new();
    let (mut ipd_true_deg, mut ipd_estimated_deg) = (Vec::new(), Vec::new());
    let (mut errors, mut midpoint_errors) = (Vec::new(), Vec::new());
    let mut decoded_errors = Vec::new();
    let mut hidden_spikes = vec![0f64; cfg.network.num_hidden];
    for batch in data_generator(&data.ipd, &data.spikes, cfg.data.batch_size)? {
        let batch = batch?;
        let truth =
            Vec::<i64>::try_from(&discretise(&batch.targets, n)?.f_to_device(Device::Cpu)?)?;
        let evaluation = engine.evaluate(&batch.spikes, w, cfg)?;
        let (_, estimated) = evaluation.scores.f_max_dim(1, false)?;
        let estimated = Vec::<i64>::try_from(&estimated.f_to_device(Device::Cpu)?)?;
        let ipd = Vec::<f32>::try_from(&batch.targets.f_to_device(Device::Cpu)?)?;
        let scores = rows::<f32>(&evaluation.scores.f_to_device(Device::Cpu)?)?;
        for (scores, &ipd) in scores.iter().zip(&ipd) {
            let decoded = decoded_ipd(scores, cfg.network.readout_scale);
            decoded_errors.push((ipd as f64 - decoded).abs() * 180.0 / PI);
        }
        let counts = Vec::<f32>::try_from(&evaluation.hidden_spikes.f_to_device(Device::Cpu)?)?;
        hidden_spikes
            .iter_mut()
            .zip(counts)
            .for_each(|(total, c)| *total += c as f64);
        let mut correct = 0usize;
        for ((&t, &e), &ipd) in truth.iter().zip(&estimated).zip(&ipd) {
            confusion[e as usize][t as usize] += 1;
            correct += (t == e) as usize;
            let (ipd, estimate) = (ipd as f64, continuise(e, n));
            errors.push((ipd - estimate).abs() * 180.0 / PI);
            midpoint_errors.push((continuise(t, n) - estimate).abs() * 180.0 / PI);
            ipd_true_deg.push(ipd * 180.0 / PI);
            ipd_estimated_deg.push(estimate * 180.0 / PI);
        }
        accuracies.push(correct as f64 / truth.len() as f64);
    }
    let (accuracy_mean, accuracy_std) = mean_std(&accuracies);
    let (abs_error_mean, abs_error_std) = mean_std(&errors);
    let (midpoint_error_mean, midpoint_error_std) = mean_std(&midpoint_errors);
    let (decoded_error_mean, decoded_error_std) = mean_std(&decoded_errors);
    let seconds = errors.len() as f64 * cfg.duration();
    Ok(Analysis {
        accuracy_mean: 100.0 * accuracy_mean,
        accuracy_std: 100.0 * accuracy_std,
        abs_error_mean,
        abs_error_std,
        midpoint_error_mean,
        midpoint_error_std,
        decoded_error_mean,
        decoded_error_std,
        hidden_rates_hz: hidden_spikes.iter().map(|s| s / seconds).collect(),
        confusion,
        ipd_true_deg,
        ipd_estimated_deg,
    })
}

fn not_measured() -> f64 {
    f64::NAN
}

fn null_as_nan<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

/// Mean and population standard deviation (numpy's defaults); NaN when
/// empty.
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_std_is_numpys_population_statistics() {
        assert_eq!(
            mean_std(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]),
            (5.0, 2.0)
        );
        assert_eq!(mean_std(&[3.0]), (3.0, 0.0));
        let (mean, std) = mean_std(&[]);
        assert!(mean.is_nan() && std.is_nan());
    }

    #[test]
    fn a_decoded_error_reads_back_from_null_or_from_nothing() {
        let a = Analysis {
            accuracy_mean: 50.0,
            accuracy_std: 1.0,
            abs_error_mean: 6.0,
            abs_error_std: 2.0,
            midpoint_error_mean: 4.0,
            midpoint_error_std: 3.0,
            decoded_error_mean: f64::NAN,
            decoded_error_std: 1.5,
            hidden_rates_hz: vec![3.0],
            confusion: vec![vec![1]],
            ipd_true_deg: Vec::new(),
            ipd_estimated_deg: Vec::new(),
        };
        let mut json = serde_json::to_value(&a).unwrap();
        assert!(json["decoded_error_mean"].is_null());
        let back: Analysis = serde_json::from_value(json.clone()).unwrap();
        assert!(back.decoded_error_mean.is_nan());
        assert_eq!(back.decoded_error_std, 1.5);
        let fields = json.as_object_mut().unwrap();
        fields.retain(|key, _| !key.starts_with("decoded_error"));
        let old: Analysis = serde_json::from_value(json).unwrap();
        assert!(old.decoded_error_mean.is_nan() && old.decoded_error_std.is_nan());
        assert_eq!(old.midpoint_error_mean, 4.0);
    }

    #[test]
    fn chance_is_one_class_in_all() {
        assert_eq!(chance_level(12), 100.0 / 12.0);
        assert_eq!(chance_level(1), 100.0);
    }
}
