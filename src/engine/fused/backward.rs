//! The fused engine's backward pass, derived by hand.
//!
//! The readout `u_{t+1} = α_o·u_t + h2_t` is linear, so `∂L/∂h2_t` follows
//! from `∂L/∂u` in one backward sweep; summed over time it is
//! `k_t·∂L/∂m` with `k_t = Σ_{j<T-1-t} α_o^j`.
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

use super::{to_host, to_tensor, Dims, Trace};
use crate::config::Readout;
use crate::model::lif::LifScalars;
use crate::model::{LifParams, RateRegulariser, ReadoutParams};

/// What the readout's backward pass hands to the hidden layer's.
pub(super) struct FromReadout {
    /// `∂L/∂s_t` through the readout, `(batch, steps, hidden)`.
    gs: Vec<f32>,
    pub(super) grad_w2: Tensor,
}

/// The readout's backward pass from `dv = ∂L/∂u`, `(batch, steps, classes)`.
pub(super) fn readout(
    trace: &Trace,
    dv: &[f32],
    w2: &Tensor,
    p: &ReadoutParams,
) -> Result<FromReadout> {
    let alpha = p.alpha as f32;
    match p.kind {
        Readout::Sum => summed(trace, dv, w2, alpha),
        Readout::Max => through_time(trace, dv, w2, alpha),
    }
}

/// The summed readout: `∂L/∂u_t = ∂L/∂m` for every t, so the hidden spikes
/// receive `k_t·q` with `q = ∂L/∂m·W2ᵀ`, and `∂L/∂W2 = S̃ᵀ·∂L/∂m` with
/// `S̃ = Σ_t k_t·s_t`: no product over time at all.
fn summed(trace: &Trace, dv: &[f32], w2: &Tensor, alpha: f32) -> Result<FromReadout> {
    let Dims {
        batch,
        steps,
        hidden,
        classes,
    } = trace.dims;
    let dm = |b: usize, c: usize| dv[b * steps * classes + c];
    let mut k = vec![0f32; steps];
    for t in (0..steps - 1).rev() {
        k[t] = 1.0 + alpha * k[t + 1];
    }
    let w2 = to_host(w2)?;
    let mut q = vec![0f32; batch * hidden];
    let mut s_tilde = vec![0f32; batch * hidden];
    for b in 0..batch {
        for j in 0..hidden {
            q[b * hidden + j] = (0..classes).map(|c| dm(b, c) * w2[j * classes + c]).sum();
            s_tilde[b * hidden + j] = (0..steps)
                .map(|t| k[t] * trace.s[(b * steps + t) * hidden + j])
                .sum();
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
    let mut gs = vec![0f32; batch * steps * hidden];
    for (b, gs) in gs.chunks_mut(steps * hidden).enumerate() {
        for (t, row) in gs.chunks_mut(hidden).enumerate() {
            for (g, q) in row.iter_mut().zip(&q[b * hidden..(b + 1) * hidden]) {
                *g = k[t] * q;
            }
        }
    }
    Ok(FromReadout {
        gs,
        grad_w2: Tensor::f_from_slice(&grad_w2)?.f_view([hidden as i64, classes as i64])?,
    })
}

/// Any readout: `G_t = ∂L/∂h2_t = ∂L/∂u_{t+1} + α·G_{t+1}` swept backward in
/// time, then `∂L/∂s_t = G_t·W2ᵀ` and `∂L/∂W2 = Σ_t s_tᵀ·G_t`.
fn through_time(trace: &Trace, dv: &[f32], w2: &Tensor, alpha: f32) -> Result<FromReadout> {
    let Dims {
        batch,
        steps,
        classes,
        ..
    } = trace.dims;
    let mut g = vec![0f32; dv.len()];
    for b in 0..batch {
        let at = |t: usize, c: usize| (b * steps + t) * classes + c;
        for t in (0..steps - 1).rev() {
            for c in 0..classes {
                g[at(t, c)] = dv[at(t + 1, c)] + alpha * g[at(t + 1, c)];
            }
        }
    }
    let g = to_tensor(&g, [batch, steps, classes])?;
    let gs = Tensor::f_einsum("btc,hc->bth", &[&g, w2], None::<i64>)?;
    Ok(FromReadout {
        gs: to_host(&gs)?,
        grad_w2: Tensor::f_einsum("bth,btc->hc", &[&trace.s_rec, &g], None::<i64>)?,
    })
}

/// `∂L/∂h_t` of the hidden layer's input currents, `(batch, steps, hidden)`,
/// back through the LIF recurrence.
pub(super) fn hidden(
    trace: &Trace,
    from_readout: &FromReadout,
    regulariser: Option<&RateRegulariser>,
    lif: &LifParams,
) -> Result<Tensor> {
    let Dims {
        batch,
        steps,
        hidden,
        ..
    } = trace.dims;
    let mut above = from_readout.gs.clone();
    if let Some(regulariser) = regulariser {
        add_rate_gradient(trace, regulariser, &mut above);
    }
    let scalars = LifScalars::from(lif);
    // σ'(v - threshold) for every step at once, through libtorch's
    // vectorised kernels: a scalar exp per element would cost more than the
    // matmuls.
    let v = to_tensor(&trace.v, [batch, steps, hidden])?;
    let surrogate = to_host(&lif.surrogate.derivative(&v.f_sub_scalar(lif.threshold)?))?;
    let mut gh = vec![0f32; batch * steps * hidden];
    let per_sample = steps * hidden;
    gh.chunks_mut(per_sample)
        .zip(above.chunks(per_sample))
        .zip(trace.v.chunks(per_sample))
        .zip(trace.s.chunks(per_sample))
        .zip(trace.h.chunks(per_sample))
        .zip(surrogate.chunks(per_sample))
        .for_each(|(((((gh, above), v), s), h), sg)| {
            // ∂L/∂v_{t+1} and ∂L/∂s_{t+1} of the step after the current one.
            let mut gv_next = vec![0f32; hidden];
            let mut gs_next = above[(steps - 1) * hidden..].to_vec();
            for t in (0..steps - 1).rev() {
                let row = t * hidden..(t + 1) * hidden;
                // Zipped row slices let the compiler vectorise over neurons.
                let neurons = gh[row.clone()]
                    .iter_mut()
                    .zip(gv_next.iter_mut().zip(gs_next.iter_mut()))
                    .zip(v[row.clone()].iter().zip(&s[row.clone()]))
                    .zip(h[row.clone()].iter().zip(&sg[row.clone()]))
                    .zip(&above[row]);
                for ((((gh, (gv, gs)), (&vt, &st)), (&ht, &sg)), &above) in neurons {
                    let (keep, lost) = scalars.partials(vt, st, ht);
                    *gh = flush_subnormal(*gv * keep);
                    let gv_now = *gv * keep * scalars.alpha + *gs * sg;
                    *gs = above - *gv * lost;
                    *gv = flush_subnormal(gv_now);
                }
            }
        });
    to_tensor(&gh, [batch, steps, hidden])
}

/// Zero in place of a subnormal float (below 2^-126 in magnitude).
///
/// A silent unit far below threshold gets surrogate slopes near zero, and
/// gradients of order 1e-40 pass through its recurrence. x86 CPUs handle
/// every subnormal operand in microcode, about a hundred times slower: with
/// 2.5% of `∂L/∂h` subnormal, the W1 gradient product took 0.58 s of a 1 s
/// epoch. No weight can feel them: they vanish from any float32 sum above
/// 2^-102 (2e-31), and Adam turns a gradient of 1e-38 into a step of about
/// lr·1e-30, far below the last bit of a weight.
/// Flushing here rather than setting the CPU's flush-to-zero mode keeps the
/// choice to this engine and off libtorch's threads.
#[inline(always)]
fn flush_subnormal(x: f32) -> f32 {
    if x.abs() < f32::MIN_POSITIVE {
        0.0
    } else {
        x
    }
}

/// Adds the regulariser's `∂penalty/∂s`, the same for every sample and step
/// of a unit, to the readout's share.
fn add_rate_gradient(trace: &Trace, regulariser: &RateRegulariser, above: &mut [f32]) {
    let Dims { batch, hidden, .. } = trace.dims;
    let mut counts = vec![0f32; hidden];
    for row in trace.s.chunks(hidden) {
        counts.iter_mut().zip(row).for_each(|(c, s)| *c += s);
    }
    let per_spike = regulariser.spike_gradient(&counts, batch);
    for row in above.chunks_mut(hidden) {
        row.iter_mut().zip(&per_spike).for_each(|(g, r)| *g += r);
    }
}
