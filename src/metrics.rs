//! `metrics.json`, what a training run measured: written by `train`, read
//! back by sweeps and tests through this one schema.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use tch::Device;

use crate::analysis::{chance_level, Analysis};
use crate::device::device_name;
use crate::engine::Engine;
use crate::experiment::{Outcome, Timings};
use crate::output;
use crate::train::Divergence;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Metrics {
    /// Where the run ran: `cpu`, `cuda:0`.
    pub device: String,
    /// The engine that ran, as `Engine::resolve` decided.
    pub engine: Engine,
    /// libtorch's intra-op threads.
    pub threads: i32,
    /// Accuracy of guessing, percent.
    pub chance_accuracy: f64,
    pub train: Analysis,
    pub test: Analysis,
    /// Mean batch loss of each epoch trained to its end.
    pub loss_hist: Vec<f64>,
    /// Where training stopped on a loss that was not finite; null when it
    /// did not.
    #[serde(default)]
    pub diverged: Option<Divergence>,
    pub seconds: Timings,
}

impl Metrics {
    pub fn new(outcome: &Outcome, num_classes: usize, device: Device, engine: Engine) -> Self {
        Metrics {
            device: device_name(device),
            engine,
            threads: tch::get_num_threads(),
            chance_accuracy: chance_level(num_classes),
            train: outcome.train.clone(),
            test: outcome.test.clone(),
            loss_hist: outcome.loss.clone(),
            diverged: outcome.diverged,
            seconds: outcome.seconds.clone(),
        }
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        output::write_json(path, self)
    }

    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a snnloc metrics.json", path.display()))
    }

    /// The last epoch's mean loss; none when training diverged, for then
    /// the last epoch's loss was not finite.
    pub fn final_loss(&self) -> Option<f64> {
        match self.diverged {
            Some(_) => None,
            None => self.loss_hist.last().copied(),
        }
    }
}
