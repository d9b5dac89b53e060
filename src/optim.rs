//! Adam as Python's `torch.optim.Adam` computes it on the CPU (its
//! single-tensor path, default hyper-parameters), rather than libtorch's C++
//! Adam: the C++ optimiser updates the first moment with `mul_/add_` where
//! Python uses `lerp_`, and scales in a different order, so the two drift
//! apart in the last bits and, over epochs of spiking dynamics, visibly.

use anyhow::Result;
use tch::Tensor;

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

/// Adam state for a list of parameters.
pub struct Adam {
    lr: f64,
    step: u64,
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
}

impl Adam {
    pub fn new(params: &[&Tensor], lr: f64) -> Result<Adam> {
        let zeros =
            || -> Result<Vec<Tensor>> { params.iter().map(|p| Ok(p.f_zeros_like()?)).collect() };
        Ok(Adam {
            lr,
            step: 0,
            exp_avg: zeros()?,
            exp_avg_sq: zeros()?,
        })
    }

    /// Updates each parameter in place from its gradient.
    pub fn step(&mut self, params: &mut [&mut Tensor], grads: &[Tensor]) -> Result<()> {
        let _no_grad = tch::no_grad_guard();
        self.step += 1;
        let step = self.step as f64;
        // Python evaluates these in float64 with C's pow, as does f64::powf.
        let bias_correction1 = 1.0 - BETA1.powf(step);
        let bias_correction2 = 1.0 - BETA2.powf(step);
        let step_size = self.lr / bias_correction1;
        let bias_correction2_sqrt = bias_correction2.powf(0.5);
        for (((param, grad), m), v) in params
            .iter_mut()
            .zip(grads)
            .zip(&mut self.exp_avg)
            .zip(&mut self.exp_avg_sq)
        {
            let _ = m.f_lerp_(grad, 1.0 - BETA1)?;
            // `addcmul_(a, b, value=c)` computes `self + (c·a)·b`; tch's
            // binding has no `value`, so `c·a` is formed first with the same
            // float32 rounding. Likewise for `addcdiv_` below.
            let _ = v
                .f_mul_scalar_(BETA2)?
                .f_addcmul_(&grad.f_mul_scalar(1.0 - BETA2)?, grad)?;
            let denom = v
                .f_sqrt()?
                .f_div_scalar(bias_correction2_sqrt)?
                .f_add_scalar(EPS)?;
            let _ = param.f_addcdiv_(&m.f_mul_scalar(-step_size)?, &denom)?;
        }
        Ok(())
    }
}
