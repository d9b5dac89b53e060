//! The command line: subcommands and their flags. The experiment's options
//! become flags in `config_args`, from their one definition in the library.

pub mod commands;
mod config_args;
pub mod inspect;
pub mod present;
#[cfg(test)]
mod readme;
pub mod runtime;
pub mod sweep;

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

pub use config_args::ConfigArgs;

#[derive(Parser, Debug)]
#[command(
    name = "snnloc",
    version,
    // Scripts append overrides (`--epochs 2 ... --epochs 5`): the last wins.
    args_override_self = true,
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
    /// Show what a trained network learned: tuning curves, hidden activity, weights, ablations, and the ideal observer beside it (CSVs and figures)
    Inspect(InspectArgs),
    /// The ideal observer of a stimulus config: the best accuracy any classifier can reach on its test set
    Ideal(IdealArgs),
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Folder of a `snnloc train` run (its config.json and weights.safetensors)
    pub run_dir: PathBuf,
    /// Output folder for the CSVs and figures [default: RUN_DIR/inspect]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace --out whole even where it holds files that inspect does not write
    #[arg(long)]
    pub force: bool,
    /// Inspect on a fresh test set drawn for this seed [default: the run's own test set]
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub cpu: CpuArgs,
}

#[derive(Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct IdealArgs {
    /// The stimulus and data options; the test set is the one `snnloc train` draws for --seed
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Also the observer that forgets the phase offset between windows of this width, marginalising it afresh in each (whole steps, from one step to the duration): how much of the limit rests on holding one phase reference over the whole stimulus, ms
    #[arg(long, value_name = "MS")]
    pub offset_window_ms: Option<f64>,
    /// Folder for ideal_summary.csv (nothing is written without it)
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub cpu: CpuArgs,
}

/// The runtime flags of the commands that run on the CPU only.
#[derive(Args, Debug, Clone)]
pub struct CpuArgs {
    /// Threads of libtorch and of the stimulus generator [default: one per core]
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print only errors
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct SweepArgs {
    /// Option to vary: any config flag but --seed (envelope-power, tau-ms, num-hidden, phase-offset, ...; notebook names like tau also work). Give it twice, each followed by its --values, for the grid of two options
    #[arg(long, required = true, action = ArgAction::Append)]
    pub param: Vec<String>,
    /// Values as a list (0,1,2,5) or an inclusive range start:stop:step (0:50:10); one --values per --param, in the same order
    #[arg(long, required = true, action = ArgAction::Append, allow_hyphen_values = true)]
    pub values: Vec<String>,
    /// Independent trainings per value (per cell of a grid), each with a seed derived from --seed, the value(s) and the repeat
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
    /// Run only shard K of N: the jobs whose index modulo N is K (e.g. 3/10); `slurm` takes K and N from the SLURM job array this runs in
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
    /// Inspect every run after its training, into runs/<value-index>-<repeat>/inspect
    #[arg(long)]
    pub inspect: bool,
    /// Add the ideal observer's accuracy and errors per value to summary.csv and the figures, computed once per value on the test set of its repeat 0 (kept in ideal.csv; later calls keep it up to date)
    #[arg(long)]
    pub ideal: bool,
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
    /// Add the ideal observer per value, as `snnloc sweep --ideal` (also when a shard has ideal.csv)
    #[arg(long)]
    pub ideal: bool,
    /// If --out holds a different sweep, or files that no sweep writes, delete its results and merge afresh
    #[arg(long)]
    pub force: bool,
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
    /// Then inspect the trained network on its test set, into OUT/inspect (as `snnloc inspect OUT`)
    #[arg(long)]
    pub inspect: bool,
    /// Replace --out whole even where it holds a run of another config, files that no run writes, or an unfinished run's checkpoint
    #[arg(long)]
    pub force: bool,
    /// Go on from the checkpoint that a killed `train` with the same --out and config left (written after every epoch); the result is that of a run never interrupted
    #[arg(long)]
    pub resume: bool,
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
    /// Threads of libtorch and of the stimulus generator [default: one per core]
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print only errors
    #[arg(long, short)]
    pub quiet: bool,
}
