//! The research project's model options: each one changes what it should,
//! in both engines, and the fused engine's hand-derived gradients agree with
//! the reference's autograd for every value.

use snnloc::config::{Config, Readout, Reset};
use snnloc::engine::{reference, Engine};
use snnloc::model::lif::{lif_step, LifScalars};
use snnloc::model::readout::{self, ReadoutParams};
use snnloc::model::{DaleSigns, Decay, LifParams, RateRegulariser, Surrogate};
use snnloc::spikes::Spikes;
use tch::{Device, Kind, Tensor};

use crate::common::{batch_and_weights, firing_config, max_relative_difference, to_vec};

#[test]
fn subtractive_reset_by_hand() {
    // alpha 0.5, threshold 1, inputs 0.8, 0.9, 0.3, 0.3. By hand:
    // t=0: v=0            -> v' = 0.8,              s' = H(0 - 1) = 0
    // t=1: v=0.8          -> v' = 0.4 + 0.9 = 1.3,  s' = H(-0.2) = 0
    // t=2: v=1.3          -> v' = 0.65 + 0.3 = 0.95, s' = H(0.3) = 1
    // t=3: v=0.95, s=1    -> v' = 0.475 + 0.3 - 1 = -0.225 (multiplicative: 0)
    let lif = LifParams {
        alpha: 0.5,
        threshold: 1.0,
        reset: Reset::Subtractive,
        surrogate: Surrogate::sigmoid(5.0),
    };
    let scalars = LifScalars::from(&lif);
    let mut v = Tensor::zeros([1, 1], (Kind::Float, Device::Cpu));
    let mut s = v.zeros_like();
    let (mut vs, mut ss) = (0f32, 0f32);
    let want = [(0.8, 0.0), (1.3, 0.0), (0.95, 1.0), (-0.225, 0.0)];
    for (h, (wv, ws)) in [0.8f32, 0.9, 0.3, 0.3].into_iter().zip(want) {
        (v, s) = lif_step(
            &v,
            &s,
            &Tensor::from_slice(&[h]).view([1, 1]),
            &lif,
            &Decay::Shared(lif.alpha),
        );
        (vs, ss) = scalars.step(vs, ss, h);
        assert!(
            (to_vec(&v)[0] - wv).abs() < 1e-6 && to_vec(&s)[0] == ws,
            "tensor {v} {s}"
        );
        assert!((vs - wv).abs() < 1e-6 && ss == ws, "scalar {vs} {ss}");
    }
}

#[test]
fn max_readout_takes_the_maximum_over_time() {
    // Steps (0, 3), (-1, 0), (-2, 1) of two classes.
    let v_rec = Tensor::from_slice(&[0.0f32, 3.0, -1.0, 0.0, -2.0, 1.0]).view([1, 3, 2]);
    let mut p = ReadoutParams {
        alpha: 0.9,
        scale: 1.0,
        kind: Readout::Max,
    };
    assert_eq!(to_vec(&readout::scores(&v_rec, &p).unwrap()), [0.0, 3.0]);
    p.kind = Readout::Sum;
    assert_eq!(to_vec(&readout::scores(&v_rec, &p).unwrap()), [-3.0, 4.0]);
}

#[test]
fn the_regulariser_penalises_rates_above_its_band() {
    let mut cfg = firing_config();
    cfg.training.rate_reg_strength = 2.0;
    let r = RateRegulariser::new(&cfg).unwrap();
    // Two samples of 100 ms: unit 0 fires 30 times in all (150 Hz), unit 1
    // 10 times (50 Hz): penalty 2·mean(((150-100)/100)², 0) = 0.25.
    let mut spikes = vec![0f32; 2 * 100 * 2];
    for k in 0..30 {
        spikes[k * 2] = 1.0;
    }
    for k in 0..10 {
        spikes[200 + k * 2 + 1] = 1.0;
    }
    let spikes = Tensor::from_slice(&spikes)
        .view([2, 100, 2])
        .set_requires_grad(true);
    let penalty = r.penalty(&spikes).unwrap();
    assert!((penalty.double_value(&[]) - 0.25).abs() < 1e-6);
    assert!((r.penalty_of_counts(&[30.0, 10.0], 2) - 0.25).abs() < 1e-12);
    let grad = Tensor::run_backward(&[&penalty], &[&spikes], false, false);
    let by_hand = r.spike_gradient(&[30.0, 10.0], 2);
    let autograd = to_vec(&grad[0]);
    assert!((autograd[0] - by_hand[0]).abs() < 1e-7 && autograd[1] == 0.0 && by_hand[1] == 0.0);
    cfg.training.rate_reg_strength = 0.0;
    assert!(RateRegulariser::new(&cfg).is_none(), "strength 0 is off");
}

#[test]
fn dale_signs_are_random_per_seed_and_kept_through_training() {
    let mut cfg = firing_config();
    cfg.network.dale_inhibitory_input = 0.5;
    cfg.network.dale_inhibitory_hidden = 0.3;
    let signs = DaleSigns::new(&cfg).unwrap().unwrap();
    assert_eq!(signs.inhibitory_counts().unwrap(), (100, 9));
    // Random units, not one ear: both ears have inhibitory fibres.
    let input = to_vec(&signs.input);
    let (left, right) = input.split_at(100);
    assert!(left.contains(&-1.0) && right.contains(&-1.0) && left.contains(&1.0));
    let mut other = cfg.clone();
    other.run.seed = 1;
    assert_ne!(
        to_vec(&DaleSigns::new(&other).unwrap().unwrap().input),
        input
    );

    // Gradients through |w|·sign: the chain rule against autograd.
    let (spikes, labels, w) = batch_and_weights(&cfg, 0);
    let effective = signs.effective(&w).unwrap();
    let fused = Engine::Fused
        .loss_and_gradients(&Spikes::from(&spikes), &labels, &effective, &cfg)
        .unwrap();
    let raw = signs.raw_gradients(&w, fused).unwrap();
    let (w1, w2) = (
        w.w1.detach().set_requires_grad(true),
        w.w2.detach().set_requires_grad(true),
    );
    let through_abs = snnloc::model::Weights {
        w1: w1.abs() * &signs.input,
        w2: w2.abs() * &signs.hidden,
        tau: None,
        w_rec: None,
        delays: None,
    };
    let scores = reference::evaluate(&spikes, &through_abs, &cfg)
        .unwrap()
        .scores;
    let loss = readout::loss_from_scores(&scores, &labels, &ReadoutParams::new(&cfg)).unwrap();
    let grads = Tensor::run_backward(&[&loss], &[&w1, &w2], false, false);
    assert!(max_relative_difference(&raw.w1, &grads[0]) < 2e-5);
    assert!(max_relative_difference(&raw.w2, &grads[1]) < 2e-5);

    // After training the saved weights still obey the signs.
    let outcome = snnloc::experiment::run(&cfg, Device::Cpu, Engine::Fused, |_| Ok(())).unwrap();
    let obeys = |w: &Tensor, s: &Tensor| (w * s).min().double_value(&[]) >= 0.0;
    assert!(obeys(&outcome.weights.w1, &signs.input) && obeys(&outcome.weights.w2, &signs.hidden));
}

#[test]
fn tau_ms_sets_both_layers_and_each_can_differ() {
    let mut cfg = Config::default();
    snnloc::config::option("tau")
        .unwrap()
        .parse("2")
        .unwrap()
        .apply(&mut cfg);
    assert_eq!(
        (cfg.network.tau_hidden_ms, cfg.network.tau_output_ms),
        (2.0, 2.0)
    );
    cfg.network.tau_output_ms = 8.0;
    let (lif, out) = (LifParams::new(&cfg), ReadoutParams::new(&cfg));
    assert!((lif.alpha - (-0.5f64).exp()).abs() < 1e-12);
    assert!((out.alpha - (-0.125f64).exp()).abs() < 1e-12);
}

#[test]
fn midpoint_errors_are_whole_class_widths_and_rates_are_recorded() {
    let mut cfg = firing_config();
    cfg.training.epochs = 1;
    let outcome = snnloc::experiment::run(&cfg, Device::Cpu, Engine::Fused, |_| Ok(())).unwrap();
    for a in [&outcome.train, &outcome.test] {
        let n = a.ipd_true_deg.len() as f64;
        let widths = a.midpoint_error_mean * n / 15.0;
        assert!((widths - widths.round()).abs() < 1e-6, "{widths}");
        assert!(a.midpoint_error_mean > 0.0 || a.accuracy_mean == 100.0);
        assert_eq!(a.hidden_rates_hz.len(), cfg.network.num_hidden);
        assert!(a.hidden_rates_hz.iter().all(|r| r.is_finite() && *r >= 0.0));
        assert!(
            a.hidden_rates_hz.iter().any(|r| *r > 0.0),
            "some unit fires"
        );
    }
}

#[test]
fn a_learned_tau_moved_against_its_gradient_lowers_the_loss() {
    // The readout's τ: given the hidden spikes the loss is smooth in it, so
    // its gradient is exact (the hidden τ's passes the surrogate).
    let mut cfg = firing_config();
    cfg.network.tau_init = snnloc::config::TauInit::Gamma;
    cfg.network.learn_tau = snnloc::config::Switch::On;
    let (spikes, labels, w) = batch_and_weights(&cfg, 0);
    let spikes = Spikes::from(&spikes);
    for engine in [Engine::Reference, Engine::Fused] {
        let g = engine
            .loss_and_gradients(&spikes, &labels, &w, &cfg)
            .unwrap();
        let g = g.tau.unwrap().output;
        assert!(g.abs().max().double_value(&[]) > 0.0);
        // Steps of up to `ms` along the gradient.
        let loss_at = |ms: f64| -> f64 {
            let mut moved = w.detached_copy(Device::Cpu).unwrap();
            let tau = &mut moved.tau.as_mut().unwrap().output;
            let _ = tau.g_add_(&(&g / g.abs().max() * ms));
            let moved = moved.trained_by(&cfg);
            engine
                .loss_and_gradients(&spikes, &labels, &moved, &cfg)
                .unwrap()
                .loss
        };
        let (down, here, up) = (loss_at(-0.01), loss_at(0.0), loss_at(0.01));
        assert!(down < here && here < up, "{engine:?}: {down} {here} {up}");
    }
}

#[test]
fn a_recurrent_weight_passes_a_spike_on_with_the_inputs_lag() {
    // One fibre per ear; the left drives unit 0 above threshold, and only
    // W_rec reaches unit 1. An input spike at step 0 makes unit 0 spike at
    // step 2 (the current reaches v_1, the spike reads v_1); unit 0's spike
    // at step 2 reaches unit 1 the same way, two steps later.
    let mut cfg = Config::default();
    cfg.stimulus.anf_per_ear = 1;
    cfg.stimulus.duration_ms = 8.0;
    cfg.network.num_hidden = 2;
    cfg.network.recurrent = snnloc::config::Switch::On;
    cfg.network.reset = Reset::Subtractive;
    let input = Tensor::zeros([1, 8, 2], (Kind::Float, Device::Cpu));
    let _ = input.get(0).get(0).get(0).fill_(1.0);
    let first_spikes = |w_rec: [f32; 4]| -> Vec<Option<usize>> {
        let w = snnloc::model::Weights {
            w1: Tensor::from_slice(&[2.0f32, 0.0, 0.0, 0.0]).view([2, 2]),
            w2: Tensor::zeros([2, 12], (Kind::Float, Device::Cpu)),
            tau: None,
            w_rec: Some(Tensor::from_slice(&w_rec).view([2, 2])),
            delays: None,
        };
        let s = reference::hidden_layer(&input, &w, &cfg).unwrap().spikes;
        let s = snnloc::host::rows::<f32>(&s.get(0).tr()).unwrap();
        s.iter()
            .map(|unit| unit.iter().position(|&x| x == 1.0))
            .collect()
    };
    assert_eq!(first_spikes([0.0, 2.0, 0.0, 0.0]), [Some(2), Some(4)]);
    assert_eq!(first_spikes([0.0; 4]), [Some(2), None]);
}

#[test]
fn a_recurrent_layer_runs_on_the_reference_engine() {
    let mut cfg = Config::default();
    cfg.network.recurrent = snnloc::config::Switch::On;
    assert_eq!(
        Engine::resolve(&cfg, Device::Cpu).unwrap(),
        Engine::Reference
    );
    cfg.run.engine = snnloc::config::EngineChoice::Fused;
    let refused = Engine::resolve(&cfg, Device::Cpu).unwrap_err().to_string();
    assert!(refused.contains("recurrent"), "{refused}");
}
