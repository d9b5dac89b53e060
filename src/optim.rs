//! Adam as Python's `torch.optim.Adam` computes it on the CPU (its
//! single-tensor path, default hyper-parameters), rather than libtorch's C++
//! Adam: the C++ optimiser updates the first moment with `mul_/add_` where
//! Python uses `lerp_`, and scales in a different order, so the two drift
//! apart in the last bits and, over epochs of spiking dynamics, visibly.
//!
//! Two forms of one update: libtorch's tensor ops (`Arithmetic::Libtorch`),
//! whose `lerp_`, `addcmul_` and `addcdiv_` fuse multiply-adds at ATen's
//! AVX2 and AVX-512 levels and whose `sqrt` is MKL's, and the same formulas
//! as float32 operations in Python's order over host memory
//! (`Arithmetic::Portable`), the same bits on every processor.

use anyhow::Result;
use tch::Tensor;

use crate::config::LrSchedule;
use crate::host;
use crate::portable::{self, Arithmetic};

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

/// Adam state for a list of parameters.
pub struct Adam {
    arithmetic: Arithmetic,
    lr: f64,
    step: u64,
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
}

impl Adam {
    /// Portable arithmetic needs contiguous float32 CPU parameters.
    pub fn new(params: &[&Tensor], lr: f64, arithmetic: Arithmetic) -> Result<Adam> {
        let zeros =
            || -> Result<Vec<Tensor>> { params.iter().map(|p| Ok(p.f_zeros_like()?)).collect() };
        Ok(Adam {
            arithmetic,
            lr,
            step: 0,
            exp_avg: zeros()?,
            exp_avg_sq: zeros()?,
        })
    }

    /// Sets the learning rate of the steps to come.
    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// Steps taken, and the first and second moments, one per parameter.
    pub fn state(&self) -> (u64, &[Tensor], &[Tensor]) {
        (self.step, &self.exp_avg, &self.exp_avg_sq)
    }

    /// Takes up a state that `state` gave, as if those steps had been taken.
    pub fn restore(&mut self, step: u64, exp_avg: &[Tensor], exp_avg_sq: &[Tensor]) -> Result<()> {
        anyhow::ensure!(
            exp_avg.len() == self.exp_avg.len() && exp_avg_sq.len() == self.exp_avg_sq.len(),
            "Adam's state has {} moments, this optimiser {}",
            exp_avg.len(),
            self.exp_avg.len()
        );
        let _no_grad = tch::no_grad_guard();
        for (ours, theirs) in self
            .exp_avg
            .iter_mut()
            .chain(&mut self.exp_avg_sq)
            .zip(exp_avg.iter().chain(exp_avg_sq))
        {
            let _ = ours.f_copy_(theirs)?;
        }
        self.step = step;
        Ok(())
    }

    /// Updates each parameter in place from its gradient.
    pub fn step(&mut self, params: &mut [&mut Tensor], grads: &[Tensor]) -> Result<()> {
        let _no_grad = tch::no_grad_guard();
        self.step += 1;
        let steps = Steps::new(self.lr, self.step, self.arithmetic);
        for (((param, grad), m), v) in params
            .iter_mut()
            .zip(grads)
            .zip(&mut self.exp_avg)
            .zip(&mut self.exp_avg_sq)
        {
            match self.arithmetic {
                Arithmetic::Libtorch => steps.on_tensors(param, grad, m, v)?,
                Arithmetic::Portable => {
                    let grad = grad.f_contiguous()?;
                    let (m, v) = (host::slice_mut(m)?, host::slice_mut(v)?);
                    steps.on_host(host::slice_mut(param)?, host::slice(&grad)?, m, v)
                }
            }
        }
        Ok(())
    }
}

/// One step's scalars, from the step count.
struct Steps {
    step_size: f64,
    bias_correction2_sqrt: f64,
}

impl Steps {
    fn new(lr: f64, step: u64, arithmetic: Arithmetic) -> Steps {
        let (bias_correction1, bias_correction2) = match arithmetic {
            // Python evaluates these in float64 with C's pow, as does
            // f64::powf; libm's pow has per-CPU variants.
            Arithmetic::Libtorch => (1.0 - BETA1.powf(step as f64), 1.0 - BETA2.powf(step as f64)),
            Arithmetic::Portable => (
                1.0 - portable::powi(BETA1, step),
                1.0 - portable::powi(BETA2, step),
            ),
        };
        Steps {
            step_size: lr / bias_correction1,
            bias_correction2_sqrt: match arithmetic {
                Arithmetic::Libtorch => bias_correction2.powf(0.5),
                Arithmetic::Portable => bias_correction2.sqrt(),
            },
        }
    }

    fn on_tensors(
        &self,
        param: &mut Tensor,
        grad: &Tensor,
        m: &mut Tensor,
        v: &mut Tensor,
    ) -> Result<()> {
        let _ = m.f_lerp_(grad, 1.0 - BETA1)?;
        // `addcmul_(a, b, value=c)` computes `self + (c·a)·b`; tch's
        // binding has no `value`, so `c·a` is formed first with the same
        // float32 rounding. Likewise for `addcdiv_` below.
        let _ = v
            .f_mul_scalar_(BETA2)?
            .f_addcmul_(&grad.f_mul_scalar(1.0 - BETA2)?, grad)?;
        let denom = v
            .f_sqrt()?
            .f_div_scalar(self.bias_correction2_sqrt)?
            .f_add_scalar(EPS)?;
        let _ = param.f_addcdiv_(&m.f_mul_scalar(-self.step_size)?, &denom)?;
        Ok(())
    }

    /// `on_tensors` element by element, each scalar rounded to float32 as
    /// libtorch rounds a scalar for a float32 tensor, and `lerp_` in its
    /// form for weights below ½: `m + w·(g - m)`.
    fn on_host(&self, param: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32]) {
        let (beta1, beta2, eps) = ((1.0 - BETA1) as f32, BETA2 as f32, EPS as f32);
        let (rest2, bias2) = ((1.0 - BETA2) as f32, self.bias_correction2_sqrt as f32);
        let step_size = -self.step_size as f32;
        let elements = param.iter_mut().zip(grad);
        for ((p, &g), (m, v)) in elements.zip(m.iter_mut().zip(v.iter_mut())) {
            *m = *m + beta1 * (g - *m);
            *v = *v * beta2 + (g * rest2) * g;
            let denom = v.sqrt() / bias2 + eps;
            *p += (*m * step_size) / denom;
        }
    }
}

/// The learning rate of step `step` (from 0) of `steps`: `lr` for the
/// constant schedule; for the cosine one `lr·(floor + (1 - floor)·½(1 +
/// cos(π·step/(steps - 1))))`, `lr` at the first step and `lr·floor` at the
/// last.
pub fn scheduled_lr(schedule: LrSchedule, lr: f64, floor: f64, step: usize, steps: usize) -> f64 {
    match schedule {
        LrSchedule::Constant => lr,
        LrSchedule::Cosine => {
            let progress = step as f64 / steps.saturating_sub(1).max(1) as f64;
            let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos());
            lr * (floor + (1.0 - floor) * cosine)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cosine_schedule_runs_from_lr_to_its_floor() {
        let at = |step| scheduled_lr(LrSchedule::Cosine, 0.01, 0.1, step, 101);
        assert_eq!(at(0), 0.01);
        assert!((at(50) - 0.01 * (0.1 + 0.9 * 0.5)).abs() < 1e-15);
        assert!((at(100) - 0.001).abs() < 1e-15);
        assert!((1..=100).all(|s| at(s) < at(s - 1)), "it only falls");
        assert_eq!(scheduled_lr(LrSchedule::Constant, 0.01, 0.1, 70, 101), 0.01);
        assert_eq!(scheduled_lr(LrSchedule::Cosine, 0.01, 0.0, 0, 1), 0.01);
    }
}
