//! The folder of one training run: the names of its files, writing a
//! finished run into it and reading one back. `train` writes it, `eval`,
//! `inspect` and sweeps read it, all through `RunFolder`, so that what a
//! run folder is, and what reading a broken one says, is decided here.
//!
//! A run folder holds `config.json` (the config, as `--config` reads it),
//! `loss.csv` (each epoch's mean loss and seconds), `metrics.json`
//! (`metrics::Metrics`), `weights.safetensors` (`W1`, `W2`), the confusion
//! matrices `confusion_{train,test}[_normalised].csv`, unless `--no-plots`
//! the figures `loss` and `analysis_{train,test}` (PNG and SVG), and with
//! `--inspect` the folder `inspect/`; while the run trains, its checkpoint
//! `checkpoint.safetensors` (`checkpoint`), which the finished run replaces.
//!
//! `train` writes the folder as one transaction (`staging`): it appears, or
//! replaces an earlier run's, whole when the run ends, so `eval`, `inspect`
//! and a resuming sweep see a finished run or none. An earlier run is
//! replaced only where it holds the same config and nothing but a run's
//! files; another config, or files that no run writes, need `force`.

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use serde::Serialize;
use tch::Device;

use crate::analysis::Analysis;
use crate::checkpoint::CHECKPOINT_FILE;
use crate::config::{stored_difference, Config};
use crate::experiment::Outcome;
use crate::metrics::Metrics;
use crate::model::Weights;
use crate::output;
use crate::plots;
use crate::staging;

pub const CONFIG_FILE: &str = "config.json";
pub const LOSS_FILE: &str = "loss.csv";
pub const METRICS_FILE: &str = "metrics.json";
pub const WEIGHTS_FILE: &str = "weights.safetensors";
/// Where `train --inspect` and `inspect` write by default.
pub const INSPECT_DIR: &str = "inspect";
pub const LOSS_FIGURE: &str = "loss";

/// One run's folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunFolder {
    dir: PathBuf,
}

/// `loss.csv`: one row per epoch trained to its end.
#[derive(Serialize)]
struct LossRow {
    epoch: usize,
    loss: f64,
    seconds: f64,
}

impl RunFolder {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        RunFolder { dir: dir.into() }
    }

    /// The folder `train` writes into when not told: one per seed.
    pub fn default_for(cfg: &Config) -> Self {
        Self::new(format!("results/train-seed{}", cfg.run.seed))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join(CONFIG_FILE)
    }

    pub fn metrics_path(&self) -> PathBuf {
        self.dir.join(METRICS_FILE)
    }

    pub fn weights_path(&self) -> PathBuf {
        self.dir.join(WEIGHTS_FILE)
    }

    /// Where `train` keeps its checkpoint until the run is finished.
    pub fn checkpoint_path(&self) -> PathBuf {
        self.dir.join(CHECKPOINT_FILE)
    }

    pub fn inspect_dir(&self) -> PathBuf {
        self.dir.join(INSPECT_DIR)
    }

    /// Decides, before any work, that `train` may write this folder with
    /// `cfg` (going on from its checkpoint where `resume`), and proves its
    /// parent writable.
    pub fn claim(&self, cfg: &Config, force: bool, resume: bool) -> Result<()> {
        let dir = self.dir.display();
        let Some(entries) = existing_entries(&self.dir)? else {
            // An empty folder, which the finished run takes the place of.
            return output::prepare_dir(&self.dir);
        };
        if !force {
            if let Some(foreign) = entries.iter().find(|name| !is_run_entry(name)) {
                bail!(
                    "`out` {dir} holds {foreign}, which no snnloc run writes; choose another `out`, or add `force` to replace the folder whole"
                );
            }
            if !resume && self.checkpoint_path().exists() {
                bail!(
                    "`out` {dir} holds the checkpoint of an unfinished run; add `resume` to go on from it, or `force` to start afresh"
                );
            }
            if let Some(difference) = self.config_difference(cfg)? {
                bail!(
                    "`out` {dir} holds a run of another config ({difference}; stored vs this one); choose another `out`, or add `force` to replace it"
                );
            }
        }
        output::prepare_dir(staging::parent(&std::fs::canonicalize(&self.dir)?))
    }

    /// The first option in which the stored config differs from `cfg`.
    fn config_difference(&self, cfg: &Config) -> Result<Option<String>> {
        let Ok(text) = std::fs::read_to_string(self.config_path()) else {
            return Ok(None);
        };
        let stored: serde_json::Value = serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: not a snnloc {CONFIG_FILE}",
                self.config_path().display()
            )
        })?;
        Ok(stored_difference(&stored, cfg)?)
    }

    /// Writes the config alone, as a sweep does for the run it starts.
    pub fn write_config(&self, cfg: &Config) -> Result<()> {
        output::write_json(&self.config_path(), cfg)
    }

    /// Writes a finished run as one transaction: every file of it, the
    /// figures where `plots`, then what `more` adds to the staged folder
    /// (`train --inspect`'s folder), and puts it in place.
    pub fn write(
        &self,
        cfg: &Config,
        metrics: &Metrics,
        outcome: &Outcome,
        plots: bool,
        more: impl FnOnce(&RunFolder) -> Result<()>,
    ) -> Result<()> {
        staging::write_folder(&self.dir, |dir| {
            let staged = RunFolder::new(dir);
            staged.write_files(cfg, metrics, outcome, plots)?;
            more(&staged)
        })
    }

    fn write_files(
        &self,
        cfg: &Config,
        metrics: &Metrics,
        outcome: &Outcome,
        plots: bool,
    ) -> Result<()> {
        let out = &self.dir;
        self.write_config(cfg)?;
        let loss = outcome.loss.iter().zip(&outcome.seconds.epochs).enumerate();
        output::write_csv_rows(
            &out.join(LOSS_FILE),
            loss.map(|(e, (&loss, &seconds))| LossRow {
                epoch: e + 1,
                loss,
                seconds,
            }),
        )?;
        for (label, analysis) in [("train", &outcome.train), ("test", &outcome.test)] {
            write_confusion(out, label, analysis)?;
        }
        metrics.write(&self.metrics_path())?;
        output::save_weights(&self.weights_path(), &outcome.weights)?;
        if plots {
            write_figures(out, cfg, outcome)?;
        }
        Ok(())
    }

    /// The run's config, refused with the way out when the folder is not a
    /// run's.
    pub fn read_config(&self) -> Result<Config> {
        let dir = self.dir.display();
        ensure!(
            self.dir.is_dir(),
            "run folder {dir}: no such folder (give the --out folder of a snnloc train run)"
        );
        let path = self.config_path();
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "run folder {dir}: cannot read {CONFIG_FILE} (give the --out folder of a snnloc train run)"
            )
        })?;
        serde_json::from_str(&text)
            .with_context(|| format!("{}: not a snnloc {CONFIG_FILE}", path.display()))
    }

    pub fn read_metrics(&self) -> Result<Metrics> {
        Metrics::read(&self.metrics_path())
    }

    /// The run's weights, checked against `cfg`.
    pub fn read_weights(&self, cfg: &Config, device: Device) -> Result<Weights> {
        let path = self.weights_path();
        ensure!(
            path.is_file(),
            "run folder {}: no {WEIGHTS_FILE} (did its training finish?)",
            self.dir.display()
        );
        output::load_weights(&path, cfg, device)
    }
}

/// The names in `dir`, or `None` where it does not exist; an error where it
/// is not a folder or is a link to nothing.
fn existing_entries(dir: &Path) -> Result<Option<Vec<String>>> {
    let shown = dir.display();
    if !output::check_folder_path(dir)? {
        return Ok(None);
    }
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("`out` {shown}: cannot read it"))?;
    Ok(Some(
        entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
    ))
}

/// Whether a run writes files of this name: its own, or the temporary names
/// of a write that was killed.
fn is_run_entry(name: &str) -> bool {
    let figure = |stem: &str| {
        [".png", ".svg"]
            .iter()
            .any(|ext| name.strip_suffix(ext).is_some_and(|n| n.starts_with(stem)))
    };
    [
        CONFIG_FILE,
        LOSS_FILE,
        METRICS_FILE,
        WEIGHTS_FILE,
        INSPECT_DIR,
        CHECKPOINT_FILE,
    ]
    .contains(&name)
        || (name.starts_with("confusion_") && name.ends_with(".csv"))
        || figure(LOSS_FIGURE)
        || figure("analysis_")
        || (name.starts_with('.') && name.contains(".tmp-"))
}

/// The config saved beside a weights file, which `eval` starts from.
pub fn config_beside(weights: &Path) -> PathBuf {
    weights.with_file_name(CONFIG_FILE)
}

/// `confusion_<label>.csv` (counts) and `confusion_<label>_normalised.csv`
/// (each true class's column a probability) in `dir`.
pub fn write_confusion(dir: &Path, label: &str, analysis: &Analysis) -> Result<()> {
    output::write_matrix_csv(
        &dir.join(format!("confusion_{label}.csv")),
        "counts",
        &analysis.confusion,
    )?;
    output::write_matrix_csv(
        &dir.join(format!("confusion_{label}_normalised.csv")),
        "probability",
        &analysis.confusion_normalised(),
    )
}

fn write_figures(out: &Path, cfg: &Config, outcome: &Outcome) -> Result<()> {
    // A training that diverged in its first epoch has no loss to draw.
    if !outcome.loss.is_empty() {
        plots::loss_curve(&outcome.loss, &out.join(LOSS_FIGURE))?;
    }
    for (label, analysis) in [("Train", &outcome.train), ("Test", &outcome.test)] {
        let confusion = analysis.confusion_normalised();
        plots::analysis_figure(
            &plots::AnalysisFigure {
                label,
                num_classes: cfg.data.num_classes,
                ipd_true_deg: &analysis.ipd_true_deg,
                ipd_estimated_deg: &analysis.ipd_estimated_deg,
                confusion: &confusion,
            },
            &out.join(format!("analysis_{}", label.to_lowercase())),
        )?;
    }
    Ok(())
}
