//! The fused engine's backward pass, derived by hand.
//!
//! The readout `u_{t+1} = α_o·u_t + h2_t` is linear, so `∂L/∂h2_t` follows
//! from `∂L/∂u` in one backward sweep (`ReadoutScalars::back`); summed over
//! time it is `k_t·∂L/∂m` (`ReadoutScalars::sum_weights`).
//!
//! For each hidden neuron, with the LIF step `v_{t+1} = f(v_t, s_t, h_t)` and
//! `s_{t+1} = H(v_t - θ)` (`LifScalars::partials` gives `∂f/∂h = keep`,
//! `∂f/∂v = keep·α`, `∂f/∂s = -lost`):
//!   `∂L/∂s_t = ∂L/∂s_t|above - ∂L/∂v_{t+1}·lost`,
//!   `∂L/∂v_t = ∂L/∂v_{t+1}·keep·α + ∂L/∂s_{t+1}·σ'(v_t - θ)`,
//!   `∂L/∂h_t = ∂L/∂v_{t+1}·keep`,
//! with σ' the surrogate derivative, and "above" the readout's and the
//! rate regulariser's share.

use anyhow::Result;
use tch::Tensor;

use super::adaptive;
use super::products;
use super::workers::Workers;
use super::{flush_subnormal, Dims, Trace};
use crate::config::Readout;
use crate::host;
use crate::model::alif::AlifScalars;
use crate::model::lif::LifScalars;
use crate::model::readout::ReadoutScalars;
use crate::model::{Adaptation, LifParams, RateRegulariser, ReadoutParams};

/// What the readout's backward pass hands to the hidden layer's.
pub(super) struct FromReadout {
    /// `∂L/∂s_t` through the readout, `(batch, steps, hidden)`.
    pub(super) gs: Tensor,
    pub(super) grad_w2: Tensor,
    /// `∂L/∂α` of each readout unit, where the decays are learned.
    pub(super) grad_alpha: Option<Vec<f64>>,
}

/// The readout's backward pass from `dv = ∂L/∂u`, `(batch, steps, classes)`;
/// with `learn_tau`, also `∂L/∂α` of each readout unit.
pub(super) fn readout(
    trace: &Trace,
    dv: &[f32],
    w2: &Tensor,
    p: &ReadoutParams,
    learn_tau: bool,
    workers: &Workers,
) -> Result<FromReadout> {
    let r = ReadoutScalars::from(p);
    // The closed form of the summed readout holds for one decay shared by
    // every readout unit.
    let shared = trace.decays[1].tau.is_empty();
    match p.kind {
        Readout::Sum if shared => summed(trace, dv, w2, &r),
        _ => through_time(trace, dv, w2, &r, learn_tau, workers),
    }
}

/// The summed readout: `∂L/∂u_t = ∂L/∂m` for every t, so the hidden spikes
/// receive `k_t·q` with `q = ∂L/∂m·W2ᵀ`, and `∂L/∂W2 = S̃ᵀ·∂L/∂m` with
/// `S̃ = Σ_t k_t·s_t`: no product over time at all.
fn summed(trace: &Trace, dv: &[f32], w2: &Tensor, r: &ReadoutScalars) -> Result<FromReadout> {
    let Dims {
        batch,
        steps,
        hidden,
        classes,
    } = trace.dims;
    let dm = |b: usize, c: usize| dv[b * steps * classes + c];
    let k = r.sum_weights(steps);
    let w2 = w2.f_contiguous()?;
    let w2 = host::slice::<f32>(&w2)?;
    let spikes = host::slice::<f32>(&trace.s)?;
    let mut q = vec![0f32; batch * hidden];
    // Each unit's Σ_t k_t·s_t is summed in time order, as a fold per unit
    // would, but row by row so that the loop runs along memory.
    let mut s_tilde = vec![0f32; batch * hidden];
    for b in 0..batch {
        let row = b * hidden..(b + 1) * hidden;
        for (j, q) in q[row.clone()].iter_mut().enumerate() {
            *q = (0..classes).map(|c| dm(b, c) * w2[j * classes + c]).sum();
        }
        let sums = &mut s_tilde[row];
        for (t, s) in spikes[b * steps * hidden..(b + 1) * steps * hidden]
            .chunks(hidden)
            .enumerate()
        {
            sums.iter_mut().zip(s).for_each(|(sum, s)| *sum += k[t] * s);
        }
    }
    let mut grad_w2 = vec![0f32; hidden * classes];
    for b in 0..batch {
        for j in 0..hidden {
            for c in 0..classes {
                grad_w2[j * classes + c] += s_tilde[b * hidden + j] * dm(b, c);
            }
        }
    }
    let mut gs = host::empty::<f32>(&[batch, steps, hidden])?;
    for (b, gs) in host::slice_mut::<f32>(&mut gs)?
        .chunks_mut(steps * hidden)
        .enumerate()
    {
        for (t, row) in gs.chunks_mut(hidden).enumerate() {
            for (g, q) in row.iter_mut().zip(&q[b * hidden..(b + 1) * hidden]) {
                *g = k[t] * q;
            }
        }
    }
    Ok(FromReadout {
        gs,
        grad_w2: Tensor::f_from_slice(&grad_w2)?.f_view([hidden as i64, classes as i64])?,
        grad_alpha: None,
    })
}

/// Any readout: `G_t = ∂L/∂h2_t = ∂L/∂u_{t+1} + α·G_{t+1}` swept backward in
/// time, then `∂L/∂s_t = G_t·W2ᵀ` and `∂L/∂W2 = Σ_t s_tᵀ·G_t`; with
/// `learn_tau`, `∂L/∂α = Σ_t G_t·u_t` of each unit, as `u_{t+1} = α·u_t + h2_t`.
fn through_time(
    trace: &Trace,
    dv: &[f32],
    w2: &Tensor,
    r: &ReadoutScalars,
    learn_tau: bool,
    workers: &Workers,
) -> Result<FromReadout> {
    let Dims {
        batch,
        steps,
        classes,
        ..
    } = trace.dims;
    let alphas = &trace.decays[1].alpha;
    let mut g = host::empty::<f32>(&[batch, steps, classes])?;
    {
        let g = host::slice_mut::<f32>(&mut g)?;
        for b in 0..batch {
            let at = |t: usize, c: usize| (b * steps + t) * classes + c;
            g[at(steps - 1, 0)..at(steps, 0)].fill(0.0);
            for t in (0..steps - 1).rev() {
                for (c, &alpha) in alphas.iter().enumerate() {
                    g[at(t, c)] = r.with_alpha(alpha).back(dv[at(t + 1, c)], g[at(t + 1, c)]);
                }
            }
        }
    }
    let grad_alpha = match learn_tau {
        false => None,
        true => {
            let (g, u) = (host::slice::<f32>(&g)?, host::slice::<f32>(&trace.v_rec)?);
            let mut sums = vec![0f64; classes];
            for (i, (g, u)) in g.iter().zip(u).enumerate() {
                sums[i % classes] += f64::from(*g) * f64::from(*u);
            }
            Some(sums)
        }
    };
    Ok(FromReadout {
        gs: products::times(&g, products::Left::Any, &w2.f_tr()?, workers)?,
        grad_w2: products::summed_over_rows(&trace.s, &g, workers)?,
        grad_alpha,
    })
}

/// What the hidden layer's backward pass yields.
pub(super) struct FromHidden {
    /// `∂L/∂h_t` of the input currents, `(batch, steps, hidden)`.
    pub(super) gh: Tensor,
    /// `∂L/∂α` of each hidden unit, where the decays are learned.
    pub(super) grad_alpha: Option<Vec<f64>>,
}

/// Back through the LIF recurrence, or the adaptive one (`adaptive`).
pub(super) fn hidden(
    trace: &Trace,
    mut above: Tensor,
    regulariser: Option<&RateRegulariser>,
    lif: &LifParams,
    adaptation: Option<&Adaptation>,
    learn_tau: bool,
    workers: &Workers,
) -> Result<FromHidden> {
    let Dims {
        batch,
        steps,
        hidden,
        ..
    } = trace.dims;
    let (v, s, h) = (
        host::slice::<f32>(&trace.v)?,
        host::slice::<f32>(&trace.s)?,
        host::slice::<f32>(&trace.h)?,
    );
    if let Some(regulariser) = regulariser {
        add_rate_gradient(s, batch, hidden, regulariser, host::slice_mut(&mut above)?);
    }
    let above = host::slice::<f32>(&above)?;
    let scalars = LifScalars::from(lif);
    let shape = [batch, steps, hidden];
    let adaptive = match (adaptation, &trace.a) {
        (Some(adaptation), Some(a)) => Some((AlifScalars::new(lif, adaptation), host::slice(a)?)),
        _ => None,
    };
    let surrogate = match &adaptive {
        None => surrogate_slopes(v, lif, scalars.threshold, &shape, workers)?,
        // The spike's argument is `v - θ_t`, less a threshold of 0 exactly.
        Some((alif, a)) => {
            surrogate_slopes(&adaptive::margins(alif, v, a), lif, 0.0, &shape, workers)?
        }
    };
    let surrogate = host::slice::<f32>(&surrogate)?;
    let mut gh = host::empty::<f32>(&shape)?;
    let per_sample = steps * hidden;
    let alphas = &trace.decays[0].alpha;
    // Each sample's Σ_t ∂L/∂v_{t+1}·∂v_{t+1}/∂α, where α is learned.
    let mut grad_alpha = vec![0f32; if learn_tau { batch * hidden } else { 0 }];
    let mut grad_alpha_rows = grad_alpha.chunks_mut(hidden.max(1));
    let sample_range = |b: usize| b * per_sample..(b + 1) * per_sample;
    let samples = host::slice_mut::<f32>(&mut gh)?
        .chunks_mut(per_sample)
        .enumerate()
        .map(|(b, gh)| (sample_range(b), gh, grad_alpha_rows.next()));
    workers.each_item(samples, |(sample, gh, grad_alpha)| {
        let (v, s, h) = (&v[sample.clone()], &s[sample.clone()], &h[sample.clone()]);
        let (sg, above) = (&surrogate[sample.clone()], &above[sample.clone()]);
        let rows = |t: usize| t * hidden..(t + 1) * hidden;
        match &adaptive {
            None => {
                let step = |t: usize| StepRow {
                    v: &v[rows(t)],
                    s: &s[rows(t)],
                    h: &h[rows(t)],
                    sg: &sg[rows(t)],
                    above: &above[rows(t)],
                };
                sample_back(&scalars, alphas, step, steps, hidden, gh, grad_alpha);
            }
            Some((alif, a)) => {
                let a = &a[sample];
                let step = |t: usize| adaptive::Row {
                    v: &v[rows(t)],
                    s: &s[rows(t)],
                    a: &a[rows(t)],
                    h: &h[rows(t)],
                    sg: &sg[rows(t)],
                    above: &above[rows(t)],
                };
                adaptive::sample_back(alif, alphas, step, steps, hidden, gh, grad_alpha);
            }
        }
    });
    let grad_alpha = learn_tau.then(|| column_sums(&grad_alpha, hidden));
    Ok(FromHidden { gh, grad_alpha })
}

/// The sums over rows of a row-major `(rows, width)` matrix, in float64.
fn column_sums(matrix: &[f32], width: usize) -> Vec<f64> {
    let mut sums = vec![0f64; width];
    for row in matrix.chunks(width.max(1)) {
        sums.iter_mut()
            .zip(row)
            .for_each(|(sum, g)| *sum += f64::from(*g));
    }
    sums
}

/// σ'(v - θ) of every potential in `v`, as a tensor of `shape`.
fn surrogate_slopes(
    v: &[f32],
    lif: &LifParams,
    threshold: f32,
    shape: &[usize],
    workers: &Workers,
) -> Result<Tensor> {
    let mut slopes = host::empty::<f32>(shape)?;
    let per = workers.per_part(v.len(), 64);
    let parts = host::slice_mut::<f32>(&mut slopes)?
        .chunks_mut(per)
        .zip(v.chunks(per));
    workers.each(parts, |(out, v)| {
        lif.surrogate.derivative_into(v, threshold, out)
    });
    Ok(slopes)
}

/// One sample's `∂L/∂h`, `(steps, hidden)` in `gh`, swept back from its
/// last step; `at(t)` is the forward pass's step t, and unit j decays by
/// `alphas[j]`. Where given, `grad_alpha` gets the sample's `∂L/∂α`.
fn sample_back<'a>(
    lif: &LifScalars,
    alphas: &[f32],
    at: impl Fn(usize) -> StepRow<'a>,
    steps: usize,
    hidden: usize,
    gh: &mut [f32],
    grad_alpha: Option<&mut [f32]>,
) {
    // ∂L/∂v_{t+1} and ∂L/∂s_{t+1} of the step after the current one.
    let mut carried = Carried {
        gv: vec![0f32; hidden],
        gs: at(steps - 1).above.to_vec(),
    };
    gh[(steps - 1) * hidden..].fill(0.0);
    let rows = (0..steps - 1).rev();
    match grad_alpha {
        // Two loops, so that the common one computes nothing for α.
        None => rows.for_each(|t| {
            let gh = &mut gh[t * hidden..(t + 1) * hidden];
            carried.step_back::<false>(lif, alphas, &at(t), gh, &mut []);
        }),
        Some(grad_alpha) => rows.for_each(|t| {
            let gh = &mut gh[t * hidden..(t + 1) * hidden];
            carried.step_back::<true>(lif, alphas, &at(t), gh, grad_alpha);
        }),
    }
}

/// One time step of every neuron of a sample, as the forward pass left it.
struct StepRow<'a> {
    v: &'a [f32],
    s: &'a [f32],
    h: &'a [f32],
    /// σ'(v - θ).
    sg: &'a [f32],
    /// `∂L/∂s_t` from the readout and the regulariser.
    above: &'a [f32],
}

/// `∂L/∂v_{t+1}` and `∂L/∂s_{t+1}` of every neuron, carried back in time.
struct Carried {
    gv: Vec<f32>,
    gs: Vec<f32>,
}

impl Carried {
    /// Steps back from t+1 to t, writing `∂L/∂h_t` into `gh`, and with
    /// `ALPHA` adding `∂L/∂v_{t+1}·keep·v_t` (`∂v_{t+1}/∂α = keep·v_t`) to
    /// `grad_alpha`. Indexed loops over slices cut to one length let the
    /// compiler drop the bounds checks and vectorise over neurons.
    #[inline(always)]
    fn step_back<const ALPHA: bool>(
        &mut self,
        lif: &LifScalars,
        alphas: &[f32],
        at: &StepRow,
        gh: &mut [f32],
        grad_alpha: &mut [f32],
    ) {
        let n = gh.len();
        let (gv, gs, alphas) = (&mut self.gv[..n], &mut self.gs[..n], &alphas[..n]);
        let (v, s, h, sg, above) = (
            &at.v[..n],
            &at.s[..n],
            &at.h[..n],
            &at.sg[..n],
            &at.above[..n],
        );
        for j in 0..n {
            let unit = lif.with_alpha(alphas[j]);
            let (keep, lost) = unit.partials(v[j], s[j], h[j]);
            if ALPHA {
                grad_alpha[j] += gv[j] * keep * v[j];
            }
            gh[j] = flush_subnormal(gv[j] * keep);
            let gv_now = gv[j] * keep * unit.alpha + gs[j] * sg[j];
            gs[j] = above[j] - gv[j] * lost;
            gv[j] = flush_subnormal(gv_now);
        }
    }
}

/// Adds the regulariser's `∂penalty/∂s`, the same for every sample and step
/// of a unit, to the readout's share.
fn add_rate_gradient(
    spikes: &[f32],
    batch: usize,
    hidden: usize,
    regulariser: &RateRegulariser,
    above: &mut [f32],
) {
    let per_spike = regulariser.spike_gradient(&spike_counts(spikes, hidden), batch);
    for row in above.chunks_mut(hidden) {
        row.iter_mut().zip(&per_spike).for_each(|(g, r)| *g += r);
    }
}

/// Each hidden unit's spikes over all samples and steps of `(…, hidden)`
/// spikes, summed in order (exact: whole numbers below 2²⁴).
pub(super) fn spike_counts(spikes: &[f32], hidden: usize) -> Vec<f32> {
    let mut counts = vec![0f32; hidden];
    for row in spikes.chunks(hidden) {
        counts.iter_mut().zip(row).for_each(|(c, s)| *c += s);
    }
    counts
}
