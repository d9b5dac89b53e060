//! The stimulus: the notebook's shapes and firing rate, and an IPD that
//! moves only the second ear's spikes.

use std::f64::consts::PI;

use snnloc::config::{Config, PhaseOffset};
use snnloc::stimulus::{
    expected_spike_probability, firing_probabilities, input_signal, random_ipd_input_signal,
    StimulusRng,
};
use tch::{Device, Kind};

use crate::common::to_vec;

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
