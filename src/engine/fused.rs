//! The fast engine: the same network as `reference::snn`, with the hidden and
//! readout recurrences run as plain loops over host memory and their
//! backward pass derived by hand, so no autograd graph of ~2,000 tiny ops is
//! built per batch. The two large matrix products (input currents and the
//! W1 gradient) stay with libtorch.
//!
//! Forward arithmetic is the reference's, operation for operation in
//! float32, so spikes, the readout trace and the loss are bit-identical;
//! gradients agree to rounding.
//!
//! Backward, for each hidden neuron, with `a_t = α·v_t + h_t`:
//! `v_{t+1} = a_t·(1 - s_t)` and `s_{t+1} = H(v_t - 1)` give
//!   `∂L/∂s_t = ∂L/∂s_t|readout - ∂L/∂v_{t+1}·a_t`,
//!   `∂L/∂v_t = ∂L/∂v_{t+1}·α·(1 - s_t) + ∂L/∂s_{t+1}·σ'(v_t - 1)`,
//!   `∂L/∂h_t = ∂L/∂v_{t+1}·(1 - s_t)`,
//! with σ' the surrogate derivative. The readout `u_{t+1} = α·u_t + h2_t`,
//! summed over time into the scores m, is linear: `∂L/∂h2_t = k_t·∂L/∂m`.
//!
//! CPU only: `Engine::resolve` picks the reference engine on other devices.

use anyhow::Result;
use tch::Tensor;

use crate::config::Config;
use crate::model::lif::lif_update;
use crate::model::readout;
use crate::model::{batch_and_steps, Gradients, LifParams, ReadoutParams, Weights};

/// Everything the backward pass needs from the forward pass.
struct Trace {
    dims: Dims,
    /// Input currents `(batch, steps, hidden)`.
    h: Vec<f32>,
    /// Hidden membrane potentials before each update.
    v: Vec<f32>,
    /// Hidden spikes, `s_rec` of the notebook.
    s: Vec<f32>,
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
    let lif = LifParams::new(cfg);
    let (alpha, threshold) = (lif.alpha as f32, lif.threshold as f32);

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
                    (v[next + j], s[next + j]) =
                        lif_update(v[now + j], s[now + j], h[now + j], alpha, threshold);
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
        v_rec: to_tensor(&u, [dims.batch, steps, classes])?,
    })
}

/// The readout membrane potential `(batch, steps, classes)`, equal to
/// `reference::snn`'s output.
pub fn snn(spikes: &Tensor, w: &Weights, cfg: &Config) -> Result<Tensor> {
    let _no_grad = tch::no_grad_guard();
    Ok(forward(spikes, w, cfg)?.v_rec)
}

pub fn class_scores(spikes: &Tensor, w: &Weights, cfg: &Config) -> Result<Tensor> {
    readout::scores(&snn(spikes, w, cfg)?)
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
    let scores = readout::scores(&trace.v_rec)?.set_requires_grad(true);
    let loss = readout::loss_from_scores(&scores, labels, &readout)?;
    let dm = to_host(&Tensor::f_run_backward(&[&loss], &[&scores], false, false)?[0])?;
    let loss = loss.f_double_value(&[])?;
    let _no_grad = tch::no_grad_guard();

    let back = readout_backward(&trace, &dm, &w.w2, readout.alpha as f32)?;
    let gh = hidden_backward(&trace, &back, &LifParams::new(cfg))?;
    let grad_w1 = Tensor::f_einsum("abc,abd->cd", &[spikes, &gh], None::<i64>)?;
    Ok(Gradients {
        loss,
        w1: grad_w1,
        w2: back.grad_w2,
    })
}

/// What the readout's backward pass hands to the hidden layer's.
struct ReadoutGradient {
    /// `k_t = Σ_{j<T-1-t} α^j`: how much a readout input at step t counts
    /// in the time-summed scores.
    k: Vec<f32>,
    /// `q = ∂L/∂m·W2ᵀ`, `(batch, hidden)`: the hidden spikes receive `k_t·q`.
    q: Vec<f32>,
    grad_w2: Tensor,
}

/// The readout is linear in the hidden spikes: `∂L/∂h2_t = k_t·∂L/∂m`, so
/// `∂L/∂W2 = S̃ᵀ·∂L/∂m` with `S̃ = Σ_t k_t·s_t`.
fn readout_backward(trace: &Trace, dm: &[f32], w2: &Tensor, alpha: f32) -> Result<ReadoutGradient> {
    let Dims {
        batch,
        steps,
        hidden,
        classes,
    } = trace.dims;
    let mut k = vec![0f32; steps];
    for t in (0..steps - 1).rev() {
        k[t] = 1.0 + alpha * k[t + 1];
    }
    let w2 = to_host(w2)?;
    let mut q = vec![0f32; batch * hidden];
    let mut s_tilde = vec![0f32; batch * hidden];
    for b in 0..batch {
        for j in 0..hidden {
            q[b * hidden + j] = (0..classes)
                .map(|c| dm[b * classes + c] * w2[j * classes + c])
                .sum();
            s_tilde[b * hidden + j] = (0..steps)
                .map(|t| k[t] * trace.s[(b * steps + t) * hidden + j])
                .sum();
        }
    }
    let mut grad_w2 = vec![0f32; hidden * classes];
    for b in 0..batch {
        for j in 0..hidden {
            for c in 0..classes {
                grad_w2[j * classes + c] += s_tilde[b * hidden + j] * dm[b * classes + c];
            }
        }
    }
    let grad_w2 = Tensor::f_from_slice(&grad_w2)?.f_view([hidden as i64, classes as i64])?;
    Ok(ReadoutGradient { k, q, grad_w2 })
}

/// `∂L/∂h_t` of the hidden layer's input currents, `(batch, steps, hidden)`,
/// back through the LIF recurrence (the equations at the top).
fn hidden_backward(trace: &Trace, back: &ReadoutGradient, lif: &LifParams) -> Result<Tensor> {
    let Dims {
        batch,
        steps,
        hidden,
        ..
    } = trace.dims;
    let (k, alpha) = (&back.k, lif.alpha as f32);
    // σ'(v - threshold) for every step at once, through libtorch's
    // vectorised sigmoid: a scalar exp per element would cost more than the
    // matmuls.
    let v = to_tensor(&trace.v, [batch, steps, hidden])?;
    let surrogate = to_host(&lif.surrogate.derivative(&v.f_sub_scalar(lif.threshold)?))?;
    let mut gh = vec![0f32; batch * steps * hidden];
    gh.chunks_mut(steps * hidden)
        .zip(back.q.chunks(hidden))
        .zip(trace.v.chunks(steps * hidden))
        .zip(trace.s.chunks(steps * hidden))
        .zip(trace.h.chunks(steps * hidden))
        .zip(surrogate.chunks(steps * hidden))
        .for_each(|(((((gh, q), v), s), h), sg)| {
            // ∂L/∂v_{t+1} and ∂L/∂s_{t+1} of the step after the current one.
            let mut gv_next = vec![0f32; hidden];
            let mut gs_next: Vec<f32> = q.iter().map(|q| k[steps - 1] * q).collect();
            for t in (0..steps - 1).rev() {
                let row = t * hidden..(t + 1) * hidden;
                // Zipped row slices let the compiler vectorise over neurons.
                let neurons = gh[row.clone()]
                    .iter_mut()
                    .zip(gv_next.iter_mut().zip(gs_next.iter_mut()))
                    .zip(v[row.clone()].iter().zip(&s[row.clone()]))
                    .zip(h[row.clone()].iter().zip(&sg[row]))
                    .zip(q);
                for ((((gh, (gv, gs)), (&vt, &st)), (&ht, &sg)), &q) in neurons {
                    let keep = 1.0 - st;
                    let a = vt * alpha + ht;
                    *gh = *gv * keep;
                    let gv_now = *gv * keep * alpha + *gs * sg;
                    *gs = k[t] * q - *gv * a;
                    *gv = gv_now;
                }
            }
        });
    to_tensor(&gh, [batch, steps, hidden])
}
