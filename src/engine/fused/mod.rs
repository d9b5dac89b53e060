//! The fast engine: the same network as `reference::forward`, with the
//! hidden and readout recurrences run as plain loops over host memory and
//! their backward pass derived by hand (`backward`), so no autograd graph of
//! ~2,000 tiny ops is built per batch. The products with the input spikes
//! (input currents and the W1 gradient) read them as lists of active
//! inputs; every product sums in one fixed order (`products`), and the
//! loops are shared out between threads by their outputs (`workers`), so
//! the engine's numbers do not depend on the thread count.
//!
//! Forward arithmetic is the reference's, operation for operation in
//! float32, so spikes and the readout trace are bit-identical where
//! libtorch's product sums in that order (measured for MKL on AVX-512 x86
//! with one thread). What libtorch would compute with kernels picked for
//! the processor (the scores, the loss and its gradient, the surrogate's
//! sigmoid, Adam, the initial weights) the engine computes in `portable`
//! arithmetic instead, so that its numbers are the same on every x86-64
//! CPU; they agree with the reference's to rounding.
//!
//! CPU only: `Engine::resolve` picks the reference engine on other devices.

mod adaptive;
mod backward;
mod libtorch;
mod products;
mod workers;

use anyhow::{ensure, Result};
use tch::{Kind, Tensor};

use super::Evaluation;
use crate::config::{Config, Readout};
use crate::host;
use crate::model::alif::AlifScalars;
use crate::model::lif::LifScalars;
use crate::model::readout::{self, ReadoutScalars};
use crate::model::time_constants::HostDecays;
use crate::model::{
    Adaptation, Gradients, LifParams, RateRegulariser, ReadoutParams, TimeConstants, Weights,
};
use crate::spikes::{self, ActiveInputs, SpikeSet, Spikes};
use workers::Workers;

/// Everything the backward pass needs from the forward pass, as
/// contiguous CPU float32 tensors whose memory the loops read in place.
struct Trace {
    dims: Dims,
    /// Input currents `(batch, steps, hidden)`.
    h: Tensor,
    /// Hidden membrane potentials before each update.
    v: Tensor,
    /// Hidden spikes, `s_rec` of the notebook.
    s: Tensor,
    /// The adaptation of an adaptive layer, `(batch, steps, hidden)`.
    a: Option<Tensor>,
    /// Readout trace `(batch, steps, classes)`.
    v_rec: Tensor,
    /// Each hidden and readout unit's decay (and time constant).
    decays: [HostDecays; 2],
}

#[derive(Clone, Copy)]
struct Dims {
    batch: usize,
    steps: usize,
    hidden: usize,
    classes: usize,
}

fn forward(spikes: &Spikes, w: &Weights, cfg: &Config, workers: &Workers) -> Result<Trace> {
    ensure!(
        w.w_rec.is_none() && w.delays.is_none(),
        "the fused engine has no recurrent layer and no synaptic delays; the reference engine runs them"
    );
    let [batch, steps, inputs] = spikes.shape()?;
    ensure!(
        inputs == cfg.input_size(),
        "input spikes must be (batch, steps, {}), got {:?}",
        cfg.input_size(),
        [batch, steps, inputs]
    );
    let dims = Dims {
        batch,
        steps,
        hidden: cfg.network.num_hidden,
        classes: cfg.data.num_classes,
    };
    let Dims {
        batch,
        steps,
        hidden,
        classes,
    } = dims;
    let lif = LifParams::new(cfg);
    let decays = HostDecays::of_layers(cfg, w.tau.as_ref())?;
    let alphas = &decays[0].alpha;

    let h = products::input_currents(spikes, &w.w1, workers)?;
    let mut v = host::empty::<f32>(&[batch, steps, hidden])?;
    let mut s = host::empty::<f32>(&[batch, steps, hidden])?;
    let per_sample = steps * hidden;
    let samples = host::slice_mut::<f32>(&mut v)?
        .chunks_mut(per_sample)
        .zip(host::slice_mut::<f32>(&mut s)?.chunks_mut(per_sample))
        .zip(host::slice::<f32>(&h)?.chunks(per_sample));
    let a = match Adaptation::new(cfg) {
        None => {
            let lif = LifScalars::from(&lif);
            workers.each_item(samples, |((v, s), h)| {
                lif_sample(&lif, alphas, v, s, h, hidden)
            });
            None
        }
        Some(adaptation) => {
            let alif = AlifScalars::new(&lif, &adaptation);
            let mut a = host::empty::<f32>(&[batch, steps, hidden])?;
            let samples = samples.zip(host::slice_mut::<f32>(&mut a)?.chunks_mut(per_sample));
            workers.each_item(samples, |(((v, s), h), a)| {
                adaptive::forward_sample(&alif, alphas, v, s, a, h, hidden)
            });
            Some(a)
        }
    };

    let h2 = products::times(&s, products::Left::ZeroOne, &w.w2, workers)?;
    let readout = ReadoutScalars::from(&ReadoutParams::new(cfg));
    let mut v_rec = host::empty::<f32>(&[batch, steps, classes])?;
    host::slice_mut::<f32>(&mut v_rec)?
        .chunks_mut(steps * classes)
        .zip(host::slice::<f32>(&h2)?.chunks(steps * classes))
        .for_each(|(u, h2)| {
            u[..classes].fill(0.0);
            for t in 0..steps - 1 {
                for (c, &alpha) in decays[1].alpha.iter().enumerate() {
                    u[(t + 1) * classes + c] = readout
                        .with_alpha(alpha)
                        .step(u[t * classes + c], h2[t * classes + c]);
                }
            }
        });
    Ok(Trace {
        dims,
        h,
        v,
        s,
        a,
        v_rec,
        decays,
    })
}

/// One sample's hidden layer through time: `v` and `s` are `(steps,
/// hidden)`, their first row the initial state; unit j decays by
/// `alphas[j]`.
fn lif_sample(
    lif: &LifScalars,
    alphas: &[f32],
    v: &mut [f32],
    s: &mut [f32],
    h: &[f32],
    hidden: usize,
) {
    let steps = v.len() / hidden;
    v[..hidden].fill(0.0);
    s[..hidden].fill(0.0);
    for t in 0..steps - 1 {
        // Row t and row t + 1 as separate slices, so that the compiler sees
        // they do not overlap and vectorises.
        let (v_now, v_next) = v[t * hidden..(t + 2) * hidden].split_at_mut(hidden);
        let (s_now, s_next) = s[t * hidden..(t + 2) * hidden].split_at_mut(hidden);
        let (h_now, alphas) = (&h[t * hidden..(t + 1) * hidden], &alphas[..hidden]);
        for j in 0..hidden {
            (v_next[j], s_next[j]) = lif.with_alpha(alphas[j]).step(v_now[j], s_now[j], h_now[j]);
        }
    }
}

/// A data set's spikes as the fused engine reads them: as lists of active
/// inputs, unless a list cannot name them all.
pub fn spike_set(spikes: Tensor) -> Result<SpikeSet> {
    let listable = spikes
        .size()
        .last()
        .is_some_and(|&n| n as usize <= spikes::MAX_INPUTS);
    Ok(match listable {
        true => SpikeSet::Active(ActiveInputs::new(&spikes)?),
        false => SpikeSet::Dense(spikes),
    })
}

/// The readout membrane potential `(batch, steps, classes)`, equal to
/// `reference::snn`'s output.
pub fn snn(spikes: &Spikes, w: &Weights, cfg: &Config) -> Result<Tensor> {
    let _no_grad = tch::no_grad_guard();
    Ok(forward(spikes, w, cfg, &Workers::new())?.v_rec)
}

pub fn evaluate(spikes: &Spikes, w: &Weights, cfg: &Config) -> Result<Evaluation> {
    let workers = Workers::new();
    let trace = forward(spikes, w, cfg, &workers)?;
    let (scores, _) = scores(&trace, &ReadoutParams::new(cfg))?;
    let Dims { batch, classes, .. } = trace.dims;
    Ok(Evaluation {
        scores: Tensor::f_from_slice(&scores)?.f_view([batch as i64, classes as i64])?,
        hidden_spikes: trace
            .s
            .f_sum_dim_intlist([0, 1].as_slice(), false, Kind::Float)?,
    })
}

/// Each sample's class scores `(batch, classes)` and, for the max readout,
/// the step each comes from: `readout::sample_scores` sample by sample.
fn scores(trace: &Trace, readout: &ReadoutParams) -> Result<(Vec<f32>, Vec<usize>)> {
    let Dims {
        batch,
        steps,
        classes,
        ..
    } = trace.dims;
    let (mut scores, mut peaks) = (vec![0f32; batch * classes], vec![0usize; batch * classes]);
    for ((trace, scores), peaks) in host::slice::<f32>(&trace.v_rec)?
        .chunks(steps * classes)
        .zip(scores.chunks_mut(classes))
        .zip(peaks.chunks_mut(classes))
    {
        readout::sample_scores(trace, readout.kind, scores, peaks);
    }
    Ok((scores, peaks))
}

/// `∂L/∂u` `(batch, steps, classes)` from `∂L/∂scores`: every step of the
/// summed readout takes it, only the peak's step of the max readout.
fn through_scores(dm: &[f32], peaks: &[usize], dims: Dims, kind: Readout) -> Result<Tensor> {
    let Dims {
        batch,
        steps,
        classes,
        ..
    } = dims;
    let mut dv = host::empty::<f32>(&[batch, steps, classes])?;
    let out = host::slice_mut::<f32>(&mut dv)?;
    for (i, (&d, &peak)) in dm.iter().zip(peaks).enumerate() {
        let (b, c) = (i / classes, i % classes);
        for t in 0..steps {
            let on = kind == Readout::Sum || t == peak;
            out[(b * steps + t) * classes + c] = if on { d } else { 0.0 };
        }
    }
    Ok(dv)
}

pub fn loss_and_gradients(
    spikes: &Spikes,
    labels: &Tensor,
    w: &Weights,
    cfg: &Config,
) -> Result<Gradients> {
    let workers = Workers::new();
    let _no_grad = tch::no_grad_guard();
    let trace = forward(spikes, w, cfg, &workers)?;
    let readout = ReadoutParams::new(cfg);

    let (scores, peaks) = scores(&trace, &readout)?;
    let labels = Vec::<i64>::try_from(
        &labels
            .f_to_device(tch::Device::Cpu)?
            .f_to_kind(Kind::Int64)?,
    )?;
    let (loss, dm) = readout::cross_entropy(&scores, &labels, readout.scale)?;
    let dv = through_scores(&dm, &peaks, trace.dims, readout.kind)?;
    let regulariser = RateRegulariser::new(cfg);
    let loss = match &regulariser {
        Some(r) => {
            let counts = backward::spike_counts(host::slice(&trace.s)?, trace.dims.hidden);
            loss + r.penalty_of_counts(&counts, trace.dims.batch)
        }
        None => loss,
    };

    let learn_tau = w.tau.as_ref().is_some_and(|t| t.hidden.requires_grad());
    let from_readout = backward::readout(
        &trace,
        host::slice(&dv)?,
        &w.w2,
        &readout,
        learn_tau,
        &workers,
    )?;
    let from_hidden = backward::hidden(
        &trace,
        from_readout.gs,
        regulariser.as_ref(),
        &LifParams::new(cfg),
        Adaptation::new(cfg).as_ref(),
        learn_tau,
        &workers,
    )?;
    let tau = match (from_hidden.grad_alpha, from_readout.grad_alpha) {
        (Some(hidden), Some(output)) => {
            let [h, o] = &trace.decays;
            let dt = cfg.stimulus.dt_ms;
            Some(TimeConstants {
                hidden: h.tau_gradient(&hidden, dt)?,
                output: o.tau_gradient(&output, dt)?,
            })
        }
        _ => None,
    };
    Ok(Gradients {
        loss,
        w1: products::w1_gradient(spikes, &from_hidden.gh, &workers)?,
        w2: from_readout.grad_w2,
        tau,
        w_rec: None,
        delays: None,
    })
}

/// Zero in place of a subnormal float (below 2^-126 in magnitude).
///
/// A silent unit far below threshold gets surrogate slopes near zero, and
/// gradients of order 1e-40 pass through its recurrence. x86 CPUs handle
/// every subnormal operand in microcode, about a hundred times slower: with
/// 2.5% of `∂L/∂h` subnormal, the W1 gradient product took more than half
/// of an epoch (`perf record` on a run with silent units shows it). No
/// weight can feel them: they vanish from any float32 sum above 2^-102
/// (2e-31), and Adam turns a gradient of 1e-38 into a step of about
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
