//! The types an option can hold, and how each reads from text and JSON and
//! writes its canonical text (the form sweeps store and derive seeds from).

use serde::de::DeserializeOwned;
use serde::Serialize;

/// What kind of value an option takes, for parsers and documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// A real number.
    Number,
    /// A whole number of things (0 and up).
    Count,
    /// A 64-bit seed.
    Seed,
    /// One of a fixed set of names.
    Choice(&'static [&'static str]),
}

/// A value an option can hold.
pub trait OptionValue:
    Clone + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static
{
    const KIND: ValueKind;

    /// Reads a value typed by a person; the error says what was expected.
    fn parse(text: &str) -> Result<Self, String>;

    /// The canonical text: what JSON holds (`2.0` for a number), so that `2`
    /// and `2.0` are one sweep value and derive one seed.
    fn text(&self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(s)) => s,
            Ok(other) => other.to_string(),
            Err(e) => format!("<{e}>"),
        }
    }
}

impl OptionValue for f64 {
    const KIND: ValueKind = ValueKind::Number;

    fn parse(text: &str) -> Result<Self, String> {
        text.trim()
            .parse()
            .map_err(|_| format!("cannot read '{text}' as a number"))
    }
}

impl OptionValue for usize {
    const KIND: ValueKind = ValueKind::Count;

    fn parse(text: &str) -> Result<Self, String> {
        text.trim()
            .parse()
            .map_err(|_| format!("cannot read '{text}' as a whole number of at least 0"))
    }
}

impl OptionValue for u64 {
    const KIND: ValueKind = ValueKind::Seed;

    fn parse(text: &str) -> Result<Self, String> {
        text.trim()
            .parse()
            .map_err(|_| format!("cannot read '{text}' as a seed (0 to 18446744073709551615)"))
    }
}

/// Defines an enum whose variants are chosen by name, once: the names serve
/// the CLI, JSON and sweeps alike.
macro_rules! choice {
    (
        $(#[doc = $doc:literal])*
        pub enum $name:ident {
            $( $(#[doc = $vdoc:literal])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $(#[doc = $vdoc])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every accepted name, in definition order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            pub fn name(self) -> &'static str {
                match self { $( $name::$variant => $text, )+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl $crate::config::value::OptionValue for $name {
            const KIND: $crate::config::value::ValueKind =
                $crate::config::value::ValueKind::Choice($name::NAMES);

            fn parse(text: &str) -> Result<Self, String> {
                match text.trim() {
                    $( $text => Ok($name::$variant), )+
                    _ => Err(format!(
                        "'{text}' is not one of {}",
                        $name::NAMES.join(", ")
                    )),
                }
            }
        }
    };
}
pub(crate) use choice;
