//! The spike nonlinearity with a surrogate gradient.
//!
//! Forward it is the Heaviside step `x > 0`; backward it passes a smooth
//! stand-in for the step's derivative, of one of snnTorch's shapes with
//! slope `beta`. Each shape's formula has two forms side by side, as the
//! LIF step does: tensor ops in `derivative` (the notebook's sigmoid keeps
//! its factors apart in `sigmoid_factors`, so that each engine multiplies
//! them in the order that keeps its float32 rounding as it has always
//! been), and float32 arithmetic over host memory in `derivative_into`,
//! for the fused engine's loops, which `tests/integration/model.rs` holds
//! to the tensor form bit for bit.

use std::f64::consts::PI;

use tch::Tensor;

use crate::config::SurrogateShape;
use crate::portable;

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

    /// The derivative that `spike` back-propagates, as a tensor.
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

    /// `out[i] = σ'(v[i] - threshold)`, each element as `derivative`
    /// computes it on the tensor `v - threshold`: float32 arithmetic in the
    /// same order, with no tensor copied in or out. Fast-sigmoid and atan
    /// are IEEE operations alone, so the two forms agree bit for bit. The
    /// sigmoid is `portable::sigmoid`, the same bits on every processor,
    /// where libtorch's depends on the CPU's vector level; the two agree
    /// wherever libtorch's exp is correctly rounded.
    pub fn derivative_into(&self, v: &[f32], threshold: f32, out: &mut [f32]) {
        let beta = self.beta as f32;
        let pairs = out.iter_mut().zip(v);
        match self.shape {
            SurrogateShape::Sigmoid => sigmoid_slopes(v, threshold, beta, out),
            SurrogateShape::FastSigmoid => pairs.for_each(|(out, v)| {
                let d = (v - threshold).abs() * beta + 1.0;
                *out = 1.0 / (d * d);
            }),
            SurrogateShape::Atan => {
                let (scale, half) = ((PI / 2.0 * self.beta) as f32, (self.beta / 2.0) as f32);
                pairs.for_each(|(out, v)| {
                    let u = (v - threshold) * scale;
                    *out = 1.0 / (u * u + 1.0) * half;
                });
            }
        }
    }
}

widest_vectors! {
    /// `out[i] = β·σ(x)·(1 - σ(x))` with `x = β·(v[i] - threshold)`.
    fn sigmoid_slopes = sigmoid_slopes_kernel(
        v: &[f32],
        threshold: f32,
        beta: f32,
        out: &mut [f32],
    );
}

#[inline(always)]
fn sigmoid_slopes_kernel(v: &[f32], threshold: f32, beta: f32, out: &mut [f32]) {
    for (out, v) in out.iter_mut().zip(v) {
        let sig = portable::sigmoid((v - threshold) * beta);
        // tch forms `1 - σ` as `-(σ - 1)`: -0 where σ is 1.
        *out = sig * beta * -(sig - 1.0);
    }
}

#[cfg(test)]
mod tests {
    use tch::{Kind, Tensor};

    use super::*;
    use crate::config::SurrogateShape;

    fn to_vec(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(&t.to_kind(Kind::Float).flatten(0, -1)).unwrap()
    }

    #[test]
    fn surrogate_is_heaviside_forward_and_sigmoid_derivative_backward() {
        let beta = 5.0;
        let values = [-2.0f32, -0.3, -1e-7, 0.0, 1e-7, 0.25, 1.5];
        let x = Tensor::from_slice(&values).set_requires_grad(true);
        let surrogate = Surrogate::sigmoid(beta);
        let y = surrogate.spike(&x);
        assert_eq!(to_vec(&y), [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
        let upstream = Tensor::from_slice(&[1.0f32, 2.0, -1.0, 0.5, 3.0, 1.0, -2.0]);
        let grad = Tensor::run_backward(&[(&y * &upstream).sum(Kind::Float)], &[&x], false, false);
        for ((g, &v), u) in to_vec(&grad[0]).iter().zip(&values).zip(to_vec(&upstream)) {
            let sig = 1.0 / (1.0 + (-beta * v as f64).exp());
            let want = u as f64 * beta * sig * (1.0 - sig);
            assert!((*g as f64 - want).abs() < 1e-6, "x={v}: {g} vs {want}");
        }
        // The fused engine's form of the same derivative.
        let derivative = to_vec(&surrogate.derivative(&x.detach()));
        let through_autograd = to_vec(&(&grad[0] / &upstream));
        for (d, a) in derivative.iter().zip(&through_autograd) {
            assert!(
                (d - a).abs() <= 1e-6 * a.abs().max(1e-3),
                "{derivative:?} vs {through_autograd:?}"
            );
        }
    }

    #[test]
    fn fused_surrogate_derivative_is_the_tensor_formula() {
        // Potentials from far below to far above a threshold of 1, with the
        // extremes where σ underflows and the slopes turn subnormal or zero.
        let v: Vec<f32> = (-4000..=4000).map(|i| 1.0 + i as f32 * 0.0137).collect();
        for shape in [
            SurrogateShape::Sigmoid,
            SurrogateShape::FastSigmoid,
            SurrogateShape::Atan,
        ] {
            for beta in [0.3, 5.0, 25.0] {
                let surrogate = Surrogate { shape, beta };
                let tensor = to_vec(&surrogate.derivative(&(Tensor::from_slice(&v) - 1.0)));
                let mut host = vec![f32::NAN; v.len()];
                surrogate.derivative_into(&v, 1.0, &mut host);
                for ((h, t), v) in host.iter().zip(&tensor).zip(&v) {
                    let close = match shape {
                        // σ from another exp, an ulp apart at most, which
                        // β·σ·(1-σ) turns into at most β ulps of 1.
                        SurrogateShape::Sigmoid => {
                            let ulp_of_sigma = beta as f32 * f32::EPSILON;
                            (h - t).abs() <= 2.0 * ulp_of_sigma + 4.0 * f32::EPSILON * t.abs()
                        }
                        _ => h.to_bits() == t.to_bits(),
                    };
                    assert!(close, "{shape:?}, beta {beta}, v {v}: {h} against {t}");
                }
            }
        }
    }

    #[test]
    fn surrogate_shapes_follow_snntorch() {
        let x = Tensor::from_slice(&[-1.0f32, -0.1, 0.0, 0.2, 2.0]);
        let beta = 4.0;
        for (shape, formula) in [
            (
                SurrogateShape::Sigmoid,
                (|x: f64, b: f64| {
                    let s = 1.0 / (1.0 + (-b * x).exp());
                    b * s * (1.0 - s)
                }) as fn(f64, f64) -> f64,
            ),
            (SurrogateShape::FastSigmoid, |x, b| {
                1.0 / (1.0 + b * x.abs()).powi(2)
            }),
            (SurrogateShape::Atan, |x, b| {
                b / 2.0 / (1.0 + (std::f64::consts::PI / 2.0 * b * x).powi(2))
            }),
        ] {
            let surrogate = Surrogate { shape, beta };
            let xg = x.copy().set_requires_grad(true);
            let y = surrogate.spike(&xg);
            assert_eq!(
                to_vec(&y),
                [0.0, 0.0, 0.0, 1.0, 1.0],
                "{shape}: forward is the step"
            );
            let grad = Tensor::run_backward(&[y.sum(Kind::Float)], &[&xg], false, false);
            let derivative = to_vec(&surrogate.derivative(&x));
            for ((g, d), x) in to_vec(&grad[0]).iter().zip(&derivative).zip(to_vec(&x)) {
                let want = formula(x as f64, beta);
                assert!(
                    (*g as f64 - want).abs() < 1e-6 * want.max(1.0),
                    "{shape} x={x}: {g} vs {want}"
                );
                assert!(
                    (*d as f64 - want).abs() < 1e-6 * want.max(1.0),
                    "{shape} x={x}: {d} vs {want}"
                );
            }
        }
    }
}
