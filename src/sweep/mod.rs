//! Parameter sweeps, the notebook's "Project" section done robustly: train
//! independently `repeats` times for every value of one parameter, record
//! each run as it ends, and summarise mean ± std across repeats.
//!
//! A sweep folder holds `sweep.lock` (one process at a time), `sweep.json`
//! (the definition), `runs.csv` (one row per finished run, appended and
//! synced as runs end), `summary.csv`, the figures `sweep_accuracy`,
//! `sweep_abs_error`, `sweep_midpoint_error` and `sweep_decoded_error`,
//! `ideal.csv` when the sweep keeps the ideal observer (`ideal`), and
//! `runs/<value>-<repeat>/` with each run's own files. Re-running the
//! same sweep on the folder resumes it; `shard` splits it over machines
//! and `merge` joins shards.
//!
//! What a sweep is (`spec`), one call of it (`run`), its folder's claim
//! (`folder`) and lock (`lock`), the child processes (`runner`, started
//! by a `Launcher` such as `TrainProcess`), `runs.csv` (`records`), the
//! results written after each call (`results`: `summary`, `grid`'s
//! heatmaps, `ideal`) and the merge of shards (`merge`).

mod cell;
mod folder;
mod grid;
mod ideal;
mod launcher;
mod lock;
mod merge;
mod records;
mod results;
mod run;
mod runner;
mod shard;
mod spec;
mod summary;

pub use cell::Cell;
pub use folder::{run_dir, RUNS_DIR, SWEEP_FILE};
pub use ideal::{check_ideal, read_ideal, IdealRecord, IDEAL_FILE};
pub use launcher::{train_command, TrainProcess};
pub use lock::LOCK_FILE;
pub use merge::{merge, MergeReport};
pub use records::{read_runs, RunRecord, METRICS, RUNS_FILE};
pub use run::{run, Interrupted, Options, Report};
pub use runner::Launcher;
pub use shard::Shard;
pub use spec::{derive_seed, parse_values, Job, SweepFile, SweepSpec};
pub use summary::{
    summarise, x_axis, ValueSummary, ABS_ERROR_FIGURE, ACCURACY_FIGURE, DECODED_ERROR_FIGURE,
    MIDPOINT_ERROR_FIGURE, SUMMARY_FILE,
};
