//! The launcher a sweep uses: each run a child `snnloc train`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::runner::Launcher;
use crate::checkpoint::CHECKPOINT_FILE;
use crate::config::Config;

/// Runs each job as `<exe> train --config <run>/config.json --out <run>
/// --no-plots --quiet --device <device>`, plus `--threads` and `--inspect`
/// when asked, and `--resume` where the run folder holds a checkpoint. `exe` is the snnloc executable (the program's own, or the
/// one a test built).
pub struct TrainProcess {
    pub exe: PathBuf,
    pub device: String,
    pub threads: Option<usize>,
    /// Adds `--inspect`.
    pub inspect: bool,
}

impl Launcher for TrainProcess {
    fn command(&self, config: &Path, out: &Path) -> Command {
        let mut command = Command::new(&self.exe);
        command
            .arg("train")
            .arg("--config")
            .arg(config)
            .arg("--out")
            .arg(out)
            .args(["--no-plots", "--quiet", "--device", &self.device]);
        if let Some(threads) = self.threads {
            command.args(["--threads", &threads.to_string()]);
        }
        if self.inspect {
            command.arg("--inspect");
        }
        // A job killed mid-training goes on from its last epoch.
        if out.join(CHECKPOINT_FILE).is_file() {
            command.arg("--resume");
        }
        command
    }

    fn rerun(&self, cfg: &Config, swept: &[&str]) -> String {
        train_command(cfg, swept)
    }
}

/// The `snnloc train` command line that reproduces a run on its own: every
/// option that differs from the defaults, and always the seed and the swept
/// options.
pub fn train_command(cfg: &Config, swept: &[&str]) -> String {
    let flags = cfg.differences(&[&["seed"], swept].concat());
    let flags = flags
        .iter()
        .map(|(def, value)| format!(" --{} {value}", def.name));
    format!("snnloc train{}", flags.collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_with_a_checkpoint_is_resumed() {
        let dir = std::env::temp_dir().join(format!("snnloc-launcher-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let launcher = TrainProcess {
            exe: "snnloc".into(),
            device: "cpu".into(),
            threads: None,
            inspect: false,
        };
        let resumes = |l: &TrainProcess| {
            l.command(&dir.join("config.json"), &dir)
                .get_args()
                .any(|a| a == "--resume")
        };
        assert!(!resumes(&launcher), "a fresh job is not resumed");
        std::fs::write(dir.join(CHECKPOINT_FILE), b"").unwrap();
        assert!(
            resumes(&launcher),
            "a job with a checkpoint goes on from it"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
