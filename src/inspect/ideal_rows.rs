//! The rows of the CSV files that compare the network with the ideal
//! observer, one serde type per file.

use serde::Serialize;

use super::{Agreement, Comparison, Estimates, Recording};
use crate::config::Config;
use crate::ideal::{IdealLimits, IdealResult};
use crate::labels::{class_ipd_deg, degrees, Score};

/// `ideal_summary.csv`: one classifier on the whole data set.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassifierRow {
    /// `network`, `ideal` (offset marginalised), `ideal-known-offset` or
    /// `ideal-offset-window` (offset marginalised afresh in each window).
    pub classifier: &'static str,
    /// The offset the observer was given.
    pub offset_deg: Option<f64>,
    /// The width of the windows between which the observer forgets the
    /// offset.
    pub offset_window_ms: Option<f64>,
    pub n_samples: usize,
    pub accuracy_pct: f64,
    pub abs_error_deg: f64,
    pub midpoint_error_deg: f64,
    /// Of the network's class probabilities' median, or of the observer's
    /// posterior median IPD.
    pub decoded_error_deg: f64,
    pub map_ipd_rms_deg: Option<f64>,
    /// Samples this observer gets right and the network wrong.
    pub right_where_network_wrong: Option<usize>,
    pub wrong_where_network_right: Option<usize>,
    /// The observer's phase grid.
    pub phase_points: Option<usize>,
    pub seconds: Option<f64>,
}

/// `ideal_classes.csv`: the classifiers on one true class.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassComparisonRow {
    pub class: usize,
    pub class_ipd_deg: f64,
    pub n_samples: usize,
    pub network_accuracy_pct: f64,
    pub ideal_accuracy_pct: f64,
    pub ideal_known_offset_accuracy_pct: Option<f64>,
    pub network_abs_error_deg: f64,
    pub ideal_abs_error_deg: f64,
    pub ideal_known_offset_abs_error_deg: Option<f64>,
    pub network_midpoint_error_deg: f64,
    pub ideal_midpoint_error_deg: f64,
    pub ideal_known_offset_midpoint_error_deg: Option<f64>,
    pub network_decoded_error_deg: f64,
    pub ideal_decoded_error_deg: f64,
    pub ideal_known_offset_decoded_error_deg: Option<f64>,
}

/// `ideal_samples.csv`: the classifiers on one sample.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SampleRow {
    pub sample: usize,
    pub ipd_deg: f64,
    pub true_class: usize,
    pub network_class: usize,
    /// The median of the network's class probabilities.
    pub network_decoded_ipd_deg: f64,
    pub ideal_class: usize,
    /// The observer's posterior probability of its estimate.
    pub ideal_probability: f64,
    /// Its posterior probability of the true class.
    pub ideal_true_class_probability: f64,
    pub ideal_map_ipd_deg: f64,
    /// The observer's posterior median.
    pub ideal_decoded_ipd_deg: f64,
    pub ideal_known_offset_class: Option<usize>,
    pub network_correct: bool,
    pub ideal_correct: bool,
}

/// The observers, and the network first when there is one (with its
/// agreement with each observer from `Comparison`).
pub fn summary_rows(ideal: &IdealLimits, network: Option<&Comparison>) -> Vec<ClassifierRow> {
    let n = ideal.unknown_offset.predicted.len();
    let row = |classifier, score: Score| ClassifierRow {
        classifier,
        offset_deg: None,
        offset_window_ms: None,
        n_samples: n,
        accuracy_pct: score.accuracy_pct,
        abs_error_deg: score.abs_error_deg,
        midpoint_error_deg: score.midpoint_error_deg,
        decoded_error_deg: score.decoded_error_deg,
        map_ipd_rms_deg: None,
        right_where_network_wrong: None,
        wrong_where_network_right: None,
        phase_points: None,
        seconds: None,
    };
    let observer =
        |classifier, offset: Option<f64>, r: &IdealResult, a: Option<&Agreement>| ClassifierRow {
            offset_deg: offset.map(degrees),
            map_ipd_rms_deg: Some(r.map_ipd_rms_deg),
            right_where_network_wrong: a.map(|a| a.ideal_only),
            wrong_where_network_right: a.map(|a| a.network_only),
            phase_points: Some(r.phase_points),
            seconds: Some(r.seconds),
            ..row(classifier, r.score)
        };
    let mut rows: Vec<ClassifierRow> = network
        .map(|c| row("network", c.network))
        .into_iter()
        .collect();
    rows.push(observer(
        "ideal",
        None,
        &ideal.unknown_offset,
        network.map(|c| &c.agreement),
    ));
    if let Some((offset, r)) = &ideal.known_offset {
        let a = network.and_then(|c| c.known_offset_agreement.as_ref());
        rows.push(observer("ideal-known-offset", Some(*offset), r, a));
    }
    if let Some((window_ms, r)) = &ideal.offset_window {
        rows.push(ClassifierRow {
            offset_window_ms: Some(*window_ms),
            ..observer("ideal-offset-window", None, r, None)
        });
    }
    rows
}

pub fn class_rows(cfg: &Config, comparison: &Comparison) -> Vec<ClassComparisonRow> {
    let rows = comparison.per_class.iter().map(|c| {
        let known = c.ideal_known_offset;
        ClassComparisonRow {
            class: c.class,
            class_ipd_deg: class_ipd_deg(c.class, cfg.data.num_classes),
            n_samples: c.n,
            network_accuracy_pct: c.network.accuracy_pct,
            ideal_accuracy_pct: c.ideal.accuracy_pct,
            ideal_known_offset_accuracy_pct: known.map(|s| s.accuracy_pct),
            network_abs_error_deg: c.network.abs_error_deg,
            ideal_abs_error_deg: c.ideal.abs_error_deg,
            ideal_known_offset_abs_error_deg: known.map(|s| s.abs_error_deg),
            network_midpoint_error_deg: c.network.midpoint_error_deg,
            ideal_midpoint_error_deg: c.ideal.midpoint_error_deg,
            ideal_known_offset_midpoint_error_deg: known.map(|s| s.midpoint_error_deg),
            network_decoded_error_deg: c.network.decoded_error_deg,
            ideal_decoded_error_deg: c.ideal.decoded_error_deg,
            ideal_known_offset_decoded_error_deg: known.map(|s| s.decoded_error_deg),
        }
    });
    rows.collect()
}

/// Every sample with the network's and the observers' estimates.
pub fn sample_rows(rec: &Recording, network: &Estimates, ideal: &IdealLimits) -> Vec<SampleRow> {
    let predicted = &network.class;
    let r = &ideal.unknown_offset;
    let known = ideal.known_offset.as_ref().map(|(_, k)| k);
    let rows = (0..rec.len()).map(|i| {
        let t = rec.true_class[i];
        SampleRow {
            sample: i,
            ipd_deg: degrees(rec.ipd[i]),
            true_class: t,
            network_class: predicted[i],
            network_decoded_ipd_deg: degrees(network.decoded_ipd[i]),
            ideal_class: r.predicted[i],
            ideal_probability: r.posterior[i][r.predicted[i]],
            ideal_true_class_probability: r.posterior[i][t],
            ideal_map_ipd_deg: degrees(r.map_ipd[i]),
            ideal_decoded_ipd_deg: degrees(r.median_ipd[i]),
            ideal_known_offset_class: known.map(|k| k.predicted[i]),
            network_correct: predicted[i] == t,
            ideal_correct: r.predicted[i] == t,
        }
    });
    rows.collect()
}
