//! The fused engine's loops for the adaptive hidden layer (`model::alif`):
//! its forward recurrence, and its backward one, which carries `∂L/∂a`
//! beside `∂L/∂v` and `∂L/∂s`. With `AlifScalars::partials`, for each unit
//! and step, from the step after:
//!   `∂L/∂h_t = ∂L/∂v_{t+1}·keep`,
//!   `∂L/∂v_t = ∂L/∂v_{t+1}·keep·α + ∂L/∂s_{t+1}·σ'_t`,
//!   `∂L/∂a_t = ∂L/∂v_{t+1}·∂v'/∂a + ∂L/∂a_{t+1}·ρ - ∂L/∂s_{t+1}·σ'_t·strength`,
//!   `∂L/∂s_t = ∂L/∂s_t|above - ∂L/∂v_{t+1}·lost + ∂L/∂a_{t+1}`,
//! with `σ'_t = σ'(v_t - θ_t)`, the slope of the spike that step t fires.

use crate::model::alif::AlifScalars;

/// One sample's hidden layer through time: `v`, `s` and `a` are `(steps,
/// hidden)`, their first row the initial state; unit j decays by
/// `alphas[j]`.
pub(super) fn forward_sample(
    alif: &AlifScalars,
    alphas: &[f32],
    v: &mut [f32],
    s: &mut [f32],
    a: &mut [f32],
    h: &[f32],
    hidden: usize,
) {
    let steps = v.len() / hidden;
    v[..hidden].fill(0.0);
    s[..hidden].fill(0.0);
    a[..hidden].fill(0.0);
    for t in 0..steps - 1 {
        let (v_now, v_next) = v[t * hidden..(t + 2) * hidden].split_at_mut(hidden);
        let (s_now, s_next) = s[t * hidden..(t + 2) * hidden].split_at_mut(hidden);
        let (a_now, a_next) = a[t * hidden..(t + 2) * hidden].split_at_mut(hidden);
        let (h_now, alphas) = (&h[t * hidden..(t + 1) * hidden], &alphas[..hidden]);
        for j in 0..hidden {
            let unit = alif.with_alpha(alphas[j]);
            (v_next[j], s_next[j], a_next[j]) = unit.step(v_now[j], s_now[j], a_now[j], h_now[j]);
        }
    }
}

/// `v - θ_t` of every potential, the argument of the spike's surrogate.
pub(super) fn margins(alif: &AlifScalars, v: &[f32], a: &[f32]) -> Vec<f32> {
    v.iter()
        .zip(a)
        .map(|(&v, &a)| v - alif.threshold(a))
        .collect()
}

/// One step of every unit of a sample, as the forward pass left it.
pub(super) struct Row<'a> {
    pub(super) v: &'a [f32],
    pub(super) s: &'a [f32],
    pub(super) a: &'a [f32],
    pub(super) h: &'a [f32],
    /// `σ'(v - θ_t)`.
    pub(super) sg: &'a [f32],
    /// `∂L/∂s_t` from the readout and the regulariser.
    pub(super) above: &'a [f32],
}

/// One sample's `∂L/∂h`, `(steps, hidden)` in `gh`, swept back from its
/// last step; `at(t)` is the forward pass's step t, and unit j decays by
/// `alphas[j]`. Where given, `grad_alpha` gets the sample's `∂L/∂α`,
/// `Σ_t ∂L/∂v_{t+1}·keep·v_t`.
pub(super) fn sample_back<'a>(
    alif: &AlifScalars,
    alphas: &[f32],
    at: impl Fn(usize) -> Row<'a>,
    steps: usize,
    hidden: usize,
    gh: &mut [f32],
    mut grad_alpha: Option<&mut [f32]>,
) {
    let (mut gv, mut ga) = (vec![0f32; hidden], vec![0f32; hidden]);
    let mut gs = at(steps - 1).above.to_vec();
    gh[(steps - 1) * hidden..].fill(0.0);
    let (rho, strength) = (alif.rho, alif.strength);
    for t in (0..steps - 1).rev() {
        let row = at(t);
        let gh = &mut gh[t * hidden..(t + 1) * hidden];
        for j in 0..hidden {
            let unit = alif.with_alpha(alphas[j]);
            let p = unit.partials(row.v[j], row.s[j], row.a[j], row.h[j]);
            if let Some(grad_alpha) = grad_alpha.as_deref_mut() {
                grad_alpha[j] += gv[j] * p.keep * row.v[j];
            }
            let through_spike = gs[j] * row.sg[j];
            gh[j] = super::flush_subnormal(gv[j] * p.keep);
            let gv_now = gv[j] * p.keep * unit.lif.alpha + through_spike;
            let ga_now = gv[j] * p.dv_da + ga[j] * rho - through_spike * strength;
            gs[j] = row.above[j] - gv[j] * p.lost + ga[j];
            gv[j] = super::flush_subnormal(gv_now);
            ga[j] = super::flush_subnormal(ga_now);
        }
    }
}
