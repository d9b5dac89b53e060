//! The notebook's network, step by step on autograd: the reference engine.
//!
//! A hidden layer of leaky integrate-and-fire (LIF) neurons fed by the input
//! spikes through W1, and a leaky, non-spiking readout fed by the hidden
//! spikes through W2. Both layers share the membrane time constant tau.

use anyhow::{ensure, Result};
use tch::{Device, Kind, Tensor};

use crate::config::Config;
use crate::surrogate::spike;

/// The two trainable weight matrices.
pub struct Weights {
    /// `(input_size, num_hidden)`.
    pub w1: Tensor,
    /// `(num_hidden, num_classes)`.
    pub w2: Tensor,
}

impl Weights {
    /// A copy detached from any graph, on `device`.
    pub fn detached_copy(&self, device: Device) -> Result<Weights> {
        Ok(Weights {
            w1: self.w1.f_detach()?.f_to_device(device)?.copy(),
            w2: self.w2.f_detach()?.f_to_device(device)?.copy(),
        })
    }

    /// Checks the shapes against a config, naming the mismatch.
    pub fn check_shapes(&self, cfg: &Config) -> Result<()> {
        let want_w1 = [cfg.input_size() as i64, cfg.num_hidden as i64];
        let want_w2 = [cfg.num_hidden as i64, cfg.num_classes as i64];
        ensure!(
            self.w1.size() == want_w1,
            "W1 has shape {:?} but the config needs {:?} (2*anf-per-ear x num-hidden)",
            self.w1.size(),
            want_w1
        );
        ensure!(
            self.w2.size() == want_w2,
            "W2 has shape {:?} but the config needs {:?} (num-hidden x num-classes)",
            self.w2.size(),
            want_w2
        );
        ensure!(
            self.w1.kind() == Kind::Float && self.w2.kind() == Kind::Float,
            "weights must be float32, got {:?} and {:?}",
            self.w1.kind(),
            self.w2.kind()
        );
        Ok(())
    }
}

/// The fan-in that torch's `_calculate_fan_in_and_fan_out` reports for a
/// 2-D tensor: its number of columns, `size(1)`. For W1 `(input, hidden)`
/// that is `num_hidden`, not the number of inputs; using the input count
/// would shrink W1 so much that the hidden layer never reaches threshold.
pub fn torch_fan_in(shape: &[i64]) -> i64 {
    let receptive: i64 = shape.iter().skip(2).product();
    shape.get(1).copied().unwrap_or(1) * receptive
}

/// W1 and W2 drawn uniform in ±1/sqrt(fan_in), W1 first, from libtorch's
/// default generator: the notebook's `init_weight_matrices`.
pub fn init_weight_matrices(cfg: &Config, device: Device) -> Result<Weights> {
    let init = |rows: usize, cols: usize| -> Result<Tensor> {
        let shape = [rows as i64, cols as i64];
        let bound = 1.0 / (torch_fan_in(&shape) as f64).sqrt();
        let mut w = Tensor::f_empty(shape, (Kind::Float, device))?;
        let _ = w.f_uniform_(-bound, bound)?;
        Ok(w.set_requires_grad(true))
    };
    Ok(Weights {
        w1: init(cfg.input_size(), cfg.num_hidden)?,
        w2: init(cfg.num_hidden, cfg.num_classes)?,
    })
}

/// The batch size and number of steps of `(batch, steps, input)` spikes.
pub fn batch_and_steps(input_spikes: &Tensor, cfg: &Config) -> Result<(i64, i64)> {
    let size = input_spikes.size();
    ensure!(
        size.len() == 3 && size[2] == cfg.input_size() as i64,
        "input spikes must be (batch, steps, {}), got {:?}",
        cfg.input_size(),
        size
    );
    Ok((size[0], size[1]))
}

/// One step of the hidden LIF layer, in the notebook's order: the new
/// potential integrates the input and is zeroed where the neuron spiked on
/// the previous step; the spike is read from the previous potential.
pub fn lif_step(v: &Tensor, s: &Tensor, h_t: &Tensor, alpha: f64, beta: f64) -> (Tensor, Tensor) {
    let new_v = (v * alpha + h_t) * (1.0 - s);
    let new_s = spike(&(v - 1.0), beta);
    (new_v, new_s)
}

/// One step of the leaky readout: integrates without spiking or reset.
pub fn readout_step(v: &Tensor, h_t: &Tensor, alpha: f64) -> Tensor {
    v * alpha + h_t
}

/// Runs the network on `(batch, steps, input)` float spikes and returns the
/// readout membrane potential `(batch, steps, num_classes)`: the notebook's
/// `snn`. State shapes follow the batch actually given.
pub fn snn(input_spikes: &Tensor, w: &Weights, cfg: &Config) -> Result<Tensor> {
    let (batch, steps) = batch_and_steps(input_spikes, cfg)?;
    let options = (Kind::Float, input_spikes.device());
    let (alpha, beta) = (cfg.alpha(), cfg.beta);

    let h = Tensor::f_einsum("abc,cd->abd", &[input_spikes, &w.w1], None::<i64>)?;
    let mut v = Tensor::f_zeros([batch, cfg.num_hidden as i64], options)?;
    let mut s = v.zeros_like();
    let mut s_rec = vec![s.shallow_clone()];
    for t in 0..steps - 1 {
        (v, s) = lif_step(&v, &s, &h.select(1, t), alpha, beta);
        s_rec.push(s.shallow_clone());
    }
    let s_rec = Tensor::f_stack(&s_rec, 1)?;

    let h = Tensor::f_einsum("abc,cd->abd", &[&s_rec, &w.w2], None::<i64>)?;
    let mut v = Tensor::f_zeros([batch, cfg.num_classes as i64], options)?;
    let mut v_rec = vec![v.shallow_clone()];
    for t in 0..steps - 1 {
        v = readout_step(&v, &h.select(1, t), alpha);
        v_rec.push(v.shallow_clone());
    }
    Ok(Tensor::f_stack(&v_rec, 1)?)
}
