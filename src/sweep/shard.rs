//! A shard of a sweep: which of its jobs one process runs, given as `K/N`
//! or taken from the SLURM job array it runs in.

use std::fmt;
use std::str::FromStr;

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};

/// A shard `K/N`: the jobs whose index modulo N is K.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The whole sweep.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    pub fn owns(&self, job: usize) -> bool {
        job % self.count == self.index
    }
}

impl FromStr for Shard {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self> {
        if text.trim() == "slurm" {
            return Shard::from_slurm(|name| std::env::var(name).ok());
        }
        let parsed = text
            .split_once('/')
            .and_then(|(k, n)| Some((k.trim().parse().ok()?, n.trim().parse().ok()?)));
        let Some((index, count)) = parsed else {
            bail!("`shard` '{text}': expected K/N, e.g. 0/4");
        };
        ensure!(count >= 1, "`shard` {text}: N must be at least 1");
        ensure!(
            index < count,
            "`shard` {text}: K must be below N (shards are numbered 0 to {})",
            count - 1
        );
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// The shard of this task of a SLURM job array: tasks `MIN, MIN+STEP, …`
    /// (`SLURM_ARRAY_TASK_MIN`, `_STEP`), `COUNT` of them, are shards 0 to
    /// `COUNT-1`, from the variables `env` gives.
    fn from_slurm(env: impl Fn(&str) -> Option<String>) -> Result<Shard> {
        let number = |name: &str| -> Result<usize> {
            let value = env(name).with_context(|| {
                format!("`shard` slurm: {name} is not set; run inside a SLURM job array (sbatch --array=0-9), or give K/N")
            })?;
            value
                .trim()
                .parse()
                .with_context(|| format!("`shard` slurm: {name} is '{value}', not a whole number"))
        };
        let (id, min, count) = (
            number("SLURM_ARRAY_TASK_ID")?,
            number("SLURM_ARRAY_TASK_MIN")?,
            number("SLURM_ARRAY_TASK_COUNT")?,
        );
        let step = match env("SLURM_ARRAY_TASK_STEP") {
            Some(_) => number("SLURM_ARRAY_TASK_STEP")?.max(1),
            None => 1,
        };
        ensure!(
            id >= min && (id - min) % step == 0 && (id - min) / step < count,
            "`shard` slurm: task {id} is not one of the {count} tasks from {min} in steps of {step}"
        );
        Ok(Shard {
            index: (id - min) / step,
            count,
        })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_jobs_between_them() {
        let shards: Vec<Shard> = ["0/3", "1/3", " 2 / 3 "]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        for job in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.owns(job)).count(), 1);
        }
        assert!(Shard::ALL.owns(7));
        assert_eq!(shards[2].to_string(), "2/3");
        let refusal = |text: &str| text.parse::<Shard>().unwrap_err().to_string();
        assert!(refusal("3/3").contains("K must be below N"));
        assert!(refusal("0/0").contains("N must be at least 1"));
        assert!(refusal("half").contains("expected K/N"));
    }

    #[test]
    fn a_slurm_array_task_is_its_shard() {
        let env = |vars: &'static [(&str, &str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let array: &'static [(&str, &str)] = &[
            ("SLURM_ARRAY_TASK_ID", "13"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_STEP", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "5"),
        ];
        let shard = Shard::from_slurm(env(array)).unwrap();
        assert_eq!((shard.index, shard.count), (4, 5));
        let plain: &'static [(&str, &str)] = &[
            ("SLURM_ARRAY_TASK_ID", "0"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "10"),
        ];
        assert_eq!(Shard::from_slurm(env(plain)).unwrap().to_string(), "0/10");
        let outside = Shard::from_slurm(env(&[])).unwrap_err().to_string();
        assert!(
            outside.contains("SLURM_ARRAY_TASK_ID is not set"),
            "{outside}"
        );
        let off: &'static [(&str, &str)] = &[
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_STEP", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "5"),
        ];
        assert!(Shard::from_slurm(env(off)).is_err());
    }
}
