//! Every constant of the notebook in one place, with the notebook's values as
//! defaults and all validation done here, so the CLI, sweeps and library users
//! share one definition of what a valid experiment is.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// How the random phase offset of the stimulus is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhaseOffset {
    /// One offset per call of `input_signal`, shared by every sample of the
    /// data set: the notebook's behaviour. The whole training set then starts
    /// at the same phase, so a network can partly learn that phase instead of
    /// the IPD, which is why test accuracy swings so much between runs.
    PerCall,
    /// An independent offset for every sample: the network must read the IPD
    /// from the difference between the ears, whatever the absolute phase.
    PerSample,
}

/// Which random number generator drives the stimulus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RngMode {
    /// Fast, parallel, reproducible per seed; same distribution as numpy.
    Fast,
    /// numpy's legacy MT19937 stream, drawn in the notebook's order, so the
    /// IPDs and spikes equal the notebook's for the same seed.
    Numpy,
}

/// Which implementation of the network runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    /// `Fused`, except with `RngMode::Numpy`: reproducing the notebook's
    /// numbers needs the notebook's own arithmetic.
    Auto,
    /// The notebook's autograd graph, step by step.
    Reference,
    /// Hand-derived forward and backward pass without an autograd graph.
    Fused,
}

/// The notebook's two training-set presets (`my_computer_is_slow`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// 64 batches of 64 for training.
    Slow,
    /// 128 batches of 128 for training.
    Fast,
}

/// All parameters of one experiment (stimulus, network, training). As JSON,
/// missing fields take the notebook's values and unknown ones are refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Simulation time step in ms.
    pub dt_ms: f64,
    /// Auditory nerve fibres per ear, each with independent Poisson noise.
    pub anf_per_ear: usize,
    /// Exponent sharpening the stimulus envelope.
    pub envelope_power: f64,
    /// Maximum Poisson firing rate in Hz.
    pub rate_max: f64,
    /// Stimulus frequency in Hz.
    pub f: f64,
    /// Stimulus duration in ms.
    pub duration_ms: f64,
    /// IPD classes over (-90°, 90°); 12 gives the notebook's 15° bins.
    pub num_classes: usize,
    pub batch_size: usize,
    pub n_training_batches: usize,
    pub n_testing_batches: usize,
    /// Steepness of the sigmoid surrogate gradient.
    pub beta: f64,
    pub num_hidden: usize,
    /// Membrane time constant in ms (hidden and readout layers).
    pub tau_ms: f64,
    /// Adam learning rate.
    pub lr: f64,
    pub epochs: usize,
    /// Scale of the time-summed readout before the softmax, chosen in the
    /// notebook so that the first epoch's loss is near ln(num_classes).
    pub readout_scale: f64,
    pub phase_offset: PhaseOffset,
    pub rng: RngMode,
    pub engine: Engine,
    /// Seeds numpy-style stimulus draws and libtorch's generator.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            dt_ms: 1.0,
            anf_per_ear: 100,
            envelope_power: 2.0,
            rate_max: 600.0,
            f: 20.0,
            duration_ms: 100.0,
            num_classes: 12,
            batch_size: 64,
            n_training_batches: 64,
            n_testing_batches: 32,
            beta: 5.0,
            num_hidden: 30,
            tau_ms: 20.0,
            lr: 0.01,
            epochs: 10,
            readout_scale: 0.01,
            phase_offset: PhaseOffset::PerCall,
            rng: RngMode::Fast,
            engine: Engine::Auto,
            seed: 0,
        }
    }
}

/// Parameters that `set` accepts, by their CLI names (without `--`).
pub const PARAMETERS: &[&str] = &[
    "dt-ms",
    "anf-per-ear",
    "envelope-power",
    "rate-max",
    "f",
    "duration-ms",
    "num-classes",
    "batch-size",
    "n-training-batches",
    "n-testing-batches",
    "beta",
    "num-hidden",
    "tau-ms",
    "lr",
    "epochs",
    "readout-scale",
    "phase-offset",
    "rng",
    "engine",
    "seed",
];

impl Config {
    pub fn with_preset(preset: Preset) -> Self {
        let mut cfg = Config::default();
        if preset == Preset::Fast {
            cfg.batch_size = 128;
            cfg.n_training_batches = 128;
        }
        cfg
    }

    /// Time step in seconds, built as the notebook's `1*ms` is.
    pub fn dt(&self) -> f64 {
        self.dt_ms * 1e-3
    }

    pub fn tau(&self) -> f64 {
        self.tau_ms * 1e-3
    }

    pub fn duration(&self) -> f64 {
        self.duration_ms * 1e-3
    }

    pub fn duration_steps(&self) -> usize {
        (self.duration() / self.dt()).round() as usize
    }

    pub fn input_size(&self) -> usize {
        2 * self.anf_per_ear
    }

    /// Membrane decay per time step.
    pub fn alpha(&self) -> f64 {
        (-self.dt() / self.tau()).exp()
    }

    /// The engine that runs: `engine` with `Auto` decided.
    pub fn resolved_engine(&self) -> Engine {
        match (self.engine, self.rng) {
            (Engine::Auto, RngMode::Numpy) => Engine::Reference,
            (Engine::Auto, RngMode::Fast) => Engine::Fused,
            (chosen, _) => chosen,
        }
    }

    pub fn n_training_samples(&self) -> usize {
        self.batch_size * self.n_training_batches
    }

    pub fn n_testing_samples(&self) -> usize {
        self.batch_size * self.n_testing_batches
    }

    /// Checks every constraint; the error names the flag to fix.
    pub fn validate(&self) -> Result<()> {
        let sizes = [
            ("anf-per-ear", self.anf_per_ear),
            ("batch-size", self.batch_size),
            ("n-training-batches", self.n_training_batches),
            ("n-testing-batches", self.n_testing_batches),
            ("num-hidden", self.num_hidden),
            ("epochs", self.epochs),
        ];
        for (flag, value) in sizes {
            if value < 1 {
                bail!("--{flag} must be at least 1, got {value}");
            }
        }
        let positive = [
            ("dt-ms", self.dt_ms),
            ("tau-ms", self.tau_ms),
            ("duration-ms", self.duration_ms),
            ("f", self.f),
            ("lr", self.lr),
            ("rate-max", self.rate_max),
            ("beta", self.beta),
            ("readout-scale", self.readout_scale),
        ];
        for (flag, value) in positive {
            if !(value.is_finite() && value > 0.0) {
                bail!("--{flag} must be a finite number greater than 0, got {value}");
            }
        }
        if !(self.envelope_power.is_finite() && self.envelope_power >= 0.0) {
            bail!(
                "--envelope-power must be a finite number of at least 0, got {}",
                self.envelope_power
            );
        }
        let p_max = self.rate_max * self.dt();
        if p_max > 1.0 {
            bail!(
                "--rate-max {} Hz times --dt-ms {} ms is a spike probability of {p_max} per step; \
                 it must be at most 1 (lower --rate-max or --dt-ms)",
                self.rate_max,
                self.dt_ms
            );
        }
        if self.rng == RngMode::Numpy && self.seed > u64::from(u32::MAX) {
            bail!(
                "--seed {}: numpy seeds must be between 0 and 4294967295 (with --rng numpy)",
                self.seed
            );
        }
        if self.num_classes < 2 {
            bail!("--num-classes must be at least 2, got {}", self.num_classes);
        }
        let steps = self.duration() / self.dt();
        if !(2.0..=1e6).contains(&steps.round()) {
            bail!(
                "--duration-ms {} with --dt-ms {} gives {} time steps; it must be between 2 and 1000000",
                self.duration_ms,
                self.dt_ms,
                steps.round()
            );
        }
        // The notebook draws all stimulus uniforms at once; refuse sizes that
        // would not fit in memory rather than fail inside libtorch.
        let elements = (self.n_training_samples().max(self.n_testing_samples()) as f64)
            * steps.round()
            * self.input_size() as f64;
        if elements > 8e9 {
            bail!(
                "the data set would hold {elements:.3e} input values (batch-size x n-*-batches x steps x 2*anf-per-ear); reduce one of them"
            );
        }
        Ok(())
    }

    /// Sets one parameter from text, by its CLI name (`tau-ms`) or the
    /// notebook's (`tau`, `num_hidden`). Used by the CLI and by sweeps.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        let key = canonical_parameter(name)?;
        let value = value.trim();
        let bad = || format!("--{key}: cannot read '{value}' as a value for {key}");
        match key {
            "dt-ms" => self.dt_ms = value.parse().with_context(bad)?,
            "anf-per-ear" => self.anf_per_ear = value.parse().with_context(bad)?,
            "envelope-power" => self.envelope_power = value.parse().with_context(bad)?,
            "rate-max" => self.rate_max = value.parse().with_context(bad)?,
            "f" => self.f = value.parse().with_context(bad)?,
            "duration-ms" => self.duration_ms = value.parse().with_context(bad)?,
            "num-classes" => self.num_classes = value.parse().with_context(bad)?,
            "batch-size" => self.batch_size = value.parse().with_context(bad)?,
            "n-training-batches" => self.n_training_batches = value.parse().with_context(bad)?,
            "n-testing-batches" => self.n_testing_batches = value.parse().with_context(bad)?,
            "beta" => self.beta = value.parse().with_context(bad)?,
            "num-hidden" => self.num_hidden = value.parse().with_context(bad)?,
            "tau-ms" => self.tau_ms = value.parse().with_context(bad)?,
            "lr" => self.lr = value.parse().with_context(bad)?,
            "epochs" => self.epochs = value.parse().with_context(bad)?,
            "readout-scale" => self.readout_scale = value.parse().with_context(bad)?,
            "phase-offset" => self.phase_offset = parse_enum(value).with_context(bad)?,
            "rng" => self.rng = parse_enum(value).with_context(bad)?,
            "engine" => self.engine = parse_enum(value).with_context(bad)?,
            "seed" => self.seed = value.parse().with_context(bad)?,
            _ => unreachable!("canonical_parameter only returns names of PARAMETERS"),
        }
        Ok(())
    }

    /// The value of one parameter as text, in the form `set` reads.
    pub fn get(&self, name: &str) -> Result<String> {
        let key = canonical_parameter(name)?;
        let json = serde_json::to_value(self)?;
        let field = key.replace('-', "_");
        Ok(match &json[&field] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
}

/// Maps the accepted spellings of a parameter to its CLI name.
pub fn canonical_parameter(name: &str) -> Result<&'static str> {
    let kebab = name.trim().trim_start_matches("--").replace('_', "-");
    let kebab = match kebab.as_str() {
        "dt" => "dt-ms",
        "tau" => "tau-ms",
        "duration" => "duration-ms",
        other => other,
    };
    PARAMETERS
        .iter()
        .copied()
        .find(|p| *p == kebab)
        .with_context(|| {
            format!(
                "unknown parameter '{name}'; choose one of: {}",
                PARAMETERS.join(", ")
            )
        })
}

fn parse_enum<T: serde::de::DeserializeOwned>(value: &str) -> Result<T> {
    Ok(serde_json::from_value(serde_json::Value::String(
        value.to_string(),
    ))?)
}
