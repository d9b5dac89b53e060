//! The leaky, non-spiking readout layer and the loss read from it.

use anyhow::Result;
use tch::{Kind, Reduction, Tensor};

use super::lif::decay;
use crate::config::{Config, Readout};

/// Parameters of the readout layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReadoutParams {
    /// Decay per step.
    pub alpha: f64,
    /// Scale of the scores before the softmax.
    pub scale: f64,
    /// How the membrane trace becomes scores.
    pub kind: Readout,
}

impl ReadoutParams {
    pub fn new(cfg: &Config) -> Self {
        ReadoutParams {
            alpha: decay(cfg.dt(), cfg.network.tau_output_ms * 1e-3),
            scale: cfg.network.readout_scale,
            kind: cfg.network.readout,
        }
    }
}

/// One step on tensors `(batch, classes)`: integrates without spiking or
/// reset.
pub fn readout_step(v: &Tensor, h_t: &Tensor, p: &ReadoutParams) -> Tensor {
    v * p.alpha + h_t
}

/// The class scores `(batch, classes)` from the readout trace
/// `(batch, steps, classes)`: the membrane potential summed over time, or
/// its maximum over time.
pub fn scores(v_rec: &Tensor, p: &ReadoutParams) -> Result<Tensor> {
    Ok(match p.kind {
        Readout::Sum => v_rec.f_sum_dim_intlist(1, false, None::<Kind>)?,
        // The first time step among equal maxima takes the gradient, in
        // both engines.
        Readout::Max => v_rec.f_max_dim(1, false)?.0,
    })
}

/// Cross-entropy of the scaled scores: `NLL(log_softmax(scale · m))`,
/// shared by both engines.
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
