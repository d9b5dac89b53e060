//! The two engines compute the same network: the fused engine's
//! hand-derived forward and backward passes against the reference engine's
//! autograd graph, for the notebook's config and for every value of every
//! model option.

use snnloc::config::{Config, EngineChoice, Readout, Reset, SurrogateShape, Switch, TauInit};
use snnloc::engine::{fused, reference, Engine};
use snnloc::spikes::Spikes;
use tch::{Device, Kind};

use crate::common::{batch_and_weights, firing_config, max_relative_difference, model_config};

#[test]
fn fused_engine_matches_the_reference_engine() {
    let cfg = model_config();
    for seed in [0, 1, 2] {
        let (spikes, labels, w) = batch_and_weights(&cfg, seed);
        let reference_out = tch::no_grad(|| reference::snn(&spikes, &w, &cfg)).unwrap();
        let fused_out = fused::snn(&Spikes::from(&spikes), &w, &cfg).unwrap();
        assert!(
            reference_out.equal(&fused_out),
            "seed {seed}: outputs differ"
        );
        let hidden_active = reference_out.abs().sum(Kind::Float).double_value(&[]);
        assert!(hidden_active > 0.0, "a silent network proves nothing");

        let r = Engine::Reference
            .loss_and_gradients(&Spikes::from(&spikes), &labels, &w, &cfg)
            .unwrap();
        let f = Engine::Fused
            .loss_and_gradients(&Spikes::from(&spikes), &labels, &w, &cfg)
            .unwrap();
        // The fused engine's loss is float64 (`portable`), libtorch's float32.
        assert!(
            (r.loss - f.loss).abs() <= 1e-6 * r.loss.abs(),
            "seed {seed}: losses {} and {}",
            r.loss,
            f.loss
        );
        let (d1, d2) = (
            max_relative_difference(&f.w1, &r.w1),
            max_relative_difference(&f.w2, &r.w2),
        );
        assert!(
            d1 < 1e-5 && d2 < 1e-5,
            "seed {seed}: gradient differences {d1:e}, {d2:e}"
        );
        assert!(
            r.w1.abs().max().double_value(&[]) > 0.0,
            "W1 gradient vanished"
        );

        let scores = Engine::Fused
            .class_scores(&Spikes::from(&spikes), &w, &cfg)
            .unwrap();
        let reference_scores = Engine::Reference
            .class_scores(&Spikes::from(&spikes), &w, &cfg)
            .unwrap();
        // The same trace, summed over time in another order.
        assert!(max_relative_difference(&scores, &reference_scores) < 1e-6);
    }
}

#[test]
fn engines_train_to_the_same_loss_history() {
    let cfg = model_config();
    let history = |choice, engine| {
        let mut cfg = cfg.clone();
        cfg.run.engine = choice;
        assert_eq!(Engine::resolve(&cfg, Device::Cpu).unwrap(), engine);
        snnloc::experiment::run(&cfg, Device::Cpu, engine, |_| Ok(()))
            .unwrap()
            .loss
    };
    let (reference, fused) = (
        history(EngineChoice::Reference, Engine::Reference),
        history(EngineChoice::Fused, Engine::Fused),
    );
    for (r, f) in reference.iter().zip(&fused) {
        assert!(
            (r - f).abs() <= 1e-4 * r.abs(),
            "{reference:?} vs {fused:?}"
        );
    }
}

/// Loss equal and gradients within `tolerance`, fused against reference.
fn assert_engines_agree(cfg: &Config, what: &str, tolerance: f64) {
    for seed in [0, 1] {
        let (spikes, labels, w) = batch_and_weights(cfg, seed);
        let r = Engine::Reference
            .loss_and_gradients(&Spikes::from(&spikes), &labels, &w, cfg)
            .unwrap();
        let f = Engine::Fused
            .loss_and_gradients(&Spikes::from(&spikes), &labels, &w, cfg)
            .unwrap();
        assert!(
            (r.loss - f.loss).abs() <= 1e-6 * r.loss.abs(),
            "{what}: loss {} vs {}",
            r.loss,
            f.loss
        );
        let (d1, d2) = (
            max_relative_difference(&f.w1, &r.w1),
            max_relative_difference(&f.w2, &r.w2),
        );
        assert!(
            d1 < tolerance && d2 < tolerance,
            "{what} seed {seed}: gradient differences {d1:e}, {d2:e}"
        );
        assert!(
            r.w1.abs().max().double_value(&[]) > 0.0,
            "{what}: W1 gradient vanished"
        );
        assert_eq!(r.tau.is_some(), f.tau.is_some(), "{what}: τ gradients");
        if let (Some(rt), Some(ft)) = (&r.tau, &f.tau) {
            for (layer, (r, f)) in ["hidden", "readout"]
                .iter()
                .zip(rt.both().iter().zip(ft.both()))
            {
                let d = max_relative_difference(f, r);
                assert!(
                    d < tolerance,
                    "{what} seed {seed}: {layer} τ gradient differs by {d:e}"
                );
                assert!(
                    r.abs().max().double_value(&[]) > 0.0,
                    "{what}: {layer} τ gradient vanished"
                );
            }
        }
        let scores = Engine::Fused
            .class_scores(&Spikes::from(&spikes), &w, cfg)
            .unwrap();
        let reference_scores = Engine::Reference
            .class_scores(&Spikes::from(&spikes), &w, cfg)
            .unwrap();
        assert!(
            max_relative_difference(&scores, &reference_scores) < 1e-6,
            "{what}: scores"
        );
    }
}

#[test]
fn fused_gradients_match_autograd_for_every_option_value() {
    for shape in [
        SurrogateShape::Sigmoid,
        SurrogateShape::FastSigmoid,
        SurrogateShape::Atan,
    ] {
        for reset in [Reset::Multiplicative, Reset::Subtractive] {
            for readout in [Readout::Sum, Readout::Max] {
                for (strength, adapt) in [(0.0, 0.0), (50.0, 0.0), (0.0, 0.3), (50.0, 0.3)] {
                    let mut cfg = firing_config();
                    cfg.network.adapt_strength = adapt;
                    cfg.network.tau_adapt_ms = 5.0;
                    cfg.network.surrogate = shape;
                    cfg.network.reset = reset;
                    cfg.network.readout = readout;
                    cfg.network.tau_output_ms = 10.0;
                    cfg.training.rate_reg_strength = strength;
                    // Low bounds so the penalty acts on these untrained rates.
                    cfg.training.rate_reg_low_hz = 5.0;
                    cfg.training.rate_reg_high_hz = 20.0;
                    let what = format!(
                        "{shape} {reset} {readout} regulariser {strength} adaptation {adapt}"
                    );
                    assert_engines_agree(&cfg, &what, 2e-5);
                }
            }
        }
    }
}

#[test]
fn adaptation_moves_spikes_the_same_way_in_both_engines() {
    let mut cfg = firing_config();
    cfg.network.tau_adapt_ms = 5.0;
    let (spikes, _, w) = batch_and_weights(&cfg, 0);
    let out = |cfg: &Config| tch::no_grad(|| reference::snn(&spikes, &w, cfg)).unwrap();
    let plain = out(&cfg);
    cfg.network.adapt_strength = 0.3;
    let adaptive = out(&cfg);
    assert!(!plain.equal(&adaptive), "the adaptation changed nothing");
    // Raised thresholds: fewer hidden spikes on this batch.
    let hidden = |cfg: &Config| {
        let spikes = reference::forward(&spikes, &w, cfg).unwrap().1;
        spikes.sum(Kind::Float).double_value(&[])
    };
    let with = hidden(&cfg);
    cfg.network.adapt_strength = 0.0;
    assert!(with < hidden(&cfg), "adaptation did not thin the spikes");
    cfg.network.adapt_strength = 0.3;
    let fused_out = fused::snn(&Spikes::from(&spikes), &w, &cfg).unwrap();
    assert!(
        adaptive.equal(&fused_out),
        "the engines' adaptive outputs differ"
    );
}

#[test]
fn fused_time_constant_gradients_match_autograd() {
    for reset in [Reset::Multiplicative, Reset::Subtractive] {
        for readout in [Readout::Sum, Readout::Max] {
            for adapt in [0.0, 0.3] {
                let mut cfg = firing_config();
                cfg.network.reset = reset;
                cfg.network.readout = readout;
                cfg.network.adapt_strength = adapt;
                cfg.network.tau_init = TauInit::Gamma;
                cfg.network.learn_tau = Switch::On;
                let what = format!("learned τ, {reset} {readout} adaptation {adapt}");
                assert_engines_agree(&cfg, &what, 1e-4);
            }
        }
    }
}
