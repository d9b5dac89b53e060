//! The spike nonlinearity with a surrogate gradient (SuperSpike-style).
//!
//! Forward it is the Heaviside step `x > 0`; backward it passes the gradient
//! of a sigmoid of steepness `beta`, `beta·σ(beta·x)·(1-σ(beta·x))`. It is
//! built from detached arithmetic instead of a custom autograd function:
//! `H(x) + (x - x̄)·g(x̄)` (bar = detached) is exactly `H(x)` in the forward
//! pass because `x - x̄` is exactly zero, and its derivative is `g(x)`.

use tch::Tensor;

/// Heaviside forward, sigmoid-derivative backward.
pub fn spike(x: &Tensor, beta: f64) -> Tensor {
    let frozen = x.detach();
    let heaviside = frozen.gt(0.0).to_kind(x.kind());
    let sig = (&frozen * beta).sigmoid();
    // Autograd multiplies the incoming gradient by these factors in reverse
    // order, `((grad·beta)·σ)·(1-σ)`: the notebook's float32 rounding, which
    // keeps long training runs on the notebook's trajectory.
    heaviside + (x - &frozen) * (1.0 - &sig) * &sig * beta
}

/// `beta·σ(beta·x)·(1-σ(beta·x))`, the derivative that `spike` back-propagates.
pub fn surrogate_gradient(x: &Tensor, beta: f64) -> Tensor {
    let sig = (x * beta).sigmoid();
    sig.shallow_clone() * beta * (1.0 - sig)
}
