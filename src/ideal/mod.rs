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
use crate::labels::{degrees, labelled_ipds, Score};
use crate::stimulus::Dataset;

mod grid;
use grid::{ear, max, EarTable, Grid, Window};

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
    /// Uniform and drawn afresh for every window of this many steps (the
    /// last window may be shorter), marginalised window by window: the
    /// observer that holds no phase reference from one window to the next.
    /// It measures how much of the limit rests on pooling one offset over
    /// the whole stimulus; the window of the whole stimulus is `Unknown`.
    UnknownPerWindow(usize),
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
    let tables = Tables::new(cfg, options)?;
    let grid = &tables.grid;
    let n = ipd.len() as i64;
    let (mut predicted, mut posterior, mut map_ipd) = (Vec::new(), Vec::new(), Vec::new());
    let mut median_ipd = Vec::new();
    for start in (0..n).step_by(CHUNK as usize) {
        let part = spikes.f_narrow(0, start, CHUNK.min(n - start))?;
        let log_ipd = tables.log_posterior(cfg, &part)?;
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
    /// Where asked for (`with_offset_window`): the width of the windows
    /// (ms) and the observer that forgets the offset between them.
    pub offset_window: Option<(f64, IdealResult)>,
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
        offset_window: None,
    })
}

impl IdealLimits {
    /// Adds the observer that marginalises the offset afresh in every
    /// window of `window_ms` (`offset_window_steps`).
    pub fn with_offset_window(
        mut self,
        cfg: &Config,
        data: &Dataset,
        window_ms: f64,
    ) -> Result<IdealLimits> {
        let options = IdealOptions {
            phase_points: self.unknown_offset.phase_points,
            offset: OffsetKnowledge::UnknownPerWindow(offset_window_steps(cfg, window_ms)?),
        };
        self.offset_window = Some((window_ms, ideal_observer(cfg, data, &options)?));
        Ok(self)
    }
}

/// `window_ms` in whole steps, refused unless from one step to the
/// stimulus' duration.
pub fn offset_window_steps(cfg: &Config, window_ms: f64) -> Result<usize> {
    let (dt, steps) = (cfg.stimulus.dt_ms, cfg.duration_steps());
    let width = (window_ms / dt).round();
    ensure!(
        window_ms.is_finite() && width >= 1.0 && width <= steps as f64,
        "--offset-window-ms {window_ms:?} is not from one step ({dt} ms) to the stimulus' \
         duration ({} ms); give a width in that range",
        steps as f64 * dt
    );
    Ok(width as usize)
}

/// The grid, each ear's likelihood table on it, and the windows over
/// which the offset is marginalised.
struct Tables {
    grid: Grid,
    /// None where the offset is known: the second ear's table is then on
    /// the IPD cells themselves.
    left: Option<EarTable>,
    right: EarTable,
    windows: Vec<Window>,
}

impl Tables {
    fn new(cfg: &Config, options: &IdealOptions) -> Result<Tables> {
        let grid = Grid::new(cfg, options.phase_points)?;
        let (left, right) = match options.offset {
            OffsetKnowledge::Unknown | OffsetKnowledge::UnknownPerWindow(_) => (
                Some(EarTable::new(cfg, &grid.phases(0.0))?),
                EarTable::new(cfg, &grid.phases(grid.step / 2.0 - PI / 2.0))?,
            ),
            OffsetKnowledge::Known(offset) => (None, EarTable::new(cfg, &grid.ipds(offset))?),
        };
        let windows = windows(cfg.duration_steps(), options.offset)?;
        Ok(Tables {
            grid,
            left,
            right,
            windows,
        })
    }

    /// Each sample's log-posterior (up to a constant) on the computed IPD
    /// cells: the sum over windows of the offset-marginalised likelihood.
    fn log_posterior(&self, cfg: &Config, part: &Tensor) -> Result<Vec<Vec<f64>>> {
        let right_spikes = ear(cfg, part, 1)?;
        let Some(left) = &self.left else {
            return rows::<f64>(&self.right.log_likelihood(&right_spikes, self.windows[0])?);
        };
        let left_spikes = ear(cfg, part, 0)?;
        let (grid, mut total) = (
            &self.grid,
            vec![vec![0.0; self.grid.cells()]; part.size()[0] as usize],
        );
        for &window in &self.windows {
            let l = rows::<f64>(&left.log_likelihood(&left_spikes, window)?)?;
            let r = rows::<f64>(&self.right.log_likelihood(&right_spikes, window)?)?;
            total
                .par_iter_mut()
                .zip(l.par_iter().zip(&r))
                .for_each(|(total, (l, r))| {
                    for (t, m) in total.iter_mut().zip(grid.marginalise(l, r)) {
                        *t += m;
                    }
                });
        }
        Ok(total)
    }
}

/// The windows over which the offset is marginalised: one of the whole
/// stimulus unless it is drawn afresh per window.
fn windows(steps: usize, offset: OffsetKnowledge) -> Result<Vec<Window>> {
    Ok(match offset {
        OffsetKnowledge::UnknownPerWindow(width) => {
            ensure!(
                (1..=steps).contains(&width),
                "an offset window of {width} steps does not fit a stimulus of {steps}"
            );
            (0..steps)
                .step_by(width)
                .map(|first| (first, width.min(steps - first)))
                .collect()
        }
        _ => vec![(0, steps)],
    })
}

/// Index of the first largest value: ties go to the lower class.
fn first_max(xs: &[f64]) -> usize {
    let top = max(xs);
    xs.iter().position(|&x| x == top).unwrap_or(0)
}
