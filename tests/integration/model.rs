//! The notebook's building blocks, checked against their definitions.

use snnloc::config::{Config, Reset};
use snnloc::engine::{fused, reference};
use snnloc::model::lif::{lif_step, LifParams};
use snnloc::model::readout::readout_step;
use snnloc::model::weights::torch_fan_in;
use snnloc::model::{init_weight_matrices, Decay, Surrogate};
use snnloc::portable::Arithmetic;
use snnloc::seed::seed_torch;
use snnloc::spikes::Spikes;
use tch::{Device, Kind, Tensor};

use crate::common::{batch_and_weights, model_config as small, to_vec};

#[test]
fn lif_layer_follows_the_notebook_update_order_by_hand() {
    // One neuron, alpha = 0.5, inputs 0.8, 0.9, 0.3. By hand:
    // t=0: v=0, s=0 → new_v = (0 + 0.8)·1 = 0.8, s = H(0 - 1) = 0
    // t=1: v=0.8    → new_v = (0.4 + 0.9)·1 = 1.3, s = H(0.8 - 1) = 0
    // t=2: v=1.3    → new_v = (0.65 + 0.3)·1 = 0.95, s = H(1.3 - 1) = 1
    // t=3: v=0.95, s=1 → new_v = (0.475 + 0.3)·0 = 0 (reset), s = H(-0.05) = 0
    let lif = LifParams {
        alpha: 0.5,
        threshold: 1.0,
        reset: Reset::Multiplicative,
        surrogate: Surrogate::sigmoid(5.0),
    };
    let inputs = [0.8f32, 0.9, 0.3, 0.3];
    let mut v = Tensor::zeros([1, 1], (Kind::Float, Device::Cpu));
    let mut s = v.zeros_like();
    let mut trace = vec![];
    for h in inputs {
        (v, s) = lif_step(
            &v,
            &s,
            &Tensor::from_slice(&[h]).view([1, 1]),
            &lif,
            &Decay::Shared(lif.alpha),
        );
        trace.push((to_vec(&v)[0], to_vec(&s)[0]));
    }
    let want = [(0.8, 0.0), (1.3, 0.0), (0.95, 1.0), (0.0, 0.0)];
    for ((v, s), (wv, ws)) in trace.iter().zip(want) {
        assert!((v - wv).abs() < 1e-6 && *s == ws, "{trace:?}");
    }
    let u = readout_step(
        &Tensor::from_slice(&[2.0f32]),
        &Tensor::from_slice(&[1.0f32]),
        &Decay::Shared(0.5),
    );
    assert_eq!(to_vec(&u), [2.0]);
}

#[test]
fn weights_use_torch_fan_in_and_bounds() {
    // torch's _calculate_fan_in_and_fan_out: fan_in is size(1) of a matrix.
    assert_eq!(torch_fan_in(&[200, 30]), 30);
    assert_eq!(torch_fan_in(&[30, 12]), 12);
    let cfg = Config::default();
    let _generator = seed_torch(0);
    let w = init_weight_matrices(&cfg, Device::Cpu, Arithmetic::Libtorch).unwrap();
    assert_eq!(w.w1.size(), [200, 30]);
    assert_eq!(w.w2.size(), [30, 12]);
    let max = |t: &Tensor| to_vec(t).iter().fold(0f32, |m, x| m.max(x.abs())) as f64;
    let (b1, b2) = (1.0 / 30f64.sqrt(), 1.0 / 12f64.sqrt());
    assert!(max(&w.w1) <= b1 && max(&w.w1) > 0.9 * b1);
    assert!(max(&w.w2) <= b2 && max(&w.w2) > 0.9 * b2);
}

#[test]
fn network_state_follows_the_batch_size() {
    let cfg = small();
    let (spikes, _, w) = batch_and_weights(&cfg, 4);
    let three = spikes.narrow(0, 0, 3);
    let out = tch::no_grad(|| reference::snn(&three, &w, &cfg)).unwrap();
    assert_eq!(out.size(), [3, 100, 12]);
    assert_eq!(
        fused::snn(&Spikes::from(&three), &w, &cfg).unwrap().size(),
        [3, 100, 12]
    );
}

#[test]
fn reference_gradients_of_untracked_weights_are_refused() {
    let cfg = small();
    let (spikes, labels, w) = batch_and_weights(&cfg, 0);
    let untracked = w.detached_copy(Device::Cpu).unwrap();
    let error = reference::loss_and_gradients(&spikes, &labels, &untracked, &cfg)
        .err()
        .expect("untracked weights were given gradients");
    assert!(error.to_string().contains("trained_by"), "{error}");
    let tracked = untracked.trained_by(&cfg);
    assert!(reference::loss_and_gradients(&spikes, &labels, &tracked, &cfg).is_ok());
}
