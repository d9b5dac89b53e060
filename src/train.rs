//! The training loop of the notebook's "Test: Training and Analyses" cell.

use std::time::Instant;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, Saved};
use crate::config::Config;
use crate::data::{batch_order, data_generator, Batch, TrainingSets};
use crate::engine::Engine;
use crate::labels::discretise;
use crate::model::{delays, DaleSigns, Gradients, Weights};
use crate::optim::{scheduled_lr, Adam};

/// Loss history and timing of a training run.
pub struct TrainHistory {
    /// Mean batch loss of each epoch trained to its end.
    pub loss: Vec<f64>,
    pub epoch_seconds: Vec<f64>,
    /// Where training stopped on a loss that was not finite.
    pub diverged: Option<Divergence>,
}

/// The first batch whose loss was not finite, or whose step would have
/// made a weight so (1-based epoch and batch).
/// Training stops there: every later step would only spread the NaN.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Divergence {
    pub epoch: usize,
    pub batch: usize,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "epoch {} batch {}", self.epoch, self.batch)
    }
}

/// What training reports as it goes, for progress output.
pub enum Progress {
    /// An epoch ended with this mean loss.
    Epoch { epoch: usize, loss: f64 },
    /// A batch's loss was not finite; training stops.
    Diverged { at: Divergence, loss: f64 },
}

/// Trains `w` in place with Adam for `cfg.training.epochs` epochs on each
/// epoch's training set in a fresh random batch order, run by `engine`,
/// with the delays' Gaussian narrowing epoch by epoch where the synapses
/// have them (`model::delays`), and stops at the first
/// loss that is not finite, leaving `w` as it was before that batch. After
/// each epoch `save` gets the state a checkpoint keeps; with `resume`, the
/// epochs it holds are not trained again (their batch orders are drawn all
/// the same) and `w` must be its weights. An error from `on_progress` or
/// `save` stops the training and is returned.
pub fn train(
    cfg: &Config,
    engine: Engine,
    sets: &mut TrainingSets,
    w: &mut Weights,
    resume: Option<&Checkpoint>,
    mut on_progress: impl FnMut(Progress) -> Result<()>,
    mut save: impl FnMut(&Saved) -> Result<()>,
) -> Result<TrainHistory> {
    let trained: Vec<&tch::Tensor> = w.trained().into_iter().map(|(_, t)| t).collect();
    let mut adam = Adam::new(&trained, cfg.training.lr, engine.arithmetic())?;
    let dale = DaleSigns::new(cfg)?;
    let mut history = TrainHistory {
        loss: Vec::new(),
        epoch_seconds: Vec::new(),
        diverged: None,
    };
    let steps_per_epoch = cfg.data.n_training_batches;
    let mut done = 0;
    if let Some(c) = resume {
        adam.restore(c.adam_step, &c.exp_avg, &c.exp_avg_sq)?;
        (history.loss, history.epoch_seconds) = (c.loss.clone(), c.epoch_seconds.clone());
        done = c.epochs_done;
    }
    for epoch in 1..=cfg.training.epochs {
        if history.diverged.is_some() || epoch <= done {
            // The batch order is drawn all the same, so that later epochs
            // and the analyses shuffle as after a whole training, as `eval`
            // replays it.
            drop(batch_order(cfg.n_training_samples() as i64)?);
            continue;
        }
        if let Some(d) = &mut w.delays {
            d.width = Some(delays::width_in_epoch(cfg, epoch));
        }
        let data = sets.for_epoch(epoch)?;
        let classes = discretise(&data.ipd, cfg.data.num_classes)?;
        let batches = data_generator(&classes, &data.spikes, cfg.data.batch_size)?;
        let start = Instant::now();
        let mut local_loss = Vec::new();
        for (index, batch) in batches.enumerate() {
            let t = &cfg.training;
            let step = (epoch - 1) * steps_per_epoch + index;
            adam.set_lr(scheduled_lr(
                t.lr_schedule,
                t.lr,
                t.lr_floor,
                step,
                t.epochs * steps_per_epoch,
            ));
            let grads = batch_gradients(engine, dale.as_ref(), &batch?, w, cfg)?;
            let loss = grads.loss;
            if !loss.is_finite() || !step_keeps_weights_finite(&mut adam, w, grads, cfg)? {
                let at = Divergence {
                    epoch,
                    batch: index + 1,
                };
                history.diverged = Some(at);
                on_progress(Progress::Diverged { at, loss })?;
                break;
            }
            local_loss.push(loss);
        }
        if history.diverged.is_none() {
            let mean = local_loss.iter().sum::<f64>() / local_loss.len().max(1) as f64;
            history.loss.push(mean);
            history.epoch_seconds.push(start.elapsed().as_secs_f64());
            on_progress(Progress::Epoch { epoch, loss: mean })?;
            save(&Saved {
                epochs_done: epoch,
                loss: &history.loss,
                epoch_seconds: &history.epoch_seconds,
                weights: w,
                adam: &adam,
            })?;
        }
    }
    // What training leaves, and what is tested, saved and read back, is the
    // network with whole-step delays.
    if let Some(d) = &mut w.delays {
        d.width = None;
    }
    Ok(history)
}

/// Steps `w` with Adam, unless the step would leave a weight NaN or
/// infinite (a huge `lr`, or a gradient that overflowed while the loss did
/// not): then `w` stays as it was, and the answer is no. Learned time
/// constants and delays are then put back into their ranges.
fn step_keeps_weights_finite(
    adam: &mut Adam,
    w: &mut Weights,
    grads: Gradients,
    cfg: &Config,
) -> Result<bool> {
    let _no_grad = tch::no_grad_guard();
    let before = w
        .trained()
        .iter()
        .map(|(_, t)| Ok(t.f_detach_copy()?))
        .collect::<Result<Vec<_>>>()?;
    adam.step(&mut w.trained_mut(), &grads.into_trained())?;
    if w.first_not_finite()?.is_none() {
        if let Some(tau) = &mut w.tau {
            tau.clamp_(cfg)?;
        }
        if let Some(d) = &mut w.delays {
            d.clamp_(cfg)?;
        }
        return Ok(true);
    }
    for (t, before) in w.trained_mut().into_iter().zip(&before) {
        let _ = t.f_copy_(before)?;
    }
    Ok(false)
}

/// The loss of one batch and the gradients of the weights Adam steps.
fn batch_gradients(
    engine: Engine,
    dale: Option<&DaleSigns>,
    batch: &Batch,
    w: &Weights,
    cfg: &Config,
) -> Result<Gradients> {
    match dale {
        // The engine sees |w|·sign; Adam steps the free parameters.
        Some(dale) => {
            let effective = dale.effective(w)?;
            let grads =
                engine.loss_and_gradients(&batch.spikes, &batch.targets, &effective, cfg)?;
            dale.raw_gradients(w, grads)
        }
        None => engine.loss_and_gradients(&batch.spikes, &batch.targets, w, cfg),
    }
}
