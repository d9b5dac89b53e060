//! How an option is defined once: `define_options!` turns one entry per
//! option (field, type, default, unit, help, check, aliases, sweepable) into
//! the parameter structs, their defaults and serde form, and the `OptionDef`
//! table that the command line, config files, sweeps and the README's option
//! list are all derived from.

use std::fmt;
use std::sync::Arc;

use super::value::ValueKind;
use super::Config;

/// A parsed value for one option, ready to be applied to a config. Parsing
/// happens once, where the text or JSON comes in; applying never fails.
#[derive(Clone)]
pub struct Setting {
    option: &'static str,
    apply: Arc<dyn Fn(&mut Config) + Send + Sync>,
}

impl Setting {
    pub(crate) fn new(
        option: &'static str,
        apply: impl Fn(&mut Config) + Send + Sync + 'static,
    ) -> Self {
        Setting {
            option,
            apply: Arc::new(apply),
        }
    }

    /// The name of the option this sets.
    pub fn option(&self) -> &'static str {
        self.option
    }

    pub fn apply(&self, cfg: &mut Config) {
        (self.apply)(cfg)
    }
}

impl fmt::Debug for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Setting({})", self.option)
    }
}

/// One option of the experiment.
pub struct OptionDef {
    /// Kebab-case name: the flag without `--`, and the name sweeps use.
    pub name: &'static str,
    /// Snake-case name: the config struct's field and the JSON key.
    pub key: &'static str,
    pub group: super::Group,
    /// Other accepted spellings, such as the notebook's variable names.
    pub aliases: &'static [&'static str],
    /// Unit of the value, empty when it has none.
    pub unit: &'static str,
    pub(crate) help: &'static str,
    pub kind: ValueKind,
    /// Whether `sweep --param` may vary it.
    pub sweepable: bool,
    /// For a shorthand, the options it sets (config files store those);
    /// empty for an option of its own.
    pub sets: &'static [&'static str],
    pub(crate) parse: fn(&'static str, &str) -> Result<Setting, String>,
    pub(crate) from_json: fn(&'static str, serde_json::Value) -> Result<Setting, String>,
    pub(crate) text: fn(&Config) -> String,
    pub(crate) check: fn(&Config) -> Result<(), String>,
}

impl fmt::Debug for OptionDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OptionDef({})", self.name)
    }
}

impl OptionDef {
    /// The help text, on one line.
    pub fn help(&self) -> String {
        self.help.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Reads a value typed by a person.
    pub fn parse(&self, text: &str) -> Result<Setting, String> {
        (self.parse)(self.name, text)
    }

    /// Reads a value from a config file.
    pub fn from_json(&self, value: serde_json::Value) -> Result<Setting, String> {
        (self.from_json)(self.name, value)
    }

    /// This option's value in `cfg`, as canonical text.
    pub fn text(&self, cfg: &Config) -> String {
        (self.text)(cfg)
    }

    /// This option's own constraint (`Config::validate` adds those between
    /// options); the message leaves out the option's name.
    pub fn check(&self, cfg: &Config) -> Result<(), String> {
        (self.check)(cfg)
    }

    /// Whether `name` spells this option: its name, its JSON key, an alias,
    /// with or without leading dashes.
    pub fn answers_to(&self, name: &str) -> bool {
        let name = name.trim().trim_start_matches("--").replace('_', "-");
        name == self.name || self.aliases.contains(&name.as_str())
    }
}

/// Constraints an option's value can carry.
pub mod check {
    pub fn any<T>(_: &T) -> Result<(), String> {
        Ok(())
    }

    pub fn at_least_one(value: &usize) -> Result<(), String> {
        at_least(1)(value)
    }

    pub fn at_least_two(value: &usize) -> Result<(), String> {
        at_least(2)(value)
    }

    /// Every count's largest value: ten million, beyond any experiment
    /// here, so that products of counts stay far from overflow (memory,
    /// which limits them first, is checked by `Config::validate`).
    pub const MAX_COUNT: usize = 10_000_000;

    fn at_least(min: usize) -> impl Fn(&usize) -> Result<(), String> {
        move |&value| {
            if value < min {
                return Err(format!("must be at least {min}, got {value}"));
            }
            if value > MAX_COUNT {
                return Err(format!("must be at most {MAX_COUNT}, got {value}"));
            }
            Ok(())
        }
    }

    pub fn positive(&value: &f64) -> Result<(), String> {
        if !(value.is_finite() && value > 0.0) {
            return Err(format!(
                "must be a finite number greater than 0, got {}",
                crate::config::shown(value)
            ));
        }
        Ok(())
    }

    pub fn fraction(&value: &f64) -> Result<(), String> {
        if !(0.0..=1.0).contains(&value) {
            return Err(format!(
                "must be a fraction between 0 and 1, got {}",
                crate::config::shown(value)
            ));
        }
        Ok(())
    }

    pub fn non_negative(&value: &f64) -> Result<(), String> {
        if !(value.is_finite() && value >= 0.0) {
            return Err(format!(
                "must be a finite number of at least 0, got {}",
                crate::config::shown(value)
            ));
        }
        Ok(())
    }
}

/// Writes the parameter structs, `Config`, `Group` and the option table
/// from one entry per option. See `config/mod.rs` for the entries.
macro_rules! define_options {
    ($(
        $(#[doc = $gdoc:literal])*
        $group:ident => $Params:ident as $gkey:ident {
            $(
                $(#[doc = $doc:literal])+
                $key:ident: $ty:ty = $default:expr;
                    unit $unit:literal, check $check:path, aliases [$($alias:literal),*], sweep $sweep:literal;
            )+
        }
    )+
    @shorthands {
        $(
            $(#[doc = $sdoc:literal])+
            $skey:ident: $sty:ty => $sgroup:ident [$($tgroup:ident . $tkey:ident),+];
                unit $sunit:literal, check $scheck:path, aliases [$($salias:literal),*], sweep $ssweep:literal;
        )*
    }) => {
        $(
            $(#[doc = $gdoc])*
            #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
            #[serde(default, deny_unknown_fields)]
            pub struct $Params {
                $( $(#[doc = $doc])+ pub $key: $ty, )+
            }

            impl Default for $Params {
                fn default() -> Self {
                    $Params { $( $key: $default, )+ }
                }
            }
        )+

        /// All parameters of one experiment, grouped by what they configure.
        /// As JSON, missing fields take the notebook's values.
        #[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
        pub struct Config {
            $( $(#[doc = $gdoc])* pub $gkey: $Params, )+
        }

        /// What an option configures.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Group { $( $group, )+ }

        impl Group {
            pub const ALL: &'static [Group] = &[$(Group::$group),+];

            /// The group's key in config.json.
            pub fn key(self) -> &'static str {
                match self { $( Group::$group => stringify!($gkey), )+ }
            }

            /// The group's name, as a heading.
            pub fn name(self) -> &'static str {
                match self { $( Group::$group => stringify!($group), )+ }
            }

            /// What the group holds, in a few words.
            pub fn title(self) -> &'static str {
                match self { $( Group::$group => concat!($($gdoc),*).trim_ascii(), )+ }
            }
        }

        fn definitions() -> Vec<$crate::config::define::OptionDef> {
            use $crate::config::define::{OptionDef, Setting};
            use $crate::config::value::OptionValue;
            // Shorthands first: flags apply in this order, so a specific
            // option given with its shorthand wins.
            vec![$(
                OptionDef {
                    name: Box::leak(stringify!($skey).replace('_', "-").into_boxed_str()),
                    key: stringify!($skey),
                    group: Group::$sgroup,
                    aliases: &[$($salias),*],
                    unit: $sunit,
                    help: concat!($($sdoc, " "),+),
                    kind: <$sty as OptionValue>::KIND,
                    sweepable: $ssweep,
                    sets: Box::leak(vec![$(Box::leak(stringify!($tkey).replace('_', "-").into_boxed_str()) as &str),+].into_boxed_slice()),
                    parse: |name, text| {
                        let value = <$sty as OptionValue>::parse(text)?;
                        Ok(Setting::new(name, move |cfg: &mut Config| { $( cfg.$tgroup.$tkey = value.clone(); )+ }))
                    },
                    from_json: |name, json| {
                        let value: $sty = serde_json::from_value(json).map_err(|e| e.to_string())?;
                        Ok(Setting::new(name, move |cfg: &mut Config| { $( cfg.$tgroup.$tkey = value.clone(); )+ }))
                    },
                    text: |cfg| { let values = [$(&cfg.$tgroup.$tkey),+]; OptionValue::text(values[0]) },
                    check: |cfg| { $( $scheck(&cfg.$tgroup.$tkey)?; )+ Ok(()) },
                },
            )* $($(
                OptionDef {
                    name: Box::leak(stringify!($key).replace('_', "-").into_boxed_str()),
                    key: stringify!($key),
                    group: Group::$group,
                    aliases: &[$($alias),*],
                    unit: $unit,
                    help: concat!($($doc, " "),+),
                    kind: <$ty as OptionValue>::KIND,
                    sweepable: $sweep,
                    sets: &[],
                    parse: |name, text| {
                        let value = <$ty as OptionValue>::parse(text)?;
                        Ok(Setting::new(name, move |cfg: &mut Config| cfg.$gkey.$key = value.clone()))
                    },
                    from_json: |name, json| {
                        let value: $ty = serde_json::from_value(json).map_err(|e| e.to_string())?;
                        Ok(Setting::new(name, move |cfg: &mut Config| cfg.$gkey.$key = value.clone()))
                    },
                    text: |cfg| OptionValue::text(&cfg.$gkey.$key),
                    check: |cfg| $check(&cfg.$gkey.$key),
                },
            )+)+]
        }
    };
}
pub(crate) use define_options;
