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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cut_the_ipd_range_into_equal_bins_and_midpoints_invert_them() {
        // Just inside both ends, and either side of 0° and of the 15° edge.
        let edges = Tensor::from_slice(&[-1.57f32, -0.01, 0.0, 0.2617, 0.2619, 1.57]);
        let classes = Vec::<i64>::try_from(&discretise(&edges, 12).unwrap()).unwrap();
        assert_eq!(classes, [0, 5, 6, 6, 7, 11]);
        for c in 0..12 {
            let mid = Tensor::from_slice(&[continuise(c, 12) as f32]);
            assert_eq!(
                Vec::<i64>::try_from(&discretise(&mid, 12).unwrap()).unwrap(),
                [c]
            );
        }
        assert!((class_ipd_deg(0, 12) + 82.5).abs() < 1e-12);
        assert!((class_ipd_deg(11, 12) - 82.5).abs() < 1e-12);
        assert_eq!(class_width_deg(12), 15.0);
        assert_eq!(degrees(PI), 180.0);
    }

    #[test]
    fn a_score_counts_right_classes_and_measures_both_errors() {
        // True IPDs 0° (class 6 of 12) and 80° (class 11); estimates 6 and 10.
        let ipd = [0.0, 80f64.to_radians()];
        let s = Score::of(&ipd, &[6, 11], &[6, 10], 12);
        assert_eq!(s.accuracy_pct, 50.0);
        // |0 - 7.5| and |80 - 67.5|, in the mean.
        assert!((s.abs_error_deg - (7.5 + 12.5) / 2.0).abs() < 1e-12);
        // Right class: 0; one class off: 15°.
        assert!((s.midpoint_error_deg - 7.5).abs() < 1e-12);
        assert!(Score::of(&[], &[], &[], 12).accuracy_pct.is_nan());
    }

    #[test]
    fn labels_cover_the_edges_and_round_trip() {
        let edges = Tensor::from_slice(&[(-PI / 2.0) as f32, (PI / 2.0 - 1e-6) as f32, 0.0]);
        let classes = Vec::<i64>::try_from(&discretise(&edges, 12).unwrap()).unwrap();
        assert_eq!(classes, [0, 11, 6]);
        let midpoints: Vec<f32> = (0..12).map(|c| continuise(c, 12) as f32).collect();
        let back = discretise(&Tensor::from_slice(&midpoints), 12).unwrap();
        assert_eq!(
            Vec::<i64>::try_from(&back).unwrap(),
            (0..12).collect::<Vec<_>>()
        );
        assert!((continuise(0, 12) - (-PI / 2.0 + PI / 24.0)).abs() < 1e-12);
    }
}
