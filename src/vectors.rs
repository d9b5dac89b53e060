//! Hot loops compiled for the vector unit of the CPU they run on: the
//! release build targets baseline x86-64 (4-wide SSE2, no fused
//! multiply-add), which would leave most of a modern core unused.
//!
//! Every copy gives the same bits: float adds and multiplies work lane by
//! lane whatever the width, Rust never fuses them on its own, and `mul_add`
//! without the instruction calls libm's correctly rounded `fmaf`. The
//! environment variable `SNNLOC_VECTORS` (`baseline`, `avx2` or `avx512`)
//! forces a narrower copy than the CPU allows, so that one machine can show
//! it (`tests/integration/same_bits_everywhere.rs`).

use std::sync::OnceLock;

use anyhow::{bail, Result};

/// The environment variable that narrows the vector level.
pub const VECTORS_ENV: &str = "SNNLOC_VECTORS";

/// A copy of the hot loops, narrowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Vectors {
    /// x86-64's baseline, or any other architecture.
    Baseline,
    /// AVX2 with fused multiply-add.
    Avx2,
    /// AVX-512 F and DQ.
    Avx512,
}

impl Vectors {
    const ALL: [(&'static str, Vectors); 3] = [
        ("baseline", Vectors::Baseline),
        ("avx2", Vectors::Avx2),
        ("avx512", Vectors::Avx512),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, v)| *v == self)
            .map_or("", |(n, _)| n)
    }

    /// The widest copy this CPU can run.
    pub fn detected() -> Vectors {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512dq")
            {
                return Vectors::Avx512;
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                return Vectors::Avx2;
            }
        }
        Vectors::Baseline
    }

    /// The copy the loops run: the widest the CPU has, or the one
    /// `SNNLOC_VECTORS` names, which must be a known one the CPU has.
    pub fn chosen() -> Result<Vectors> {
        let detected = Vectors::detected();
        let Some(value) = std::env::var_os(VECTORS_ENV) else {
            return Ok(detected);
        };
        let names = || Self::ALL.map(|(n, _)| n).join(", ");
        let value = value.to_string_lossy();
        let Some(&(_, wanted)) = Self::ALL.iter().find(|(n, _)| *n == value) else {
            bail!(
                "{VECTORS_ENV}={value} is not a vector level; use one of {}, or unset it",
                names()
            );
        };
        if wanted > detected {
            bail!(
                "{VECTORS_ENV}={value}: this CPU runs at most {}; ask for that or less, or unset it",
                detected.name()
            );
        }
        Ok(wanted)
    }
}

/// The copy the hot loops run, decided once per process. A wrong
/// `SNNLOC_VECTORS` falls back to the detected level here; the command line
/// refuses it before any work (`Vectors::chosen`).
pub fn level() -> Vectors {
    static LEVEL: OnceLock<Vectors> = OnceLock::new();
    *LEVEL.get_or_init(|| Vectors::chosen().unwrap_or_else(|_| Vectors::detected()))
}

/// Defines `$name`, which runs `$kernel` (an ordinary `#[inline(always)]`
/// function, so that rustfmt and the reader see it as any other) compiled
/// for the vector level `level()` picks at run time.
macro_rules! widest_vectors {
    ($(#[$attr:meta])* fn $name:ident = $kernel:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?;) => {
        $(#[$attr])*
        fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                use $crate::vectors::{level, Vectors};
                #[target_feature(enable = "avx512f,avx512dq")]
                unsafe fn avx512($($arg: $ty),*) $(-> $ret)? { $kernel($($arg),*) }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? { $kernel($($arg),*) }
                // SAFETY: `level` picks a copy only where the CPU has its
                // features.
                match level() {
                    Vectors::Avx512 => return unsafe { avx512($($arg),*) },
                    Vectors::Avx2 => return unsafe { avx2($($arg),*) },
                    Vectors::Baseline => {}
                }
            }
            $kernel($($arg),*)
        }
    };
}

#[cfg(test)]
mod tests {
    use super::Vectors;

    #[test]
    fn levels_are_ordered_narrowest_first_and_named() {
        assert!(Vectors::Baseline < Vectors::Avx2 && Vectors::Avx2 < Vectors::Avx512);
        assert_eq!(Vectors::Avx2.name(), "avx2");
        assert!(Vectors::detected() >= Vectors::Baseline);
    }
}
