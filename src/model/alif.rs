//! The adaptive LIF (ALIF) neuron of Bellec et al. 2018's long short-term
//! memory SNNs: the hidden LIF unit of `lif` with spike-frequency
//! adaptation. Each spike adds one to the unit's adaptation `a`, which
//! decays by `ρ = exp(-dt/τ_a)` per step, and the unit fires at
//! `θ + strength·a` instead of `θ`. A unit driven hard fires less and less
//! often, so its spike count grows more slowly with its input: it can tell
//! strong inputs apart where a plain LIF unit saturates.
//!
//! The step, in the LIF's order (the spike reads the previous potential
//! and the previous adaptation; the previous spike resets the potential and
//! raises the adaptation):
//!
//!   `θ_t = θ + strength·a_t`,
//!   `v_{t+1} = (α·v_t + h_t)·(1 - s_t)` or `α·v_t + h_t - s_t·θ_t`,
//!   `s_{t+1} = H(v_t - θ_t)`,
//!   `a_{t+1} = ρ·a_t + s_t`.
//!
//! The subtractive reset takes off the threshold the unit has now, as the
//! LSNN does. Strength 0 is the LIF, and the engines then run `lif` itself.

use tch::Tensor;

use super::lif::{decay, LifParams, LifScalars};
use super::time_constants::Decay;
use crate::config::{Config, Reset};

/// The adaptation of the hidden units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adaptation {
    /// Threshold added per unit of adaptation, in units of the potential.
    pub strength: f64,
    /// Decay of the adaptation per step, `exp(-dt/τ_a)`.
    pub rho: f64,
}

impl Adaptation {
    /// The config's adaptation; none at strength 0.
    pub fn new(cfg: &Config) -> Option<Self> {
        let net = &cfg.network;
        (net.adapt_strength > 0.0).then(|| Adaptation {
            strength: net.adapt_strength,
            rho: decay(cfg.dt(), net.tau_adapt_ms * 1e-3),
        })
    }
}

/// The state of the layer at one step, `(batch, hidden)` tensors.
pub struct AlifState {
    pub v: Tensor,
    pub s: Tensor,
    pub a: Tensor,
}

/// One step on tensors: `(v, s, a) -> (v', s', a')`. Gradients flow
/// through the reset and the adaptation, as through the LIF's reset.
pub fn alif_step(
    state: &AlifState,
    h_t: &Tensor,
    p: &LifParams,
    decay: &Decay,
    adapt: &Adaptation,
) -> AlifState {
    let AlifState { v, s, a } = state;
    let threshold = a * adapt.strength + p.threshold;
    let v_next = match p.reset {
        Reset::Multiplicative => (decay.apply(v) + h_t) * (1.0 - s),
        Reset::Subtractive => decay.apply(v) + h_t - s * &threshold,
    };
    AlifState {
        v: v_next,
        s: p.surrogate.spike(&(v - &threshold)),
        a: a * adapt.rho + s,
    }
}

/// The ALIF parameters in float32, for the fused engine's loops.
#[derive(Clone, Copy, Debug)]
pub struct AlifScalars {
    pub lif: LifScalars,
    pub strength: f32,
    pub rho: f32,
}

/// The partial derivatives of one step of one unit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AlifPartials {
    /// `∂v'/∂h`; `∂v'/∂v` is `keep·α`.
    pub keep: f32,
    /// `-∂v'/∂s`.
    pub lost: f32,
    /// `∂v'/∂a`.
    pub dv_da: f32,
}

impl AlifScalars {
    pub fn new(p: &LifParams, adapt: &Adaptation) -> Self {
        AlifScalars {
            lif: LifScalars::from(p),
            strength: adapt.strength as f32,
            rho: adapt.rho as f32,
        }
    }

    /// The same unit with its own decay (`time_constants`).
    #[inline(always)]
    pub fn with_alpha(self, alpha: f32) -> Self {
        AlifScalars {
            lif: self.lif.with_alpha(alpha),
            ..self
        }
    }

    /// The threshold at adaptation `a`, as `alif_step` forms it.
    #[inline]
    pub fn threshold(&self, a: f32) -> f32 {
        a * self.strength + self.lif.threshold
    }

    /// `alif_step` for one unit.
    #[inline]
    pub fn step(&self, v: f32, s: f32, a: f32, h_t: f32) -> (f32, f32, f32) {
        let threshold = self.threshold(a);
        let alpha = self.lif.alpha;
        let v_next = match self.lif.reset {
            Reset::Multiplicative => (v * alpha + h_t) * (1.0 - s),
            Reset::Subtractive => v * alpha + h_t - s * threshold,
        };
        let s_next = if v - threshold > 0.0 { 1.0 } else { 0.0 };
        (v_next, s_next, a * self.rho + s)
    }

    /// The step's partial derivatives; `s'` adds `σ'(v - θ_t)` to `∂/∂v`
    /// and `-strength·σ'` to `∂/∂a`, and `a'` adds `ρ` to `∂/∂a` and 1 to
    /// `∂/∂s` (the backward pass applies those).
    #[inline]
    pub fn partials(&self, v: f32, s: f32, a: f32, h_t: f32) -> AlifPartials {
        match self.lif.reset {
            Reset::Multiplicative => AlifPartials {
                keep: 1.0 - s,
                lost: v * self.lif.alpha + h_t,
                dv_da: 0.0,
            },
            Reset::Subtractive => AlifPartials {
                keep: 1.0,
                lost: self.threshold(a),
                dv_da: -s * self.strength,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Reset;

    fn scalars(reset: Reset, strength: f32) -> AlifScalars {
        let mut cfg = Config::default();
        cfg.network.reset = reset;
        cfg.network.adapt_strength = 1.0;
        let mut s = AlifScalars::new(&LifParams::new(&cfg), &Adaptation::new(&cfg).unwrap());
        s.strength = strength;
        s
    }

    /// The steps at which the unit spikes under a constant input.
    fn first_spikes(unit: &AlifScalars, input: f32) -> Vec<usize> {
        let (mut v, mut s, mut a) = (0.0, 0.0, 0.0);
        let mut at = Vec::new();
        for t in 1..200 {
            (v, s, a) = unit.step(v, s, a, input);
            if s == 1.0 {
                at.push(t);
            }
        }
        at
    }

    #[test]
    fn a_raised_threshold_fires_later() {
        for reset in [Reset::Multiplicative, Reset::Subtractive] {
            let lif = first_spikes(&scalars(reset, 0.0), 0.3);
            let alif = first_spikes(&scalars(reset, 0.5), 0.3);
            // The first spike comes at the same step. As the notebook's
            // spike reads the potential of the step before, a spike is not
            // yet felt by the next step's, and it also comes at once; every
            // later spike is delayed by the adaptation the earlier ones left.
            assert_eq!(lif[..2], alif[..2], "{reset}");
            assert!(alif[2] > lif[2], "{reset}: {alif:?} vs {lif:?}");
            assert!(alif.len() < lif.len(), "{reset}");
        }
    }

    #[test]
    fn strength_zero_is_the_lif_step() {
        for reset in [Reset::Multiplicative, Reset::Subtractive] {
            let alif = scalars(reset, 0.0);
            for (v, s, h) in [(0.5, 0.0, 0.7), (1.2, 1.0, 0.1), (-0.3, 0.0, 2.0)] {
                let (v1, s1, _) = alif.step(v, s, 3.0, h);
                assert_eq!((v1, s1), alif.lif.step(v, s, h));
            }
        }
    }

    #[test]
    fn partials_match_finite_differences() {
        for reset in [Reset::Multiplicative, Reset::Subtractive] {
            let unit = scalars(reset, 0.4);
            let (v, s, a, h) = (0.6f32, 1.0f32, 0.8f32, 0.3f32);
            let p = unit.partials(v, s, a, h);
            let eps = 1e-3;
            let v_of = |v: f32, s: f32, a: f32, h: f32| f64::from(unit.step(v, s, a, h).0);
            let d = |plus: f64, minus: f64| ((plus - minus) / (2.0 * eps as f64)) as f32;
            let close = |x: f32, y: f32| (x - y).abs() < 1e-3;
            assert!(close(
                p.keep,
                d(v_of(v, s, a, h + eps), v_of(v, s, a, h - eps))
            ));
            assert!(close(
                p.keep * unit.lif.alpha,
                d(v_of(v + eps, s, a, h), v_of(v - eps, s, a, h))
            ));
            assert!(close(
                -p.lost,
                d(v_of(v, s + eps, a, h), v_of(v, s - eps, a, h))
            ));
            assert!(close(
                p.dv_da,
                d(v_of(v, s, a + eps, h), v_of(v, s, a - eps, h))
            ));
        }
    }
}
