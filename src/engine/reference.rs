//! The reference engine: the notebook's network step by step on autograd.
//! A hidden LIF (or adaptive LIF) layer fed by the input spikes through W1
//! (delayed where its synapses have delays, and fed by its own spikes
//! through W_rec where it is recurrent), and a
//! leaky, non-spiking readout fed by the hidden spikes through W2.

use anyhow::{bail, ensure, Context, Result};
use tch::{Kind, Tensor};

use super::Evaluation;
use crate::config::Config;
use crate::model::alif::{alif_step, AlifState};
use crate::model::delays::{self, delayed_current};
use crate::model::lif::lif_step;
use crate::model::readout::{self, loss_from_scores, readout_step};
use crate::model::time_constants::layer_decays;
use crate::model::{
    batch_and_steps, Adaptation, Decay, Gradients, LifParams, RateRegulariser, ReadoutParams,
    TimeConstants, Weights,
};

/// What the hidden layer did on one batch.
pub struct HiddenTrace {
    /// `(batch, steps, hidden)` float32, 1 where a unit spiked. As in the
    /// notebook, the spike at step t reads the potential of step t-1
    /// (`s_t = H(v_{t-1} - threshold)`) and resets the potential of step
    /// t+1, so `s_0 = 0` and a spike lags its threshold crossing by a step.
    pub spikes: Tensor,
    /// `(batch, steps, hidden)` float32 potential `v_t` (`v_0 = 0`): the
    /// trace that the spikes read.
    pub membrane: Tensor,
}

/// The current `(batch, steps, hidden)` that `(batch, steps, input)` float
/// spikes drive into the hidden layer through `w.w1`, delayed where its
/// synapses have delays.
pub fn input_current(input_spikes: &Tensor, w: &Weights, cfg: &Config) -> Result<Tensor> {
    batch_and_steps(input_spikes, cfg)?;
    Ok(match &w.delays {
        None => Tensor::f_einsum("abc,cd->abd", &[input_spikes, &w.w1], None::<i64>)?,
        Some(d) => delayed_current(input_spikes, &w.w1, d, delays::max_steps(cfg))?,
    })
}

/// The hidden LIF layer on `(batch, steps, input)` float spikes through
/// `w.w1`, keeping its potential as well as its spikes (inspection draws
/// both; training pays one stack of a small tensor for it).
pub fn hidden_layer(input_spikes: &Tensor, w: &Weights, cfg: &Config) -> Result<HiddenTrace> {
    hidden_from_current(&input_current(input_spikes, w, cfg)?, w, cfg)
}

/// The hidden LIF layer driven by its input current `h`.
fn hidden_from_current(h: &Tensor, w: &Weights, cfg: &Config) -> Result<HiddenTrace> {
    let (batch, steps) = (h.size()[0], h.size()[1]);
    let lif = LifParams::new(cfg);
    let (decay, _) = layer_decays(cfg, w.tau.as_ref())?;
    let mut v = Tensor::f_zeros(
        [batch, cfg.network.num_hidden as i64],
        (Kind::Float, h.device()),
    )?;
    let mut s = v.zeros_like();
    let (mut v_rec, mut s_rec) = (vec![v.shallow_clone()], vec![s.shallow_clone()]);
    // The current of step t: the input's, and, in a recurrent layer, that
    // of the spikes the layer emitted at step t (those the step resets by).
    let current = |t: i64, s: &Tensor| -> Result<Tensor> {
        let h_t = h.select(1, t);
        Ok(match &w.w_rec {
            None => h_t,
            Some(w_rec) => h_t.f_add(&s.f_matmul(w_rec)?)?,
        })
    };
    match Adaptation::new(cfg) {
        None => {
            for t in 0..steps - 1 {
                (v, s) = lif_step(&v, &s, &current(t, &s)?, &lif, &decay);
                v_rec.push(v.shallow_clone());
                s_rec.push(s.shallow_clone());
            }
        }
        Some(adaptation) => {
            let a = v.zeros_like();
            let mut state = AlifState { v, s, a };
            for t in 0..steps - 1 {
                state = alif_step(&state, &current(t, &state.s)?, &lif, &decay, &adaptation);
                v_rec.push(state.v.shallow_clone());
                s_rec.push(state.s.shallow_clone());
            }
        }
    }
    Ok(HiddenTrace {
        spikes: Tensor::f_stack(&s_rec, 1)?,
        membrane: Tensor::f_stack(&v_rec, 1)?,
    })
}

/// The readout membrane potential `(batch, steps, num_classes)` driven by
/// hidden spikes `(batch, steps, hidden)` through `w2`, decaying by
/// `decay` (`time_constants::layer_decays`).
pub fn readout_layer(hidden_spikes: &Tensor, w2: &Tensor, decay: &Decay) -> Result<Tensor> {
    let size = hidden_spikes.size();
    ensure!(
        size.len() == 3 && size[2] == w2.size()[0],
        "hidden spikes {size:?} do not fit W2 {:?}",
        w2.size()
    );
    let h = Tensor::f_einsum("abc,cd->abd", &[hidden_spikes, w2], None::<i64>)?;
    let mut v = Tensor::f_zeros([size[0], w2.size()[1]], (Kind::Float, h.device()))?;
    let mut v_rec = vec![v.shallow_clone()];
    for t in 0..size[1] - 1 {
        v = readout_step(&v, &h.select(1, t), decay);
        v_rec.push(v.shallow_clone());
    }
    Ok(Tensor::f_stack(&v_rec, 1)?)
}

/// Runs the network on `(batch, steps, input)` float spikes and returns the
/// readout membrane potential `(batch, steps, num_classes)` and the hidden
/// spikes `(batch, steps, hidden)`: the notebook's `snn`, which returns
/// both. State shapes follow the batch actually given.
pub fn forward(input_spikes: &Tensor, w: &Weights, cfg: &Config) -> Result<(Tensor, Tensor)> {
    forward_from_current(&input_current(input_spikes, w, cfg)?, w, cfg)
}

/// `forward` from the hidden layer's input current.
fn forward_from_current(h: &Tensor, w: &Weights, cfg: &Config) -> Result<(Tensor, Tensor)> {
    let hidden = hidden_from_current(h, w, cfg)?;
    let (_, decay) = layer_decays(cfg, w.tau.as_ref())?;
    Ok((readout_layer(&hidden.spikes, &w.w2, &decay)?, hidden.spikes))
}

/// The readout membrane potential alone.
pub fn snn(input_spikes: &Tensor, w: &Weights, cfg: &Config) -> Result<Tensor> {
    Ok(forward(input_spikes, w, cfg)?.0)
}

pub fn evaluate(spikes: &Tensor, w: &Weights, cfg: &Config) -> Result<Evaluation> {
    let (v_rec, s_rec) = forward(spikes, w, cfg)?;
    Ok(Evaluation {
        scores: readout::scores(&v_rec, &ReadoutParams::new(cfg))?,
        hidden_spikes: s_rec.f_sum_dim_intlist([0, 1].as_slice(), false, Kind::Float)?,
    })
}

/// The loss by the notebook's graph and its gradients by autograd.
pub fn loss_and_gradients(
    spikes: &Tensor,
    labels: &Tensor,
    w: &Weights,
    cfg: &Config,
) -> Result<Gradients> {
    ensure!(
        w.w1.requires_grad() && w.w2.requires_grad(),
        "the reference engine's gradients need weights that track them (Weights::trained_by)"
    );
    let trained: Vec<&Tensor> = w.trained().into_iter().map(|(_, t)| t).collect();
    let (loss, grads) = match &w.delays {
        None => {
            let current = input_current(spikes, w, cfg)?;
            let loss = loss_from_current(&current, labels, w, cfg)?;
            let grads = Tensor::f_run_backward(&[&loss], &trained, false, false)?;
            (loss.f_double_value(&[])?, grads)
        }
        Some(_) => through_the_current(spikes, labels, w, cfg, &trained)?,
    };
    in_trained_order(loss, grads, w)
}

/// The batch's loss (with the rate penalty, where there is one) from the
/// hidden layer's input current.
fn loss_from_current(
    current: &Tensor,
    labels: &Tensor,
    w: &Weights,
    cfg: &Config,
) -> Result<Tensor> {
    let (v_rec, s_rec) = forward_from_current(current, w, cfg)?;
    let readout = ReadoutParams::new(cfg);
    let mut loss = loss_from_scores(&readout::scores(&v_rec, &readout)?, labels, &readout)?;
    if let Some(regulariser) = RateRegulariser::new(cfg) {
        loss = loss.f_add(&regulariser.penalty(&s_rec)?)?;
    }
    Ok(loss)
}

/// With delays, autograd in two passes: to the input current (and the
/// parameters after it), then from the current to W1 and the delays
/// (`delays::gradients_from_current`, which zeroes the current's subnormal
/// gradients that slow the convolution down). `trained` is W1, those after
/// it, and the delays, last.
fn through_the_current(
    spikes: &Tensor,
    labels: &Tensor,
    w: &Weights,
    cfg: &Config,
    trained: &[&Tensor],
) -> Result<(f64, Vec<Tensor>)> {
    let ([_, after @ .., _], Some(d)) = (trained, &w.delays) else {
        bail!("a delayed network trains at least W1 and its delays")
    };
    let leaf = tch::no_grad(|| input_current(spikes, w, cfg))?.set_requires_grad(true);
    let loss = loss_from_current(&leaf, labels, w, cfg)?;
    let mut inputs = after.to_vec();
    inputs.push(&leaf);
    let mut grads = Tensor::f_run_backward(&[&loss], &inputs, false, false)?;
    let of_current = grads
        .pop()
        .context("autograd returned no gradient of the current")?;
    let max = delays::max_steps(cfg);
    let (of_w1, of_delays) = delays::gradients_from_current(spikes, &w.w1, d, max, &of_current)?;
    let mut all = vec![of_w1];
    all.extend(grads);
    all.push(of_delays);
    Ok((loss.f_double_value(&[])?, all))
}

/// `Gradients` from autograd's answers in `Weights::trained`'s order.
fn in_trained_order(loss: f64, grads: Vec<Tensor>, w: &Weights) -> Result<Gradients> {
    let mut grads = grads.into_iter();
    let mut next = || {
        grads
            .next()
            .ok_or_else(|| anyhow::anyhow!("autograd returned too few gradients"))
    };
    let (w1, w2) = (next()?, next()?);
    let tau = match w.tau.as_ref().filter(|t| t.hidden.requires_grad()) {
        None => None,
        Some(_) => Some(TimeConstants {
            hidden: next()?,
            output: next()?,
        }),
    };
    let w_rec = w.w_rec.as_ref().map(|_| next()).transpose()?;
    let delays = w.delays.as_ref().map(|_| next()).transpose()?;
    Ok(Gradients {
        loss,
        w1,
        w2,
        tau,
        w_rec,
        delays,
    })
}
