//! The leaky, non-spiking readout layer and the loss read from it: its
//! parameters, its update as a tensor step for autograd and as a scalar step
//! with its partial derivatives for the fused engine's loops, and the class
//! scores and loss that both engines share.

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

/// The readout's decay in float32, for the fused engine's loops.
#[derive(Clone, Copy, Debug)]
pub struct ReadoutScalars {
    pub alpha: f32,
}

impl From<&ReadoutParams> for ReadoutScalars {
    fn from(p: &ReadoutParams) -> Self {
        ReadoutScalars {
            alpha: p.alpha as f32,
        }
    }
}

impl ReadoutScalars {
    /// `readout_step` for one unit: `u' = α·u + h2`.
    #[inline]
    pub fn step(&self, u: f32, h2: f32) -> f32 {
        u * self.alpha + h2
    }

    /// The step backward: with `∂u'/∂u = α` and `∂u'/∂h2 = 1`,
    /// `G_t = ∂L/∂h2_t = ∂L/∂u_{t+1} + α·G_{t+1}`.
    #[inline]
    pub fn back(&self, du_next: f32, g_next: f32) -> f32 {
        du_next + self.alpha * g_next
    }

    /// How much `h2_t` adds to the trace summed over `steps` steps (the
    /// first of which is the initial zero): `k_t = Σ_{j<T-1-t} α^j`, by the
    /// recursion `k_t = 1 + α·k_{t+1}`, `k_{T-1} = 0`.
    pub fn sum_weights(&self, steps: usize) -> Vec<f32> {
        let mut k = vec![0f32; steps];
        for t in (0..steps.saturating_sub(1)).rev() {
            k[t] = 1.0 + self.alpha * k[t + 1];
        }
        k
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_weights_are_what_each_input_adds_to_the_summed_trace() {
        let r = ReadoutScalars { alpha: 0.5 };
        // u_0 = 0, u_{t+1} = α·u_t + h_t: an input at t reaches
        // u_{t+1}, …, u_{T-1} with weights 1, α, α², …
        assert_eq!(r.sum_weights(4), vec![1.75, 1.5, 1.0, 0.0]);
        assert_eq!(r.sum_weights(1), vec![0.0]);
        assert!(r.sum_weights(0).is_empty());
        let (steps, h) = (4, [1.0f32, 0.0, 0.0, 0.0]);
        let mut u = vec![0f32; steps];
        for t in 0..steps - 1 {
            u[t + 1] = r.step(u[t], h[t]);
        }
        assert_eq!(u.iter().sum::<f32>(), r.sum_weights(steps)[0]);
    }

    #[test]
    fn back_is_the_steps_chain_rule() {
        let r = ReadoutScalars { alpha: 0.25 };
        assert_eq!(r.back(2.0, 4.0), 3.0);
        assert_eq!(r.step(4.0, 1.0), 2.0);
    }
}
