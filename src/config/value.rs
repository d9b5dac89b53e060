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

/// A number as an error message shows it: plainly, or with an exponent
/// where plain digits would run long (`1e300`, not 301 digits).
pub fn shown(x: f64) -> String {
    match x == 0.0 || !x.is_finite() || (1e-4..1e15).contains(&x.abs()) {
        true => format!("{x}"),
        false => format!("{x:e}"),
    }
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
            .map_err(|_| format!("cannot read '{text}' as a whole number"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Reset;

    #[test]
    fn numbers_counts_and_seeds_read_trimmed_text_and_refuse_the_rest() {
        assert_eq!(f64::parse(" 2.5 "), Ok(2.5));
        assert_eq!(f64::parse("1e-3"), Ok(0.001));
        assert!(f64::parse("two").unwrap_err().contains("as a number"));
        assert_eq!(usize::parse("30"), Ok(30));
        assert!(usize::parse("-1")
            .unwrap_err()
            .contains("as a whole number"));
        assert!(usize::parse("1.5").is_err());
        assert_eq!(u64::parse("18446744073709551615"), Ok(u64::MAX));
        assert!(u64::parse("18446744073709551616")
            .unwrap_err()
            .contains("seed"));
    }

    #[test]
    fn canonical_text_is_what_json_holds() {
        assert_eq!(2.0f64.text(), "2.0");
        assert_eq!(0.01f64.text(), "0.01");
        assert_eq!(7usize.text(), "7");
        assert_eq!(Reset::Subtractive.text(), "subtractive");
    }

    #[test]
    fn choices_read_their_names_and_list_them_when_refusing() {
        assert_eq!(Reset::parse(" multiplicative"), Ok(Reset::Multiplicative));
        assert_eq!(Reset::NAMES, ["multiplicative", "subtractive"]);
        let refusal = Reset::parse("soft").unwrap_err();
        assert_eq!(refusal, "'soft' is not one of multiplicative, subtractive");
        assert_eq!(Reset::KIND, ValueKind::Choice(Reset::NAMES));
    }
}
