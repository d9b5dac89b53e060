//! What a sweep is: one parameter (or a grid of two), its values, the
//! repeats of each value and the config shared by every run; and how it
//! splits into jobs and shards.

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};

use super::shard::Shard;
use crate::config::{self, Config, OptionDef};
use crate::seed::splitmix64;

/// The most values one `values` may expand to, and the most cells of a
/// grid; more is almost surely a typo in a range, and each value costs
/// `repeats` trainings.
const MAX_VALUES: usize = 10_000;
/// Jobs of one sweep: a million trainings, far more than any cluster runs,
/// and a `runs.csv` of a few hundred megabytes.
const MAX_JOBS: usize = 1_000_000;

/// The definition of a sweep, stored as `sweep.json` so that a resumed or
/// merged sweep can check it continues the same experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSpec {
    /// The swept option, by its name (`envelope-power`).
    pub param: String,
    /// Its values as canonical text (`OptionDef::text`: `2.0`), so that `2`
    /// and `2.0` are the same value and derive the same seeds.
    pub values: Vec<String>,
    /// The second option of a grid sweep, whose every value is run with
    /// every value of `param`. Absent from a 1-D sweep's sweep.json, which
    /// so keeps the form it had before grids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second: Option<Axis>,
    /// Independent trainings per value (per cell of a grid).
    pub repeats: usize,
    /// The config of every run before the swept parameter and the derived
    /// seed are set; its `seed` is the one the run seeds derive from.
    pub base: Config,
}

/// The second swept option of a grid and its values, canonical as
/// `SweepSpec::values` are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    pub param: String,
    pub values: Vec<String>,
}

/// One training of a sweep: value `value_index` (0-based), in a grid also
/// value `value2_index` of the second option, and repeat `repeat`
/// (0-based). Jobs run through the cells with the first option outermost:
/// `index = cell * repeats + repeat`, `cell = value_index * values2 +
/// value2_index` (just `value_index` in a 1-D sweep).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub index: usize,
    pub value_index: usize,
    pub value: String,
    /// The second option's value in a grid; `None` and empty in 1-D.
    pub value2_index: Option<usize>,
    pub value2: String,
    pub repeat: usize,
    pub seed: u64,
}

impl SweepSpec {
    /// A sweep of one option; see `grid`.
    pub fn new(param: &str, values: &str, repeats: usize, base: Config) -> Result<Self> {
        Self::grid(&[param], &[values], repeats, base)
    }

    /// A sweep of one option, or the grid of two: `params[i]` takes the
    /// values `values[i]`. Checks the options, every value and every run's
    /// config before anything runs; errors name the input to fix.
    pub fn grid(params: &[&str], values: &[&str], repeats: usize, base: Config) -> Result<Self> {
        ensure!(
            matches!(params.len(), 1 | 2),
            "`param` is given {} times; a sweep varies one option, or two for a grid",
            params.len()
        );
        ensure!(
            values.len() == params.len(),
            "`param` is given {} times but `values` {}; give one `values` for each `param`, in the same order",
            params.len(),
            values.len()
        );
        ensure!(
            (1..=MAX_JOBS).contains(&repeats),
            "`repeats` must be between 1 and {MAX_JOBS}, got {repeats}"
        );
        let mut axes = params
            .iter()
            .zip(values)
            .map(|(param, values)| axis(param, values, &base))
            .collect::<Result<Vec<_>>>()?
            .into_iter();
        let first = axes.next().context("`param` is missing")?;
        let second = axes.next();
        if let Some(second) = &second {
            ensure!(
                second.param != first.param,
                "`param` {} is given twice; a grid varies two different options",
                first.param
            );
        }
        let spec = SweepSpec {
            param: first.param,
            values: first.values,
            second,
            repeats,
            base,
        };
        ensure!(
            spec.cell_count() <= MAX_VALUES,
            "`values` give a grid of {} cells; at most {MAX_VALUES} are allowed",
            spec.shape()
        );
        ensure!(
            spec.cell_count() * repeats <= MAX_JOBS,
            "{} values x {repeats} `repeats` are {} jobs; at most {MAX_JOBS} are allowed",
            spec.shape(),
            spec.cell_count() * repeats
        );
        // Per cell: each value may be fine alone and clash with the other.
        for cell in 0..spec.cell_count() {
            let job = spec.job(cell * repeats);
            spec.config(&job)
                .and_then(|cfg| cfg.validate())
                .with_context(|| format!("`values` {}", spec.cell_text(&job)))?;
        }
        Ok(spec)
    }

    /// The swept option.
    pub fn option(&self) -> Result<&'static OptionDef> {
        config::option(&self.param)
    }

    /// The values of the second option, none in a 1-D sweep.
    pub fn values2(&self) -> &[String] {
        self.second.as_ref().map_or(&[], |axis| &axis.values)
    }

    /// The swept options' names, the first first.
    pub fn params(&self) -> Vec<&str> {
        let second = self.second.as_ref().map(|axis| axis.param.as_str());
        std::iter::once(self.param.as_str()).chain(second).collect()
    }

    /// Cells: values of a 1-D sweep, value pairs of a grid.
    pub fn cell_count(&self) -> usize {
        self.values.len() * self.values2().len().max(1)
    }

    /// How many values, for people: `4`, or `4 x 3` for a grid.
    pub fn shape(&self) -> String {
        match &self.second {
            None => self.values.len().to_string(),
            Some(axis) => format!("{} x {}", self.values.len(), axis.values.len()),
        }
    }

    pub fn job_count(&self) -> usize {
        self.cell_count() * self.repeats
    }

    /// The job with this index; `index` must be below `job_count()`.
    pub fn job(&self, index: usize) -> Job {
        let (cell, repeat) = (index / self.repeats, index % self.repeats);
        let columns = self.values2().len().max(1);
        let value_index = cell / columns;
        let value2_index = self.second.as_ref().map(|_| cell % columns);
        let mut job = Job {
            index,
            value_index,
            value: self.values[value_index].clone(),
            value2: value2_index.map_or(String::new(), |j| self.values2()[j].clone()),
            value2_index,
            repeat,
            seed: 0,
        };
        job.seed = derive_seed(self.base.run.seed, &self.cell_text(&job), repeat);
        job
    }

    /// A job's cell as the text its seed derives from: the value in a 1-D
    /// sweep (as before grids, so those seeds stay), `value/value2` in a grid.
    pub fn cell_text(&self, job: &Job) -> String {
        match job.value2_index {
            None => job.value.clone(),
            Some(_) => format!("{}/{}", job.value, job.value2),
        }
    }

    /// A job's cell for people: `tau-ms=2.0`, or `tau-ms=2.0 envelope-power=1.0`.
    pub fn cell_label(&self, job: &Job) -> String {
        let values = [&job.value, &job.value2];
        self.params()
            .iter()
            .zip(values)
            .map(|(param, value)| format!("{param}={value}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The jobs of one shard, in index order.
    pub fn jobs(&self, shard: Shard) -> impl Iterator<Item = Job> + '_ {
        (0..self.job_count())
            .filter(move |&j| shard.owns(j))
            .map(|j| self.job(j))
    }

    /// The complete config of one run.
    pub fn config(&self, job: &Job) -> Result<Config> {
        let mut cfg = with_value(&self.base, self.option()?, &job.value)?;
        if let Some(axis) = &self.second {
            cfg = with_value(&cfg, config::option(&axis.param)?, &job.value2)?;
        }
        cfg.run.seed = job.seed;
        Ok(cfg)
    }
}

/// One swept option and its values, canonical; `values` must not repeat.
fn axis(param: &str, values: &str, base: &Config) -> Result<Axis> {
    let def = config::option(param).context("`param`")?;
    ensure!(
        def.sweepable,
        "`param` {}: each run's seed is derived from `seed`, the value and the repeat; use `repeats` for more seeds",
        def.name
    );
    let mut canonical: Vec<String> = Vec::new();
    for text in parse_values(values)? {
        let cfg = with_value(base, def, &text).with_context(|| format!("`values` {text}"))?;
        let value = def.text(&cfg);
        ensure!(
            !canonical.contains(&value),
            "`values` lists {} {value} more than once",
            def.name
        );
        canonical.push(value);
    }
    Ok(Axis {
        param: def.name.to_string(),
        values: canonical,
    })
}

fn with_value(base: &Config, def: &OptionDef, text: &str) -> Result<Config> {
    let setting = def.parse(text).map_err(anyhow::Error::msg)?;
    let mut cfg = base.clone();
    setting.apply(&mut cfg);
    Ok(cfg)
}

/// The seed of one run. FNV-1a over the text of (base seed, value, repeat)
/// then SplitMix64's finaliser: stable across platforms and Rust versions
/// (std's hasher is not), well mixed, and kept below 2^32 because numpy
/// mode seeds MT19937, which takes 32-bit seeds.
pub fn derive_seed(base: u64, value: &str, repeat: usize) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in format!("{base}/{value}/{repeat}").bytes() {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    splitmix64(h) >> 32
}

/// `text` as an error shows it: whole, or its start where it is long (a
/// list of thousands of values).
fn abbreviated(text: &str) -> String {
    const SHOWN: usize = 40;
    match text.char_indices().nth(SHOWN) {
        None => text.to_string(),
        Some((end, _)) => format!("{}… ({} characters)", &text[..end], text.chars().count()),
    }
}

/// Reads the sweep values: a comma-separated list (`0,1,2,5`) or an inclusive
/// range `start:stop:step` (`0:50:10` is 0, 10, 20, 30, 40, 50).
pub fn parse_values(text: &str) -> Result<Vec<String>> {
    let text = text.trim();
    let shown = abbreviated(text);
    let values: Vec<String> = if text.contains(':') {
        parse_range(text)?
    } else {
        text.split(',').map(|v| v.trim().to_string()).collect()
    };
    if values.iter().any(String::is_empty) {
        bail!("`values` '{shown}' has an empty item; give values as 1,2,3 or start:stop:step");
    }
    ensure!(
        values.len() <= MAX_VALUES,
        "`values` '{shown}' gives {} values; at most {MAX_VALUES} are allowed",
        values.len()
    );
    Ok(values)
}

fn parse_range(text: &str) -> Result<Vec<String>> {
    let shown = abbreviated(text);
    let parts: Vec<&str> = text.split(':').map(str::trim).collect();
    let [start, stop, step] = parts[..] else {
        bail!("`values` '{shown}': a range is start:stop:step, e.g. 0:50:10");
    };
    let number = |s: &str| -> Result<(f64, usize)> {
        let x: f64 = s
            .parse()
            .ok()
            .filter(|x: &f64| x.is_finite() && !s.contains(['e', 'E']))
            .with_context(|| format!("`values` '{shown}': '{s}' is not a plain decimal number"))?;
        let decimals = s.split_once('.').map_or(0, |(_, frac)| frac.len());
        Ok((x, decimals))
    };
    let ((start, start_decimals), (stop, _), (step, step_decimals)) =
        (number(start)?, number(stop)?, number(step)?);
    ensure!(
        step > 0.0,
        "`values` '{shown}': the step must be greater than 0"
    );
    ensure!(
        stop >= start,
        "`values` '{shown}': the stop must not be below the start"
    );
    // Tolerate rounding so that 0:1:0.1 ends at 1 rather than 0.9.
    let intervals = ((stop - start) / step + 1e-9).floor();
    ensure!(
        intervals < MAX_VALUES as f64,
        "`values` '{shown}' gives more than {MAX_VALUES} values"
    );
    // Printing with the inputs' decimals turns 0.30000000000000004 into 0.3.
    let decimals = start_decimals.max(step_decimals);
    Ok((0..=intervals as usize)
        .map(|i| format!("{:.*}", decimals, start + i as f64 * step))
        .collect())
}

/// The contents of `sweep.json`: the sweep and which shard of it a folder
/// holds (a merged folder holds all of it, shard 0/1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepFile {
    #[serde(flatten)]
    pub spec: SweepSpec,
    pub shard: Shard,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_seeds_are_fixed_below_2_to_the_32_and_differ_per_run() {
        let seed = derive_seed(0, "2.0", 0);
        assert_eq!(seed, derive_seed(0, "2.0", 0));
        assert!(seed < 1 << 32);
        let others = [
            derive_seed(1, "2.0", 0),
            derive_seed(0, "3.0", 0),
            derive_seed(0, "2.0", 1),
        ];
        assert!(others.iter().all(|&s| s != seed && s < 1 << 32));
        // The text keeps its separators: value 1 repeat 23 is not 12, 3.
        assert_ne!(derive_seed(0, "1", 23), derive_seed(0, "12", 3));
        // FNV-1a and SplitMix64 are fixed functions: a change here would
        // change the seed of every sweep ever run.
        assert_eq!(derive_seed(0, "2.0", 0), 2097222014);
    }

    #[test]
    fn values_are_lists_or_inclusive_ranges_printed_with_the_inputs_decimals() {
        assert_eq!(parse_values(" 0, 1,2 ").unwrap(), ["0", "1", "2"]);
        assert_eq!(parse_values("per-call,per-sample").unwrap().len(), 2);
        assert_eq!(
            parse_values("0:50:10").unwrap(),
            ["0", "10", "20", "30", "40", "50"]
        );
        assert_eq!(parse_values("0:1:0.1").unwrap().last().unwrap(), "1.0");
        assert_eq!(parse_values("0.1:0.3:0.1").unwrap(), ["0.1", "0.2", "0.3"]);
        assert_eq!(parse_values("5:5:1").unwrap(), ["5"]);
    }

    #[test]
    fn bad_values_are_refused_with_the_form_expected() {
        let refusal = |text: &str| parse_values(text).unwrap_err().to_string();
        assert!(refusal("1,,2").contains("empty item"));
        assert!(refusal("0:10").contains("start:stop:step"));
        assert!(refusal("0:10:0").contains("step must be greater than 0"));
        assert!(refusal("10:0:1").contains("stop must not be below the start"));
        assert!(refusal("0:1e3:1").contains("not a plain decimal number"));
        assert!(refusal("0:1000000:1").contains(&format!("more than {MAX_VALUES} values")));
    }
}
