//! numpy's legacy global random stream (`np.random.seed(n)` followed by
//! `np.random.rand(...)`), reproduced bit for bit.
//!
//! The teaching notebook draws every stimulus from that stream. Having the
//! same generator in Rust lets the port build exactly the notebook's spike
//! trains for a given seed, so its data can be cross-checked against
//! `scripts/reference.py` value for value instead of only statistically.
//!
//! The generator is the 32-bit Mersenne Twister (MT19937). numpy seeds it
//! from a single integer with Matsumoto and Nishimura's `init_genrand`
//! recurrence and builds each double from the top 53 bits of two outputs.

use std::error::Error;
use std::fmt;

/// Words of state, and the offset of the word mixed into each new one.
const N: usize = 624;
const M: usize = 397;
/// Twist constant of MT19937 (the last row of its companion matrix).
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_BIT: u32 = 0x8000_0000;
const LOWER_BITS: u32 = 0x7fff_ffff;

/// A seed numpy itself would reject: `np.random.seed` only accepts integers
/// that fit in 32 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedError {
    pub seed: u64,
}

impl fmt::Display for SeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "numpy seeds must be between 0 and {}, got {}",
            u32::MAX,
            self.seed
        )
    }
}

impl Error for SeedError {}

/// The state behind `np.random` after `np.random.seed(seed)`.
#[derive(Clone)]
pub struct NumpyRandomState {
    mt: [u32; N],
    /// Next word of `mt` to hand out; `N` means the block is used up.
    index: usize,
}

impl fmt::Debug for NumpyRandomState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // 624 words of state would drown any message they appear in.
        f.debug_struct("NumpyRandomState")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl NumpyRandomState {
    /// Same state as `np.random.seed(seed)`.
    ///
    /// # Errors
    /// `SeedError` when `seed` does not fit in 32 bits, which numpy refuses
    /// too.
    pub fn new(seed: u64) -> Result<Self, SeedError> {
        let seed = u32::try_from(seed).map_err(|_| SeedError { seed })?;
        let mut mt = [0u32; N];
        mt[0] = seed;
        let mut prev = seed;
        for (i, word) in (1u32..).zip(&mut mt[1..]) {
            *word = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i);
            prev = *word;
        }
        // The first draw regenerates the block, as numpy's first draw does.
        Ok(Self { mt, index: N })
    }

    /// Replaces all 624 words at once; splitting the loop where `i + M`
    /// wraps keeps the indexing free of modulo operations.
    fn regenerate(&mut self) {
        let mt = &mut self.mt;
        let twist = |upper: u32, lower: u32, far: u32| {
            let y = (upper & UPPER_BIT) | (lower & LOWER_BITS);
            far ^ (y >> 1) ^ (MATRIX_A & (y & 1).wrapping_neg())
        };
        for i in 0..N - M {
            mt[i] = twist(mt[i], mt[i + 1], mt[i + M]);
        }
        for i in N - M..N - 1 {
            mt[i] = twist(mt[i], mt[i + 1], mt[i + M - N]);
        }
        mt[N - 1] = twist(mt[N - 1], mt[0], mt[M - 1]);
        self.index = 0;
    }

    /// The next raw 32-bit output of the generator.
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.regenerate();
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        // Tempering spreads the state bits so that every output bit is
        // equidistributed.
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// One double in [0, 1), like `np.random.rand()`: 27 bits from one
    /// output and 26 from the next form a 53-bit integer, scaled by 2^-53.
    pub fn random_sample(&mut self) -> f64 {
        let high = f64::from(self.next_u32() >> 5);
        let low = f64::from(self.next_u32() >> 6);
        (high * 67_108_864.0 + low) / 9_007_199_254_740_992.0
    }

    /// Fills `out` in order, like `np.random.rand(n1, n2, ...)` laid out in
    /// C order; the stream then continues exactly where numpy's would.
    pub fn fill(&mut self, out: &mut [f64]) {
        for x in out {
            *x = self.random_sample();
        }
    }
}
