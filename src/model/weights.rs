//! The two trainable weight matrices: W1 from the input fibres to the hidden
//! LIF layer, W2 from the hidden spikes to the readout.

use anyhow::{ensure, Result};
use tch::{Device, Kind, Tensor};

use crate::config::Config;
use crate::host;
use crate::portable::Arithmetic;

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

    /// Whether every weight is a finite number, and if not, which matrix
    /// holds the first that is not.
    pub fn first_not_finite(&self) -> Result<Option<&'static str>> {
        for (name, t) in [("W1", &self.w1), ("W2", &self.w2)] {
            if t.f_isfinite()?.f_all()?.f_int64_value(&[])? == 0 {
                return Ok(Some(name));
            }
        }
        Ok(None)
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
/// default generator: the notebook's `init_weight_matrices`. Both forms draw
/// the same 32-bit words from the generator, one per weight, so what comes
/// after (the batch orders) is the same. `Libtorch` leaves the arithmetic to
/// `uniform_`, whose result depends on ATen's vector level (its AVX2 and
/// AVX-512 builds fuse `x·(to - from) + from` into one multiply-add, its
/// default build rounds twice); `Portable` computes the fused form itself,
/// which equals libtorch's on every CPU with AVX2.
pub fn init_weight_matrices(
    cfg: &Config,
    device: Device,
    arithmetic: Arithmetic,
) -> Result<Weights> {
    let init = |rows: usize, cols: usize| -> Result<Tensor> {
        let shape = [rows as i64, cols as i64];
        let bound = 1.0 / (torch_fan_in(&shape) as f64).sqrt();
        let w = match arithmetic {
            Arithmetic::Libtorch => {
                let mut w = Tensor::f_empty(shape, (Kind::Float, device))?;
                let _ = w.f_uniform_(-bound, bound)?;
                w
            }
            Arithmetic::Portable => {
                let mut words = Tensor::f_empty(shape, (Kind::Int, Device::Cpu))?;
                let _ = words.f_random_()?;
                let (from, to) = (-bound as f32, bound as f32);
                let values: Vec<f32> = host::slice::<i32>(&words)?
                    .iter()
                    .map(|&word| uniform_from_word(word as u32, from, to))
                    .collect();
                Tensor::f_from_slice(&values)?
                    .f_view(shape)?
                    .f_to_device(device)?
            }
        };
        Ok(w.set_requires_grad(true))
    };
    Ok(Weights {
        w1: init(cfg.input_size(), cfg.network.num_hidden)?,
        w2: init(cfg.network.num_hidden, cfg.data.num_classes)?,
    })
}

/// libtorch's `uniform_real` for float32: the word's low 24 bits as a
/// fraction in [0, 1), scaled to [from, to) with one rounding. (`random_`
/// on int32 keeps a word's low 31 bits, so these 24 come through.)
fn uniform_from_word(word: u32, from: f32, to: f32) -> f32 {
    let fraction = (word & 0xFF_FFFF) as f32 * (1.0 / (1u32 << 24) as f32);
    fraction.mul_add(to - from, from)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vectors::Vectors;

    #[test]
    fn portable_initial_weights_are_libtorchs_fused_uniform() {
        let cfg = Config::default();
        let draw = |arithmetic| {
            tch::manual_seed(5);
            let w = init_weight_matrices(&cfg, Device::Cpu, arithmetic).unwrap();
            (
                w,
                Tensor::f_randperm(50, (Kind::Int64, Device::Cpu)).unwrap(),
            )
        };
        let ((ours, after_ours), (theirs, after_theirs)) =
            (draw(Arithmetic::Portable), draw(Arithmetic::Libtorch));
        assert!(
            after_ours.equal(&after_theirs),
            "the forms draw different words"
        );
        let bound = 1.0 / (cfg.network.num_hidden as f64).sqrt() as f32;
        let w1 = Vec::<f32>::try_from(&ours.w1.detach().flatten(0, -1)).unwrap();
        assert!(w1.iter().all(|w| w.abs() <= bound));
        // ATen's default build rounds twice; every CPU with AVX2 runs a
        // fused build unless told otherwise.
        let default_build = std::env::var("ATEN_CPU_CAPABILITY").is_ok_and(|l| l == "default");
        if Vectors::detected() >= Vectors::Avx2 && !default_build {
            assert!(ours.w1.equal(&theirs.w1) && ours.w2.equal(&theirs.w2));
        }
    }
}
