//! Which implementation runs the network, decided once per run from the
//! config and the device, and what training and analysis ask of it.

pub mod fused;
pub mod reference;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use crate::config::{Config, EngineChoice, RngMode, Switch};
use crate::model::{delays, Gradients, Weights};
use crate::portable::Arithmetic;
use crate::spikes::{SpikeSet, Spikes};

/// The engine that runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    /// The notebook's autograd graph, step by step (`reference`).
    Reference,
    /// Hand-derived forward and backward passes over host memory (`fused`).
    Fused,
}

impl Engine {
    /// The engine for this config on this device. The fused engine runs its
    /// recurrences in host memory, so on a GPU the reference engine keeps
    /// the data where it is; reproducing the notebook (`rng` numpy) needs
    /// the notebook's own arithmetic; a recurrent layer and synaptic delays
    /// are the reference engine's alone (delays are a libtorch convolution
    /// either way, which dominates the time of a delayed batch).
    pub fn resolve(cfg: &Config, device: Device) -> Result<Engine> {
        let on_cpu = device == Device::Cpu;
        let reference_only = match (cfg.network.recurrent, delays::delayed(cfg)) {
            (Switch::On, _) => Some("a recurrent layer (`recurrent` on)"),
            (_, true) => Some("synaptic delays (`max-delay-ms` above 0)"),
            _ => None,
        };
        Ok(match (cfg.run.engine, reference_only) {
            (EngineChoice::Reference, _) => Engine::Reference,
            (EngineChoice::Fused, Some(what)) => {
                bail!("`engine` fused has no {what}; use `engine` reference or auto")
            }
            (EngineChoice::Fused, None) if on_cpu => Engine::Fused,
            (EngineChoice::Fused, None) => bail!(
                "`engine` fused runs on the CPU only; use `engine` reference or auto on this device"
            ),
            (EngineChoice::Auto, None) if on_cpu && cfg.run.rng == RngMode::Fast => Engine::Fused,
            (EngineChoice::Auto, _) => Engine::Reference,
        })
    }

    /// Whose arithmetic computes the numbers both could take from
    /// libtorch: the reference engine follows PyTorch on this processor,
    /// the fused engine gives the same bits on every one.
    pub fn arithmetic(self) -> Arithmetic {
        match self {
            Engine::Reference => Arithmetic::Libtorch,
            Engine::Fused => Arithmetic::Portable,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Engine::Reference => "reference",
            Engine::Fused => "fused",
        }
    }

    /// A data set's `(samples, steps, inputs)` spikes as this engine reads
    /// them: the reference engine multiplies dense batches, the fused
    /// engine lists the active inputs (`fused::spike_set`).
    pub fn spike_set(self, spikes: Tensor) -> Result<SpikeSet> {
        match self {
            Engine::Reference => Ok(SpikeSet::Dense(spikes)),
            Engine::Fused => fused::spike_set(spikes),
        }
    }

    /// Loss of one batch and the gradients of W1 and W2.
    pub fn loss_and_gradients(
        self,
        spikes: &Spikes,
        labels: &Tensor,
        w: &Weights,
        cfg: &Config,
    ) -> Result<Gradients> {
        match self {
            Engine::Reference => reference::loss_and_gradients(&spikes.dense()?, labels, w, cfg),
            Engine::Fused => fused::loss_and_gradients(spikes, labels, w, cfg),
        }
    }

    /// The network's class scores and hidden spike counts on a batch,
    /// without autograd.
    pub fn evaluate(self, spikes: &Spikes, w: &Weights, cfg: &Config) -> Result<Evaluation> {
        let _no_grad = tch::no_grad_guard();
        match self {
            Engine::Reference => reference::evaluate(&spikes.dense()?, w, cfg),
            Engine::Fused => fused::evaluate(spikes, w, cfg),
        }
    }

    /// The class scores `(batch, num_classes)`; their argmax is the
    /// estimated class.
    pub fn class_scores(self, spikes: &Spikes, w: &Weights, cfg: &Config) -> Result<Tensor> {
        Ok(self.evaluate(spikes, w, cfg)?.scores)
    }
}

/// What a forward pass without autograd yields.
pub struct Evaluation {
    /// `(batch, num_classes)`.
    pub scores: Tensor,
    /// Spikes of each hidden unit summed over the batch and time,
    /// `(hidden,)` float32.
    pub hidden_spikes: Tensor,
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
