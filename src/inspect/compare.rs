//! The network beside the ideal observer, on the same samples.

use super::forward::{Estimates, Recording};
use crate::config::Config;
use crate::ideal::{IdealLimits, IdealResult};
use crate::labels::Score;

/// Which of two classifiers get each sample right.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Agreement {
    pub both: usize,
    pub network_only: usize,
    pub ideal_only: usize,
    pub neither: usize,
}

/// Both classifiers on the samples of one true class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassComparison {
    pub class: usize,
    pub n: usize,
    pub network: Score,
    /// Offset marginalised.
    pub ideal: Score,
    /// With per-call offsets, the observer that knows the offset.
    pub ideal_known_offset: Option<Score>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub network: Score,
    /// Against the observer that marginalises the offset.
    pub agreement: Agreement,
    /// Against the observer that knows it, with per-call offsets.
    pub known_offset_agreement: Option<Agreement>,
    pub per_class: Vec<ClassComparison>,
}

/// The network's estimates for the samples of `rec` beside the ideal
/// observers' on the same samples.
pub fn compare(
    cfg: &Config,
    rec: &Recording,
    network: &Estimates,
    ideal: &IdealLimits,
) -> Comparison {
    let known = ideal.known_offset.as_ref().map(|(_, result)| result);
    let predicted = &network.class;
    // A classifier is its classes and decoded IPDs.
    let score_of = |(estimated, decoded): (&[usize], &[f64]), keep: &dyn Fn(usize) -> bool| {
        Score::of(
            &pick(&rec.ipd, keep),
            &pick(&rec.true_class, keep),
            &pick(estimated, keep),
            &pick(decoded, keep),
            cfg.data.num_classes,
        )
    };
    let of_network = (&predicted[..], &network.decoded_ipd[..]);
    let per_class = (0..cfg.data.num_classes)
        .map(|class| {
            let of_class = |i: usize| rec.true_class[i] == class;
            ClassComparison {
                class,
                n: rec.true_class.iter().filter(|&&c| c == class).count(),
                network: score_of(of_network, &of_class),
                ideal: score_of(of_ideal(&ideal.unknown_offset), &of_class),
                ideal_known_offset: known.map(|k| score_of(of_ideal(k), &of_class)),
            }
        })
        .collect();
    Comparison {
        network: score_of(of_network, &|_| true),
        agreement: agreement(&rec.true_class, predicted, &ideal.unknown_offset),
        known_offset_agreement: known.map(|k| agreement(&rec.true_class, predicted, k)),
        per_class,
    }
}

/// An observer as a classifier: its classes and posterior median IPDs.
fn of_ideal(r: &IdealResult) -> (&[usize], &[f64]) {
    (&r.predicted, &r.median_ipd)
}

/// The entries of `xs` whose index `keep` keeps.
fn pick<T: Copy>(xs: &[T], keep: &dyn Fn(usize) -> bool) -> Vec<T> {
    (0..xs.len()).filter(|&i| keep(i)).map(|i| xs[i]).collect()
}

fn agreement(truth: &[usize], network: &[usize], ideal: &IdealResult) -> Agreement {
    let mut counts = Agreement::default();
    for ((t, n), i) in truth.iter().zip(network).zip(&ideal.predicted) {
        match (n == t, i == t) {
            (true, true) => counts.both += 1,
            (true, false) => counts.network_only += 1,
            (false, true) => counts.ideal_only += 1,
            (false, false) => counts.neither += 1,
        }
    }
    counts
}
