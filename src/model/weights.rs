//! The two trainable weight matrices: W1 from the input fibres to the hidden
//! LIF layer, W2 from the hidden spikes to the readout.

use anyhow::{ensure, Result};
use tch::{Device, Kind, Tensor};

use crate::config::Config;

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
        let want_w1 = [cfg.input_size() as i64, cfg.network.num_hidden as i64];
        let want_w2 = [cfg.network.num_hidden as i64, cfg.data.num_classes as i64];
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
        w1: init(cfg.input_size(), cfg.network.num_hidden)?,
        w2: init(cfg.network.num_hidden, cfg.data.num_classes)?,
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
