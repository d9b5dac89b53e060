//! Tuning curves: how each hidden unit's firing rate, and each output
//! unit's readout, depend on the true IPD class.

use anyhow::Result;
use tch::{Kind, Tensor};

use super::forward::{recorded_scores, Recording};
use crate::analysis::mean_std;
use crate::config::Config;
use crate::host::rows;
use crate::labels::continuise;
use crate::labels::{class_width_deg, degrees};

/// One quantity over the samples of one true class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassStat {
    /// Samples of the class.
    pub n: usize,
    /// Mean over them; NaN when `n` is 0.
    pub mean: f64,
    /// Standard deviation over them (population, like `np.std`).
    pub sd: f64,
}

impl ClassStat {
    /// Lower end of the 95% interval of single samples, mean − 1.96 SD.
    pub fn low(&self) -> f64 {
        self.mean - 1.96 * self.sd
    }

    /// Upper end of the 95% interval of single samples, mean + 1.96 SD.
    pub fn high(&self) -> f64 {
        self.mean + 1.96 * self.sd
    }
}

/// Where a unit fires most.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Preference {
    /// The class with the highest mean rate.
    pub class: usize,
    /// Centre of mass, over the class midpoints, of the rate above its
    /// trough within the peak (see `width_deg`); the class midpoint for a
    /// unit tuned to one class, between classes for a broader peak.
    pub ipd_deg: f64,
    /// Full width at half height: the run of adjacent classes around the
    /// peak whose mean rate is at least halfway from trough to peak, in
    /// degrees (a multiple of the class width).
    pub width_deg: f64,
    pub peak_rate_hz: f64,
    pub trough_rate_hz: f64,
}

/// One hidden unit over the data set.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitTuning {
    /// Firing rate (spikes/s) per true class.
    pub per_class: Vec<ClassStat>,
    /// Mean rate over all samples, spikes/s.
    pub mean_rate_hz: f64,
    /// Standard deviation of the rate over samples.
    pub rate_sd_hz: f64,
    /// Spikes on the whole data set; 0 for a silent unit.
    pub spikes: u64,
    /// None for a silent unit.
    pub preferred: Option<Preference>,
}

impl UnitTuning {
    pub fn silent(&self) -> bool {
        self.spikes == 0
    }
}

/// Tuning of every hidden unit.
#[derive(Clone, Debug, PartialEq)]
pub struct HiddenTuning {
    /// By unit index.
    pub units: Vec<UnitTuning>,
    /// Unit indices by preferred IPD, then by index; silent units last.
    pub order: Vec<usize>,
}

/// Each hidden unit's rate per true class: spikes over the stimulus
/// duration (steps · dt).
pub fn hidden_tuning(cfg: &Config, rec: &Recording) -> Result<HiddenTuning> {
    let counts = rec
        .hidden_spikes
        .f_sum_dim_intlist(1, false, Kind::Double)?;
    let seconds = cfg.duration_steps() as f64 * cfg.dt();
    let hidden = counts.size()[1] as usize;
    let counts = rows::<f64>(&counts)?;
    let units: Vec<UnitTuning> = (0..hidden)
        .map(|j| {
            let rate: Vec<f64> = counts.iter().map(|r| r[j] / seconds).collect();
            let per_class = class_stats(&rate, &rec.true_class, cfg.data.num_classes);
            let (mean_rate_hz, rate_sd_hz) = mean_std(&rate);
            let spikes = counts.iter().map(|r| r[j]).sum::<f64>() as u64;
            let preferred = (spikes > 0).then(|| preference(&per_class)).flatten();
            UnitTuning {
                per_class,
                mean_rate_hz,
                rate_sd_hz,
                spikes,
                preferred,
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..hidden).collect();
    let key = |j: &usize| units[*j].preferred.map_or(f64::INFINITY, |p| p.ipd_deg);
    order.sort_by(|a, b| key(a).total_cmp(&key(b)).then(a.cmp(b)));
    Ok(HiddenTuning { units, order })
}

/// The readout per true class, for every output unit.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputTuning {
    /// `[output][class]`: the class score (the readout summed over time, or
    /// its maximum with `readout` max), whose argmax is the estimate.
    pub score: Vec<Vec<ClassStat>>,
    /// `[output][class]`: mean softmax probability of the output, with the
    /// scores scaled by `readout_scale` as in the loss.
    pub probability: Vec<Vec<f64>>,
}

/// Each output unit's readout per true class, read out through `w2`.
pub fn output_tuning(cfg: &Config, rec: &Recording, w2: &Tensor) -> Result<OutputTuning> {
    let scores = recorded_scores(cfg, rec, w2)?.f_to_kind(Kind::Double)?;
    let probability = scores
        .f_mul_scalar(cfg.network.readout_scale)?
        .f_softmax(1, Kind::Double)?;
    let (scores, probability) = (rows::<f64>(&scores)?, rows::<f64>(&probability)?);
    let outputs = cfg.data.num_classes;
    let column = |rows: &[Vec<f64>], k: usize| rows.iter().map(|r| r[k]).collect::<Vec<_>>();
    Ok(OutputTuning {
        score: (0..outputs)
            .map(|k| class_stats(&column(&scores, k), &rec.true_class, outputs))
            .collect(),
        probability: (0..outputs)
            .map(|k| {
                class_stats(&column(&probability, k), &rec.true_class, outputs)
                    .iter()
                    .map(|s| s.mean)
                    .collect()
            })
            .collect(),
    })
}

fn class_stats(values: &[f64], classes: &[usize], num_classes: usize) -> Vec<ClassStat> {
    (0..num_classes)
        .map(|c| {
            let of_class: Vec<f64> = values
                .iter()
                .zip(classes)
                .filter(|(_, &k)| k == c)
                .map(|(&v, _)| v)
                .collect();
            let (mean, sd) = mean_std(&of_class);
            ClassStat {
                n: of_class.len(),
                mean,
                sd,
            }
        })
        .collect()
}

/// Peak, half-height run and centre of mass of a tuning curve; None when
/// no class has samples.
fn preference(per_class: &[ClassStat]) -> Option<Preference> {
    let num_classes = per_class.len();
    let rate: Vec<f64> = per_class.iter().map(|s| s.mean).collect();
    let measured = || rate.iter().copied().filter(|r| !r.is_nan());
    let peak = measured().fold(f64::NAN, f64::max);
    let trough = measured().fold(f64::NAN, f64::min);
    let class = rate.iter().position(|&r| r == peak)?;
    let half = 0.5 * (peak + trough);
    let above = |c: usize| rate[c] >= half;
    let first = (0..=class).rev().take_while(|&c| above(c)).last()?;
    let last = (class..num_classes).take_while(|&c| above(c)).last()?;
    let run = first..=last;
    let mid = |c: usize| degrees(continuise(c as i64, num_classes));
    let mass: f64 = run.clone().map(|c| rate[c] - trough).sum();
    let ipd_deg = if mass > 0.0 {
        run.clone()
            .map(|c| (rate[c] - trough) * mid(c))
            .sum::<f64>()
            / mass
    } else {
        0.5 * (mid(first) + mid(last))
    };
    Some(Preference {
        class,
        ipd_deg,
        width_deg: (last - first + 1) as f64 * class_width_deg(num_classes),
        peak_rate_hz: peak,
        trough_rate_hz: trough,
    })
}
