//! Per-unit membrane time constants. The notebook gives every hidden unit
//! one τ and every readout unit another; Perez-Nieves et al. (Nat. Commun.
//! 2021) found that networks whose units differ in τ, and learn it, do
//! better on temporal tasks. With `tau-init gamma` each unit's τ is drawn
//! from a gamma distribution of shape 3 around the layer's τ (their
//! initialisation); with `learn-tau on` each τ is trained with the weights
//! and kept within `TimeConstants::range`.
//!
//! The decay of a unit is `α = exp(-dt/τ)`, computed in float64 and rounded
//! to float32 once, like the layers' shared decays; its gradient reaches τ
//! through `dα/dτ = α·dt/τ²`.

use anyhow::{ensure, Result};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use tch::{Device, Kind, Tensor};

use crate::config::{Config, Switch, TauInit};
use crate::host;
use crate::seed::splitmix64;

/// The stream of the gamma draws, apart from every other of the seed.
const TAU_STREAM: u64 = 0x7461_755f_696e_6974;

/// The gamma distribution's shape: Perez-Nieves et al.'s k = 3, whose
/// spread (a coefficient of variation of 1/√3) puts most units within a
/// factor of 3 of the layer's τ.
pub const GAMMA_SHAPE: u32 = 3;

/// The time constants of each unit, in ms, float32: `(hidden,)` and
/// `(classes,)`. As gradients, the same shapes.
pub struct TimeConstants {
    pub hidden: Tensor,
    pub output: Tensor,
}

/// How a tensor step decays the state it is given.
pub enum Decay {
    /// One factor for every unit.
    Shared(f64),
    /// One factor per unit, a tensor over the last dimension that autograd
    /// differentiates.
    PerUnit(Tensor),
}

impl Decay {
    /// `α·v`.
    pub fn apply(&self, v: &Tensor) -> Tensor {
        match self {
            Decay::Shared(alpha) => v * *alpha,
            Decay::PerUnit(alpha) => v * alpha,
        }
    }
}

/// The decays of the hidden and the readout layer for the tensor steps:
/// the config's shared ones, or each unit's from `tau`.
pub fn layer_decays(cfg: &Config, tau: Option<&TimeConstants>) -> Result<(Decay, Decay)> {
    Ok(match tau {
        None => (
            Decay::Shared(super::LifParams::new(cfg).alpha),
            Decay::Shared(super::ReadoutParams::new(cfg).alpha),
        ),
        Some(tau) => {
            let (hidden, output) = tau.decays(cfg)?;
            (Decay::PerUnit(hidden), Decay::PerUnit(output))
        }
    })
}

/// Whether this config gives each unit its own time constant.
pub fn per_unit(cfg: &Config) -> bool {
    cfg.network.tau_init != TauInit::Equal || cfg.network.learn_tau == Switch::On
}

/// The range τ is kept in, ms: from a tenth of a step (a unit that forgets
/// everything between steps) to ten times the stimulus (one that forgets
/// nothing within it). `Config::validate` holds the layers' τ to it.
pub fn range(cfg: &Config) -> (f64, f64) {
    (cfg.stimulus.dt_ms / 10.0, cfg.stimulus.duration_ms * 10.0)
}

impl TimeConstants {
    /// The initial time constants of a config that gives each unit its own,
    /// from a stream of the seed of their own (the other draws of a run stay
    /// as they are); none where every unit shares its layer's.
    pub fn initial(cfg: &Config, device: Device) -> Result<Option<TimeConstants>> {
        if !per_unit(cfg) {
            return Ok(None);
        }
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(splitmix64(cfg.run.seed ^ TAU_STREAM));
        let (low, high) = range(cfg);
        let mut layer = |n: usize, tau: f64| -> Result<Tensor> {
            let values: Vec<f32> = (0..n)
                .map(|_| match cfg.network.tau_init {
                    TauInit::Equal => tau,
                    TauInit::Gamma => gamma(&mut rng, tau).clamp(low, high),
                })
                .map(|tau| tau as f32)
                .collect();
            Ok(Tensor::f_from_slice(&values)?.f_to_device(device)?)
        };
        let net = &cfg.network;
        let taus = TimeConstants {
            hidden: layer(net.num_hidden, net.tau_hidden_ms)?,
            output: layer(cfg.data.num_classes, net.tau_output_ms)?,
        };
        Ok(Some(taus.trained_if(cfg)))
    }

    /// Marks both as trained where the config learns them.
    pub fn trained_if(self, cfg: &Config) -> TimeConstants {
        let learn = cfg.network.learn_tau == Switch::On;
        TimeConstants {
            hidden: self.hidden.set_requires_grad(learn),
            output: self.output.set_requires_grad(learn),
        }
    }

    /// Both, in a fixed order.
    pub fn both(&self) -> [&Tensor; 2] {
        [&self.hidden, &self.output]
    }

    /// Checks the shapes and the range against a config.
    pub fn check(&self, cfg: &Config) -> Result<()> {
        let (low, high) = range(cfg);
        for (name, t, n) in [
            ("tau_hidden_ms", &self.hidden, cfg.network.num_hidden),
            ("tau_output_ms", &self.output, cfg.data.num_classes),
        ] {
            ensure!(
                t.size() == [n as i64] && t.kind() == Kind::Float,
                "{name} has shape {:?} ({:?}) but the config needs ({n},) float32",
                t.size(),
                t.kind()
            );
            let values = Vec::<f32>::try_from(&t.f_detach()?.f_to_device(Device::Cpu)?)?;
            ensure!(
                values.iter().all(|&x| (low..=high).contains(&f64::from(x))),
                "{name} holds time constants outside {low} to {high} ms"
            );
        }
        Ok(())
    }

    /// Clamps both into `range`, in place, after an optimiser step.
    pub fn clamp_(&mut self, cfg: &Config) -> Result<()> {
        let _no_grad = tch::no_grad_guard();
        let (low, high) = range(cfg);
        for t in [&mut self.hidden, &mut self.output] {
            let _ = t.f_clamp_(low, high)?;
        }
        Ok(())
    }

    /// Each unit's decay `exp(-dt/τ)` of both layers, differentiable: the
    /// tensor steps' `Decay::PerUnit`.
    pub fn decays(&self, cfg: &Config) -> Result<(Tensor, Tensor)> {
        let decay = |tau: &Tensor| -> Result<Tensor> {
            Ok(tau
                .f_to_kind(Kind::Double)?
                .f_reciprocal()?
                .f_mul_scalar(-cfg.stimulus.dt_ms)?
                .f_exp()?
                .f_to_kind(Kind::Float)?)
        };
        Ok((decay(&self.hidden)?, decay(&self.output)?))
    }
}

/// One layer's time constants in float32 on the host, and their decays.
pub struct HostDecays {
    /// Empty where the layer's units share one.
    pub tau: Vec<f32>,
    pub alpha: Vec<f32>,
}

impl HostDecays {
    /// Both layers' decays for the fused engine's loops: the config's
    /// shared ones (rounded to float32 as `LifScalars` rounds them), or each
    /// unit's from `tau`.
    pub fn of_layers(cfg: &Config, tau: Option<&TimeConstants>) -> Result<[HostDecays; 2]> {
        Ok(match tau {
            None => {
                let shared = |alpha: f64, n: usize| HostDecays {
                    tau: Vec::new(),
                    alpha: vec![alpha as f32; n],
                };
                [
                    shared(super::LifParams::new(cfg).alpha, cfg.network.num_hidden),
                    shared(super::ReadoutParams::new(cfg).alpha, cfg.data.num_classes),
                ]
            }
            Some(tau) => [
                HostDecays::new(&tau.hidden, cfg.stimulus.dt_ms)?,
                HostDecays::new(&tau.output, cfg.stimulus.dt_ms)?,
            ],
        })
    }

    /// `exp(-dt/τ)` of each unit, as `decays` computes it.
    pub fn new(tau: &Tensor, dt_ms: f64) -> Result<HostDecays> {
        let tau = host::to_vec::<f32>(tau)?;
        let alpha = tau
            .iter()
            .map(|&t| (-dt_ms / f64::from(t)).exp() as f32)
            .collect();
        Ok(HostDecays { tau, alpha })
    }

    /// `∂L/∂τ` from `∂L/∂α` of each unit: `∂L/∂α·α·dt/τ²`.
    pub fn tau_gradient(&self, g_alpha: &[f64], dt_ms: f64) -> Result<Tensor> {
        let g: Vec<f32> = g_alpha
            .iter()
            .zip(&self.tau)
            .zip(&self.alpha)
            .map(|((&g, &tau), &alpha)| {
                let tau = f64::from(tau);
                (g * f64::from(alpha) * dt_ms / (tau * tau)) as f32
            })
            .collect();
        Ok(Tensor::f_from_slice(&g)?)
    }
}

/// A gamma(3) draw of mean `mean`: the sum of three exponentials of mean
/// `mean/3`, `-mean/3·ln(u₁u₂u₃)` with each `u` in (0, 1].
fn gamma(rng: &mut Xoshiro256PlusPlus, mean: f64) -> f64 {
    let product: f64 = (0..GAMMA_SHAPE)
        .map(|_| 1.0 - rng.random::<f64>())
        .product();
    -mean / f64::from(GAMMA_SHAPE) * product.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_draws_have_the_layers_mean_and_the_shapes_spread() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let draws: Vec<f64> = (0..200_000).map(|_| gamma(&mut rng, 2.0)).collect();
        let (mean, std) = crate::analysis::mean_std(&draws);
        assert!((mean - 2.0).abs() < 0.01, "mean {mean}");
        // Gamma(k, θ): std/mean = 1/√k.
        let cv = std / mean;
        assert!((cv - 1.0 / 3f64.sqrt()).abs() < 0.01, "cv {cv}");
        assert!(draws.iter().all(|&x| x > 0.0));
    }

    #[test]
    fn equal_time_constants_decay_like_the_shared_one() {
        let mut cfg = Config::default();
        cfg.network.learn_tau = Switch::On;
        let taus = TimeConstants::initial(&cfg, Device::Cpu).unwrap().unwrap();
        assert!(taus.hidden.requires_grad());
        let host = HostDecays::new(&taus.hidden, cfg.stimulus.dt_ms).unwrap();
        let shared = crate::model::LifParams::new(&cfg).alpha as f32;
        assert!(host
            .alpha
            .iter()
            .all(|&a| (a - shared).abs() <= f32::EPSILON));
        let (alpha, _) = taus.decays(&cfg).unwrap();
        assert_eq!(host::to_vec::<f32>(&alpha).unwrap(), host.alpha);
        cfg.network.learn_tau = Switch::Off;
        assert!(TimeConstants::initial(&cfg, Device::Cpu).unwrap().is_none());
    }

    #[test]
    fn the_tau_gradient_is_the_chain_rule_through_the_decay() {
        let tau = Tensor::from_slice(&[2.0f32, 5.0]);
        let host = HostDecays::new(&tau, 1.0).unwrap();
        let g = host::to_vec::<f32>(&host.tau_gradient(&[1.0, -2.0], 1.0).unwrap()).unwrap();
        // d/dτ exp(-1/τ) = exp(-1/τ)/τ².
        let want = [(-0.5f64).exp() / 4.0, -2.0 * (-0.2f64).exp() / 25.0];
        for (g, w) in g.iter().zip(want) {
            assert!((f64::from(*g) - w).abs() < 1e-6);
        }
    }
}
