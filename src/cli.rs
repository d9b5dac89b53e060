//! Command-line interface: flags named after the notebook's variables.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{Config, Preset};

#[derive(Parser, Debug)]
#[command(
    name = "snnloc",
    version,
    about = "Train spiking neural networks with surrogate gradients to localise sounds from their interaural phase difference",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Generate data, train, and analyse on train and fresh test data (the notebook's main cell)
    Train(TrainArgs),
    /// Evaluate saved weights on a test set drawn for the config's seed (the run's own test set; --seed N gives another)
    Eval(EvalArgs),
    /// Draw the input spikes for random IPDs (the notebook's first figure)
    Stimulus(StimulusArgs),
    /// Train repeatedly over the values of one parameter and summarise across repeats (the notebook's Project); resumable, shardable
    Sweep(SweepArgs),
    /// Combine the folders of a sharded sweep into one runs.csv, summary.csv and figures
    SweepMerge(SweepMergeArgs),
}

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Parameter to vary: any config flag but --seed (envelope-power, tau-ms, num-hidden, phase-offset, ...; notebook names like tau also work)
    #[arg(long)]
    pub param: String,
    /// Values as a list (0,1,2,5) or an inclusive range start:stop:step (0:50:10)
    #[arg(long, allow_hyphen_values = true)]
    pub values: String,
    /// Independent trainings per value, each with a seed derived from --seed, the value and the repeat
    #[arg(long, default_value_t = 1)]
    pub repeats: usize,
    /// The base config of every run; --seed is the seed the run seeds derive from
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Sweep folder; running the same sweep on it again resumes it
    #[arg(long)]
    pub out: PathBuf,
    /// Run only shard K of N: the jobs whose index modulo N is K (e.g. 3/10)
    #[arg(long, default_value = "0/1")]
    pub shard: String,
    /// Training processes at once; without --threads each gets cores/jobs libtorch threads. Small networks use cores poorly, so --jobs <cores> trains fastest on the CPU
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Start at most this many runs, then stop; running the command again continues
    #[arg(long)]
    pub max_runs: Option<usize>,
    /// If --out holds a different sweep, delete its results and start afresh
    #[arg(long)]
    pub force: bool,
    /// List this shard's jobs with the `snnloc train` command of each, and run nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct SweepMergeArgs {
    /// Folder for the merged runs.csv, summary.csv and figures
    #[arg(long)]
    pub out: PathBuf,
    /// Shard folders of one sweep (written by `snnloc sweep --shard K/N`)
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Print only errors
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct StimulusArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Number of random IPDs to draw, one panel each (1 to 8)
    #[arg(long, default_value_t = 8)]
    pub samples: usize,
    /// Output folder for stimulus.png and stimulus.svg [default: results/stimulus-seed<SEED>]
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct TrainArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Output folder [default: results/train-seed<SEED>]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Do not draw the loss and analysis figures
    #[arg(long)]
    pub no_plots: bool,
}

#[derive(Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct EvalArgs {
    /// Weights saved by `snnloc train` (weights.safetensors, tensors W1 and W2)
    #[arg(long)]
    pub weights: PathBuf,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Folder for eval.json and the confusion matrices (nothing is written without it)
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct RuntimeArgs {
    /// auto (CUDA if available, else CPU, like the notebook), cpu, cuda or cuda:N
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// libtorch intra-op threads [default: libtorch's choice, one per core]
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print only errors
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PresetArg {
    /// 64 training batches of 64 (the notebook's my_computer_is_slow = True)
    Slow,
    /// 128 training batches of 128
    Fast,
}

/// Every field of `Config`; unset flags keep the notebook's value (or the
/// value from --config).
#[derive(Args, Debug, Clone, Default)]
pub struct ConfigArgs {
    /// Start from a config.json written by an earlier run; flags override it
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Training-set size preset
    #[arg(long, value_enum)]
    pub preset: Option<PresetArg>,
    /// Seed of the stimulus and libtorch generators [default: 0]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulation time step, ms [default: 1]
    #[arg(long)]
    pub dt_ms: Option<f64>,
    /// Auditory nerve fibres per ear [default: 100]
    #[arg(long)]
    pub anf_per_ear: Option<usize>,
    /// Envelope sharpness exponent [default: 2]
    #[arg(long)]
    pub envelope_power: Option<f64>,
    /// Maximum Poisson firing rate, Hz [default: 600]
    #[arg(long)]
    pub rate_max: Option<f64>,
    /// Stimulus frequency, Hz [default: 20]
    #[arg(long)]
    pub f: Option<f64>,
    /// Stimulus duration, ms [default: 100]
    #[arg(long)]
    pub duration_ms: Option<f64>,
    /// Number of IPD classes over (-90, 90) degrees [default: 12]
    #[arg(long)]
    pub num_classes: Option<usize>,
    /// Samples per batch [default: 64]
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Training batches per epoch [default: 64]
    #[arg(long)]
    pub n_training_batches: Option<usize>,
    /// Test batches [default: 32]
    #[arg(long)]
    pub n_testing_batches: Option<usize>,
    /// Surrogate gradient steepness [default: 5]
    #[arg(long)]
    pub beta: Option<f64>,
    /// Hidden LIF neurons [default: 30]
    #[arg(long)]
    pub num_hidden: Option<usize>,
    /// Membrane time constant, ms [default: 20]
    #[arg(long)]
    pub tau_ms: Option<f64>,
    /// Adam learning rate [default: 0.01]
    #[arg(long)]
    pub lr: Option<f64>,
    /// Training epochs [default: 10]
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Scale of the summed readout before the softmax [default: 0.01]
    #[arg(long)]
    pub readout_scale: Option<f64>,
    /// One random phase offset per data set (notebook) or one per sample [default: per-call]
    #[arg(long, value_parser = ["per-call", "per-sample"])]
    pub phase_offset: Option<String>,
    /// Stimulus generator: fast (parallel) or numpy (the notebook's draws, bit for bit) [default: fast]
    #[arg(long, value_parser = ["fast", "numpy"])]
    pub rng: Option<String>,
    /// reference (the notebook's autograd graph), fused (hand-derived backward, CPU only: on CUDA the reference runs) or auto (fused, but reference with --rng numpy) [default: auto]
    #[arg(long, value_parser = ["auto", "reference", "fused"])]
    pub engine: Option<String>,
}

impl ConfigArgs {
    /// The config these flags describe, validated.
    pub fn resolve(&self) -> Result<Config> {
        let cfg = self.resolve_unvalidated()?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The config these flags describe, unchecked: a sweep checks each run's
    /// config instead, as the base may be valid only once the swept value is
    /// set (sweeping --rate-max with a --dt-ms too large for its default).
    pub fn resolve_unvalidated(&self) -> Result<Config> {
        let mut cfg = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("--config {}: cannot read it", path.display()))?;
                serde_json::from_str(&text).with_context(|| {
                    format!("--config {}: not a snnloc config.json", path.display())
                })?
            }
            None => Config::default(),
        };
        if let Some(preset) = self.preset {
            let preset = match preset {
                PresetArg::Slow => Preset::Slow,
                PresetArg::Fast => Preset::Fast,
            };
            let sized = Config::with_preset(preset);
            cfg.batch_size = sized.batch_size;
            cfg.n_training_batches = sized.n_training_batches;
        }
        let flags: [(&str, Option<String>); 20] = [
            ("seed", self.seed.map(|v| v.to_string())),
            ("dt-ms", self.dt_ms.map(|v| v.to_string())),
            ("anf-per-ear", self.anf_per_ear.map(|v| v.to_string())),
            ("envelope-power", self.envelope_power.map(|v| v.to_string())),
            ("rate-max", self.rate_max.map(|v| v.to_string())),
            ("f", self.f.map(|v| v.to_string())),
            ("duration-ms", self.duration_ms.map(|v| v.to_string())),
            ("num-classes", self.num_classes.map(|v| v.to_string())),
            ("batch-size", self.batch_size.map(|v| v.to_string())),
            (
                "n-training-batches",
                self.n_training_batches.map(|v| v.to_string()),
            ),
            (
                "n-testing-batches",
                self.n_testing_batches.map(|v| v.to_string()),
            ),
            ("beta", self.beta.map(|v| v.to_string())),
            ("num-hidden", self.num_hidden.map(|v| v.to_string())),
            ("tau-ms", self.tau_ms.map(|v| v.to_string())),
            ("lr", self.lr.map(|v| v.to_string())),
            ("epochs", self.epochs.map(|v| v.to_string())),
            ("readout-scale", self.readout_scale.map(|v| v.to_string())),
            ("phase-offset", self.phase_offset.clone()),
            ("rng", self.rng.clone()),
            ("engine", self.engine.clone()),
        ];
        for (name, value) in flags {
            if let Some(value) = value {
                cfg.set(name, &value)?;
            }
        }
        Ok(cfg)
    }
}

/// Prints a command-line mistake as one line and returns clap's exit code;
/// help and version requests print in full.
pub fn report_usage_error(e: clap::Error) -> std::process::ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return std::process::ExitCode::from(e.exit_code() as u8);
    }
    let text = e.to_string();
    let mut lines = text.lines();
    let mut message = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_string();
    // Some messages end in a colon and list what they mean on the indented
    // lines that follow (e.g. the missing required arguments).
    if message.ends_with(':') {
        let items: Vec<&str> = lines
            .take_while(|line| line.starts_with("  "))
            .map(str::trim)
            .collect();
        message = format!("{message} {}", items.join(", "));
    }
    eprintln!("error: {message} (see 'snnloc --help')");
    std::process::ExitCode::from(2)
}

/// An error and its causes on one line; libtorch's messages carry C++
/// backtraces after their first line, which are dropped.
pub fn one_line(e: &anyhow::Error) -> String {
    e.chain()
        .map(|cause| {
            cause
                .to_string()
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(": ")
}
