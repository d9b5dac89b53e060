//! A training's state at the end of an epoch, so that a killed `train` goes
//! on (`--resume`) to the very numbers it would have given: the weights,
//! Adam's moments and step count, and the loss history, in one safetensors
//! file written atomically into the run folder after every epoch.
//!
//! The random generators need no saving: the stimulus is drawn again from
//! the seed, and libtorch's generator is brought to where it was by drawing
//! again what the run drew before (the initial weights, one batch order per
//! epoch), as `experiment::evaluate` does.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::config::{stored_difference, Config};
use crate::model::Weights;
use crate::optim::Adam;
use crate::output::{self, Metadata};

pub const CHECKPOINT_FILE: &str = "checkpoint.safetensors";
const HEADER_KEY: &str = "snnloc_checkpoint";
/// Adam's moments of parameter `W1` are `exp_avg.W1` and `exp_avg_sq.W1`.
const MOMENTS: [&str; 2] = ["exp_avg", "exp_avg_sq"];

/// What the training loop hands over at the end of an epoch.
pub struct Saved<'a> {
    pub epochs_done: usize,
    pub loss: &'a [f64],
    pub epoch_seconds: &'a [f64],
    /// The trained parameters (under Dale's law, the free ones).
    pub weights: &'a Weights,
    pub adam: &'a Adam,
}

/// A checkpoint read back.
pub struct Checkpoint {
    pub epochs_done: usize,
    pub loss: Vec<f64>,
    pub epoch_seconds: Vec<f64>,
    pub weights: Weights,
    pub adam_step: u64,
    pub exp_avg: Vec<Tensor>,
    pub exp_avg_sq: Vec<Tensor>,
}

/// The checkpoint's header: its numbers, and the config it belongs to.
#[derive(Serialize, Deserialize)]
struct Header {
    config: serde_json::Value,
    epochs_done: usize,
    adam_step: u64,
    loss: Vec<f64>,
    epoch_seconds: Vec<f64>,
}

impl Checkpoint {
    pub fn write(path: &Path, cfg: &Config, saved: &Saved) -> Result<()> {
        let (adam_step, exp_avg, exp_avg_sq) = saved.adam.state();
        let header = Header {
            config: serde_json::to_value(cfg)?,
            epochs_done: saved.epochs_done,
            adam_step,
            loss: saved.loss.to_vec(),
            epoch_seconds: saved.epoch_seconds.to_vec(),
        };
        let metadata = Metadata::from([(HEADER_KEY.to_string(), serde_json::to_string(&header)?)]);
        let w = saved.weights;
        let trained = w.trained();
        let moment_names: Vec<String> = MOMENTS
            .iter()
            .flat_map(|m| trained.iter().map(move |(name, _)| format!("{m}.{name}")))
            .collect();
        let moments = exp_avg.iter().chain(exp_avg_sq);
        let mut named = w.named();
        named.extend(moment_names.iter().map(String::as_str).zip(moments));
        output::write_safetensors(path, &named, Some(metadata))
            .with_context(|| format!("cannot write checkpoint {}", path.display()))
    }

    /// The checkpoint at `path`, refused by name where it belongs to another
    /// config or is not a snnloc checkpoint.
    pub fn read(path: &Path, cfg: &Config) -> Result<Checkpoint> {
        let shown = path.display();
        if !path.is_file() {
            bail!("`resume`: no checkpoint {shown}; train without `resume` to start afresh");
        }
        let text = output::safetensors_metadata(path)?
            .and_then(|mut m| m.remove(HEADER_KEY))
            .with_context(|| format!("{shown}: not a snnloc checkpoint"))?;
        let header: Header = serde_json::from_str(&text)
            .with_context(|| format!("{shown}: not a snnloc checkpoint"))?;
        if let Some(difference) = stored_difference(&header.config, cfg)? {
            bail!(
                "`resume`: {shown} is of another config ({difference}; stored vs this one); resume with the run's own config, or train without `resume`"
            );
        }
        let mut tensors: std::collections::HashMap<String, Tensor> = Tensor::read_safetensors(path)
            .with_context(|| format!("{shown}: not a readable checkpoint"))?
            .into_iter()
            .collect();
        let mut take = |name: &str| {
            tensors
                .remove(name)
                .with_context(|| format!("{shown}: no tensor {name}"))
        };
        let weights = Weights::from_named(cfg, &mut take)?.trained_by(cfg);
        let mut moments = |m: &str| -> Result<Vec<Tensor>> {
            let names: Vec<&str> = weights.trained().into_iter().map(|(n, _)| n).collect();
            names
                .iter()
                .map(|name| take(&format!("{m}.{name}")))
                .collect()
        };
        let (exp_avg, exp_avg_sq) = (moments(MOMENTS[0])?, moments(MOMENTS[1])?);
        let weights = weights.detached_copy(tch::Device::Cpu)?;
        Ok(Checkpoint {
            epochs_done: header.epochs_done,
            loss: header.loss,
            epoch_seconds: header.epoch_seconds,
            weights,
            adam_step: header.adam_step,
            exp_avg,
            exp_avg_sq,
        })
    }
}
