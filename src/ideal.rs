//! The information limit: the Bayes-optimal (ideal) observer of the
//! stimulus model, which no classifier of single samples can beat on
//! average.
//!
//! Given the IPD and the phase offset φ, every fibre fires independently
//! with the generator's probability p(θ), θ = 2πf·t·dt + φ + delay, plus
//! the IPD on the second ear (`stimulus::firing_probabilities` makes the
//! tables here, so the arithmetic is the generator's). A sample's
//! log-likelihood therefore splits into the two ears, each a function of
//! one phase:
//!
//!   LL(ipd, φ) = L(s_left; φ) + L(s_right; φ + ipd),
//!   L(s; ψ) = Σ_{t,k} s_tk·log[p/(1−p)](ψ) + Σ_{t,k} log(1−p)(ψ),
//!
//! linear in the spikes: one matmul of the spikes against a table over a
//! grid of phases. With a uniform prior on φ, drawn per sample, and on the
//! IPD over (−π/2, π/2), as the generator draws them, class c has posterior
//! mass P(c | s) ∝ Σ_{ipd ∈ c} Σ_φ exp LL(ipd, φ). The sums run over G
//! phases φ_g = g·Δ (Δ = 2π/G) and G/2 IPD cells, at their midpoints
//! ipd_j = −π/2 + (j+½)Δ, with the midpoint rule's end correction at each
//! class edge (`Grid::class_posterior`). The second ear's table is on the phases shifted
//! by Δ/2 − π/2, so that φ_g + ipd_j is its grid point (g + j) mod G and
//! the sum over φ is a circular cross-correlation of the two ears'
//! likelihoods. G is a multiple of 2·num_classes, so each class holds the
//! same number of whole IPD cells.
//!
//! The sum over φ, of a periodic function on a uniform grid, converges
//! faster than any power of Δ once Δ is below the posterior's width (about
//! a degree for the default stimulus); the corrected midpoint rule over the
//! IPD errs by O(Δ⁴). On the default test set a 1° grid (G = 360) and a
//! 0.5° grid give the same estimate for every sample.

use std::f64::consts::PI;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use rayon::prelude::*;
use tch::{Device, Kind, Tensor};

use crate::config::{Config, PhaseOffset};
use crate::host::rows;
use crate::labels::{bin_median, degrees, labelled_ipds, Score};
use crate::stimulus::{firing_probabilities, Dataset};

/// Phase grid points by default: a 1° grid.
pub const DEFAULT_PHASE_POINTS: usize = 360;

/// Samples whose spikes are widened to f64 at once.
const CHUNK: i64 = 256;

/// The largest grid step, in widths of the likelihood in φ. Measured on
/// 512 samples at envelope powers 1 to 100 (360 to 840 phases): a grid
/// twice as fine changes no estimate, and no class probability by more
/// than 8e-4. A fixed 1° grid at power 100 (3.7 widths) changed 8
/// estimates and probabilities by up to 0.19.
const RESOLUTION: f64 = 1.6;

/// Elements of one likelihood table: 2 GiB of f64.
const TABLE_ELEMENTS: usize = 1 << 28;

/// ln of the smallest normal f64. A spike where the model's probability is
/// 0 has likelihood 0, but only at phases far from the truth (the generator
/// never fires there), so flooring its log keeps −∞·0 = NaN out of the
/// matmul without moving the posterior.
const LOG_FLOOR: f64 = -708.0;

/// What the observer knows about the stimulus phase offset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OffsetKnowledge {
    /// Uniform over [0, 2π) for each sample, marginalised: the limit for
    /// per-sample offsets, and for any observer that does not know a data
    /// set's shared offset.
    Unknown,
    /// This offset (radians) for every sample: with per-call offsets, the
    /// data set's own, which makes the observer an upper bound.
    Known(f64),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IdealOptions {
    /// Phase grid points at least: raised where the stimulus is sharp
    /// enough that the likelihood is narrower than the grid (see
    /// `RESOLUTION`), and rounded up to a multiple of 2·num_classes.
    pub phase_points: usize,
    pub offset: OffsetKnowledge,
}

impl Default for IdealOptions {
    fn default() -> Self {
        IdealOptions {
            phase_points: DEFAULT_PHASE_POINTS,
            offset: OffsetKnowledge::Unknown,
        }
    }
}

/// The ideal observer's estimates on a data set.
#[derive(Clone, Debug, PartialEq)]
pub struct IdealResult {
    /// The class of largest posterior mass, per sample.
    pub predicted: Vec<usize>,
    /// `[sample][class]` posterior probabilities.
    pub posterior: Vec<Vec<f64>>,
    /// The IPD of largest posterior density (radians), interpolated
    /// between grid points by a parabola through the log-posterior.
    pub map_ipd: Vec<f64>,
    /// The posterior median IPD (radians), the network's decoder
    /// (`labels::bin_median`) applied to the posterior over IPD cells: the
    /// estimate of least expected absolute error, the score's decoded one.
    pub median_ipd: Vec<f64>,
    pub score: Score,
    /// Root mean square of MAP IPD − true IPD, degrees.
    pub map_ipd_rms_deg: f64,
    /// Phase grid points used (IPD grid: half as many).
    pub phase_points: usize,
    /// Wall-clock time of the observer.
    pub seconds: f64,
}

/// The ideal observer on every sample of `data` (spikes of any numeric
/// kind; fractional values act as expected spike counts).
pub fn ideal_observer(cfg: &Config, data: &Dataset, options: &IdealOptions) -> Result<IdealResult> {
    let clock = Instant::now();
    cfg.validate()?;
    let spikes = data.spikes.f_to_device(Device::Cpu)?;
    let (ipd, true_class) = labelled_ipds(data, cfg.data.num_classes)?;
    let want = [cfg.duration_steps() as i64, cfg.input_size() as i64];
    ensure!(
        spikes.dim() == 3 && spikes.size()[1..] == want && !ipd.is_empty(),
        "the data set's spikes {:?} do not fit the config, which needs (n, {}, {})",
        spikes.size(),
        want[0],
        want[1]
    );
    let grid = Grid::new(cfg, options.phase_points)?;
    let (left, right) = match options.offset {
        OffsetKnowledge::Unknown => (
            Some(EarTable::new(cfg, &grid.phases(0.0))?),
            EarTable::new(cfg, &grid.phases(grid.step / 2.0 - PI / 2.0))?,
        ),
        OffsetKnowledge::Known(offset) => (None, EarTable::new(cfg, &grid.ipds(offset))?),
    };
    let n = ipd.len() as i64;
    let (mut predicted, mut posterior, mut map_ipd) = (Vec::new(), Vec::new(), Vec::new());
    let mut median_ipd = Vec::new();
    for start in (0..n).step_by(CHUNK as usize) {
        let part = spikes.f_narrow(0, start, CHUNK.min(n - start))?;
        let right = rows::<f64>(&right.log_likelihood(&ear(cfg, &part, 1)?)?)?;
        let log_ipd: Vec<Vec<f64>> = match &left {
            Some(left) => {
                let left = rows::<f64>(&left.log_likelihood(&ear(cfg, &part, 0)?)?)?;
                left.par_iter()
                    .zip(&right)
                    .map(|(l, r)| grid.marginalise(l, r))
                    .collect()
            }
            None => right,
        };
        for (i, row) in log_ipd.iter().enumerate() {
            let classes = grid.class_posterior(row).with_context(|| {
                format!(
                    "sample {}: no IPD in (-90°, 90°) explains both ears' spikes",
                    start as usize + i
                )
            })?;
            predicted.push(first_max(&classes));
            posterior.push(classes);
            map_ipd.push(grid.map_ipd(row));
            median_ipd.push(grid.median_ipd(row));
        }
    }
    let squares: f64 = map_ipd.iter().zip(&ipd).map(|(m, x)| (m - x).powi(2)).sum();
    let classes = cfg.data.num_classes;
    Ok(IdealResult {
        score: Score::of(&ipd, &true_class, &predicted, &median_ipd, classes),
        map_ipd_rms_deg: degrees((squares / ipd.len() as f64).sqrt()),
        predicted,
        posterior,
        map_ipd,
        median_ipd,
        phase_points: grid.points,
        seconds: clock.elapsed().as_secs_f64(),
    })
}

/// The offset shared by every sample of a per-call data set, estimated by
/// maximum likelihood from the first ear's spikes of all samples pooled
/// (the first ear does not depend on the IPD). Pooling thousands of samples
/// pins it to a few hundredths of a degree; the result is refined to 1/200
/// of a degree around the best of 720 phases.
pub fn estimate_shared_offset(cfg: &Config, data: &Dataset) -> Result<f64> {
    cfg.validate()?;
    let spikes = data.spikes.f_to_device(Device::Cpu)?;
    // Summed a chunk at a time: a sum in f64 widens its whole input first.
    let n = data.len() as i64;
    let mut pooled = Tensor::f_zeros([1, 1], (Kind::Double, Device::Cpu))?;
    for start in (0..n).step_by(CHUNK as usize) {
        let part = spikes.f_narrow(0, start, CHUNK.min(n - start))?;
        pooled = pooled.f_add(&part.f_sum_dim_intlist(0, true, Kind::Double)?)?;
    }
    let pooled = ear(cfg, &pooled, 0)?;
    let n = data.len() as f64;
    let best = |phases: &[f64]| -> Result<f64> {
        let table = EarTable::new(cfg, phases)?;
        let ll = pooled.f_matmul(&table.slope)? + table.base.f_mul_scalar(n)?;
        let at = ll.f_argmax(1, false)?.f_int64_value(&[0])?;
        Ok(phases[at as usize])
    };
    let step = 2.0 * PI / 720.0;
    let coarse = best(&(0..720).map(|g| g as f64 * step).collect::<Vec<_>>())?;
    let fine: Vec<f64> = (0..=200)
        .map(|i| coarse + (i as f64 - 100.0) / 100.0 * step)
        .collect();
    Ok(best(&fine)?.rem_euclid(2.0 * PI))
}

/// Refuses, before any work, a stimulus whose likelihood table would not
/// fit in memory.
pub fn check_ideal(cfg: &Config) -> Result<()> {
    Grid::new(cfg, DEFAULT_PHASE_POINTS).map(|_| ())
}

/// The observer as `inspect` reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct IdealLimits {
    /// Offset marginalised per sample.
    pub unknown_offset: IdealResult,
    /// With per-call offsets: the estimated shared offset (radians) and the
    /// observer that knows it, an upper bound for any network.
    pub known_offset: Option<(f64, IdealResult)>,
}

/// The ideal observer on `data`, and for a per-call config also the one
/// told the data set's offset.
pub fn ideal_limits(cfg: &Config, data: &Dataset, phase_points: usize) -> Result<IdealLimits> {
    let unknown = IdealOptions {
        phase_points,
        offset: OffsetKnowledge::Unknown,
    };
    let known_offset = match cfg.stimulus.phase_offset {
        PhaseOffset::PerSample => None,
        PhaseOffset::PerCall => {
            let offset = estimate_shared_offset(cfg, data)?;
            let options = IdealOptions {
                offset: OffsetKnowledge::Known(offset),
                ..unknown
            };
            Some((offset, ideal_observer(cfg, data, &options)?))
        }
    };
    Ok(IdealLimits {
        unknown_offset: ideal_observer(cfg, data, &unknown)?,
        known_offset,
    })
}

/// The phase and IPD grids.
struct Grid {
    points: usize,
    step: f64,
    num_classes: usize,
}

impl Grid {
    /// At least `at_least` points, and a step of at most `RESOLUTION`
    /// times the likelihood's width in φ at a fixed IPD, 1/sqrt(2·I) for
    /// I the Fisher information of one ear about the phase.
    fn new(cfg: &Config, at_least: usize) -> Result<Grid> {
        let unit = 2 * cfg.data.num_classes;
        let resolved = (2.0 * PI * (2.0 * phase_information(cfg)).sqrt() / RESOLUTION).ceil();
        let points = at_least.max(resolved as usize).max(1).div_ceil(unit) * unit;
        let elements = points * cfg.duration_steps() * cfg.stimulus.anf_per_ear;
        ensure!(
            elements <= TABLE_ELEMENTS,
            "the ideal observer's likelihood table would hold {elements} values \
             (phase points {points} x steps x anf-per-ear), more than {TABLE_ELEMENTS}; \
             shorten the stimulus or use fewer fibres"
        );
        Ok(Grid {
            points,
            step: 2.0 * PI / points as f64,
            num_classes: cfg.data.num_classes,
        })
    }

    /// IPD cells in (−π/2, π/2).
    fn ipd_points(&self) -> usize {
        self.points / 2
    }

    /// IPD cells computed: those in range and one beyond each end, which
    /// the class masses' end corrections and the MAP's parabola read.
    fn cells(&self) -> usize {
        self.ipd_points() + 2
    }

    fn phases(&self, shift: f64) -> Vec<f64> {
        (0..self.points)
            .map(|g| g as f64 * self.step + shift)
            .collect()
    }

    /// The IPD of each computed cell (midpoints), plus `shift`.
    fn ipds(&self, shift: f64) -> Vec<f64> {
        (0..self.cells())
            .map(|i| (i as f64 - 0.5) * self.step - PI / 2.0 + shift)
            .collect()
    }

    /// log Σ_g exp(L_left[g] + L_right[(g + j) mod G]) for every computed
    /// IPD cell j (cell i is j = i − 1), from both ears' log-likelihoods on
    /// their grids. The exponential factorises: with a = exp(L_left − max)
    /// and b = exp(L_right − max), each term is a[g]·b[g+j] times both
    /// maxima, so the sum over g is a dot product of positive numbers (a
    /// circular cross-correlation), exact to rounding with no exp inside.
    /// Terms over ~700 nats below both maxima underflow to 0; they carry no
    /// posterior mass.
    fn marginalise(&self, left: &[f64], right: &[f64]) -> Vec<f64> {
        let (ml, mr) = (max(left), max(right));
        let a: Vec<f64> = left.iter().map(|l| (l - ml).exp()).collect();
        let b: Vec<f64> = right.iter().chain(right).map(|r| (r - mr).exp()).collect();
        (0..self.cells())
            .map(|i| {
                let start = (i + self.points - 1) % self.points;
                let shifted = &b[start..start + self.points];
                let dot: f64 = a.iter().zip(shifted).map(|(x, y)| x * y).sum();
                dot.ln() + ml + mr
            })
            .collect()
    }

    /// Posterior probability of each class from the computed cells'
    /// log-posteriors; None when no cell has a finite one. A class's mass
    /// is the midpoint rule over its cells plus the Euler–Maclaurin end
    /// correction Δ²/24·(f′(b) − f′(a)), with the density's slope at each
    /// class edge from the two cells around it. The correction matters for
    /// samples near a class edge, where the posterior is steepest: without
    /// it a 1° grid misplaces up to ~0.5% of their mass.
    fn class_posterior(&self, log_ipd: &[f64]) -> Option<Vec<f64>> {
        let top = max(log_ipd);
        if !top.is_finite() {
            return None;
        }
        let f: Vec<f64> = log_ipd.iter().map(|l| (l - top).exp()).collect();
        let per_class = self.ipd_points() / self.num_classes;
        let mass: Vec<f64> = (0..self.num_classes)
            .map(|c| {
                let (first, end) = (1 + c * per_class, 1 + (c + 1) * per_class);
                let sum: f64 = f[first..end].iter().sum();
                let slopes = (f[end] - f[end - 1]) - (f[first] - f[first - 1]);
                (sum + slopes / 24.0).max(0.0)
            })
            .collect();
        let total: f64 = mass.iter().sum();
        Some(mass.iter().map(|m| m / total).collect())
    }

    /// The MAP IPD in (−π/2, π/2) from the computed cells' log-posteriors,
    /// refined by a parabola through the best cell and its neighbours.
    fn map_ipd(&self, log_post: &[f64]) -> f64 {
        let best = (1..=self.ipd_points())
            .max_by(|&a, &b| log_post[a].total_cmp(&log_post[b]))
            .unwrap_or(1);
        let (y0, y1, y2) = (log_post[best - 1], log_post[best], log_post[best + 1]);
        let curvature = y0 - 2.0 * y1 + y2;
        let shift = if curvature < 0.0 {
            (0.5 * (y0 - y2) / curvature).clamp(-0.5, 0.5)
        } else {
            0.0
        };
        (best as f64 + shift - 0.5) * self.step - PI / 2.0
    }

    /// The posterior median IPD in (−π/2, π/2) from the computed cells'
    /// log-posteriors, each in-range cell's mass (the midpoint rule's)
    /// spread over its Δ.
    fn median_ipd(&self, log_post: &[f64]) -> f64 {
        let cells = &log_post[1..=self.ipd_points()];
        let top = max(cells);
        bin_median(&cells.iter().map(|l| (l - top).exp()).collect::<Vec<_>>())
    }
}

/// Fisher information about the phase in one ear's spikes,
/// Σ p′²/(p(1−p)) over steps and fibres (rad⁻²), the least over offsets.
fn phase_information(cfg: &Config) -> f64 {
    let eps = 1e-5;
    let anf = cfg.stimulus.anf_per_ear;
    (0..8)
        .map(|k| {
            let psi = k as f64 * PI / 4.0;
            let p = firing_probabilities(cfg, 0.0, psi);
            let hi = firing_probabilities(cfg, 0.0, psi + eps);
            let lo = firing_probabilities(cfg, 0.0, psi - eps);
            (0..p.len())
                .filter(|i| i % (2 * anf) < anf && p[*i] > 0.0 && p[*i] < 1.0)
                .map(|i| ((hi[i] - lo[i]) / (2.0 * eps)).powi(2) / (p[i] * (1.0 - p[i])))
                .sum::<f64>()
        })
        .fold(f64::INFINITY, f64::min)
}

/// One ear's log-likelihood terms at a list of phases.
struct EarTable {
    /// `(steps·anf, phases)`: log[p/(1−p)] of each step and fibre.
    slope: Tensor,
    /// `(phases,)`: Σ log(1−p) over steps and fibres.
    base: Tensor,
}

impl EarTable {
    /// The first ear's probabilities at phase offset ψ are any ear's at
    /// phase ψ: the second ear's at offset φ are the first's at φ + IPD.
    fn new(cfg: &Config, phases: &[f64]) -> Result<EarTable> {
        let (steps, anf) = (cfg.duration_steps(), cfg.stimulus.anf_per_ear);
        let per_phase: Vec<(Vec<f64>, f64)> = phases
            .par_iter()
            .map(|&psi| {
                let p = firing_probabilities(cfg, 0.0, psi);
                let mut slope = Vec::with_capacity(steps * anf);
                let mut base = 0.0;
                for row in p.chunks(2 * anf) {
                    for &p in &row[..anf] {
                        let log_p = p.ln().max(LOG_FLOOR);
                        let log_q = (-p).ln_1p().max(LOG_FLOOR);
                        slope.push(log_p - log_q);
                        base += log_q;
                    }
                }
                (slope, base)
            })
            .collect();
        let slope: Vec<f64> = per_phase
            .iter()
            .flat_map(|(s, _)| s.iter().copied())
            .collect();
        let base: Vec<f64> = per_phase.iter().map(|(_, b)| *b).collect();
        Ok(EarTable {
            slope: Tensor::f_from_slice(&slope)?
                .f_view([phases.len() as i64, (steps * anf) as i64])?
                .f_tr()?,
            base: Tensor::f_from_slice(&base)?,
        })
    }

    /// `(samples, phases)` log-likelihoods of `(samples, steps·anf)` spikes.
    fn log_likelihood(&self, spikes: &Tensor) -> Result<Tensor> {
        Ok(spikes.f_matmul(&self.slope)? + &self.base)
    }
}

/// One ear's spikes of `(n, steps, 2·anf)`, as `(n, steps·anf)` f64.
fn ear(cfg: &Config, spikes: &Tensor, which: i64) -> Result<Tensor> {
    let anf = cfg.stimulus.anf_per_ear as i64;
    Ok(spikes
        .f_narrow(2, which * anf, anf)?
        .f_to_kind(Kind::Double)?
        .f_reshape([spikes.size()[0], -1])?)
}

fn max(xs: &[f64]) -> f64 {
    xs.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// Index of the first largest value: ties go to the lower class.
fn first_max(xs: &[f64]) -> usize {
    let top = max(xs);
    xs.iter().position(|&x| x == top).unwrap_or(0)
}
