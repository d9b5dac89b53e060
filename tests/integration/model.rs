//! The notebook's building blocks, checked against their definitions.

use std::f64::consts::PI;

use snnloc::config::{Config, EngineChoice, PhaseOffset, Readout, Reset, SurrogateShape};
use snnloc::engine::{fused, reference, Engine};
use snnloc::host;
use snnloc::labels::{continuise, discretise};
use snnloc::model::lif::{lif_step, LifParams};
use snnloc::model::readout::{readout_step, ReadoutParams};
use snnloc::model::weights::torch_fan_in;
use snnloc::model::{init_weight_matrices, Surrogate};
use snnloc::seed::seed_torch;
use snnloc::spikes::Spikes;
use snnloc::stimulus::{
    expected_spike_probability, firing_probabilities, input_signal, random_ipd_input_signal,
    StimulusRng,
};
use tch::{Device, Kind, Tensor};

use crate::common::{batch_and_weights, max_relative_difference, model_config as small, to_vec};

#[test]
fn stimulus_has_the_notebook_shapes_and_spike_rate() {
    for envelope_power in [0.0, 1.0, 2.0, 2.5, 10.0] {
        let mut cfg = Config::default();
        cfg.stimulus.envelope_power = envelope_power;
        let mut rng = StimulusRng::new(&cfg).unwrap();
        let data = random_ipd_input_signal(&cfg, 256, &mut rng, Device::Cpu).unwrap();
        assert_eq!(data.ipd.size(), [256]);
        assert_eq!(data.spikes.size(), [256, 100, 200]);
        let ipd = to_vec(&data.ipd);
        assert!(ipd
            .iter()
            .all(|&x| (x as f64) >= -PI / 2.0 && (x as f64) < PI / 2.0));
        let spikes = to_vec(&data.spikes);
        assert!(spikes.iter().all(|&s| s == 0.0 || s == 1.0));
        // 5.12 million Bernoulli draws: the mean is within 0.5% of the
        // expectation rate_max·dt·E[(½(1+sin θ))^p] over uniform phases.
        let mean = spikes.iter().map(|&s| s as f64).sum::<f64>() / spikes.len() as f64;
        let expected = expected_spike_probability(&cfg);
        assert!(
            (mean - expected).abs() < 0.005 * expected.max(0.01) + 0.002,
            "power {envelope_power}: mean {mean} vs expected {expected}"
        );
    }
    // E[(½(1+sin))^2] = 3/8, so the notebook's default fires 0.6·3/8 per step.
    assert!((expected_spike_probability(&Config::default()) - 0.225).abs() < 1e-9);
}

#[test]
fn ipd_shifts_only_the_second_ear() {
    let cfg = Config::default();
    let anf = cfg.stimulus.anf_per_ear;
    let centred = firing_probabilities(&cfg, 0.0, 0.3);
    let shifted = firing_probabilities(&cfg, 0.7, 0.3);
    for t in 0..cfg.duration_steps() {
        let row = t * 2 * anf;
        assert_eq!(
            centred[row..row + anf],
            shifted[row..row + anf],
            "first ear changed at t={t}"
        );
        // With no IPD both ears hear the same; with one, the second differs.
        assert_eq!(centred[row..row + anf], centred[row + anf..row + 2 * anf]);
    }
    assert_ne!(centred, shifted);

    // In generated spikes: many samples of one IPD give the first ear the
    // same firing rate whatever the IPD, and the second ear its shifted one.
    let mut cfg = Config::default();
    cfg.stimulus.phase_offset = PhaseOffset::PerCall;
    let rates = |ipd: f64| {
        let mut rng = StimulusRng::new(&cfg).unwrap();
        let data = input_signal(&cfg, &vec![ipd; 2000], &mut rng, Device::Cpu).unwrap();
        to_vec(
            &data
                .spikes
                .to_kind(Kind::Float)
                .mean_dim(0, false, Kind::Float),
        )
    };
    let (a, b) = (rates(0.0), rates(1.2));
    let distance = |range: std::ops::Range<usize>| {
        (0..cfg.duration_steps())
            .flat_map(|t| range.clone().map(move |k| t * 2 * anf + k))
            .map(|i| (a[i] - b[i]).abs() as f64)
            .sum::<f64>()
            / (cfg.duration_steps() * anf) as f64
    };
    let (first, second) = (distance(0..anf), distance(anf..2 * anf));
    assert!(first < 0.02, "first ear rates moved by {first}");
    assert!(
        second > 5.0 * first,
        "second ear moved by {second}, first by {first}"
    );
}

#[test]
fn labels_cover_the_edges_and_round_trip() {
    let edges = Tensor::from_slice(&[(-PI / 2.0) as f32, (PI / 2.0 - 1e-6) as f32, 0.0]);
    let classes = Vec::<i64>::try_from(&discretise(&edges, 12).unwrap()).unwrap();
    assert_eq!(classes, [0, 11, 6]);
    let midpoints: Vec<f32> = (0..12).map(|c| continuise(c, 12) as f32).collect();
    let back = discretise(&Tensor::from_slice(&midpoints), 12).unwrap();
    assert_eq!(
        Vec::<i64>::try_from(&back).unwrap(),
        (0..12).collect::<Vec<_>>()
    );
    assert!((continuise(0, 12) - (-PI / 2.0 + PI / 24.0)).abs() < 1e-12);
}

#[test]
fn surrogate_is_heaviside_forward_and_sigmoid_derivative_backward() {
    let beta = 5.0;
    let values = [-2.0f32, -0.3, -1e-7, 0.0, 1e-7, 0.25, 1.5];
    let x = Tensor::from_slice(&values).set_requires_grad(true);
    let surrogate = Surrogate::sigmoid(beta);
    let y = surrogate.spike(&x);
    assert_eq!(to_vec(&y), [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    let upstream = Tensor::from_slice(&[1.0f32, 2.0, -1.0, 0.5, 3.0, 1.0, -2.0]);
    let grad = Tensor::run_backward(&[(&y * &upstream).sum(Kind::Float)], &[&x], false, false);
    for ((g, &v), u) in to_vec(&grad[0]).iter().zip(&values).zip(to_vec(&upstream)) {
        let sig = 1.0 / (1.0 + (-beta * v as f64).exp());
        let want = u as f64 * beta * sig * (1.0 - sig);
        assert!((*g as f64 - want).abs() < 1e-6, "x={v}: {g} vs {want}");
    }
    // The fused engine's form of the same derivative.
    let derivative = to_vec(&surrogate.derivative(&x.detach()));
    let through_autograd = to_vec(&(&grad[0] / &upstream));
    for (d, a) in derivative.iter().zip(&through_autograd) {
        assert!(
            (d - a).abs() <= 1e-6 * a.abs().max(1e-3),
            "{derivative:?} vs {through_autograd:?}"
        );
    }
}

#[test]
fn fused_surrogate_derivative_is_the_tensor_formula_bit_for_bit() {
    // Potentials from far below to far above a threshold of 1, with the
    // extremes where σ underflows and the slopes turn subnormal or zero.
    let v: Vec<f32> = (-4000..=4000).map(|i| 1.0 + i as f32 * 0.0137).collect();
    for shape in [
        SurrogateShape::Sigmoid,
        SurrogateShape::FastSigmoid,
        SurrogateShape::Atan,
    ] {
        for beta in [0.3, 5.0, 25.0] {
            let surrogate = Surrogate { shape, beta };
            let tensor = to_vec(&surrogate.derivative(&(Tensor::from_slice(&v) - 1.0)));
            let mut host = vec![f32::NAN; v.len()];
            surrogate.derivative_into(&v, 1.0, &mut host).unwrap();
            let bits = |x: &[f32]| x.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert!(
                bits(&host) == bits(&tensor),
                "{shape:?}, beta {beta}: host and tensor forms differ"
            );
        }
    }
}

#[test]
fn host_slices_see_tensor_memory_and_refuse_other_layouts() {
    let mut t = host::empty::<f32>(&[2, 3]).unwrap();
    host::slice_mut::<f32>(&mut t)
        .unwrap()
        .iter_mut()
        .enumerate()
        .for_each(|(i, x)| *x = i as f32);
    assert_eq!(to_vec(&t), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    let transposed = host::slice::<f32>(&t.tr()).unwrap_err();
    assert!(
        transposed.to_string().contains("contiguous"),
        "{transposed}"
    );
    assert!(host::slice::<f64>(&t).is_err());
    assert!(host::slice::<f32>(&host::empty::<f32>(&[0]).unwrap())
        .unwrap()
        .is_empty());
}

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
        (v, s) = lif_step(&v, &s, &Tensor::from_slice(&[h]).view([1, 1]), &lif);
        trace.push((to_vec(&v)[0], to_vec(&s)[0]));
    }
    let want = [(0.8, 0.0), (1.3, 0.0), (0.95, 1.0), (0.0, 0.0)];
    for ((v, s), (wv, ws)) in trace.iter().zip(want) {
        assert!((v - wv).abs() < 1e-6 && *s == ws, "{trace:?}");
    }
    let u = readout_step(
        &Tensor::from_slice(&[2.0f32]),
        &Tensor::from_slice(&[1.0f32]),
        &ReadoutParams {
            alpha: 0.5,
            scale: 0.01,
            kind: Readout::Sum,
        },
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
    let w = init_weight_matrices(&cfg, Device::Cpu).unwrap();
    assert_eq!(w.w1.size(), [200, 30]);
    assert_eq!(w.w2.size(), [30, 12]);
    let max = |t: &Tensor| to_vec(t).iter().fold(0f32, |m, x| m.max(x.abs())) as f64;
    let (b1, b2) = (1.0 / 30f64.sqrt(), 1.0 / 12f64.sqrt());
    assert!(max(&w.w1) <= b1 && max(&w.w1) > 0.9 * b1);
    assert!(max(&w.w2) <= b2 && max(&w.w2) > 0.9 * b2);
}

#[test]
fn fused_engine_matches_the_reference_engine() {
    let cfg = small();
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
        assert_eq!(r.loss, f.loss, "seed {seed}: losses differ");
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
        assert!(scores.equal(&reference_scores));
    }
}

#[test]
fn engines_train_to_the_same_loss_history() {
    let cfg = small();
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
