//! The hidden layer's leaky integrate-and-fire (LIF) neuron: its parameters
//! and its update, as a tensor step for autograd and as a scalar step for the
//! fused engine's loops. Both follow the notebook's order: the new potential
//! integrates the input and is zeroed where the neuron spiked on the previous
//! step; the spike is read from the previous potential.

use tch::Tensor;

use super::surrogate::Surrogate;
use crate::config::Config;

/// Membrane decay per time step, `exp(-dt/tau)`.
pub fn decay(dt: f64, tau: f64) -> f64 {
    (-dt / tau).exp()
}

/// Parameters of the hidden LIF layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LifParams {
    /// Decay per step.
    pub alpha: f64,
    pub threshold: f64,
    pub surrogate: Surrogate,
}

impl LifParams {
    pub fn new(cfg: &Config) -> Self {
        LifParams {
            alpha: decay(cfg.dt(), cfg.tau()),
            threshold: cfg.network.threshold,
            surrogate: Surrogate {
                beta: cfg.network.beta,
            },
        }
    }
}

/// One step of the layer on tensors `(batch, hidden)`: `(v, s) -> (v', s')`.
pub fn lif_step(v: &Tensor, s: &Tensor, h_t: &Tensor, p: &LifParams) -> (Tensor, Tensor) {
    let new_v = (v * p.alpha + h_t) * (1.0 - s);
    let new_s = p.surrogate.spike(&(v - p.threshold));
    (new_v, new_s)
}

/// The same step for one neuron in float32; `alpha` and `threshold` are the
/// parameters cast to float32.
#[inline]
pub fn lif_update(v: f32, s: f32, h_t: f32, alpha: f32, threshold: f32) -> (f32, f32) {
    let new_v = (v * alpha + h_t) * (1.0 - s);
    let new_s = if v - threshold > 0.0 { 1.0 } else { 0.0 };
    (new_v, new_s)
}
