//! The training loop of the notebook's "Test: Training and Analyses" cell.

use std::time::Instant;

use anyhow::Result;

use crate::config::Config;
use crate::data::data_generator;
use crate::engine::Engine;
use crate::labels::discretise;
use crate::model::{DaleSigns, Weights};
use crate::optim::Adam;
use crate::stimulus::Dataset;

/// Loss history and timing of a training run.
pub struct TrainHistory {
    /// Mean batch loss of each epoch.
    pub loss: Vec<f64>,
    pub epoch_seconds: Vec<f64>,
}

/// Trains `w` in place with Adam for `cfg.training.epochs` epochs, a fresh random
/// batch order each epoch, run by `engine`. `on_epoch(epoch, mean_loss)` is called after each
/// epoch (1-based), for progress output.
pub fn train(
    cfg: &Config,
    engine: Engine,
    data: &Dataset,
    w: &mut Weights,
    mut on_epoch: impl FnMut(usize, f64),
) -> Result<TrainHistory> {
    let classes = discretise(&data.ipd, cfg.data.num_classes)?;
    let mut adam = Adam::new(&[&w.w1, &w.w2], cfg.training.lr)?;
    let dale = DaleSigns::new(cfg)?;
    let mut history = TrainHistory {
        loss: Vec::with_capacity(cfg.training.epochs),
        epoch_seconds: Vec::with_capacity(cfg.training.epochs),
    };
    for epoch in 1..=cfg.training.epochs {
        let start = Instant::now();
        let mut local_loss = Vec::new();
        for batch in data_generator(&classes, &data.spikes, cfg.data.batch_size)? {
            let batch = batch?;
            let grads = match &dale {
                // The engine sees |w|·sign; Adam steps the free parameters.
                Some(dale) => {
                    let effective = dale.effective(w)?;
                    let grads = engine.loss_and_gradients(
                        &batch.spikes,
                        &batch.targets,
                        &effective,
                        cfg,
                    )?;
                    dale.raw_gradients(w, grads)?
                }
                None => engine.loss_and_gradients(&batch.spikes, &batch.targets, w, cfg)?,
            };
            local_loss.push(grads.loss);
            adam.step(&mut [&mut w.w1, &mut w.w2], &[grads.w1, grads.w2])?;
        }
        let mean = local_loss.iter().sum::<f64>() / local_loss.len().max(1) as f64;
        history.loss.push(mean);
        history.epoch_seconds.push(start.elapsed().as_secs_f64());
        on_epoch(epoch, mean);
    }
    Ok(history)
}
