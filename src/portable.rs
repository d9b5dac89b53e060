//! Float arithmetic that gives the same bits on every x86-64 processor.
//!
//! libtorch computes `exp`, `sigmoid`, `log_softmax`, sums, Adam's updates
//! and even `uniform_` with kernels picked at start-up for the CPU's vector
//! level (ATen's capability dispatch: default, AVX2, AVX-512; the AVX2 and
//! AVX-512 copies are compiled with fused multiply-adds) and, for `exp` and
//! `sqrt`, with MKL's vector math, whose code path depends on the processor
//! model. Each gives last-bit differences that a spiking network amplifies
//! over epochs into other accuracies. The fused engine therefore computes
//! every number it reports with the program's own arithmetic
//! (`Arithmetic::Portable`): IEEE-754 operations in a fixed order, which
//! every x86-64 CPU rounds alike, and the elementary functions below, built
//! from them. Rust never contracts `a * b + c` into a fused multiply-add
//! unless asked (`mul_add`, which is correctly rounded with or without the
//! instruction), so vectorising these loops at any width keeps their bits.
//! `docs/reproducibility.md` lists every processor-dependent path.

/// Whose arithmetic computes a number that libtorch could also compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arithmetic {
    /// libtorch's kernels, as PyTorch runs them on this processor: the
    /// reference engine, which follows the notebook's PyTorch.
    Libtorch,
    /// The program's own fixed-order arithmetic: the same bits everywhere.
    Portable,
}

const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1; // ln 2's leading 32 bits
const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10; // the rest of ln 2
/// Adding and subtracting 1.5·2⁵² rounds a float64 below 2⁵¹ in magnitude
/// to the nearest integer (ties to even), with no branch or libm call.
const ROUNDER: f64 = 6_755_399_441_055_744.0;

/// eˣ for x in [-745.2, 709.7], with no branch, so that loops over it
/// vectorise: Cody and Waite's reduction `x = k·ln 2 + r`, |r| ≤ ln 2 / 2,
/// in two parts so that `k·LN2_HI` is exact, Taylor's series to r¹³ (the
/// first term left out is below 2⁻⁵⁷ of the sum), and the scaling by 2ᵏ as
/// two powers of two built from their bits, the first product exact and the
/// second rounding once, to a subnormal where the result is one.
#[inline(always)]
fn exp_in_range(x: f64) -> f64 {
    let rounded = x * std::f64::consts::LOG2_E + ROUNDER;
    let k = rounded - ROUNDER;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    // 1/n for n = 13 down to 1: Horner's form of Σ rⁿ/n!.
    const INVERSES: [f64; 13] = [
        1.0 / 13.0,
        1.0 / 12.0,
        1.0 / 11.0,
        1.0 / 10.0,
        1.0 / 9.0,
        1.0 / 8.0,
        1.0 / 7.0,
        1.0 / 6.0,
        1.0 / 5.0,
        1.0 / 4.0,
        1.0 / 3.0,
        1.0 / 2.0,
        1.0,
    ];
    let sum = INVERSES
        .iter()
        .fold(1.0, |sum, inverse| 1.0 + sum * r * inverse);
    // `rounded` is 1.5·2⁵² + k exactly, so its low bits hold k.
    let k = rounded.to_bits() as i64 - ROUNDER.to_bits() as i64;
    let power = |e: i64| f64::from_bits(((e + 1023) as u64) << 52);
    let half = k >> 1;
    sum * power(half) * power(k - half)
}

/// eˣ in float64, within a few units in the last place.
pub fn exp(x: f64) -> f64 {
    match x {
        x if x.is_nan() => x,
        x if x > 709.782_712_893_384 => f64::INFINITY,
        x if x < -745.2 => 0.0,
        x => exp_in_range(x),
    }
}

/// The natural logarithm in float64, within a few units in the last place:
/// `x = 2ᵉ·m` with m in [√½, √2), and `ln m = 2·atanh(s)`, `s = (m-1)/(m+1)`,
/// by its odd series to s²⁵ (|s| ≤ 0.172, so the first term left out is
/// below 2⁻⁵⁸ of the sum).
pub fn ln(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_infinite() {
        return x;
    }
    // Subnormals get 54 more bits of exponent first.
    let (x, shift) = match x < f64::MIN_POSITIVE {
        true => (x * f64::from_bits((1023 + 54) << 52), -54),
        false => (x, 0),
    };
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i32 - 1023 + shift;
    let mut m = f64::from_bits((bits & ((1 << 52) - 1)) | (1023 << 52));
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    let mut series = 0.0;
    for n in (0..=12).rev() {
        series = 1.0 / (2 * n + 1) as f64 + z * series;
    }
    let e = e as f64;
    e * LN2_HI + (e * LN2_LO + 2.0 * s * series)
}

/// `m = scale · scores` and the exponentials `e^{m_c - max m}` of a
/// softmax over them, with their sum: the largest comes out first, so that
/// no exponential overflows; NaN, if any, is taken as the largest and
/// makes every number NaN.
pub struct ScaledExponentials {
    pub scaled: Vec<f64>,
    pub top: f64,
    pub exps: Vec<f64>,
    pub sum: f64,
}

pub fn scaled_exponentials(scores: &[f32], scale: f64) -> ScaledExponentials {
    let scaled: Vec<f64> = scores.iter().map(|&s| scale * s as f64).collect();
    let top = scaled.iter().fold(
        f64::NEG_INFINITY,
        |a, &b| if b > a || b.is_nan() { b } else { a },
    );
    let exps: Vec<f64> = scaled.iter().map(|&m| exp(m - top)).collect();
    let sum = self::sum(exps.iter().copied());
    ScaledExponentials {
        scaled,
        top,
        exps,
        sum,
    }
}

/// eˣ rounded to float32, with no branch. Outside [-104, 89] float32's eˣ
/// is 0 or infinite, so clamping there changes no result.
#[inline(always)]
pub fn expf(x: f32) -> f32 {
    // Comparisons, not `max`/`min`, so that NaN stays NaN.
    let x = if x < -104.0 { -104.0 } else { x };
    let x = if x > 89.0 { 89.0 } else { x };
    exp_in_range(x as f64) as f32
}

/// The logistic function in float32, formed as libtorch's vectorised
/// sigmoid forms it, `1 / (1 + e⁻ˣ)` with e⁻ˣ rounded to float32, so that
/// the two agree wherever libtorch's exp is correctly rounded.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + expf(-x))
}

/// xⁿ in float64 by repeated squaring, in a fixed order.
pub fn powi(x: f64, n: u64) -> f64 {
    let (mut result, mut power, mut n) = (1.0, x, n);
    while n > 0 {
        if n & 1 == 1 {
            result *= power;
        }
        power *= power;
        n >>= 1;
    }
    result
}

/// Σ xᵢ in float64, in index order.
pub fn sum(xs: impl IntoIterator<Item = f64>) -> f64 {
    xs.into_iter().fold(0.0, |total, x| total + x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units of the last place between two finite floats of
    /// the same sign.
    fn ulps(a: f64, b: f64) -> u64 {
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn exp_is_within_two_ulps_of_libm_over_its_whole_range() {
        let mut worst = 0;
        for i in -200_000..=200_000 {
            let x = i as f64 * 0.003_548_7;
            let (ours, libm) = (exp(x), x.exp());
            if libm.is_normal() {
                worst = worst.max(ulps(ours, libm));
            }
        }
        assert!(worst <= 2, "exp is {worst} ulps from libm");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(1000.0), f64::INFINITY);
        assert_eq!(exp(-1000.0), 0.0);
        assert!(exp(f64::NAN).is_nan());
        // Subnormal results keep their value to within one subnormal step.
        assert!((exp(-740.0) - (-740f64).exp()).abs() <= 5e-324);
    }

    #[test]
    fn ln_is_within_two_ulps_of_libm_and_inverts_exp() {
        let mut worst = 0;
        for i in 1..=400_000 {
            let x = (i as f64 * 1.7e-3).powi(3) * 1e-3;
            worst = worst.max(ulps(ln(x), x.ln()));
        }
        for x in [1e-310, 5e-324, f64::MIN_POSITIVE, 1e300, f64::MAX] {
            worst = worst.max(ulps(ln(x), x.ln()));
        }
        assert!(worst <= 2, "ln is {worst} ulps from libm");
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert!(ln(-1.0).is_nan() && ln(f64::NAN).is_nan());
        assert_eq!(ln(f64::INFINITY), f64::INFINITY);
        for x in [-30.0, -1.0, 0.5, 3.0, 40.0] {
            assert!((ln(exp(x)) - x).abs() <= 4.0 * f64::EPSILON * x.abs().max(1.0));
        }
    }

    #[test]
    fn float32_exp_is_correctly_rounded_where_float64_decides_it() {
        // Float64 within a few ulps decides float32's rounding except within
        // 2⁻⁴⁸ of a tie; count the cases that differ from libm's expf.
        let differ = (-100_000..=88_000)
            .map(|i| i as f32 * 1e-3)
            .filter(|&x| expf(x) != x.exp())
            .count();
        assert!(
            differ < 200,
            "{differ} of 188,001 values differ from libm's expf"
        );
        assert_eq!(powi(0.5, 10), 1.0 / 1024.0);
        assert_eq!(powi(3.0, 0), 1.0);
        assert!((powi(0.999, 12_345) - 0.999f64.powf(12_345.0)).abs() < 1e-15);
        assert_eq!(sigmoid(0.0), 0.5);
        assert_eq!(sigmoid(200.0), 1.0);
        assert_eq!(sigmoid(-200.0), 0.0);
        assert!(sigmoid(f32::NAN).is_nan());
    }
}
