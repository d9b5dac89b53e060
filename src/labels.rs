//! IPD classes: the notebook turns localisation into classification by
//! cutting (-π/2, π/2) into `num_classes` equal bins (15° for 12 classes),
//! and scores a classifier by its accuracy and by how far its class
//! midpoints land from the true IPDs.

use std::f64::consts::PI;

use anyhow::{ensure, Result};
use serde::Serialize;
use tch::{Device, Kind, Tensor};

use crate::stimulus::Dataset;

/// Class index of each IPD (radians, float32 tensor), computed in float32 as
/// the notebook's `((ipds + π/2) * num_classes / π).long()` is, so that IPDs
/// on a bin edge fall in the same class.
pub fn discretise(ipd: &Tensor, num_classes: usize) -> Result<Tensor> {
    Ok(ipd
        .f_add_scalar(PI / 2.0)?
        .f_mul_scalar(num_classes as f64)?
        .f_div_scalar(PI)?
        .f_to_kind(Kind::Int64)?)
}

/// Midpoint IPD (radians) of a class index.
pub fn continuise(class: i64, num_classes: usize) -> f64 {
    (class as f64 + 0.5) / num_classes as f64 * PI - PI / 2.0
}

/// Midpoint IPD of a class, in degrees.
pub fn class_ipd_deg(class: usize, num_classes: usize) -> f64 {
    degrees(continuise(class as i64, num_classes))
}

/// Width of one IPD class in degrees.
pub fn class_width_deg(num_classes: usize) -> f64 {
    180.0 / num_classes as f64
}

/// Radians in degrees, as `x * 180 / π` in two roundings (not
/// `f64::to_degrees`, whose one multiplication by 180/π rounds differently):
/// every degree the program writes is computed this way.
pub fn degrees(radians: f64) -> f64 {
    radians * 180.0 / PI
}

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

/// IPDs (radians) and true classes of a data set, the classes made as the
/// network's labels are (`labels::discretise` in float32). An IPD of
/// exactly ±90° goes to the edge class: float32 can round the generator's
/// largest IPD, just below π/2, up to π/2.
pub fn labelled_ipds(data: &Dataset, num_classes: usize) -> Result<(Vec<f64>, Vec<usize>)> {
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
