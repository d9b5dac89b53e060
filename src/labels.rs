//! IPD classes: the notebook turns localisation into classification by
//! cutting (-π/2, π/2) into `num_classes` equal bins (15° for 12 classes).

use std::f64::consts::PI;

use anyhow::Result;
use tch::{Kind, Tensor};

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
