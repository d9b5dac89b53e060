//! One complete experiment, as the notebook's "Test: Training and Analyses"
//! cell runs it: data, weights, training, then analysis on the training set
//! and on a fresh test set.

use std::time::Instant;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use tch::Device;

use crate::analysis::{analyse, Analysis};
use crate::checkpoint::{Checkpoint, Saved};
use crate::config::Config;
use crate::data::{batch_order, EngineData, TrainingSets};
use crate::engine::Engine;
use crate::model::{init_weight_matrices, DaleSigns, Weights};
use crate::seed::seed_torch;
use crate::stimulus::{random_ipd_input_signal, Dataset, StimulusRng};
use crate::train::{train, Divergence, Progress};

/// Wall-clock seconds of each phase.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Timings {
    pub data_train: f64,
    pub data_test: f64,
    pub training: f64,
    pub epochs: Vec<f64>,
    pub analysis_train: f64,
    pub analysis_test: f64,
    pub total: f64,
}

/// Everything an experiment produces.
pub struct Outcome {
    pub loss: Vec<f64>,
    pub train: Analysis,
    pub test: Analysis,
    pub weights: Weights,
    pub seconds: Timings,
    /// Where training stopped on a loss that was not finite.
    pub diverged: Option<Divergence>,
}

/// Progress lines, in the notebook's wording, for whoever is listening.
pub enum Event<'a> {
    /// An epoch ended, or training diverged.
    Training(Progress),
    Analysed {
        label: &'a str,
        analysis: &'a Analysis,
    },
}

/// The test set that `run` evaluates for this config: drawn after the
/// training set on the stimulus stream. Evaluating a run's saved weights on
/// it reproduces that run's test accuracy and error; another `cfg.run.seed`
/// gives an independent test set.
pub fn test_set(cfg: &Config, device: Device) -> Result<Dataset> {
    let mut stimulus_rng = StimulusRng::new(cfg)?;
    drop(random_ipd_input_signal(
        cfg,
        cfg.n_training_samples(),
        &mut stimulus_rng,
        Device::Cpu,
    )?);
    random_ipd_input_signal(cfg, cfg.n_testing_samples(), &mut stimulus_rng, device)
}

/// Evaluates `weights` as `run` analyses its test set: on `test_set`,
/// shuffled by libtorch's generator in the state `run` leaves it in. The
/// draws `run` makes before that analysis (the initial weights, one batch
/// order per epoch, diverged or not, and the training set's analysis) are
/// replayed, so every test number of the run comes out again.
pub fn evaluate(
    cfg: &Config,
    device: Device,
    engine: Engine,
    weights: &Weights,
) -> Result<Analysis> {
    let test_data = test_set(cfg, device)?;
    let _generator = seed_torch(cfg.run.seed);
    drop(init_weight_matrices(cfg, device, engine.arithmetic())?);
    for _ in 0..=cfg.training.epochs {
        drop(batch_order(cfg.n_training_samples() as i64)?);
    }
    analyse(&EngineData::new(&test_data, engine)?, weights, cfg, engine)
}

/// Seeds both generators from `cfg.run.seed` (numpy-style stimulus draws and
/// libtorch's, like `np.random.seed` + `torch.manual_seed`) and runs the
/// experiment on `engine` (see `Engine::resolve`). Random draws happen in
/// the notebook's order on each generator, so `rng` numpy reproduces the
/// notebook's numbers. `on_event` hears of each epoch and analysis; an
/// error it returns (a progress line that could not be written) ends the
/// experiment with that error.
pub fn run(
    cfg: &Config,
    device: Device,
    engine: Engine,
    on_event: impl FnMut(Event) -> Result<()>,
) -> Result<Outcome> {
    run_resumable(cfg, device, engine, None, on_event, |_| Ok(()))
}

/// `run`, going on from a checkpoint of this config where given (its
/// numbers come out as those of a run never interrupted), and handing each
/// epoch's checkpoint to `save`.
pub fn run_resumable(
    cfg: &Config,
    device: Device,
    engine: Engine,
    resume: Option<&Checkpoint>,
    mut on_event: impl FnMut(Event) -> Result<()>,
    save: impl FnMut(&Saved) -> Result<()>,
) -> Result<Outcome> {
    cfg.validate()?;
    let start = Instant::now();
    let mut seconds = Timings::default();
    let mut stimulus_rng = StimulusRng::new(cfg)?;
    let _generator = seed_torch(cfg.run.seed);

    let clock = Instant::now();
    // Where the engine keeps the spikes as lists, the dense set is freed.
    let first_set = EngineData::new(
        &random_ipd_input_signal(cfg, cfg.n_training_samples(), &mut stimulus_rng, device)?,
        engine,
    )?;
    let mut training_sets = TrainingSets::new(cfg, engine, device, first_set);
    seconds.data_train = clock.elapsed().as_secs_f64();
    let clock = Instant::now();
    // Drawn even on a resume: libtorch's generator goes on from there.
    let mut weights = init_weight_matrices(cfg, device, engine.arithmetic())?;
    if let Some(c) = resume {
        weights = c.weights.detached_copy(device)?.trained_by(cfg);
    }
    let history = train(
        cfg,
        engine,
        &mut training_sets,
        &mut weights,
        resume,
        |progress| on_event(Event::Training(progress)),
        save,
    )?;
    // Under Dale's law the network is |w|·sign: that is what is analysed
    // and saved, so the weights file needs no signs beside it.
    if let Some(dale) = DaleSigns::new(cfg)? {
        weights = dale.effective(&weights)?.detached_copy(device)?;
    }
    seconds.training = clock.elapsed().as_secs_f64();
    seconds.epochs = history.epoch_seconds;

    let clock = Instant::now();
    // With fresh training data: the set of the last epoch trained.
    let train = analyse(training_sets.last(), &weights, cfg, engine)?;
    seconds.analysis_train = clock.elapsed().as_secs_f64();
    on_event(Event::Analysed {
        label: "Train",
        analysis: &train,
    })?;
    drop(training_sets);
    crate::malloc::release_free_memory();
    let clock = Instant::now();
    // The test set comes after the training set on the stimulus stream, as
    // in the notebook. Training and analysis draw only from libtorch's
    // generator, so drawing it here, with the training set gone, gives the
    // same data and holds one data set in memory instead of two.
    let test_data = EngineData::new(
        &random_ipd_input_signal(cfg, cfg.n_testing_samples(), &mut stimulus_rng, device)?,
        engine,
    )?;
    seconds.data_test = clock.elapsed().as_secs_f64();
    let clock = Instant::now();
    let test = analyse(&test_data, &weights, cfg, engine)?;
    seconds.analysis_test = clock.elapsed().as_secs_f64();
    on_event(Event::Analysed {
        label: "Test",
        analysis: &test,
    })?;

    seconds.total = start.elapsed().as_secs_f64();
    Ok(Outcome {
        loss: history.loss,
        train,
        test,
        weights,
        seconds,
        diverged: history.diverged,
    })
}
