//! The leaky, non-spiking readout layer and the loss read from it: its
//! parameters, its update as a tensor step for autograd and as a scalar step
//! with its partial derivatives for the fused engine's loops, and the class
//! scores and loss that both engines share.

use anyhow::{bail, Result};
use tch::{Kind, Reduction, Tensor};

use super::lif::decay;
use super::time_constants::{Decay, TimeConstants};
use crate::config::{Config, Readout};
use crate::portable;

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
/// reset, decaying by `decay` (`ReadoutParams::alpha`, or each unit's own).
pub fn readout_step(v: &Tensor, h_t: &Tensor, decay: &Decay) -> Tensor {
    decay.apply(v) + h_t
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
    /// The same unit with its own decay (`time_constants`).
    #[inline(always)]
    pub fn with_alpha(self, alpha: f32) -> Self {
        ReadoutScalars { alpha }
    }

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

/// `scores` of one sample's trace `(steps, classes)`, in float32 for the
/// fused engine's loops: each class's potential summed in time order, or
/// its first maximum over time, whose step goes to `peaks` (NaN counts as
/// the largest, as libtorch's `max` has it).
pub fn sample_scores(trace: &[f32], kind: Readout, scores: &mut [f32], peaks: &mut [usize]) {
    let classes = scores.len();
    for (c, (score, peak)) in scores.iter_mut().zip(peaks.iter_mut()).enumerate() {
        let over_time = trace.iter().skip(c).step_by(classes.max(1));
        (*score, *peak) = match kind {
            Readout::Sum => (over_time.fold(0.0, |sum, u| sum + u), 0),
            Readout::Max => over_time
                .enumerate()
                .fold((f32::NEG_INFINITY, 0), |best, (t, &u)| {
                    match u > best.0 || (u.is_nan() && !best.0.is_nan()) {
                        true => (u, t),
                        false => best,
                    }
                }),
        };
    }
}

/// `loss_from_scores` and its gradient in the program's own float64
/// arithmetic (`portable`), the same bits on every processor: the mean over
/// samples of `ln Σ_c e^{m_c} - m_label` with `m = scale · scores`
/// `(batch, classes)`, and `∂loss/∂scores` in float32.
pub fn cross_entropy(scores: &[f32], labels: &[i64], scale: f64) -> Result<(f64, Vec<f32>)> {
    let batch = labels.len();
    let classes = scores.len() / batch.max(1);
    let mut grad = vec![0f32; scores.len()];
    let mut total = 0.0;
    for ((scores, grad), &label) in scores
        .chunks(classes)
        .zip(grad.chunks_mut(classes))
        .zip(labels)
    {
        let Some(label) = usize::try_from(label).ok().filter(|&l| l < classes) else {
            bail!("class {label} is outside the {classes} classes");
        };
        let portable::ScaledExponentials {
            scaled: m,
            top,
            exps: e,
            sum: z,
        } = portable::scaled_exponentials(scores, scale);
        total += top + portable::ln(z) - m[label];
        for (c, (g, e)) in grad.iter_mut().zip(&e).enumerate() {
            let target = (c == label) as u8 as f64;
            *g = (scale * (e / z - target) / batch as f64) as f32;
        }
    }
    Ok((total / batch as f64, grad))
}

/// Loss of one batch and the gradients of the trained parameters.
pub struct Gradients {
    pub loss: f64,
    pub w1: Tensor,
    pub w2: Tensor,
    /// Of each unit's time constant, where they are learned.
    pub tau: Option<TimeConstants>,
    /// Of the recurrent weights, where the layer is recurrent.
    pub w_rec: Option<Tensor>,
    /// Of the delays (in steps), where the input synapses have them.
    pub delays: Option<Tensor>,
}

impl Gradients {
    /// The gradients in `Weights::trained`'s order.
    pub fn into_trained(self) -> Vec<Tensor> {
        let taus = self.tau.into_iter().flat_map(|t| [t.hidden, t.output]);
        [self.w1, self.w2]
            .into_iter()
            .chain(taus)
            .chain(self.w_rec)
            .chain(self.delays)
            .collect()
    }
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

    #[test]
    fn sample_scores_sum_in_time_order_or_take_the_first_maximum() {
        // Three steps of two classes.
        let trace = [0.0, 0.0, 1.0, 2.0, 3.0, 2.0];
        let (mut scores, mut peaks) = ([0f32; 2], [9usize; 2]);
        sample_scores(&trace, Readout::Sum, &mut scores, &mut peaks);
        assert_eq!(scores, [4.0, 4.0]);
        sample_scores(&trace, Readout::Max, &mut scores, &mut peaks);
        assert_eq!((scores, peaks), ([3.0, 2.0], [2, 1]));
        let nan = [0.0, f32::NAN, 1.0, 2.0];
        sample_scores(&nan, Readout::Max, &mut scores, &mut peaks);
        assert!(scores[1].is_nan() && peaks[1] == 0);
    }

    #[test]
    fn cross_entropy_is_libtorchs_loss_and_gradient() {
        tch::manual_seed(2);
        let scores = Tensor::randn([6, 12], (Kind::Float, tch::Device::Cpu)) * 0.3;
        let labels = Tensor::from_slice(&[0i64, 3, 11, 5, 5, 7]);
        let p = ReadoutParams {
            alpha: 0.9,
            scale: 2.5,
            kind: Readout::Sum,
        };
        let x = scores.copy().set_requires_grad(true);
        let theirs = loss_from_scores(&x, &labels, &p).unwrap();
        let grad = Tensor::run_backward(&[&theirs], &[&x], false, false)
            .pop()
            .unwrap();
        let flat = |t: &Tensor| Vec::<f32>::try_from(&t.flatten(0, -1)).unwrap();
        let ours = cross_entropy(
            &flat(&scores),
            &Vec::<i64>::try_from(&labels).unwrap(),
            p.scale,
        )
        .unwrap();
        assert!((ours.0 - theirs.double_value(&[])).abs() < 1e-6);
        for (a, b) in ours.1.iter().zip(flat(&grad)) {
            assert!((a - b).abs() < 1e-6, "{a} against {b}");
        }
        let nan = cross_entropy(&[f32::NAN, 0.0], &[1], 1.0).unwrap();
        assert!(nan.0.is_nan());
        assert!(cross_entropy(&[0.0, 0.0], &[2], 1.0).is_err());
    }
}
