//! IPD classes: the notebook turns localisation into classification by
//! cutting (-π/2, π/2) into `num_classes` equal bins (15° for 12 classes),
//! and scores a classifier by its accuracy, by how far its class
//! midpoints land from the true IPDs, and by how far the IPD decoded from
//! its class probabilities does.

use std::f64::consts::PI;

use anyhow::{ensure, Result};
use serde::Serialize;
use tch::{Device, Kind, Tensor};

use crate::portable;
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
    /// Mean |true IPD − decoded IPD| in degrees, the decoded IPD being the
    /// median of the classifier's posterior (`decoded_ipd` for a network's
    /// class probabilities, `bin_median` for any): unlike the two above it
    /// is not held above a quarter of a class width by the classes.
    pub decoded_error_deg: f64,
}

impl Score {
    /// The score of `estimated` classes and `decoded` IPDs (radians)
    /// against true IPDs (radians) and their classes; NaN for no samples.
    pub fn of(
        ipd: &[f64],
        true_class: &[usize],
        estimated: &[usize],
        decoded: &[f64],
        num_classes: usize,
    ) -> Score {
        let n = estimated.len() as f64;
        let mid = |c: usize| continuise(c as i64, num_classes);
        let (mut correct, mut abs, mut midpoint) = (0.0, 0.0, 0.0);
        for ((&x, &t), &e) in ipd.iter().zip(true_class).zip(estimated) {
            correct += (t == e) as u8 as f64;
            abs += (x - mid(e)).abs();
            midpoint += (mid(t) - mid(e)).abs();
        }
        let decoded_abs: f64 = ipd.iter().zip(decoded).map(|(x, d)| (x - d).abs()).sum();
        Score {
            accuracy_pct: 100.0 * correct / n,
            abs_error_deg: degrees(abs / n),
            midpoint_error_deg: degrees(midpoint / n),
            decoded_error_deg: degrees(decoded_abs / decoded.len() as f64),
        }
    }
}

/// The IPD (radians) decoded from one sample's class scores: the median of
/// the class probabilities p = softmax(`scale` · scores), the loss's
/// (`model::readout::loss_from_scores`), each spread uniformly over its
/// class's bin (`bin_median`). The median of a posterior is the estimate
/// that minimises the expected absolute error, which is the error reported;
/// and it moves continuously within a class, so it can go below the 3.75°
/// (a quarter of a 15° class) that any class midpoint errs by on average.
/// The softmax is float64 in the program's own arithmetic (`portable`),
/// its largest score taken out first, so that the number is the same on
/// every processor; NaN scores give NaN.
pub fn decoded_ipd(scores: &[f32], scale: f64) -> f64 {
    let softmax = portable::scaled_exponentials(scores, scale);
    let probabilities: Vec<f64> = softmax.exps.iter().map(|e| e / softmax.sum).collect();
    bin_median(&probabilities)
}

/// The median (radians) of the density that spreads `mass[i]` (any scale,
/// not negative) uniformly over bin i of (−π/2, π/2) cut into `mass.len()`
/// equal bins: where the cumulative mass reaches half the total, within
/// its bin by linear interpolation. Where the cumulative mass stays at
/// exactly one half over an interval (no mass between two groups of
/// bins), every point of it is a median; its centre is taken, so that
/// mirrored masses give the mirrored IPD. NaN when no total is positive
/// and finite.
pub fn bin_median(mass: &[f64]) -> f64 {
    // The lowest point where the mass below reaches half, from the left
    // and, mirrored, from the right: together they bound every median.
    let half = portable::sum(mass.iter().copied()) / 2.0;
    let width = PI / mass.len() as f64;
    let lowest = |bins: &mut dyn Iterator<Item = f64>| -> f64 {
        let mut below = 0.0;
        for (i, m) in bins.enumerate() {
            if below + m >= half && m > 0.0 && half.is_finite() {
                let within = ((half - below) / m).clamp(0.0, 1.0);
                return (i as f64 + within) * width - PI / 2.0;
            }
            below += m;
        }
        f64::NAN
    };
    let from_left = lowest(&mut mass.iter().copied());
    let from_right = lowest(&mut mass.iter().rev().copied());
    (from_left - from_right) / 2.0
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
    fn a_score_counts_right_classes_and_measures_every_error() {
        // True IPDs 0° (class 6 of 12) and 80° (class 11); estimates 6 and 10.
        let ipd = [0.0, 80f64.to_radians()];
        // Decoded as 1° and 70°.
        let decoded = [1f64.to_radians(), 70f64.to_radians()];
        let s = Score::of(&ipd, &[6, 11], &[6, 10], &decoded, 12);
        assert_eq!(s.accuracy_pct, 50.0);
        // |0 - 7.5| and |80 - 67.5|, in the mean.
        assert!((s.abs_error_deg - (7.5 + 12.5) / 2.0).abs() < 1e-12);
        // Right class: 0; one class off: 15°.
        assert!((s.midpoint_error_deg - 7.5).abs() < 1e-12);
        // |0 - 1| and |80 - 70|.
        assert!((s.decoded_error_deg - 5.5).abs() < 1e-12);
        let none = Score::of(&[], &[], &[], &[], 12);
        assert!(none.accuracy_pct.is_nan() && none.decoded_error_deg.is_nan());
    }

    #[test]
    fn the_decoded_ipd_is_the_median_of_the_class_probabilities() {
        let deg = |scores: &[f32]| degrees(decoded_ipd(scores, 1.0));
        // One class certain: its midpoint, for every class.
        for c in 0..12 {
            let mut scores = [0f32; 12];
            scores[c] = 1000.0;
            assert!((deg(&scores) - class_ipd_deg(c, 12)).abs() < 1e-9, "{c}");
        }
        // Equal probabilities: the middle of the range.
        assert!(deg(&[0.0; 12]).abs() < 1e-9);
        assert!(deg(&[3.5; 12]).abs() < 1e-9);
        // Half at each end: every IPD between them is a median; the centre.
        let mut ends = [-1e4f32; 12];
        (ends[0], ends[11]) = (0.0, 0.0);
        assert!(deg(&ends).abs() < 1e-9);
        // 0.1, 0.3 and 0.6 in classes 5, 6 and 7 (-15° to 0°, 0° to 15°,
        // 15° to 30°): 0.4 lies below 15°, and the 0.1 still wanting is a
        // sixth of class 7's 15°.
        let mut skewed = [-1e4f32; 12];
        for (c, p) in [(5, 0.1f64), (6, 0.3), (7, 0.6)] {
            skewed[c] = p.ln() as f32;
        }
        assert!((deg(&skewed) - 17.5).abs() < 1e-5, "{}", deg(&skewed));
        // The scale sharpens the probabilities as the loss's does: scores
        // 0 and ln(3)/2 at scale 2 are probabilities 1/4 and 3/4.
        let mut two = [-1e4f32; 12];
        (two[6], two[7]) = (0.0, (3f64.ln() / 2.0) as f32);
        let median = degrees(decoded_ipd(&two, 2.0));
        // The quarter in 0-15°, then a third of the 3/4 in 15-30°: 20°.
        assert!((median - 20.0).abs() < 1e-5, "{median}");
        assert!(decoded_ipd(&[f32::NAN, 0.0], 1.0).is_nan());
        assert!(decoded_ipd(&[], 1.0).is_nan());
    }

    #[test]
    fn a_bin_median_interpolates_within_its_bin_and_centres_flat_stretches() {
        // Masses need not sum to one.
        assert!((degrees(bin_median(&[1.0, 3.0])) - 30.0).abs() < 1e-12);
        assert!(bin_median(&[2.0, 0.0, 0.0, 2.0]).abs() < 1e-12);
        assert!((degrees(bin_median(&[0.0, 0.0, 5.0])) - 60.0).abs() < 1e-12);
        for bad in [
            &[0.0, 0.0][..],
            &[f64::NAN, 1.0],
            &[f64::INFINITY, 1.0],
            &[],
        ] {
            assert!(bin_median(bad).is_nan(), "{bad:?}");
        }
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
