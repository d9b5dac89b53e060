//! The data a training reads: each epoch's training set (`TrainingSets`),
//! and mini-batches in a fresh random order, the notebook's
//! `data_generator`.

use std::thread::JoinHandle;

use anyhow::{anyhow, ensure, Result};
use tch::{Device, Kind, Tensor};

use crate::config::{Config, TrainingData};
use crate::engine::Engine;
use crate::spikes::{SpikeSet, Spikes};
use crate::stimulus::{random_ipd_input_signal, Dataset, StimulusRng};

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

/// The training set of each epoch: the one set of the run, or with fresh
/// training data a new set from epoch 2 on (`StimulusRng::for_epoch`).
/// Where the training leaves a core free, the next epoch's set is drawn on
/// it while the epoch trains, and at most two sets are held at once. On
/// cores that all train, drawing beside them was slower than drawing
/// between epochs (docs/performance.md).
pub struct TrainingSets {
    cfg: Config,
    engine: Engine,
    device: Device,
    current: EngineData,
    /// The epoch `current` belongs to (1 for the run's own set).
    epoch: usize,
    next: Option<(usize, JoinHandle<Result<EngineData>>)>,
    draws_ahead: bool,
}

impl TrainingSets {
    /// `first` is the set drawn from the run's own stimulus stream.
    pub fn new(cfg: &Config, engine: Engine, device: Device, first: EngineData) -> Self {
        TrainingSets {
            cfg: cfg.clone(),
            engine,
            device,
            current: first,
            epoch: 1,
            next: None,
            draws_ahead: crate::machine::cores() > tch::get_num_threads().max(1) as usize,
        }
    }

    /// The set that `epoch` (1-based) trains on.
    pub fn for_epoch(&mut self, epoch: usize) -> Result<&EngineData> {
        if self.cfg.data.training_data == TrainingData::Fixed {
            return Ok(&self.current);
        }
        if epoch != self.epoch {
            self.current = match self.next.take() {
                Some((e, drawing)) if e == epoch => drawing
                    .join()
                    .map_err(|_| anyhow!("drawing epoch {epoch}'s training set panicked"))??,
                _ => draw_epoch_set(&self.cfg, self.engine, self.device, epoch)?,
            };
            self.epoch = epoch;
        }
        if self.draws_ahead && epoch < self.cfg.training.epochs && self.next.is_none() {
            let (cfg, engine, device) = (self.cfg.clone(), self.engine, self.device);
            let drawing = std::thread::Builder::new()
                .name(format!("training set {}", epoch + 1))
                .spawn(move || {
                    // One thread, so that the draw takes one core from the
                    // training rather than competing for all of them.
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(1)
                        .build()?
                        .install(|| draw_epoch_set(&cfg, engine, device, epoch + 1))
                })?;
            self.next = Some((epoch + 1, drawing));
        }
        Ok(&self.current)
    }

    /// The set trained on last, which the training's analysis reads, with
    /// no draw still going on.
    pub fn last(&mut self) -> &EngineData {
        self.wait_for_next();
        &self.current
    }

    fn wait_for_next(&mut self) {
        if let Some((_, drawing)) = self.next.take() {
            // A set drawn for an epoch that will not run (training diverged)
            // is dropped; only its memory and time were at stake.
            let _ = drawing.join();
        }
    }
}

impl Drop for TrainingSets {
    fn drop(&mut self) {
        self.wait_for_next();
    }
}

/// Epoch `epoch`'s training set under fresh training data.
fn draw_epoch_set(
    cfg: &Config,
    engine: Engine,
    device: Device,
    epoch: usize,
) -> Result<EngineData> {
    let mut rng = StimulusRng::for_epoch(cfg, epoch)?;
    let data = random_ipd_input_signal(cfg, cfg.n_training_samples(), &mut rng, device)?;
    EngineData::new(&data, engine)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PhaseOffset;

    fn small(training_data: TrainingData, seed: u64) -> Config {
        let mut cfg = Config::default();
        cfg.stimulus.anf_per_ear = 8;
        cfg.stimulus.phase_offset = PhaseOffset::PerSample;
        (cfg.data.batch_size, cfg.data.n_training_batches) = (4, 2);
        (cfg.data.training_data, cfg.run.seed) = (training_data, seed);
        cfg.training.epochs = 4;
        cfg
    }

    /// The IPDs and dense spikes of each epoch's set.
    fn epochs(cfg: &Config) -> Vec<(Tensor, Tensor)> {
        let mut rng = StimulusRng::new(cfg).unwrap();
        let first = random_ipd_input_signal(cfg, cfg.n_training_samples(), &mut rng, Device::Cpu);
        let first = EngineData::new(&first.unwrap(), Engine::Reference).unwrap();
        let mut sets = TrainingSets::new(cfg, Engine::Reference, Device::Cpu, first);
        (1..=cfg.training.epochs)
            .map(|epoch| {
                let set = sets.for_epoch(epoch).unwrap();
                let SpikeSet::Dense(spikes) = &set.spikes else {
                    panic!("the reference engine reads dense spikes")
                };
                (set.ipd.copy(), spikes.copy())
            })
            .collect()
    }

    #[test]
    fn fresh_sets_differ_between_epochs_and_repeat_for_the_same_seed() {
        let fresh = epochs(&small(TrainingData::Fresh, 3));
        for (a, b) in fresh.iter().zip(&fresh[1..]) {
            assert!(
                !a.0.equal(&b.0) && !a.1.equal(&b.1),
                "two epochs share a set"
            );
        }
        let again = epochs(&small(TrainingData::Fresh, 3));
        assert!(fresh
            .iter()
            .zip(&again)
            .all(|(a, b)| a.0.equal(&b.0) && a.1.equal(&b.1)));
        let other_seed = epochs(&small(TrainingData::Fresh, 4));
        assert!(fresh.iter().zip(&other_seed).all(|(a, b)| !a.0.equal(&b.0)));
        // The first epoch trains on the run's own set, as a fixed run does.
        let fixed = epochs(&small(TrainingData::Fixed, 3));
        assert!(fixed
            .iter()
            .all(|s| s.0.equal(&fresh[0].0) && s.1.equal(&fresh[0].1)));
    }
}
