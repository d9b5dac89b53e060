//! The fast engine: the same network as `reference::forward`, with the
//! hidden and readout recurrences run as plain loops over host memory and
//! their backward pass derived by hand (`backward`), so no autograd graph of
//! ~2,000 tiny ops is built per batch. The two large matrix products (input
//! currents and the W1 gradient) stay with libtorch.
//!
//! Forward arithmetic is the reference's, operation for operation in
//! float32, so spikes, the readout trace and the loss are bit-identical;
//! gradients agree to rounding.
//!
//! CPU only: `Engine::resolve` picks the reference engine on other devices.

mod backward;

use anyhow::Result;
use tch::{Kind, Tensor};

use super::Evaluation;
use crate::config::Config;
use crate::model::lif::LifScalars;
use crate::model::readout;
use crate::model::{
    batch_and_steps, Gradients, LifParams, RateRegulariser, ReadoutParams, Weights,
};

/// Everything the backward pass needs from the forward pass.
struct Trace {
    dims: Dims,
    /// Input currents `(batch, steps, hidden)`.
    h: Vec<f32>,
    /// Hidden membrane potentials before each update.
    v: Vec<f32>,
    /// Hidden spikes, `s_rec` of the notebook.
    s: Vec<f32>,
    /// The same spikes as a tensor.
    s_rec: Tensor,
    /// Readout trace `(batch, steps, classes)`.
    v_rec: Tensor,
}

#[derive(Clone, Copy)]
struct Dims {
    batch: usize,
    steps: usize,
    hidden: usize,
    classes: usize,
}

fn to_host(t: &Tensor) -> Result<Vec<f32>> {
    Ok(Vec::<f32>::try_from(&t.f_contiguous()?.f_view([-1])?)?)
}

fn to_tensor(data: &[f32], shape: [usize; 3]) -> Result<Tensor> {
    Ok(Tensor::f_from_slice(data)?.f_view(shape.map(|d| d as i64))?)
}

fn forward(spikes: &Tensor, w: &Weights, cfg: &Config) -> Result<Trace> {
    let (batch, steps) = batch_and_steps(spikes, cfg)?;
    let dims = Dims {
        batch: batch as usize,
        steps: steps as usize,
        hidden: cfg.network.num_hidden,
        classes: cfg.data.num_classes,
    };
    let Dims {
        steps,
        hidden,
        classes,
        ..
    } = dims;
    let lif = LifScalars::from(&LifParams::new(cfg));

    let h = to_host(&Tensor::f_einsum(
        "abc,cd->abd",
        &[spikes, &w.w1],
        None::<i64>,
    )?)?;
    let mut v = vec![0f32; h.len()];
    let mut s = vec![0f32; h.len()];
    v.chunks_mut(steps * hidden)
        .zip(s.chunks_mut(steps * hidden))
        .zip(h.chunks(steps * hidden))
        .for_each(|((v, s), h)| {
            for t in 0..steps - 1 {
                let (now, next) = (t * hidden, (t + 1) * hidden);
                for j in 0..hidden {
                    (v[next + j], s[next + j]) = lif.step(v[now + j], s[now + j], h[now + j]);
                }
            }
        });
    let s_rec = to_tensor(&s, [dims.batch, steps, hidden])?;

    let h2 = to_host(&Tensor::f_einsum(
        "abc,cd->abd",
        &[&s_rec, &w.w2],
        None::<i64>,
    )?)?;
    let readout_alpha = ReadoutParams::new(cfg).alpha as f32;
    let mut u = vec![0f32; h2.len()];
    u.chunks_mut(steps * classes)
        .zip(h2.chunks(steps * classes))
        .for_each(|(u, h2)| {
            for t in 0..steps - 1 {
                for c in 0..classes {
                    u[(t + 1) * classes + c] =
                        u[t * classes + c] * readout_alpha + h2[t * classes + c];
                }
            }
        });
    Ok(Trace {
        dims,
        h,
        v,
        s,
        s_rec,
        v_rec: to_tensor(&u, [dims.batch, steps, classes])?,
    })
}

/// The readout membrane potential `(batch, steps, classes)`, equal to
/// `reference::snn`'s output.
pub fn snn(spikes: &Tensor, w: &Weights, cfg: &Config) -> Result<Tensor> {
    let _no_grad = tch::no_grad_guard();
    Ok(forward(spikes, w, cfg)?.v_rec)
}

pub fn evaluate(spikes: &Tensor, w: &Weights, cfg: &Config) -> Result<Evaluation> {
    let trace = forward(spikes, w, cfg)?;
    Ok(Evaluation {
        scores: readout::scores(&trace.v_rec, &ReadoutParams::new(cfg))?,
        hidden_spikes: trace
            .s_rec
            .f_sum_dim_intlist([0, 1].as_slice(), false, Kind::Float)?,
    })
}

pub fn loss_and_gradients(
    spikes: &Tensor,
    labels: &Tensor,
    w: &Weights,
    cfg: &Config,
) -> Result<Gradients> {
    let trace = tch::no_grad(|| forward(spikes, w, cfg))?;
    let readout = ReadoutParams::new(cfg);

    // The loss and ∂L/∂m come from autograd on the tiny (batch, classes)
    // scores, so both engines share one definition of the loss.
    let v_rec = trace.v_rec.shallow_clone().set_requires_grad(true);
    let loss = readout::loss_from_scores(&readout::scores(&v_rec, &readout)?, labels, &readout)?;
    let dv = to_host(&Tensor::f_run_backward(&[&loss], &[&v_rec], false, false)?[0])?;
    let _no_grad = tch::no_grad_guard();
    let regulariser = RateRegulariser::new(cfg);
    let loss = match &regulariser {
        Some(r) => loss.f_add(&r.penalty(&trace.s_rec)?)?,
        None => loss,
    };

    let from_readout = backward::readout(&trace, &dv, &w.w2, &readout)?;
    let gh = backward::hidden(
        &trace,
        &from_readout,
        regulariser.as_ref(),
        &LifParams::new(cfg),
    )?;
    let grad_w1 = Tensor::f_einsum("abc,abd->cd", &[spikes, &gh], None::<i64>)?;
    Ok(Gradients {
        loss: loss.f_double_value(&[])?,
        w1: grad_w1,
        w2: from_readout.grad_w2,
    })
}
