//! The trained parameters: W1 from the input fibres to the hidden LIF
//! layer, W2 from the hidden spikes to the readout, W_rec from the hidden
//! spikes back to the hidden layer where it is recurrent, where the config
//! gives each unit its own, the units' time constants, and where the input
//! synapses have them, their delays.

use anyhow::{ensure, Result};
use tch::{Device, Kind, Tensor};

use super::delays::{self, Delays};
use super::time_constants::{self, TimeConstants};
use crate::config::{Config, Switch};
use crate::host;
use crate::portable::Arithmetic;

/// The network's parameters.
pub struct Weights {
    /// `(input_size, num_hidden)`.
    pub w1: Tensor,
    /// `(num_hidden, num_classes)`.
    pub w2: Tensor,
    /// Each unit's time constant, where the config gives each its own
    /// (`time_constants::per_unit`).
    pub tau: Option<TimeConstants>,
    /// `(num_hidden, num_hidden)`, from the unit that spiked (row) to the
    /// unit it drives (column), where the layer is recurrent.
    pub w_rec: Option<Tensor>,
    /// The delay of each W1 synapse, where the config has them.
    pub delays: Option<Delays>,
}

/// The names the parameters are saved under, in `Weights::named`'s order.
pub const NAMES: [&str; 6] = [
    "W1",
    "W2",
    "tau_hidden_ms",
    "tau_output_ms",
    "W_rec",
    "delay_steps",
];

/// Whether this config's hidden layer is recurrent.
pub fn recurrent(cfg: &Config) -> bool {
    cfg.network.recurrent == Switch::On
}

impl Weights {
    /// Every parameter by the name it is saved under, in a fixed order:
    /// W1, W2, the time constants, W_rec and the delays, those the network
    /// has.
    pub fn named(&self) -> Vec<(&'static str, &Tensor)> {
        let mut named = vec![(NAMES[0], &self.w1), (NAMES[1], &self.w2)];
        if let Some(t) = &self.tau {
            named.extend([(NAMES[2], &t.hidden), (NAMES[3], &t.output)]);
        }
        named.extend(self.w_rec.iter().map(|w| (NAMES[4], w)));
        named.extend(self.delays.iter().map(|d| (NAMES[5], &d.steps)));
        named
    }

    /// The parameters the optimiser steps (those autograd tracks), by name,
    /// in `named`'s order.
    pub fn trained(&self) -> Vec<(&'static str, &Tensor)> {
        let mut named = self.named();
        named.retain(|(_, t)| t.requires_grad());
        named
    }

    /// `trained`, for stepping in place.
    pub fn trained_mut(&mut self) -> Vec<&mut Tensor> {
        let mut all = vec![&mut self.w1, &mut self.w2];
        if let Some(t) = &mut self.tau {
            all.extend([&mut t.hidden, &mut t.output]);
        }
        all.extend(self.w_rec.as_mut());
        all.extend(self.delays.as_mut().map(|d| &mut d.steps));
        all.retain(|t| t.requires_grad());
        all
    }

    /// The parameters from tensors found by name (`find`), for `cfg`: the
    /// time constants where it gives each unit its own, W_rec where it is
    /// recurrent, the delays (rounded to whole steps) where it has them.
    /// Checked like `check_shapes`.
    pub fn from_named(
        cfg: &Config,
        mut find: impl FnMut(&str) -> Result<Tensor>,
    ) -> Result<Weights> {
        let tau = match time_constants::per_unit(cfg) {
            false => None,
            true => Some(TimeConstants {
                hidden: find(NAMES[2])?,
                output: find(NAMES[3])?,
            }),
        };
        let w = Weights {
            w1: find(NAMES[0])?,
            w2: find(NAMES[1])?,
            tau,
            w_rec: recurrent(cfg).then(|| find(NAMES[4])).transpose()?,
            delays: delays::delayed(cfg)
                .then(|| find(NAMES[5]))
                .transpose()?
                .map(|steps| Delays { steps, width: None }),
        };
        w.check_shapes(cfg)?;
        Ok(w)
    }

    /// A copy detached from any graph, on `device`.
    pub fn detached_copy(&self, device: Device) -> Result<Weights> {
        let copy = |t: &Tensor| -> Result<Tensor> { Ok(t.f_detach()?.f_to_device(device)?.copy()) };
        Ok(Weights {
            w1: copy(&self.w1)?,
            w2: copy(&self.w2)?,
            tau: match &self.tau {
                None => None,
                Some(t) => Some(TimeConstants {
                    hidden: copy(&t.hidden)?,
                    output: copy(&t.output)?,
                }),
            },
            w_rec: self.w_rec.as_ref().map(copy).transpose()?,
            delays: match &self.delays {
                None => None,
                Some(d) => Some(d.with_steps(copy(&d.steps)?)),
            },
        })
    }

    /// The same parameters tracked by autograd where `cfg` trains them.
    pub fn trained_by(self, cfg: &Config) -> Weights {
        Weights {
            w1: self.w1.set_requires_grad(true),
            w2: self.w2.set_requires_grad(true),
            tau: self.tau.map(|t| t.trained_if(cfg)),
            w_rec: self.w_rec.map(|w| w.set_requires_grad(true)),
            delays: self
                .delays
                .map(|d| d.with_steps(d.steps.shallow_clone().set_requires_grad(true))),
        }
    }

    /// Whether every parameter is a finite number, and if not, which one
    /// holds the first that is not.
    pub fn first_not_finite(&self) -> Result<Option<&'static str>> {
        for (name, t) in self.named() {
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
        self.check_recurrent(cfg)?;
        self.check_delays(cfg)?;
        match (&self.tau, time_constants::per_unit(cfg)) {
            (Some(tau), true) => tau.check(cfg),
            (None, false) => Ok(()),
            (Some(_), false) => anyhow::bail!(
                "the weights hold per-unit time constants but the config gives every unit its layer's; set `tau-init` or `learn-tau` as the run did"
            ),
            (None, true) => anyhow::bail!(
                "the config gives each unit its own time constant (`tau-init`, `learn-tau`) but the weights hold none"
            ),
        }
    }
}

impl Weights {
    fn check_delays(&self, cfg: &Config) -> Result<()> {
        match (&self.delays, delays::delayed(cfg)) {
            (Some(d), true) => d.check(cfg),
            (None, false) => Ok(()),
            (Some(_), false) => anyhow::bail!(
                "the weights hold synaptic delays but the config has none; set `max-delay-ms` as the run did"
            ),
            (None, true) => anyhow::bail!(
                "the config's input synapses have delays (`max-delay-ms` above 0) but the weights hold no delay_steps"
            ),
        }
    }

    fn check_recurrent(&self, cfg: &Config) -> Result<()> {
        let n = cfg.network.num_hidden as i64;
        match (&self.w_rec, recurrent(cfg)) {
            (Some(w), true) => ensure!(
                w.size() == [n, n] && w.kind() == Kind::Float,
                "W_rec has shape {:?} ({:?}) but the config needs [{n}, {n}] float32 (num-hidden x num-hidden)",
                w.size(),
                w.kind()
            ),
            (None, false) => {}
            (Some(_), false) => anyhow::bail!(
                "the weights hold a recurrent W_rec but the config's hidden layer is not recurrent; set `recurrent` on as the run did"
            ),
            (None, true) => anyhow::bail!(
                "the config's hidden layer is recurrent (`recurrent` on) but the weights hold no W_rec"
            ),
        }
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
/// default generator: the notebook's `init_weight_matrices`; W_rec, where
/// the layer is recurrent, after them the same way (so a recurrent run's
/// batch orders differ from a feed-forward one's); per-unit time
/// constants and delays, where the config has them, come from streams of
/// their own. Both forms draw
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
    let hidden = cfg.network.num_hidden;
    let w1 = init(cfg.input_size(), hidden)?;
    let w2 = init(hidden, cfg.data.num_classes)?;
    Ok(Weights {
        w1,
        w2,
        tau: TimeConstants::initial(cfg, device)?,
        w_rec: recurrent(cfg).then(|| init(hidden, hidden)).transpose()?,
        delays: Delays::initial(cfg, device)?,
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
