//! The experiment's options as flags, one per `OptionDef`: name, help,
//! default, unit and parser all come from the library's definition, and
//! clap hands back typed `Setting`s, so no value travels through text twice.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{value_parser, Arg, ArgMatches, Args, Command, FromArgMatches};

use super::present::with_flags;
use snnloc::config::{self, Config, OptionDef, OptionValue, Preset, Setting, ValueKind};

/// `--config`, `--preset` and one flag per option; unset flags keep the
/// notebook's value (or the value from --config).
#[derive(Clone, Debug, Default)]
pub struct ConfigArgs {
    /// A config.json to start from.
    pub file: Option<PathBuf>,
    pub preset: Option<Preset>,
    /// The flags given, in definition order.
    pub settings: Vec<Setting>,
}

const CONFIG: &str = "config";
const PRESET: &str = "preset";

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
        let mut cfg = match &self.file {
            Some(path) => read_config(path)?,
            None => Config::default(),
        };
        if let Some(preset) = self.preset {
            preset.apply(&mut cfg);
        }
        for setting in &self.settings {
            setting.apply(&mut cfg);
        }
        Ok(cfg)
    }
}

/// Far above any config.json (about 1 kB), far below what reading costs.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

fn read_config(path: &std::path::Path) -> Result<Config> {
    use std::io::Read;
    let shown = path.display();
    let file =
        std::fs::File::open(path).with_context(|| format!("`config` {shown}: cannot read it"))?;
    anyhow::ensure!(
        file.metadata()?.is_file(),
        "`config` {shown}: not a regular file; give a config.json"
    );
    // Read through a limit, in case the file grows while it is read.
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("`config` {shown}: cannot read it as text"))?;
    anyhow::ensure!(
        text.len() as u64 <= MAX_CONFIG_BYTES,
        "`config` {shown}: over {MAX_CONFIG_BYTES} bytes, not a config.json (a few hundred bytes)"
    );
    serde_json::from_str(&text)
        .with_context(|| format!("`config` {}: not a snnloc config.json", path.display()))
}

impl FromArgMatches for ConfigArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut args = ConfigArgs::default();
        args.update_from_arg_matches(matches)?;
        Ok(args)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        if let Some(file) = matches.get_one::<PathBuf>(CONFIG) {
            self.file = Some(file.clone());
        }
        if let Some(&preset) = matches.get_one::<Preset>(PRESET) {
            self.preset = Some(preset);
        }
        for def in config::options() {
            if let Some(setting) = matches.get_one::<Setting>(def.name) {
                self.settings.retain(|s| s.option() != def.name);
                self.settings.push(setting.clone());
            }
        }
        Ok(())
    }
}

impl Args for ConfigArgs {
    fn augment_args(cmd: Command) -> Command {
        let cmd = cmd
            .arg(
                Arg::new(CONFIG)
                    .long(CONFIG)
                    .value_name("FILE")
                    .value_parser(value_parser!(PathBuf))
                    .help("Start from a config.json written by an earlier run; flags override it"),
            )
            .arg(
                Arg::new(PRESET)
                    .long(PRESET)
                    .value_parser(
                        PossibleValuesParser::new(Preset::NAMES).try_map(|s| Preset::parse(&s)),
                    )
                    .help("Recipe applied after --config and before the other flags: slow = 64 training batches of 64 (the notebook's my_computer_is_slow), fast = 128 of 128, comob-paper = the best model of Ghosh et al. (50 Hz, 8 hidden units, tau 2 ms, 128 x 128, lr 0.001, 100 epochs, rate regulariser as in its code), best = the best recipe found for the default stimulus (128 x 128, fresh training data, 100 hidden units, subtractive reset, tau 1 ms, lr 0.003 on a cosine schedule, 30 epochs)"),
            );
        config::options()
            .iter()
            .fold(cmd, |cmd, def| cmd.arg(option_flag(def)))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

/// The flag of one option.
fn option_flag(def: &'static OptionDef) -> Arg {
    let arg = Arg::new(def.name)
        .long(def.name)
        .help(help(def))
        .help_heading(def.group.name());
    let value_name = match (def.kind, def.unit) {
        (ValueKind::Choice(names), _) => {
            return arg.value_parser(
                PossibleValuesParser::new(names).try_map(move |name| def.parse(&name)),
            )
        }
        (ValueKind::Number, "ms") => "MS",
        (ValueKind::Number, "Hz") => "HZ",
        (ValueKind::Number, _) => "X",
        (ValueKind::Count, _) => "N",
        (ValueKind::Seed, _) => "SEED",
    };
    arg.value_name(value_name)
        .value_parser(move |text: &str| def.parse(text))
}

/// The option's help with its unit and default, flags named as flags.
pub fn help(def: &OptionDef) -> String {
    let unit = if def.unit.is_empty() {
        String::new()
    } else {
        format!(", {}", def.unit)
    };
    let default = def.text(&Config::default());
    let default = match def.kind {
        // 20.0 reads as 20 in help.
        ValueKind::Number => f64::parse(&default).map_or(default, |x| x.to_string()),
        _ => default,
    };
    with_flags(
        &format!("{}{unit} [default: {default}]", def.help()),
        |name| config::option(name).is_ok(),
    )
}
