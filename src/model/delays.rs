//! Learnable synaptic delays from the input fibres to the hidden layer.
//!
//! Jeffress's model of sound localisation puts the IPD in delay lines: a
//! coincidence detector fires when the two ears' spikes, each delayed by its
//! own line, arrive together. With `max-delay-ms` above 0 every synapse of
//! W1 gets a delay in `0..=max` steps, trained the way DCLS does it
//! (Hammouamri, Khalfaoui-Hassani and Masquelier, ICLR 2024): the synapse is
//! a kernel over the delay steps, its weight spread by a Gaussian centred on
//! the delay, so the loss has a gradient with respect to the delay's
//! position. The Gaussian starts half the delay range wide, so that a delay
//! feels spikes far from it, and narrows geometrically epoch by epoch to
//! half a step in the last (`width_in_epoch`), where it is almost one step
//! wide. After training, and in `eval` and `inspect`, each delay is rounded
//! to its whole step: the kernel is one-hot, and the network is one with
//! exactly integer delays.

use anyhow::{ensure, Context, Result};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use tch::{Device, Kind, Tensor};

use crate::config::Config;
use crate::seed::splitmix64;

/// The stream of the initial delays, apart from every other of the seed.
const DELAY_STREAM: u64 = 0x6465_6c61_795f_696e;

/// The Gaussian's width in the last epoch, in steps: narrow enough that
/// rounding the delays afterwards changes little (the neighbouring steps get
/// e^-2 of the centre's weight).
pub const FINAL_WIDTH: f64 = 0.5;

/// The delay of each synapse and the width it is spread over.
pub struct Delays {
    /// `(input, hidden)` float32, each synapse's delay in steps, within
    /// `0..=max_steps`; trained.
    pub steps: Tensor,
    /// The Gaussian's standard deviation in steps while training; `None`:
    /// each delay is rounded to its whole step.
    pub width: Option<f64>,
}

/// The longest delay in whole steps; 0 where the config has no delays.
pub fn max_steps(cfg: &Config) -> i64 {
    cfg.max_delay_steps() as i64
}

/// Whether this config's input synapses have delays.
pub fn delayed(cfg: &Config) -> bool {
    max_steps(cfg) > 0
}

/// The Gaussian's width in `epoch` (1-based) of a training: half the delay
/// range in the first, `FINAL_WIDTH` in the last, geometric in between.
pub fn width_in_epoch(cfg: &Config, epoch: usize) -> f64 {
    let first = (max_steps(cfg) as f64 / 2.0).max(FINAL_WIDTH);
    let epochs = cfg.training.epochs;
    if epochs <= 1 {
        return FINAL_WIDTH;
    }
    let progress = (epoch.clamp(1, epochs) - 1) as f64 / (epochs - 1) as f64;
    first * (FINAL_WIDTH / first).powf(progress)
}

impl Delays {
    /// The initial delays of a config that has them, uniform over
    /// `0..=max_steps` (DCLS's initialisation), from a stream of the seed of
    /// their own, so that the other draws of a run stay as they are.
    pub fn initial(cfg: &Config, device: Device) -> Result<Option<Delays>> {
        if !delayed(cfg) {
            return Ok(None);
        }
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(splitmix64(cfg.run.seed ^ DELAY_STREAM));
        let max = max_steps(cfg) as f32;
        let n = cfg.input_size() * cfg.network.num_hidden;
        let values: Vec<f32> = (0..n).map(|_| rng.random::<f32>() * max).collect();
        let steps = Tensor::f_from_slice(&values)?
            .f_view([cfg.input_size() as i64, cfg.network.num_hidden as i64])?
            .f_to_device(device)?
            .set_requires_grad(true);
        Ok(Some(Delays {
            steps,
            width: Some(width_in_epoch(cfg, 1)),
        }))
    }

    /// The same width over other delays (a copy, a leaf of another graph).
    pub fn with_steps(&self, steps: Tensor) -> Delays {
        Delays {
            steps,
            width: self.width,
        }
    }

    /// Checks the shape and the range against a config.
    pub fn check(&self, cfg: &Config) -> Result<()> {
        let want = [cfg.input_size() as i64, cfg.network.num_hidden as i64];
        ensure!(
            self.steps.size() == want && self.steps.kind() == Kind::Float,
            "delay_steps has shape {:?} ({:?}) but the config needs {want:?} float32 (2*anf-per-ear x num-hidden)",
            self.steps.size(),
            self.steps.kind()
        );
        let max = max_steps(cfg) as f64;
        let (low, high) = (
            self.steps.f_min()?.f_double_value(&[])?,
            self.steps.f_max()?.f_double_value(&[])?,
        );
        ensure!(
            low >= 0.0 && high <= max,
            "delay_steps holds delays outside 0 to {max} steps (`max-delay-ms` / `dt-ms`); set `max-delay-ms` as the run did"
        );
        Ok(())
    }

    /// Clamps the delays into `0..=max_steps`, in place, after an optimiser
    /// step.
    pub fn clamp_(&mut self, cfg: &Config) -> Result<()> {
        let _no_grad = tch::no_grad_guard();
        let _ = self.steps.f_clamp_(0.0, max_steps(cfg) as f64)?;
        Ok(())
    }

    /// Each delay rounded to its whole step, as `int64` `(input, hidden)`.
    pub fn whole_steps(&self) -> Result<Tensor> {
        Ok(self.steps.f_detach()?.f_round()?.f_to_kind(Kind::Int64)?)
    }

    /// `(input, hidden, max + 1)`: how much of W1's weight each synapse
    /// gives to the input of `k` steps ago, for k = 0..=max. Differentiable
    /// in both the weights and, while training, the delays.
    pub fn kernel(&self, w1: &Tensor, max: i64) -> Result<Tensor> {
        let device = w1.device();
        let k = Tensor::f_arange(max + 1, (Kind::Float, device))?;
        let spread = match self.width {
            Some(width) => {
                let z = k.f_sub(&self.steps.f_unsqueeze(-1)?)?.f_div_scalar(width)?;
                let g = z.f_square()?.f_mul_scalar(-0.5)?.f_exp()?;
                let total = g.f_sum_dim_intlist([-1].as_slice(), true, Kind::Float)?;
                g.f_div(&total)?
            }
            None => self
                .whole_steps()?
                .f_clamp(0, max)?
                .f_one_hot(max + 1)?
                .f_to_kind(Kind::Float)?,
        };
        // The Gaussian's far tails are subnormal floats, on which oneDNN's
        // convolution runs several times slower; they weigh nothing.
        let kernel = spread.f_mul(&w1.f_unsqueeze(-1)?)?;
        let normal = kernel.f_abs()?.f_ge(f64::from(f32::MIN_POSITIVE))?;
        Ok(kernel.f_mul(&normal)?)
    }
}

/// The hidden layer's input current `(batch, steps, hidden)` from
/// `(batch, steps, input)` spikes through delayed synapses: at step t each
/// synapse sums its kernel over the inputs of steps t, t-1, …, t-max (none
/// before the first). That is a causal convolution over time, DCLS's own
/// form: libtorch's `conv1d` cross-correlates, so the kernel is read
/// backwards over spikes padded with `max` silent steps in front. (It is
/// about 3× faster than the same sum as an einsum over unfolded windows,
/// which copies every window.)
pub fn delayed_current(
    input_spikes: &Tensor,
    w1: &Tensor,
    delays: &Delays,
    max: i64,
) -> Result<Tensor> {
    let padded = input_spikes
        .f_transpose(1, 2)?
        .f_constant_pad_nd([max, 0])?;
    let kernel = delays.kernel(w1, max)?.f_flip([-1])?.f_permute([1, 0, 2])?;
    let current = padded.f_conv1d(&kernel, None::<Tensor>, [1], [0], [1], 1)?;
    Ok(current.f_transpose(1, 2)?)
}

/// The gradients of W1 and of the delays from `of_current`, the loss's
/// gradient with respect to `delayed_current`'s output: autograd through
/// the convolution alone, from leaves of its own (so both engines, and
/// weights autograd does not track, take the same path). The gradient's
/// subnormal values (below 2^-126) are zeroed first: a silent unit's are of
/// order 1e-40, and oneDNN's convolution computes the kernel's gradient
/// many times slower on them (its weight-gradient pass went from 7 to 150
/// ms a batch as units fell silent); no weight can feel such values
/// (`engine::fused::flush_subnormal` says why).
pub fn gradients_from_current(
    input_spikes: &Tensor,
    w1: &Tensor,
    delays: &Delays,
    max: i64,
    of_current: &Tensor,
) -> Result<(Tensor, Tensor)> {
    tch::with_grad(|| {
        let w1 = w1.f_detach()?.set_requires_grad(true);
        let leaves = delays.with_steps(delays.steps.f_detach()?.set_requires_grad(true));
        let normal = of_current.f_abs()?.f_ge(f64::from(f32::MIN_POSITIVE))?;
        let current = delayed_current(input_spikes, &w1, &leaves, max)?;
        let through = current
            .f_mul(&of_current.f_mul(&normal)?)?
            .f_sum(Kind::Float)?;
        let mut grads = Tensor::f_run_backward(&[&through], &[&w1, &leaves.steps], false, false)?;
        let of_delays = grads
            .pop()
            .context("autograd returned no gradient of the delays")?;
        let of_w1 = grads.pop().context("autograd returned no gradient of W1")?;
        Ok((of_w1, of_delays))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(max_delay_ms: f64, epochs: usize) -> Config {
        let mut cfg = Config::default();
        cfg.network.max_delay_ms = max_delay_ms;
        cfg.training.epochs = epochs;
        cfg
    }

    #[test]
    fn the_width_narrows_from_half_the_range_to_half_a_step() {
        let c = cfg(20.0, 5);
        assert_eq!(width_in_epoch(&c, 1), 10.0);
        assert!((width_in_epoch(&c, 5) - FINAL_WIDTH).abs() < 1e-12);
        let widths: Vec<f64> = (1..=5).map(|e| width_in_epoch(&c, e)).collect();
        assert!(widths.windows(2).all(|w| w[1] < w[0]), "{widths:?}");
        assert_eq!(width_in_epoch(&cfg(20.0, 1), 1), FINAL_WIDTH);
    }

    #[test]
    fn a_trained_kernel_spreads_each_weight_whole_and_a_rounded_one_puts_it_on_one_step() {
        let w1 = Tensor::from_slice(&[2.0f32, -1.0]).view([2, 1]);
        let mut d = Delays {
            steps: Tensor::from_slice(&[1.4f32, 2.6]).view([2, 1]),
            width: Some(1.0),
        };
        let spread = d.kernel(&w1, 3).unwrap();
        let sums = Vec::<f32>::try_from(
            spread
                .sum_dim_intlist([-1].as_slice(), false, Kind::Float)
                .flatten(0, -1),
        )
        .unwrap();
        assert!((sums[0] - 2.0).abs() < 1e-6 && (sums[1] + 1.0).abs() < 1e-6);
        d.width = None;
        let rounded = Vec::<f32>::try_from(d.kernel(&w1, 3).unwrap().flatten(0, -1)).unwrap();
        assert_eq!(rounded, vec![0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0]);
    }

    #[test]
    fn a_delay_of_k_steps_moves_the_current_k_steps_later() {
        let mut spikes = vec![0.0f32; 6];
        spikes[1] = 1.0;
        let spikes = Tensor::from_slice(&spikes).view([1, 6, 1]);
        let w1 = Tensor::from_slice(&[1.5f32]).view([1, 1]);
        for k in 0..=3 {
            let d = Delays {
                steps: Tensor::from_slice(&[k as f32]).view([1, 1]),
                width: None,
            };
            let h = delayed_current(&spikes, &w1, &d, 3).unwrap();
            let h = Vec::<f32>::try_from(h.flatten(0, -1)).unwrap();
            let mut want = vec![0.0f32; 6];
            want[1 + k] = 1.5;
            assert_eq!(h, want, "delay {k}");
        }
    }
}
