//! The network beside the ideal observer, on the same samples.

use super::forward::Recording;
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

/// The network's estimates `predicted` for the samples of `rec` beside the
/// ideal observers' on the same samples.
pub fn compare(
    cfg: &Config,
    rec: &Recording,
    predicted: &[usize],
    ideal: &IdealLimits,
) -> Comparison {
    let known = ideal.known_offset.as_ref().map(|(_, result)| result);
    let score_of = |estimated: &[usize], keep: &dyn Fn(usize) -> bool| {
        let pick = |xs: &[usize]| -> Vec<usize> {
            (0..rec.len()).filter(|&i| keep(i)).map(|i| xs[i]).collect()
        };
        let ipd: Vec<f64> = (0..rec.len())
            .filter(|&i| keep(i))
            .map(|i| rec.ipd[i])
            .collect();
        Score::of(
            &ipd,
            &pick(&rec.true_class),
            &pick(estimated),
            cfg.data.num_classes,
        )
    };
    let per_class = (0..cfg.data.num_classes)
        .map(|class| {
            let of_class = |i: usize| rec.true_class[i] == class;
            ClassComparison {
                class,
                n: rec.true_class.iter().filter(|&&c| c == class).count(),
                network: score_of(predicted, &of_class),
                ideal: score_of(&ideal.unknown_offset.predicted, &of_class),
                ideal_known_offset: known.map(|k| score_of(&k.predicted, &of_class)),
            }
        })
        .collect();
    Comparison {
        network: score_of(predicted, &|_| true),
        agreement: agreement(&rec.true_class, predicted, &ideal.unknown_offset),
        known_offset_agreement: known.map(|k| agreement(&rec.true_class, predicted, k)),
        per_class,
    }
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
