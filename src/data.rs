//! Mini-batches in a fresh random order: the notebook's `data_generator`.

use anyhow::{ensure, Result};
use tch::{Device, Kind, Tensor};

/// One mini-batch, spikes widened to float32 for the network.
pub struct Batch {
    /// `(batch, steps, input)` float32.
    pub spikes: Tensor,
    /// What goes with each sample: IPDs in radians, or their classes.
    pub targets: Tensor,
}

/// Permutes the samples with one `randperm` from libtorch's default CPU
/// generator, as the notebook does at each call, and returns the full
/// batches lazily (one float32 batch in memory at a time); an incomplete
/// last batch is dropped like the notebook's.
pub fn data_generator<'a>(
    targets: &'a Tensor,
    spikes: &'a Tensor,
    batch_size: usize,
) -> Result<impl Iterator<Item = Result<Batch>> + 'a> {
    let n = spikes.size()[0];
    ensure!(
        targets.size()[0] == n,
        "{} targets for {n} spike trains",
        targets.size()[0]
    );
    let perm = batch_order(n)?.f_to_device(spikes.device())?;
    let batch_size = batch_size as i64;
    Ok((0..n / batch_size).map(move |i| {
        let idx = perm.f_narrow(0, i * batch_size, batch_size)?;
        Ok(Batch {
            spikes: spikes.f_index_select(0, &idx)?.f_to_kind(Kind::Float)?,
            targets: targets.f_index_select(0, &idx)?,
        })
    }))
}

/// A random order of `n` samples: one `randperm` from libtorch's default
/// CPU generator, the only draw `data_generator` makes.
pub fn batch_order(n: i64) -> Result<Tensor> {
    Ok(Tensor::f_randperm(n, (Kind::Int64, Device::Cpu))?)
}
