//! What training and analysis need from a network, whichever engine runs it.

use anyhow::Result;
use tch::{Device, Kind, Reduction, Tensor};

use crate::config::{Config, Engine};
use crate::network::{snn, Weights};

/// Loss of one batch and the gradients of W1 and W2.
pub struct Gradients {
    pub loss: f64,
    pub w1: Tensor,
    pub w2: Tensor,
}

/// Cross-entropy of the scaled, time-summed readout:
/// `NLL(log_softmax(readout_scale · Σ_t v))`.
pub fn loss_and_gradients(
    engine: Engine,
    spikes: &Tensor,
    labels: &Tensor,
    w: &Weights,
    cfg: &Config,
) -> Result<Gradients> {
    if uses_fused(engine, spikes) {
        crate::fused::loss_and_gradients(spikes, labels, w, cfg)
    } else {
        reference_loss_and_gradients(spikes, labels, w, cfg)
    }
}

/// The readout summed over time, `(batch, num_classes)`; its argmax is the
/// estimated class.
pub fn class_scores(engine: Engine, spikes: &Tensor, w: &Weights, cfg: &Config) -> Result<Tensor> {
    let _no_grad = tch::no_grad_guard();
    if uses_fused(engine, spikes) {
        crate::fused::class_scores(spikes, w, cfg)
    } else {
        Ok(snn(spikes, w, cfg)?.f_sum_dim_intlist(1, false, None::<Kind>)?)
    }
}

/// The fused engine runs its recurrences in host memory; on a GPU the
/// reference engine keeps the data where it is. `Auto` here means fused:
/// callers pass `Config::resolved_engine`.
fn uses_fused(engine: Engine, spikes: &Tensor) -> bool {
    matches!(engine, Engine::Fused | Engine::Auto) && spikes.device() == Device::Cpu
}

/// The loss from class scores, shared by both engines.
pub fn loss_from_scores(scores: &Tensor, labels: &Tensor, cfg: &Config) -> Result<Tensor> {
    let m = scores.f_mul_scalar(cfg.readout_scale)?;
    Ok(m.f_log_softmax(1, None::<Kind>)?.f_nll_loss(
        labels,
        None::<Tensor>,
        Reduction::Mean,
        -100,
    )?)
}

fn reference_loss_and_gradients(
    spikes: &Tensor,
    labels: &Tensor,
    w: &Weights,
    cfg: &Config,
) -> Result<Gradients> {
    let output = snn(spikes, w, cfg)?;
    let loss = loss_from_scores(
        &output.f_sum_dim_intlist(1, false, None::<Kind>)?,
        labels,
        cfg,
    )?;
    let grads = Tensor::f_run_backward(&[&loss], &[&w.w1, &w.w2], false, false)?;
    let [w1, w2]: [Tensor; 2] = grads
        .try_into()
        .map_err(|_| anyhow::anyhow!("autograd returned the wrong number of gradients"))?;
    Ok(Gradients {
        loss: loss.f_double_value(&[])?,
        w1,
        w2,
    })
}
