//! The network run once over a data set with its hidden spikes kept, and
//! read out again through any W2: the reference engine's layers
//! (`engine::reference::hidden_layer`, `readout_layer`) and class scores
//! (`model::readout::scores`), so every model option is honoured and the
//! scores are the engines'.

use anyhow::{ensure, Context, Result};
use tch::{Device, Kind, Tensor};

use crate::config::Config;
use crate::engine::reference::{hidden_layer, readout_layer};
use crate::host::rows;
use crate::labels::{decoded_ipd, labelled_ipds};
use crate::model::readout::scores;
use crate::model::time_constants::layer_decays;
use crate::model::{batch_and_steps, Decay, ReadoutParams, Weights};
use crate::stimulus::Dataset;

/// Hidden spikes widened to float32 at once by a readout pass over a
/// recording (64 MiB): few passes, each with few tensor ops per step.
const READOUT_ELEMENTS: usize = 1 << 24;

/// The network's hidden spikes on a whole data set, with the labels.
pub struct Recording {
    /// True IPD of each sample, radians.
    pub ipd: Vec<f64>,
    /// True class of each sample (`labels::discretise`, float32 as the
    /// network's labels are).
    pub true_class: Vec<usize>,
    /// `(n, steps, hidden)` uint8 hidden spikes, on the CPU.
    pub hidden_spikes: Tensor,
    /// How the recorded network's readout decays.
    pub output_decay: Decay,
}

impl Recording {
    pub fn len(&self) -> usize {
        self.ipd.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ipd.is_empty()
    }
}

/// Runs the hidden layer over `data` in batches of `batch-size` and keeps
/// its spikes (as bytes: a quarter of float32's memory). `w` are the
/// weights the network uses: under Dale's law, the signed ones that
/// `snnloc train` saves.
pub fn record(cfg: &Config, w: &Weights, data: &Dataset) -> Result<Recording> {
    let _no_grad = tch::no_grad_guard();
    cfg.validate()?;
    w.check_shapes(cfg)?;
    ensure!(!data.is_empty(), "the data set has no samples");
    let w = w.detached_copy(Device::Cpu)?;
    let spikes = data.spikes.f_to_device(Device::Cpu)?;
    batch_and_steps(&spikes, cfg).context("the data set does not fit the config")?;
    let (ipd, true_class) = labelled_ipds(data, cfg.data.num_classes)?;
    let (n, batch_size) = (data.len() as i64, cfg.data.batch_size);
    let mut hidden = Vec::new();
    for start in (0..n).step_by(batch_size) {
        let len = (n - start).min(batch_size as i64);
        let batch = spikes.f_narrow(0, start, len)?.f_to_kind(Kind::Float)?;
        let trace = hidden_layer(&batch, &w, cfg)?;
        hidden.push(trace.spikes.f_to_kind(Kind::Uint8)?);
    }
    Ok(Recording {
        ipd,
        true_class,
        hidden_spikes: Tensor::f_cat(&hidden, 0)?,
        output_decay: layer_decays(cfg, w.tau.as_ref())?.1,
    })
}

/// The class scores `(n, num_classes)` of a recording whose hidden spikes
/// reach the readout through `w2` (a zero row silences a unit).
pub fn recorded_scores(cfg: &Config, rec: &Recording, w2: &Tensor) -> Result<Tensor> {
    let _no_grad = tch::no_grad_guard();
    let w2 = w2.f_detach()?.f_to_device(Device::Cpu)?;
    let readout = ReadoutParams::new(cfg);
    let n = rec.len() as i64;
    let size = rec.hidden_spikes.size();
    let chunk = (READOUT_ELEMENTS / (size[1] * size[2]).max(1) as usize).max(1);
    let mut all = Vec::new();
    for start in (0..n).step_by(chunk) {
        let len = (n - start).min(chunk as i64);
        let spikes = rec
            .hidden_spikes
            .f_narrow(0, start, len)?
            .f_to_kind(Kind::Float)?;
        all.push(scores(
            &readout_layer(&spikes, &w2, &rec.output_decay)?,
            &readout,
        )?);
    }
    Ok(Tensor::f_cat(&all, 0)?)
}

/// What a network read out through some W2 makes of each sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimates {
    /// The class of largest score.
    pub class: Vec<usize>,
    /// The IPD (radians) decoded from the class probabilities
    /// (`labels::decoded_ipd`).
    pub decoded_ipd: Vec<f64>,
}

/// The estimated class and decoded IPD of every sample of a recording read
/// out through `w2`, from one readout pass.
pub fn estimate(cfg: &Config, rec: &Recording, w2: &Tensor) -> Result<Estimates> {
    let scores = recorded_scores(cfg, rec, w2)?;
    let class = Vec::<i64>::try_from(&scores.f_argmax(1, false)?)?;
    let decoded_ipd = rows::<f32>(&scores)?
        .iter()
        .map(|s| decoded_ipd(s, cfg.network.readout_scale))
        .collect();
    Ok(Estimates {
        class: class.into_iter().map(|c| c as usize).collect(),
        decoded_ipd,
    })
}

/// The estimated class of every sample of a recording read out through
/// `w2`.
pub fn predict(cfg: &Config, rec: &Recording, w2: &Tensor) -> Result<Vec<usize>> {
    Ok(estimate(cfg, rec, w2)?.class)
}
