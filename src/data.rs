//! Mini-batches in a fresh random order: the notebook's `data_generator`.

use anyhow::{ensure, Result};
use tch::{Device, Kind, Tensor};

use crate::engine::Engine;
use crate::spikes::{SpikeSet, Spikes};
use crate::stimulus::Dataset;

/// A data set as an engine reads it: the true IPDs and the spikes in the
/// engine's form (`Engine::spike_set`).
pub struct EngineData {
    /// True IPD of each sample in radians, `(n,)` float32.
    pub ipd: Tensor,
    pub spikes: SpikeSet,
}

impl EngineData {
    /// Shares `data`'s tensors: dropping `data` then frees its dense
    /// spikes where the engine keeps lists instead.
    pub fn new(data: &Dataset, engine: Engine) -> Result<Self> {
        Ok(EngineData {
            ipd: data.ipd.shallow_clone(),
            spikes: engine.spike_set(data.spikes.shallow_clone())?,
        })
    }
}

/// One mini-batch.
pub struct Batch<'a> {
    pub spikes: Spikes<'a>,
    /// What goes with each sample: IPDs in radians, or their classes.
    pub targets: Tensor,
}

/// Permutes the samples with one `randperm` from libtorch's default CPU
/// generator, as the notebook does at each call, and returns the full
/// batches lazily (one batch in memory at a time); an incomplete last
/// batch is dropped like the notebook's.
pub fn data_generator<'a>(
    targets: &'a Tensor,
    spikes: &'a SpikeSet,
    batch_size: usize,
) -> Result<impl Iterator<Item = Result<Batch<'a>>> + 'a> {
    let n = spikes.len() as i64;
    ensure!(
        targets.size()[0] == n,
        "{} targets for {n} spike trains",
        targets.size()[0]
    );
    let perm = batch_order(n)?.f_to_device(targets.device())?;
    let batch_size = batch_size as i64;
    Ok((0..n / batch_size).map(move |i| {
        let idx = perm.f_narrow(0, i * batch_size, batch_size)?;
        Ok(Batch {
            spikes: spikes.batch(&idx)?,
            targets: targets.f_index_select(0, &idx)?,
        })
    }))
}

/// A random order of `n` samples: one `randperm` from libtorch's default
/// CPU generator, the only draw `data_generator` makes.
pub fn batch_order(n: i64) -> Result<Tensor> {
    Ok(Tensor::f_randperm(n, (Kind::Int64, Device::Cpu))?)
}
