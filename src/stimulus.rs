//! The notebook's stimulus: a sinusoid of frequency `f` heard by two ears,
//! each with `anf_per_ear` auditory nerve fibres whose phase delays span
//! [0, π/2]; the second ear also lags by the IPD. Each fibre fires as a
//! Bernoulli approximation of a Poisson process with probability
//! `rate_max·dt·(½(1+sin θ))^envelope_power` per step.
//!
//! Two generators share that model. `Numpy` replays numpy's legacy stream in
//! the notebook's order and float64 arithmetic, so spikes equal the
//! notebook's bit for bit. `Fast` draws every sample from its own counter-
//! seeded stream, which makes generation parallel and still reproducible
//! whatever the thread count.

use std::f64::consts::PI;

use anyhow::Result;
use rand::{Rng, RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use tch::{Device, Tensor};

use crate::config::{Config, PhaseOffset, RngMode};
use crate::host;
use crate::numpy_random::NumpyRandomState;
use crate::seed::splitmix64;

/// IPDs and the spikes they evoke, on one device.
pub struct Dataset {
    /// True IPD of each sample in radians, `(n,)` float32.
    pub ipd: Tensor,
    /// `(n, duration_steps, 2*anf_per_ear)` uint8 spikes; fibres of the
    /// first ear come first. Kept as bytes (a quarter of float32's memory)
    /// and widened per batch.
    pub spikes: Tensor,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.ipd.size()[0] as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The stimulus random number generator, advancing across calls like the
/// notebook's global numpy state does.
pub enum StimulusRng {
    /// Draws IPDs, offsets and one seed per call from a xoshiro256++ stream.
    Fast(Box<Xoshiro256PlusPlus>),
    Numpy(Box<NumpyRandomState>),
}

impl StimulusRng {
    pub fn new(cfg: &Config) -> Result<Self> {
        Ok(match cfg.run.rng {
            RngMode::Fast => StimulusRng::Fast(Box::new(Xoshiro256PlusPlus::seed_from_u64(mix(
                cfg.run.seed,
                0,
            )))),
            RngMode::Numpy => StimulusRng::Numpy(Box::new(
                NumpyRandomState::new(cfg.run.seed).map_err(|e| anyhow::anyhow!("`seed`: {e}"))?,
            )),
        })
    }

    /// The stream of epoch `epoch`'s training set under fresh training
    /// data, from epoch 2 on (the first epoch trains on the set `new`'s
    /// stream draws, which the test set follows, as with a fixed set). It
    /// depends on the seed and the epoch alone, so a resumed run draws the
    /// same sets, and no epoch's stream is another's or the run's own.
    pub fn for_epoch(cfg: &Config, epoch: usize) -> Result<Self> {
        const FRESH_DATA: u64 = 0x6672_6573_6864_6174;
        let stream = splitmix64(cfg.run.seed ^ FRESH_DATA).wrapping_add(epoch as u64);
        Ok(match cfg.run.rng {
            RngMode::Fast => {
                StimulusRng::Fast(Box::new(Xoshiro256PlusPlus::seed_from_u64(mix(stream, 0))))
            }
            // numpy seeds are 32-bit.
            RngMode::Numpy => StimulusRng::Numpy(Box::new(
                NumpyRandomState::new(splitmix64(stream) & 0xFFFF_FFFF)
                    .map_err(|e| anyhow::anyhow!("`seed`: {e}"))?,
            )),
        })
    }

    /// One uniform double in [0, 1), like `np.random.rand()`.
    pub fn uniform(&mut self) -> f64 {
        match self {
            StimulusRng::Fast(rng) => rng.random::<f64>(),
            StimulusRng::Numpy(np) => np.random_sample(),
        }
    }
}

/// Phase delay of each fibre of one ear: numpy's `linspace(0, π/2, n)`,
/// including its exact last point.
pub fn phase_delays(anf_per_ear: usize) -> Vec<f64> {
    let step = (PI / 2.0) / (anf_per_ear.max(2) - 1) as f64;
    let mut delays: Vec<f64> = (0..anf_per_ear).map(|k| k as f64 * step).collect();
    if anf_per_ear > 1 {
        delays[anf_per_ear - 1] = PI / 2.0;
    }
    delays
}

/// Firing probability per step for a fibre at phase `theta`.
fn firing_probability(peak: f64, envelope_power: f64, theta_sin: f64) -> f64 {
    peak * envelope(0.5 * (1.0 + theta_sin), envelope_power)
}

/// `x^p` as numpy computes it for the notebook's powers: numpy squares for
/// `** 2` rather than calling `pow`, and an integer power by repeated
/// multiplication is both faster and as exact.
fn envelope(x: f64, p: f64) -> f64 {
    if p == 2.0 {
        x * x
    } else if p.fract() == 0.0 && p <= 64.0 {
        x.powi(p as i32)
    } else {
        x.powf(p)
    }
}

/// Draws `n` IPDs uniformly in (-π/2, π/2) and the spikes they evoke:
/// the notebook's `random_ipd_input_signal`.
pub fn random_ipd_input_signal(
    cfg: &Config,
    n: usize,
    rng: &mut StimulusRng,
    device: Device,
) -> Result<Dataset> {
    let ipd: Vec<f64> = (0..n).map(|_| rng.uniform() * PI - PI / 2.0).collect();
    input_signal(cfg, &ipd, rng, device)
}

/// The spikes evoked by the given IPDs (radians): the notebook's
/// `input_signal`.
pub fn input_signal(
    cfg: &Config,
    ipd: &[f64],
    rng: &mut StimulusRng,
    device: Device,
) -> Result<Dataset> {
    let n = ipd.len();
    let offsets: Vec<f64> = match cfg.stimulus.phase_offset {
        PhaseOffset::PerCall => vec![2.0 * PI * rng.uniform(); n],
        PhaseOffset::PerSample => (0..n).map(|_| 2.0 * PI * rng.uniform()).collect(),
    };
    let shape = [n, cfg.duration_steps(), cfg.input_size()];
    // The spikes are written straight into the tensor's memory: through a
    // Vec and `from_slice` the data set (82 MB by default) would exist twice
    // at the peak of a run. Both generators write every byte.
    let mut spikes = host::empty::<u8>(&shape)?;
    {
        let out = host::slice_mut::<u8>(&mut spikes)?;
        match rng {
            StimulusRng::Numpy(np) => numpy_spikes(cfg, ipd, &offsets, np, out),
            StimulusRng::Fast(main) => fast_spikes(cfg, ipd, &offsets, main.next_u64(), out),
        }
    }
    let ipd32: Vec<f32> = ipd.iter().map(|&x| x as f32).collect();
    Ok(Dataset {
        ipd: Tensor::f_from_slice(&ipd32)?.f_to_device(device)?,
        spikes: spikes.f_to_device(device)?,
    })
}

/// Firing probability per step of every fibre, `(steps, 2*anf_per_ear)`
/// row-major, for one IPD and phase offset, in the notebook's float64
/// arithmetic: θ = 2π·f·t·dt + offset + delay (+ IPD on the second ear).
pub fn firing_probabilities(cfg: &Config, ipd: f64, offset: f64) -> Vec<f64> {
    let (steps, anf) = (cfg.duration_steps(), cfg.stimulus.anf_per_ear);
    let delays = phase_delays(anf);
    let (dt, peak) = (cfg.dt(), cfg.stimulus.rate_max * cfg.dt());
    let mut p = Vec::with_capacity(steps * 2 * anf);
    for t in 0..steps {
        let phi = 2.0 * PI * (cfg.stimulus.f * (t as f64 * dt)) + offset;
        let first = delays.iter().map(|d| phi + d);
        let second = delays.iter().map(|d| phi + d + ipd);
        p.extend(
            first
                .chain(second)
                .map(|theta| firing_probability(peak, cfg.stimulus.envelope_power, theta.sin())),
        );
    }
    p
}

/// The notebook's Bernoulli draws: numpy uniforms in C order, compared in
/// float64 with the exact probabilities.
fn numpy_spikes(
    cfg: &Config,
    ipd: &[f64],
    offsets: &[f64],
    np: &mut NumpyRandomState,
    spikes: &mut [u8],
) {
    let per_sample = cfg.duration_steps() * cfg.input_size();
    let mut uniforms = vec![0.0; per_sample];
    for (i, sample) in spikes.chunks_mut(per_sample).enumerate() {
        let p = firing_probabilities(cfg, ipd[i], offsets[i]);
        np.fill(&mut uniforms);
        for ((out, p), u) in sample.iter_mut().zip(&p).zip(&uniforms) {
            *out = (p > u) as u8;
        }
    }
}

/// Parallel generator. Each sample's fibres at phase `base + c` (base =
/// 2πf·t + delay, shared by all samples; c = offset, plus the IPD for the
/// second ear) are evaluated by the angle-addition formula from one table of
/// sin/cos(base), and a spike is a 32-bit uniform below the probability
/// scaled to 2^32. Sample i draws from its own stream seeded by
/// (call seed, i), so the result does not depend on the thread count.
fn fast_spikes(cfg: &Config, ipd: &[f64], offsets: &[f64], call_seed: u64, spikes: &mut [u8]) {
    let (steps, anf) = (cfg.duration_steps(), cfg.stimulus.anf_per_ear);
    let delays = phase_delays(anf);
    let dt = cfg.dt();
    let base: Vec<(f64, f64)> = (0..steps)
        .flat_map(|t| {
            let phi = 2.0 * PI * (cfg.stimulus.f * (t as f64 * dt));
            delays.iter().map(move |d| (phi + d).sin_cos())
        })
        .collect();
    let thresholds = Thresholds::new(cfg.stimulus.rate_max * dt, cfg.stimulus.envelope_power);
    let thresholds_for = |shift: f64, out: &mut [i64]| thresholds.fill(shift, &base, out);
    spikes
        .par_chunks_mut(steps * 2 * anf)
        .enumerate()
        .for_each_init(
            || (vec![0i64; steps * anf], vec![0i64; steps * anf], f64::NAN),
            |(first, second, first_offset), (i, sample)| {
                // With one offset per call the first ear's table is the
                // same for every sample: compute it once per thread.
                if *first_offset != offsets[i] {
                    thresholds_for(offsets[i], first);
                    *first_offset = offsets[i];
                }
                thresholds_for(offsets[i] + ipd[i], second);
                let mut rng = Xoshiro256PlusPlus::seed_from_u64(mix(call_seed, i as u64));
                for (t, row) in sample.chunks_mut(2 * anf).enumerate() {
                    let (left, right) = row.split_at_mut(anf);
                    bernoulli(&mut rng, &first[t * anf..(t + 1) * anf], left);
                    bernoulli(&mut rng, &second[t * anf..(t + 1) * anf], right);
                }
            },
        );
}

/// 2^32: a spike threshold is the firing probability on the scale of a
/// 32-bit uniform.
const UNIFORM_SCALE: f64 = 4294967296.0;

/// 2^63: floats from 0 up to this convert to i64 exactly as `as` does.
const I64_RANGE: f64 = 9_223_372_036_854_775_808.0;

/// The fast generator's spike thresholds: the firing probability scaled to
/// 2^32 and truncated, as i64 rather than u64, which is the same truncation
/// (the probability is at most 1, the config checks it) in one instruction
/// instead of a branchy sequence.
struct Thresholds {
    peak: f64,
    power: f64,
    /// Envelope bases below which the threshold is 0.
    silent_below: f64,
}

impl Thresholds {
    fn new(peak: f64, power: f64) -> Self {
        // `peak·x^p·2^32 < 1` below x = (peak·2^32)^(-1/p). With a margin of
        // 1e-6 below that, x^p stays a factor (1-1e-6)^p under the bound,
        // far more than pow's last-bit error, so the truncation gives 0
        // without calling pow: 71% of the calls at power 100.
        let silent_below = if power > 0.0 {
            (peak * UNIFORM_SCALE).powf(-1.0 / power) * (1.0 - 1e-6)
        } else {
            0.0
        };
        Thresholds {
            peak,
            power,
            silent_below,
        }
    }

    #[inline]
    fn at(&self, theta_sin: f64) -> i64 {
        self.with_envelope(theta_sin, |x| envelope(x, self.power))
    }

    /// The threshold at `theta_sin`, with `envelope(x)` standing for
    /// `x^power`.
    #[inline(always)]
    fn with_envelope(&self, theta_sin: f64, envelope: impl Fn(f64) -> f64) -> i64 {
        let x = 0.5 * (1.0 + theta_sin);
        let scaled = self.peak * envelope(x) * UNIFORM_SCALE;
        // `scaled as i64`, written so that it vectorises: `as` saturates,
        // which kept the loop scalar, while the unchecked conversion is one
        // instruction per 8 lanes. They agree on [0, 2^63), where `scaled`
        // lies (a little above 2^32 at most, where rounding puts sin θ just
        // above 1); elsewhere it can only be NaN (a negative base to a
        // fractional power) or above -1, where `as` also gives 0.
        if x < self.silent_below || !(0.0..I64_RANGE).contains(&scaled) {
            0
        } else {
            // SAFETY: `scaled` is finite and within i64's range here.
            unsafe { scaled.to_int_unchecked::<i64>() }
        }
    }

    /// The thresholds of fibres at phases `base + shift`, by the
    /// angle-addition formula from sin/cos of each base phase.
    fn fill(&self, shift: f64, base: &[(f64, f64)], out: &mut [i64]) {
        let (sin, cos) = shift.sin_cos();
        if let Some(power) = small_integer(self.power) {
            integer_power_thresholds(self, power, sin, cos, base, out);
        } else {
            for (out, &(sb, cb)) in out.iter_mut().zip(base) {
                *out = self.at(sb * cos + cb * sin);
            }
        }
    }
}

widest_vectors! {
    /// `Thresholds::fill` at an integer power up to 64, where the envelope
    /// is `powi_by_squaring` rather than a call, so the loop runs in
    /// vectors.
    fn integer_power_thresholds = integer_power_thresholds_kernel(
        thresholds: &Thresholds,
        power: u32,
        sin: f64,
        cos: f64,
        base: &[(f64, f64)],
        out: &mut [i64],
    );
}

#[inline(always)]
fn integer_power_thresholds_kernel(
    thresholds: &Thresholds,
    power: u32,
    sin: f64,
    cos: f64,
    base: &[(f64, f64)],
    out: &mut [i64],
) {
    for (out, &(sb, cb)) in out.iter_mut().zip(base) {
        *out = thresholds.with_envelope(sb * cos + cb * sin, |x| powi_by_squaring(x, power));
    }
}

/// The power as an exponent `envelope` takes `powi` for (or squares), 0 to 64.
fn small_integer(power: f64) -> Option<u32> {
    (power.fract() == 0.0 && (0.0..=64.0).contains(&power)).then_some(power as u32)
}

/// `x.powi(n)` for n from 0 to 64, as compiler-builtins' `__powidf2`
/// (which `powi` calls) computes it: x squared repeatedly, the squares of
/// n's set bits multiplied into 1 from the lowest bit up. The squarings
/// past n's highest bit, which `__powidf2` skips, never reach the product;
/// a fixed count of them lets the compiler unroll this and vectorise the
/// loop around it. For n = 2 it is `x * x`, numpy's square.
#[inline(always)]
fn powi_by_squaring(x: f64, n: u32) -> f64 {
    let (mut product, mut square) = (1.0, x);
    for bit in 0..7 {
        if n >> bit & 1 == 1 {
            product *= square;
        }
        square *= square;
    }
    product
}

/// A spike wherever a fresh 32-bit uniform falls below the threshold.
#[inline(always)]
fn bernoulli(rng: &mut Xoshiro256PlusPlus, thresholds: &[i64], out: &mut [u8]) {
    for (out, &threshold) in out.iter_mut().zip(thresholds) {
        *out = (i64::from(rng.next_u32()) < threshold) as u8;
    }
}

/// Turns (seed, counter) into well-separated stream
/// seeds, so sample i of call c never shares a stream with another.
fn mix(seed: u64, counter: u64) -> u64 {
    const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
    splitmix64(
        seed.wrapping_add(counter.wrapping_mul(GOLDEN_GAMMA))
            .wrapping_add(GOLDEN_GAMMA),
    )
}

/// Expected firing probability per step, averaged over the phase:
/// `rate_max·dt·E[(½(1+sin θ))^p]` for θ uniform. Useful to check a data set.
pub fn expected_spike_probability(cfg: &Config) -> f64 {
    let n = 100_000;
    let mean = (0..n)
        .map(|j| {
            envelope(
                0.5 * (1.0 + (2.0 * PI * (j as f64 + 0.5) / n as f64).sin()),
                cfg.stimulus.envelope_power,
            )
        })
        .sum::<f64>()
        / n as f64;
    cfg.stimulus.rate_max * cfg.dt() * mean
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Filling a table, vectorised at integer powers, must give each fibre
    /// the truncated probability, silent or not.
    #[test]
    fn filled_thresholds_are_the_truncated_probabilities() {
        let base: Vec<(f64, f64)> = (0..5003).map(|k| (k as f64 * 0.0137).sin_cos()).collect();
        for power in [0.0, 1.0, 2.0, 3.0, 5.0, 10.0, 40.0, 63.0, 64.0, 2.5, 100.0] {
            let thresholds = Thresholds::new(0.6, power);
            let mut out = vec![-1; base.len()];
            for shift in [0.0, 1.3, -2.9, 4.0] {
                thresholds.fill(shift, &base, &mut out);
                let (s, c) = f64::sin_cos(shift);
                for (&got, &(sb, cb)) in out.iter().zip(&base) {
                    let theta_sin = sb * c + cb * s;
                    let exact = (firing_probability(0.6, power, theta_sin) * UNIFORM_SCALE) as i64;
                    assert_eq!(got, exact, "power {power}, shift {shift}, sin {theta_sin}");
                }
            }
        }
    }

    /// At a firing probability of 1, rounding can put sin θ just above 1
    /// and the threshold just above 2^32: a spike at every draw.
    #[test]
    fn thresholds_above_the_scale_stay_as_computed() {
        let theta_sin = 1.0 + 2.0 * f64::EPSILON;
        for power in [1.0, 2.0, 2.5] {
            let thresholds = Thresholds::new(1.0, power);
            let exact = (firing_probability(1.0, power, theta_sin) * UNIFORM_SCALE) as i64;
            assert!(exact >= 1 << 32);
            assert_eq!(thresholds.at(theta_sin), exact, "power {power}");
        }
    }

    #[test]
    fn powers_by_squaring_are_powi() {
        for n in 0..=64 {
            for k in 0..=2000 {
                let x = k as f64 / 2000.0 * 1.0000001;
                assert_eq!(
                    powi_by_squaring(x, n).to_bits(),
                    x.powi(n as i32).to_bits(),
                    "{x}^{n}"
                );
            }
        }
    }

    /// Skipping pow below `silent_below` must change no threshold, also
    /// right at the bound, where pow's rounding decides between 0 and 1.
    #[test]
    fn silent_thresholds_are_the_truncated_probabilities() {
        for peak in [0.6, 1.0, 1e-3] {
            for power in [0.05, 0.5, 1.0, 2.0, 3.0, 10.0, 30.0, 100.0, 1000.0] {
                let thresholds = Thresholds::new(peak, power);
                let bound = (peak * UNIFORM_SCALE).powf(-1.0 / power);
                let near_bound =
                    (-2000..=2000).map(|i| 2.0 * bound * (1.0 + i as f64 * 1e-7) - 1.0);
                let everywhere = (0..=20000).map(|i| -1.0 + i as f64 * 1e-4);
                for theta_sin in near_bound.chain(everywhere) {
                    let exact = (firing_probability(peak, power, theta_sin) * UNIFORM_SCALE) as i64;
                    assert_eq!(
                        thresholds.at(theta_sin),
                        exact,
                        "peak {peak}, power {power}, sin {theta_sin}"
                    );
                }
            }
        }
    }
}
