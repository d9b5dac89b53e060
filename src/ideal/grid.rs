//! The grids the ideal observer sums over, and each ear's likelihood
//! table on them.

use std::f64::consts::PI;

use anyhow::{ensure, Result};
use rayon::prelude::*;
use tch::{Kind, Tensor};

use super::{LOG_FLOOR, RESOLUTION, TABLE_ELEMENTS};
use crate::config::Config;
use crate::labels::bin_median;
use crate::stimulus::firing_probabilities;

/// The phase and IPD grids.
pub(super) struct Grid {
    pub(super) points: usize,
    pub(super) step: f64,
    num_classes: usize,
}

impl Grid {
    /// At least `at_least` points, and a step of at most `RESOLUTION`
    /// times the likelihood's width in φ at a fixed IPD, 1/sqrt(2·I) for
    /// I the Fisher information of one ear about the phase.
    pub(super) fn new(cfg: &Config, at_least: usize) -> Result<Grid> {
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
    pub(super) fn ipd_points(&self) -> usize {
        self.points / 2
    }

    /// IPD cells computed: those in range and one beyond each end, which
    /// the class masses' end corrections and the MAP's parabola read.
    pub(super) fn cells(&self) -> usize {
        self.ipd_points() + 2
    }

    pub(super) fn phases(&self, shift: f64) -> Vec<f64> {
        (0..self.points)
            .map(|g| g as f64 * self.step + shift)
            .collect()
    }

    /// The IPD of each computed cell (midpoints), plus `shift`.
    pub(super) fn ipds(&self, shift: f64) -> Vec<f64> {
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
    pub(super) fn marginalise(&self, left: &[f64], right: &[f64]) -> Vec<f64> {
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
    pub(super) fn class_posterior(&self, log_ipd: &[f64]) -> Option<Vec<f64>> {
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
    pub(super) fn map_ipd(&self, log_post: &[f64]) -> f64 {
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
    pub(super) fn median_ipd(&self, log_post: &[f64]) -> f64 {
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
pub(super) struct EarTable {
    /// `(steps·anf, phases)`: log[p/(1−p)] of each step and fibre.
    pub(super) slope: Tensor,
    /// `(phases,)`: Σ log(1−p) over steps and fibres, one running sum over
    /// every term; adding up `step_base` instead rounds differently and
    /// would move the whole-stimulus observer's last digits.
    pub(super) base: Tensor,
    /// `[phase][step]`: Σ log(1−p) over one step's fibres, for windows.
    step_base: Vec<Vec<f64>>,
    anf: usize,
}

/// Part of the stimulus: its first step and its number of steps.
pub(super) type Window = (usize, usize);

impl EarTable {
    /// The first ear's probabilities at phase offset ψ are any ear's at
    /// phase ψ: the second ear's at offset φ are the first's at φ + IPD.
    pub(super) fn new(cfg: &Config, phases: &[f64]) -> Result<EarTable> {
        let (steps, anf) = (cfg.duration_steps(), cfg.stimulus.anf_per_ear);
        let per_phase: Vec<(Vec<f64>, f64, Vec<f64>)> = phases
            .par_iter()
            .map(|&psi| {
                let p = firing_probabilities(cfg, 0.0, psi);
                let mut slope = Vec::with_capacity(steps * anf);
                let (mut base, mut step_base) = (0.0, Vec::with_capacity(steps));
                for row in p.chunks(2 * anf) {
                    let mut this_step = 0.0;
                    for &p in &row[..anf] {
                        let log_p = p.ln().max(LOG_FLOOR);
                        let log_q = (-p).ln_1p().max(LOG_FLOOR);
                        slope.push(log_p - log_q);
                        base += log_q;
                        this_step += log_q;
                    }
                    step_base.push(this_step);
                }
                (slope, base, step_base)
            })
            .collect();
        let slope: Vec<f64> = per_phase
            .iter()
            .flat_map(|(s, _, _)| s.iter().copied())
            .collect();
        let base: Vec<f64> = per_phase.iter().map(|(_, b, _)| *b).collect();
        Ok(EarTable {
            slope: Tensor::f_from_slice(&slope)?
                .f_view([phases.len() as i64, (steps * anf) as i64])?
                .f_tr()?,
            base: Tensor::f_from_slice(&base)?,
            step_base: per_phase.into_iter().map(|(_, _, b)| b).collect(),
            anf,
        })
    }

    /// `(samples, phases)` log-likelihoods of `(samples, steps·anf)` spikes
    /// in the steps of `window`.
    pub(super) fn log_likelihood(&self, spikes: &Tensor, (first, len): Window) -> Result<Tensor> {
        let whole = (len * self.anf) as i64 == self.slope.size()[0];
        if whole {
            return Ok(spikes.f_matmul(&self.slope)? + &self.base);
        }
        let (start, size) = ((first * self.anf) as i64, (len * self.anf) as i64);
        let base: Vec<f64> = (self.step_base.iter())
            .map(|b| b[first..first + len].iter().sum())
            .collect();
        let slope = self.slope.f_narrow(0, start, size)?;
        Ok(spikes.f_narrow(1, start, size)?.f_matmul(&slope)? + Tensor::f_from_slice(&base)?)
    }
}

/// One ear's spikes of `(n, steps, 2·anf)`, as `(n, steps·anf)` f64.
pub(super) fn ear(cfg: &Config, spikes: &Tensor, which: i64) -> Result<Tensor> {
    let anf = cfg.stimulus.anf_per_ear as i64;
    Ok(spikes
        .f_narrow(2, which * anf, anf)?
        .f_to_kind(Kind::Double)?
        .f_reshape([spikes.size()[0], -1])?)
}

pub(super) fn max(xs: &[f64]) -> f64 {
    xs.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}
