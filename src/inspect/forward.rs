//! The network's forward pass keeping the hidden layer's state, built from
//! `network::lif_step` and `network::readout_step` so it is the reference
//! engine's arithmetic, op for op.

use anyhow::{ensure, Context, Result};
use tch::{Device, Kind, Tensor};

use super::labelled_ipds;
use crate::config::Config;
use crate::network::{batch_and_steps, lif_step, readout_step, Weights};
use crate::stimulus::Dataset;

/// Hidden spikes widened to float32 at once by a readout pass over a
/// recording (64 MiB): few passes, each with few tensor ops per step.
const READOUT_ELEMENTS: usize = 1 << 24;

/// What the hidden layer did on one batch.
pub struct HiddenTrace {
    /// `(batch, steps, hidden)` float32, 1 where a unit spiked. As in the
    /// notebook, the spike at step t reads the potential of step t-1
    /// (`s_t = H(v_{t-1} - 1)`) and resets the potential of step t+1, so
    /// `s_0 = 0` and a spike lags its threshold crossing by one step.
    pub spikes: Tensor,
    /// `(batch, steps, hidden)` float32 potential `v_t` before update t
    /// (`v_0 = 0`): the trace that the spikes read.
    pub membrane: Tensor,
}

/// The hidden LIF layer on `(batch, steps, input)` float32 spikes.
pub fn hidden_layer(input: &Tensor, w1: &Tensor, cfg: &Config) -> Result<HiddenTrace> {
    let _no_grad = tch::no_grad_guard();
    let (batch, steps) = batch_and_steps(input, cfg)?;
    let h = Tensor::f_einsum("abc,cd->abd", &[input, w1], None::<i64>)?;
    let mut v = Tensor::f_zeros([batch, w1.size()[1]], (Kind::Float, input.device()))?;
    let mut s = v.zeros_like();
    let (mut v_rec, mut s_rec) = (vec![v.shallow_clone()], vec![s.shallow_clone()]);
    for t in 0..steps - 1 {
        (v, s) = lif_step(&v, &s, &h.select(1, t), cfg.alpha(), cfg.beta);
        v_rec.push(v.shallow_clone());
        s_rec.push(s.shallow_clone());
    }
    Ok(HiddenTrace {
        spikes: Tensor::f_stack(&s_rec, 1)?,
        membrane: Tensor::f_stack(&v_rec, 1)?,
    })
}

/// The readout summed over time, `(batch, num_classes)`, from hidden spikes
/// `(batch, steps, hidden)` through `w2`; its argmax is the estimated class.
/// Stacked and summed like `network::snn`'s output, so that the sum rounds
/// as the engines' does.
pub fn readout_scores(hidden_spikes: &Tensor, w2: &Tensor, cfg: &Config) -> Result<Tensor> {
    let _no_grad = tch::no_grad_guard();
    let size = hidden_spikes.size();
    ensure!(
        size.len() == 3 && size[2] == w2.size()[0],
        "hidden spikes {size:?} do not fit W2 {:?}",
        w2.size()
    );
    let h = Tensor::f_einsum("abc,cd->abd", &[hidden_spikes, w2], None::<i64>)?;
    let mut v = Tensor::f_zeros([size[0], w2.size()[1]], (Kind::Float, h.device()))?;
    let mut v_rec = vec![v.shallow_clone()];
    for t in 0..size[1] - 1 {
        v = readout_step(&v, &h.select(1, t), cfg.alpha());
        v_rec.push(v.shallow_clone());
    }
    Ok(Tensor::f_stack(&v_rec, 1)?.f_sum_dim_intlist(1, false, None::<Kind>)?)
}

/// The network's hidden spikes on a whole data set, with the labels.
pub struct Recording {
    /// True IPD of each sample, radians.
    pub ipd: Vec<f64>,
    /// True class of each sample (`labels::discretise`, float32 as the
    /// network's labels are).
    pub true_class: Vec<usize>,
    /// `(n, steps, hidden)` uint8 hidden spikes, on the CPU.
    pub hidden_spikes: Tensor,
}

impl Recording {
    pub fn len(&self) -> usize {
        self.ipd.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ipd.is_empty()
    }
}

/// Runs the hidden layer over `data` in batches of `cfg.batch_size` and
/// keeps its spikes (as bytes: a quarter of float32's memory).
pub fn record(cfg: &Config, w: &Weights, data: &Dataset) -> Result<Recording> {
    cfg.validate()?;
    w.check_shapes(cfg)?;
    ensure!(!data.is_empty(), "the data set has no samples");
    let w = w.detached_copy(Device::Cpu)?;
    let spikes = data.spikes.f_to_device(Device::Cpu)?;
    batch_and_steps(&spikes, cfg).context("the data set does not fit the config")?;
    let (ipd, true_class) = labelled_ipds(data, cfg.num_classes)?;
    let n = data.len() as i64;
    let mut hidden = Vec::new();
    for start in (0..n).step_by(cfg.batch_size) {
        let len = (n - start).min(cfg.batch_size as i64);
        let batch = spikes.f_narrow(0, start, len)?.f_to_kind(Kind::Float)?;
        let trace = hidden_layer(&batch, &w.w1, cfg)?;
        hidden.push(trace.spikes.f_to_kind(Kind::Uint8)?);
    }
    Ok(Recording {
        ipd,
        true_class,
        hidden_spikes: Tensor::f_cat(&hidden, 0)?,
    })
}

/// The readout summed over time, `(n, num_classes)`, of a recording whose
/// hidden spikes reach the readout through `w2` (a zero row silences a
/// unit).
pub fn recorded_scores(cfg: &Config, rec: &Recording, w2: &Tensor) -> Result<Tensor> {
    let _no_grad = tch::no_grad_guard();
    let w2 = w2.f_detach()?.f_to_device(Device::Cpu)?;
    let n = rec.len() as i64;
    let size = rec.hidden_spikes.size();
    let chunk = (READOUT_ELEMENTS / (size[1] * size[2]).max(1) as usize).max(1);
    let mut scores = Vec::new();
    for start in (0..n).step_by(chunk) {
        let len = (n - start).min(chunk as i64);
        let spikes = rec
            .hidden_spikes
            .f_narrow(0, start, len)?
            .f_to_kind(Kind::Float)?;
        scores.push(readout_scores(&spikes, &w2, cfg)?);
    }
    Ok(Tensor::f_cat(&scores, 0)?)
}

/// The estimated class of every sample of a recording read out through
/// `w2`.
pub fn predict(cfg: &Config, rec: &Recording, w2: &Tensor) -> Result<Vec<usize>> {
    let scores = recorded_scores(cfg, rec, w2)?;
    let estimated = Vec::<i64>::try_from(&scores.f_argmax(1, false)?)?;
    Ok(estimated.into_iter().map(|c| c as usize).collect())
}
