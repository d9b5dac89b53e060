//! The spike nonlinearity with a surrogate gradient (SuperSpike-style).
//!
//! Forward it is the Heaviside step `x > 0`; backward it passes the
//! derivative of a sigmoid of steepness `beta`,
//! `beta·σ(beta·x)·(1-σ(beta·x))`. The formula's factors are computed in one
//! place, `sigmoid_factors`; the two engines multiply them in the order that
//! keeps each one's float32 rounding as it has always been.

use tch::Tensor;

/// The surrogate of the spike function's derivative.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Surrogate {
    /// Steepness: larger is closer to the true (zero almost everywhere)
    /// derivative of the step.
    pub beta: f64,
}

impl Surrogate {
    /// `(σ(beta·x), 1-σ(beta·x))`.
    fn sigmoid_factors(&self, x: &Tensor) -> (Tensor, Tensor) {
        let sig = (x * self.beta).sigmoid();
        let rest = 1.0 - &sig;
        (sig, rest)
    }

    /// Heaviside forward, surrogate derivative backward, for autograd.
    ///
    /// Built from detached arithmetic instead of a custom autograd function:
    /// `H(x) + (x - x̄)·g(x̄)` (bar = detached) is exactly `H(x)` forward,
    /// because `x - x̄` is exactly zero, and its derivative is `g(x)`.
    /// Autograd multiplies the incoming gradient by the factors in reverse
    /// order, `((grad·beta)·σ)·(1-σ)`: the notebook's float32 rounding, which
    /// keeps long training runs on the notebook's trajectory.
    pub fn spike(&self, x: &Tensor) -> Tensor {
        let frozen = x.detach();
        let heaviside = frozen.gt(0.0).to_kind(x.kind());
        let (sig, rest) = self.sigmoid_factors(&frozen);
        heaviside + (x - &frozen) * rest * sig * self.beta
    }

    /// The derivative that `spike` back-propagates, as a tensor, for the
    /// fused engine's hand-written backward pass.
    pub fn derivative(&self, x: &Tensor) -> Tensor {
        let (sig, rest) = self.sigmoid_factors(x);
        sig * self.beta * rest
    }
}
