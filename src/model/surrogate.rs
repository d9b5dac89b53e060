//! The spike nonlinearity with a surrogate gradient.
//!
//! Forward it is the Heaviside step `x > 0`; backward it passes a smooth
//! stand-in for the step's derivative, of one of snnTorch's shapes with
//! slope `beta`. Each shape's formula is written once, in `derivative`,
//! except that the notebook's sigmoid keeps its factors apart
//! (`sigmoid_factors`) so that each engine multiplies them in the order that
//! keeps its float32 rounding as it has always been.

use std::f64::consts::PI;

use tch::Tensor;

use crate::config::SurrogateShape;

/// The surrogate of the spike function's derivative.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Surrogate {
    pub shape: SurrogateShape,
    /// Slope: larger is closer to the true (zero almost everywhere)
    /// derivative of the step.
    pub beta: f64,
}

impl Surrogate {
    /// The notebook's surrogate: a sigmoid of steepness `beta`.
    pub fn sigmoid(beta: f64) -> Self {
        Surrogate {
            shape: SurrogateShape::Sigmoid,
            beta,
        }
    }

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
    /// because `x - x̄` is exactly zero, and its derivative is `g(x)`. For
    /// the sigmoid, autograd multiplies the incoming gradient by the factors
    /// in reverse order, `((grad·beta)·σ)·(1-σ)`: the notebook's float32
    /// rounding, which keeps long training runs on the notebook's trajectory.
    pub fn spike(&self, x: &Tensor) -> Tensor {
        let frozen = x.detach();
        let heaviside = frozen.gt(0.0).to_kind(x.kind());
        let straight_through = x - &frozen;
        match self.shape {
            SurrogateShape::Sigmoid => {
                let (sig, rest) = self.sigmoid_factors(&frozen);
                heaviside + straight_through * rest * sig * self.beta
            }
            _ => heaviside + straight_through * self.derivative(&frozen),
        }
    }

    /// The derivative that `spike` back-propagates, as a tensor, for the
    /// fused engine's hand-written backward pass.
    pub fn derivative(&self, x: &Tensor) -> Tensor {
        match self.shape {
            SurrogateShape::Sigmoid => {
                let (sig, rest) = self.sigmoid_factors(x);
                sig * self.beta * rest
            }
            SurrogateShape::FastSigmoid => {
                let d = x.abs() * self.beta + 1.0;
                (&d * &d).reciprocal()
            }
            SurrogateShape::Atan => {
                let u = x * (PI / 2.0 * self.beta);
                (&u * &u + 1.0).reciprocal() * (self.beta / 2.0)
            }
        }
    }
}
