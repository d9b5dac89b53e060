//! Every option of an experiment, defined once (below, in `define_options!`)
//! with the notebook's values as defaults, grouped the way Norse keeps one
//! parameter struct per neuron model: the stimulus, the labelled data sets,
//! the network, training, and how the run is carried out. The command line,
//! config files, sweeps and the README's option list all derive from these
//! entries; validation lives here too, so every entry point shares one
//! definition of a valid experiment.
//!
//! Errors name options in backticks (`tau-ms`); the program shows them as
//! flags.

mod choices;
mod define;
mod json;
mod preset;
pub mod value;

use anyhow::{bail, Result};

pub use choices::*;
use define::define_options;
pub use define::{check, OptionDef, Setting};
pub use json::{first_difference, stored_difference};
pub use preset::Preset;
pub use value::{shown, OptionValue, ValueKind};

define_options! {
    /// Stimulus: the sound and the auditory nerve fibres that encode it
    Stimulus => StimulusParams as stimulus {
        /// Simulation time step
        dt_ms: f64 = 1.0;
            unit "ms", check check::positive, aliases ["dt"], sweep true;
        /// Auditory nerve fibres per ear
        anf_per_ear: usize = 100;
            unit "", check check::at_least_one, aliases [], sweep true;
        /// Envelope sharpness exponent
        envelope_power: f64 = 2.0;
            unit "", check check::non_negative, aliases [], sweep true;
        /// Maximum Poisson firing rate
        rate_max: f64 = 600.0;
            unit "Hz", check check::positive, aliases [], sweep true;
        /// Stimulus frequency
        f: f64 = 20.0;
            unit "Hz", check check::positive, aliases [], sweep true;
        /// Stimulus duration
        duration_ms: f64 = 100.0;
            unit "ms", check check::positive, aliases ["duration"], sweep true;
        /// One random phase offset per data set (notebook) or one per sample
        phase_offset: PhaseOffset = PhaseOffset::PerCall;
            unit "", check check::any, aliases [], sweep true;
    }
    /// Data: IPD classes and the sizes of the training and test sets
    Data => DataParams as data {
        /// Number of IPD classes over (-90, 90) degrees
        num_classes: usize = 12;
            unit "", check check::at_least_two, aliases [], sweep true;
        /// Samples per batch
        batch_size: usize = 64;
            unit "", check check::at_least_one, aliases [], sweep true;
        /// Training batches per epoch
        n_training_batches: usize = 64;
            unit "", check check::at_least_one, aliases [], sweep true;
        /// Test batches
        n_testing_batches: usize = 32;
            unit "", check check::at_least_one, aliases [], sweep true;
        /// Training set: fixed (one set for every epoch, the notebook's) or
        /// fresh (a new set each epoch, drawn from the seed and the epoch)
        training_data: TrainingData = TrainingData::Fixed;
            unit "", check check::any, aliases [], sweep true;
    }
    /// Network: the hidden LIF layer and the leaky readout
    Network => NetworkParams as network {
        /// Hidden LIF neurons
        num_hidden: usize = 30;
            unit "", check check::at_least_one, aliases [], sweep true;
        /// Membrane time constant of the hidden LIF layer
        tau_hidden_ms: f64 = 20.0;
            unit "ms", check check::positive, aliases [], sweep true;
        /// Membrane time constant of the readout layer
        tau_output_ms: f64 = 20.0;
            unit "ms", check check::positive, aliases [], sweep true;
        /// Each unit's time constant at the start: equal (the layer's τ, the
        /// notebook's) or gamma (drawn around it, shape 3, per unit)
        tau_init: TauInit = TauInit::Equal;
            unit "", check check::any, aliases [], sweep true;
        /// Train each unit's time constant with the weights (on), kept between
        /// a tenth of `dt-ms` and ten times `duration-ms`; saved with them
        learn_tau: Switch = Switch::Off;
            unit "", check check::any, aliases [], sweep true;
        /// A recurrent hidden layer (on): each unit's spikes feed every hidden
        /// unit at the next step through a trained W_rec, saved with the
        /// weights; the reference engine runs it
        recurrent: Switch = Switch::Off;
            unit "", check check::any, aliases [], sweep true;
        /// Longest learnable delay of the input synapses (DCLS): each W1
        /// synapse gets a delay from 0 to this, trained and saved with the
        /// weights, whole steps after training; 0 (the notebook's) has none;
        /// the reference engine runs it
        max_delay_ms: f64 = 0.0;
            unit "ms", check check::non_negative, aliases [], sweep true;
        /// Membrane potential at which a hidden neuron spikes (the notebook's
        /// `mem - 1`)
        threshold: f64 = 1.0;
            unit "", check check::positive, aliases [], sweep true;
        /// What a spike does to the membrane: multiplicative (back to 0,
        /// the notebook's) or subtractive (the threshold is taken off)
        reset: Reset = Reset::Multiplicative;
            unit "", check check::any, aliases [], sweep true;
        /// Spike-frequency adaptation (ALIF, Bellec et al. 2018): each
        /// spike raises the unit's threshold by this much, and the raise
        /// decays with `tau-adapt-ms`; 0 (the notebook's) is the plain LIF
        adapt_strength: f64 = 0.0;
            unit "", check check::non_negative, aliases [], sweep true;
        /// Time constant with which the adaptation's threshold raise decays
        tau_adapt_ms: f64 = 100.0;
            unit "ms", check check::positive, aliases [], sweep true;
        /// Surrogate derivative of the spike: sigmoid,
        /// beta·σ(beta·x)·(1-σ(beta·x)) (the notebook's); fast-sigmoid,
        /// 1/(1+beta·|x|)² (SuperSpike); or atan, (beta/2)/(1+(π/2·beta·x)²)
        surrogate: SurrogateShape = SurrogateShape::Sigmoid;
            unit "", check check::any, aliases [], sweep true;
        /// Slope of the surrogate derivative (snnTorch's slope, or alpha for
        /// atan)
        beta: f64 = 5.0;
            unit "", check check::positive, aliases [], sweep true;
        /// Class scores from the readout trace: its sum over time (the
        /// notebook's) or its maximum
        readout: Readout = Readout::Sum;
            unit "", check check::any, aliases [], sweep true;
        /// Scale of the time-summed readout before the softmax, chosen in the
        /// notebook so that the first epoch's loss is near ln(num_classes)
        readout_scale: f64 = 0.01;
            unit "", check check::positive, aliases [], sweep true;
        /// Dale's law: fraction of the input fibres that are inhibitory
        /// (their W1 rows are -|w|, the others +|w|), chosen at random per
        /// seed; 0 with the next option leaves weights free, the notebook's
        dale_inhibitory_input: f64 = 0.0;
            unit "", check check::fraction, aliases [], sweep true;
        /// Dale's law: fraction of the hidden units that are inhibitory
        /// (their W2 rows are -|w|)
        dale_inhibitory_hidden: f64 = 0.0;
            unit "", check check::fraction, aliases [], sweep true;
    }
    /// Training: the optimiser and its schedule
    Training => TrainingParams as training {
        /// Adam learning rate
        lr: f64 = 0.01;
            unit "", check check::positive, aliases [], sweep true;
        /// Training epochs
        epochs: usize = 10;
            unit "", check check::at_least_one, aliases [], sweep true;
        /// Learning-rate schedule: constant (the notebook's) or cosine, from
        /// `lr` at the first step to `lr` x `lr-floor` at the last
        lr_schedule: LrSchedule = LrSchedule::Constant;
            unit "", check check::any, aliases [], sweep true;
        /// Where the cosine schedule ends, as a fraction of `lr`
        lr_floor: f64 = 0.0;
            unit "", check check::fraction, aliases [], sweep true;
        /// Strength s of the firing-rate regulariser, which adds
        /// s·mean_m((relu(r_m - low)/(high - low))²) to the loss for the
        /// hidden rates r_m; 0 (the notebook's) turns it off
        rate_reg_strength: f64 = 0.0;
            unit "", check check::non_negative, aliases [], sweep true;
        /// Hidden firing rate above which the regulariser acts
        rate_reg_low_hz: f64 = 100.0;
            unit "Hz", check check::non_negative, aliases [], sweep true;
        /// Hidden firing rate at which the regulariser's penalty reaches 1
        rate_reg_high_hz: f64 = 200.0;
            unit "Hz", check check::positive, aliases [], sweep true;
    }
    /// Run: seeds, random number generator and engine
    Run => RunParams as run {
        /// Seed of the stimulus and libtorch generators
        seed: u64 = 0;
            unit "", check check::any, aliases [], sweep false;
        /// Stimulus generator: fast (parallel) or numpy (the notebook's
        /// draws, bit for bit)
        rng: RngMode = RngMode::Fast;
            unit "", check check::any, aliases [], sweep true;
        /// reference (the notebook's autograd graph), fused (hand-derived
        /// backward, CPU only) or auto (fused on the CPU, but the reference
        /// with `rng` numpy or on CUDA)
        engine: EngineChoice = EngineChoice::Auto;
            unit "", check check::any, aliases [], sweep true;
    }
    @shorthands {
        /// Membrane time constant of both layers, as in the notebook (sets
        /// `tau-hidden-ms` and `tau-output-ms`)
        tau_ms: f64 => Network [network.tau_hidden_ms, network.tau_output_ms];
            unit "ms", check check::positive, aliases ["tau"], sweep true;
    }
}

/// What `Config::memory_needed` estimates, in bytes.
#[derive(Clone, Copy, Debug)]
pub struct MemoryNeeded {
    pub data: f64,
    pub batch: f64,
    pub weights: f64,
}

impl MemoryNeeded {
    /// The parts, and libtorch's own ~0.3 GB.
    pub fn total(&self) -> f64 {
        self.data + self.batch + self.weights + 3e8
    }
}

/// Every option, in definition order.
pub fn options() -> &'static [OptionDef] {
    static OPTIONS: std::sync::LazyLock<Vec<OptionDef>> = std::sync::LazyLock::new(definitions);
    &OPTIONS
}

/// The option that `name` spells (its name, JSON key or an alias).
pub fn option(name: &str) -> Result<&'static OptionDef> {
    match options().iter().find(|def| def.answers_to(name)) {
        Some(def) => Ok(def),
        None => bail!(
            "unknown option '{name}'; choose one of: {}",
            options()
                .iter()
                .map(|d| d.name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl Config {
    pub fn with_preset(preset: Preset) -> Self {
        let mut cfg = Config::default();
        preset.apply(&mut cfg);
        cfg
    }

    /// Time step in seconds, built as the notebook's `1*ms` is.
    pub fn dt(&self) -> f64 {
        self.stimulus.dt_ms * 1e-3
    }

    pub fn duration(&self) -> f64 {
        self.stimulus.duration_ms * 1e-3
    }

    pub fn duration_steps(&self) -> usize {
        (self.duration() / self.dt()).round() as usize
    }

    /// The longest synaptic delay in whole steps (a whole number; 0 where
    /// the synapses have none): `max-delay-ms` rounded to steps of `dt-ms`.
    pub fn max_delay_steps(&self) -> f64 {
        (self.network.max_delay_ms / self.stimulus.dt_ms).round()
    }

    pub fn input_size(&self) -> usize {
        2 * self.stimulus.anf_per_ear
    }

    pub fn n_training_samples(&self) -> usize {
        self.data.batch_size * self.data.n_training_batches
    }

    pub fn n_testing_samples(&self) -> usize {
        self.data.batch_size * self.data.n_testing_batches
    }

    /// Every option's value, by option, in definition order (shorthands
    /// too, with the value of the first option they set).
    pub fn values(&self) -> impl Iterator<Item = (&'static OptionDef, String)> + '_ {
        options().iter().map(move |def| (def, def.text(self)))
    }

    /// The options whose value differs from the notebook's, and those named
    /// in `always`, with their values, in definition order: what it takes
    /// to repeat this config from the defaults.
    pub fn differences(&self, always: &[&str]) -> Vec<(&'static OptionDef, String)> {
        let defaults = Config::default();
        self.values()
            .filter(|(def, value)| {
                always.contains(&def.name) || (def.sets.is_empty() && *value != def.text(&defaults))
            })
            .collect()
    }

    /// Checks every constraint; the error names the option to change.
    pub fn validate(&self) -> Result<()> {
        for def in options() {
            if let Err(problem) = def.check(self) {
                bail!("`{}` {problem}", def.name);
            }
        }
        if self.training.rate_reg_high_hz <= self.training.rate_reg_low_hz {
            bail!(
                "`rate-reg-high-hz` {} must be above `rate-reg-low-hz` {}",
                shown(self.training.rate_reg_high_hz),
                shown(self.training.rate_reg_low_hz)
            );
        }
        if self.network.tau_init != TauInit::Equal || self.network.learn_tau == Switch::On {
            // The range per-unit time constants are kept in
            // (`model::time_constants::range`).
            let (low, high) = (self.stimulus.dt_ms / 10.0, self.stimulus.duration_ms * 10.0);
            for (name, tau) in [
                ("tau-hidden-ms", self.network.tau_hidden_ms),
                ("tau-output-ms", self.network.tau_output_ms),
            ] {
                if !(low..=high).contains(&tau) {
                    bail!(
                        "`{name}` {} is outside the range per-unit time constants are kept in, {} to {} ms (a tenth of `dt-ms` to ten times `duration-ms`); choose a τ within it, or `tau-init` equal with `learn-tau` off",
                        shown(tau),
                        shown(low),
                        shown(high)
                    );
                }
            }
        }
        self.check_delays()?;
        let p_max = self.stimulus.rate_max * self.dt();
        if p_max > 1.0 {
            bail!(
                "`rate-max` {} Hz times `dt-ms` {} ms is a spike probability of {} per step; \
                 it must be at most 1 (lower `rate-max` or `dt-ms`)",
                shown(self.stimulus.rate_max),
                shown(self.stimulus.dt_ms),
                shown(p_max)
            );
        }
        if self.run.rng == RngMode::Numpy && self.run.seed > u64::from(u32::MAX) {
            bail!(
                "`seed` {}: numpy seeds must be between 0 and 4294967295 (with `rng` numpy)",
                self.run.seed
            );
        }
        let steps = (self.duration() / self.dt()).round();
        if !(2.0..=1e6).contains(&steps) {
            bail!(
                "`duration-ms` {} with `dt-ms` {} gives {} time steps; it must be between 2 and 1000000",
                shown(self.stimulus.duration_ms),
                shown(self.stimulus.dt_ms),
                shown(steps),
            );
        }
        // The notebook draws all stimulus uniforms at once; refuse sizes that
        // would not fit in memory rather than fail inside libtorch.
        let elements = (self.n_training_samples().max(self.n_testing_samples()) as f64)
            * steps
            * self.input_size() as f64;
        if elements > 8e9 {
            bail!(
                "the data set would hold {elements:.3e} input values (`batch-size` x `n-training-batches` or `n-testing-batches` x steps x 2 x `anf-per-ear`); reduce one of them"
            );
        }
        self.check_memory()
    }

    /// A delay range of at least one whole step and shorter than the
    /// stimulus.
    fn check_delays(&self) -> Result<()> {
        let max = self.network.max_delay_ms;
        if max == 0.0 {
            return Ok(());
        }
        let steps = self.max_delay_steps();
        if steps < 1.0 || steps >= self.duration_steps() as f64 {
            bail!(
                "`max-delay-ms` {} with `dt-ms` {} gives delays of up to {} steps; give at least one step (`dt-ms`) and less than `duration-ms`, or 0 for no delays",
                shown(max),
                shown(self.stimulus.dt_ms),
                shown(steps)
            );
        }
        Ok(())
    }

    /// Refuses, before any allocation, a run that would not fit in the
    /// memory this machine has free.
    fn check_memory(&self) -> Result<()> {
        let Some(available) = crate::machine::available_memory() else {
            return Ok(());
        };
        let needed = self.memory_needed();
        if needed.total() > available {
            let gb = crate::machine::gigabytes;
            bail!(
                "this run needs about {} (data set {}, each batch {}, weights {}) but the machine has {} free; lower `num-hidden`, `batch-size`, `n-training-batches`, `anf-per-ear` or `duration-ms`",
                gb(needed.total()),
                gb(needed.data),
                gb(needed.batch),
                gb(needed.weights),
                gb(available)
            );
        }
        Ok(())
    }

    /// An upper estimate of a training's memory: the larger data set (one
    /// byte per input and step, and with `rng` numpy the notebook's float64
    /// uniforms, drawn all at once; fresh training data holds two training
    /// sets, the epoch's and the next, drawn meanwhile), one batch's float32 arrays (its input
    /// spikes, and about a dozen `(batch, steps, hidden)` arrays of the
    /// forward and backward passes or of the autograd graph), and the
    /// weights with their gradients and Adam's moments.
    pub fn memory_needed(&self) -> MemoryNeeded {
        let steps = self.duration_steps() as f64;
        let (inputs, hidden) = (self.input_size() as f64, self.network.num_hidden as f64);
        let classes = self.data.num_classes as f64;
        let training_sets = match self.data.training_data {
            TrainingData::Fixed => 1,
            TrainingData::Fresh => 2,
        };
        let samples =
            (training_sets * self.n_training_samples()).max(self.n_testing_samples()) as f64;
        let per_input = match self.run.rng {
            RngMode::Fast => 1.0,
            RngMode::Numpy => 9.0,
        };
        let batch = self.data.batch_size as f64 * steps;
        // Delays unfold each batch's spikes over the delay steps (twice, as
        // libtorch copies the windows to multiply them) and spread W1 over
        // them, with its gradient.
        let taps = self.max_delay_steps() + 1.0;
        let (delay_windows, delay_kernel) = match self.network.max_delay_ms > 0.0 {
            true => (2.0 * inputs * taps, 3.0 * inputs * hidden * taps),
            false => (0.0, 0.0),
        };
        MemoryNeeded {
            data: samples * steps * inputs * per_input,
            batch: batch * 4.0 * (inputs + 12.0 * hidden + 4.0 * classes + delay_windows),
            weights: ((inputs * hidden + hidden * classes) * 5.0 + delay_kernel) * 4.0,
        }
    }
}
