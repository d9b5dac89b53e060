//! The hidden layer's leaky integrate-and-fire (LIF) neuron: its parameters
//! and its update, as a tensor step for autograd and as a scalar step for the
//! fused engine's loops. Both follow the notebook's order: the new potential
//! integrates the input and is reset where the neuron spiked on the previous
//! step; the spike is read from the previous potential.

use tch::Tensor;

use super::surrogate::Surrogate;
use super::time_constants::Decay;
use crate::config::{Config, Reset};

/// Membrane decay per time step, `exp(-dt/tau)`.
pub fn decay(dt: f64, tau: f64) -> f64 {
    (-dt / tau).exp()
}

/// Parameters of the hidden LIF layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LifParams {
    /// Decay per step.
    pub alpha: f64,
    /// The potential at which the neuron spikes (the notebook's `mem - 1`).
    pub threshold: f64,
    pub reset: Reset,
    pub surrogate: Surrogate,
}

impl LifParams {
    pub fn new(cfg: &Config) -> Self {
        let net = &cfg.network;
        LifParams {
            alpha: decay(cfg.dt(), net.tau_hidden_ms * 1e-3),
            threshold: net.threshold,
            reset: net.reset,
            surrogate: Surrogate {
                shape: net.surrogate,
                beta: net.beta,
            },
        }
    }
}

/// One step of the layer on tensors `(batch, hidden)`: `(v, s) -> (v', s')`,
/// the potential decaying by `decay` (`p.alpha`, or each unit's own).
/// Gradients flow through the reset, as in the notebook.
pub fn lif_step(
    v: &Tensor,
    s: &Tensor,
    h_t: &Tensor,
    p: &LifParams,
    decay: &Decay,
) -> (Tensor, Tensor) {
    let new_v = match p.reset {
        Reset::Multiplicative => (decay.apply(v) + h_t) * (1.0 - s),
        Reset::Subtractive => decay.apply(v) + h_t - s * p.threshold,
    };
    let new_s = p.surrogate.spike(&(v - p.threshold));
    (new_v, new_s)
}

/// The LIF parameters in float32, for the fused engine's loops.
#[derive(Clone, Copy, Debug)]
pub struct LifScalars {
    pub alpha: f32,
    pub threshold: f32,
    pub reset: Reset,
}

impl From<&LifParams> for LifScalars {
    fn from(p: &LifParams) -> Self {
        LifScalars {
            alpha: p.alpha as f32,
            threshold: p.threshold as f32,
            reset: p.reset,
        }
    }
}

impl LifScalars {
    /// The same neuron with its own decay (`time_constants`).
    #[inline(always)]
    pub fn with_alpha(self, alpha: f32) -> Self {
        LifScalars { alpha, ..self }
    }

    /// `lif_step` for one neuron.
    #[inline]
    pub fn step(&self, v: f32, s: f32, h_t: f32) -> (f32, f32) {
        let new_v = match self.reset {
            Reset::Multiplicative => (v * self.alpha + h_t) * (1.0 - s),
            Reset::Subtractive => v * self.alpha + h_t - s * self.threshold,
        };
        let new_s = if v - self.threshold > 0.0 { 1.0 } else { 0.0 };
        (new_v, new_s)
    }

    /// The step's partial derivatives for the backward pass, written as
    /// `∂v'/∂h = keep`, `∂v'/∂v = keep·α` and `∂v'/∂s = -lost`: the
    /// multiplicative reset keeps `1 - s` and loses `α·v + h`, the
    /// subtractive one keeps everything and loses the threshold.
    #[inline]
    pub fn partials(&self, v: f32, s: f32, h_t: f32) -> (f32, f32) {
        match self.reset {
            Reset::Multiplicative => (1.0 - s, v * self.alpha + h_t),
            Reset::Subtractive => (1.0, self.threshold),
        }
    }
}
