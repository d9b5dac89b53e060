//! The leaky, non-spiking readout layer and the loss read from it.

use anyhow::Result;
use tch::{Kind, Reduction, Tensor};

use super::lif::decay;
use crate::config::Config;

/// Parameters of the readout layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReadoutParams {
    /// Decay per step; the readout shares the hidden layer's tau.
    pub alpha: f64,
    /// Scale of the time-summed potential before the softmax.
    pub scale: f64,
}

impl ReadoutParams {
    pub fn new(cfg: &Config) -> Self {
        ReadoutParams {
            alpha: decay(cfg.dt(), cfg.tau()),
            scale: cfg.network.readout_scale,
        }
    }
}

/// One step on tensors `(batch, classes)`: integrates without spiking or
/// reset.
pub fn readout_step(v: &Tensor, h_t: &Tensor, p: &ReadoutParams) -> Tensor {
    v * p.alpha + h_t
}

/// The class scores `(batch, classes)` from the readout trace
/// `(batch, steps, classes)`: the membrane potential summed over time.
pub fn scores(v_rec: &Tensor) -> Result<Tensor> {
    Ok(v_rec.f_sum_dim_intlist(1, false, None::<Kind>)?)
}

/// Cross-entropy of the scaled, time-summed readout:
/// `NLL(log_softmax(scale · Σ_t v))`, shared by both engines.
pub fn loss_from_scores(scores: &Tensor, labels: &Tensor, p: &ReadoutParams) -> Result<Tensor> {
    let m = scores.f_mul_scalar(p.scale)?;
    Ok(m.f_log_softmax(1, None::<Kind>)?.f_nll_loss(
        labels,
        None::<Tensor>,
        Reduction::Mean,
        -100,
    )?)
}

/// Loss of one batch and the gradients of W1 and W2.
pub struct Gradients {
    pub loss: f64,
    pub w1: Tensor,
    pub w2: Tensor,
}
