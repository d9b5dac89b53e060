//! Learnable synaptic delays (DCLS): a delay of k steps passes a spike on k
//! steps later, their gradients are autograd's through the whole network,
//! and a trained network keeps whole-step delays that `eval` and `inspect`
//! read.

use snnloc::config::{Config, EngineChoice, Reset};
use snnloc::engine::{reference, Engine};
use snnloc::model::readout::{self, ReadoutParams};
use snnloc::model::{delays, Delays, Weights};
use snnloc::run_folder::RunFolder;
use snnloc::spikes::Spikes;
use tch::{Device, Kind, Tensor};

use crate::common::{
    assert_one_line_error, assert_success, batch_and_weights, firing_config,
    max_relative_difference, read_csv, scratch_dir, snnloc,
};

#[test]
fn a_delay_of_k_steps_shifts_a_hidden_spike_by_k_steps() {
    // One fibre per ear; an input spike at step 0 through the left fibre
    // drives the one unit above threshold. Undelayed, the current reaches
    // v_1 and the spike reads it at step 2; each step of delay is one later.
    let mut cfg = Config::default();
    cfg.stimulus.anf_per_ear = 1;
    cfg.stimulus.duration_ms = 10.0;
    cfg.network.num_hidden = 1;
    cfg.network.max_delay_ms = 4.0;
    cfg.network.reset = Reset::Subtractive;
    let input = Tensor::zeros([1, 10, 2], (Kind::Float, Device::Cpu));
    let _ = input.get(0).get(0).get(0).fill_(1.0);
    for k in 0..=4 {
        let w = Weights {
            w1: Tensor::from_slice(&[2.0f32, 0.0]).view([2, 1]),
            w2: Tensor::zeros([1, 12], (Kind::Float, Device::Cpu)),
            tau: None,
            w_rec: None,
            delays: Some(Delays {
                steps: Tensor::from_slice(&[k as f32, 0.0]).view([2, 1]),
                width: None,
            }),
        };
        let s = reference::hidden_layer(&input, &w, &cfg).unwrap().spikes;
        let s = Vec::<f32>::try_from(s.flatten(0, -1)).unwrap();
        assert_eq!(s.iter().position(|&x| x == 1.0), Some(2 + k), "delay {k}");
    }
}

#[test]
fn delay_gradients_are_autograds_through_the_whole_network() {
    // The reference engine takes the delays' gradients in two passes,
    // through the input current; one pass of autograd over the whole graph
    // must give the same numbers.
    let mut cfg = firing_config();
    cfg.network.max_delay_ms = 6.0;
    let (spikes, labels, w) = batch_and_weights(&cfg, 0);
    assert_eq!(w.delays.as_ref().unwrap().width, Some(3.0));
    let got = Engine::Reference
        .loss_and_gradients(&Spikes::from(&spikes), &labels, &w, &cfg)
        .unwrap();
    let (v_rec, _) = reference::forward(&spikes, &w, &cfg).unwrap();
    let p = ReadoutParams::new(&cfg);
    let loss = readout::loss_from_scores(&readout::scores(&v_rec, &p).unwrap(), &labels, &p);
    let trained: Vec<&Tensor> = w.trained().into_iter().map(|(_, t)| t).collect();
    let want = Tensor::run_backward(&[loss.unwrap()], &trained, false, false);
    let of_delays = got.delays.as_ref().unwrap();
    assert!(of_delays.abs().max().double_value(&[]) > 0.0);
    for (name, got, want) in [
        ("W1", &got.w1, &want[0]),
        ("W2", &got.w2, &want[1]),
        ("delays", of_delays, &want[2]),
    ] {
        let d = max_relative_difference(got, want);
        assert!(d < 1e-5, "{name}: relative difference {d}");
    }
}

#[test]
fn delays_run_on_the_reference_engine_and_refuse_what_has_no_whole_step() {
    let mut cfg = Config::default();
    cfg.network.max_delay_ms = 5.0;
    assert!(delays::delayed(&cfg));
    assert_eq!(
        Engine::resolve(&cfg, Device::Cpu).unwrap(),
        Engine::Reference
    );
    cfg.run.engine = EngineChoice::Fused;
    let refused = Engine::resolve(&cfg, Device::Cpu).unwrap_err().to_string();
    assert!(refused.contains("max-delay-ms"), "{refused}");
    for (value, needle) in [
        ("0.3", "at least one step"),
        ("100", "less than --duration-ms"),
    ] {
        assert_one_line_error(&["train", "--max-delay-ms", value], needle);
    }
    assert_one_line_error(&["train", "--max-delay-ms", "-1"], "max-delay-ms");
}

#[test]
fn a_trained_network_keeps_whole_step_delays_that_eval_and_inspect_read() {
    let dir = scratch_dir("delays");
    let d = dir.to_str().unwrap();
    let small = [
        "--batch-size",
        "16",
        "--n-training-batches",
        "4",
        "--n-testing-batches",
        "2",
        "--epochs",
        "3",
        "--tau-ms",
        "5",
        "--max-delay-ms",
        "5",
        "--seed",
        "2",
    ];
    assert_success(&snnloc(&[&["train", "--out", d][..], &small].concat()));
    let weights = RunFolder::new(&dir).weights_path();
    let saved = Tensor::read_safetensors(&weights).unwrap();
    let (_, steps) = saved.iter().find(|(n, _)| n == "delay_steps").unwrap();
    let steps = Vec::<f32>::try_from(steps.flatten(0, -1)).unwrap();
    assert_eq!(steps.len(), 200 * 30);
    assert!(steps.iter().all(|&s| (0.0..=5.0).contains(&s)));
    assert!(
        steps.iter().any(|&s| s != s.round()),
        "the saved delays are the trained positions"
    );

    let eval_dir = dir.join("eval");
    let w = weights.to_str().unwrap();
    assert_success(&snnloc(&[
        "eval",
        "--weights",
        w,
        "--out",
        eval_dir.to_str().unwrap(),
    ]));
    let read = |p: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let metrics = read(&RunFolder::new(&dir).metrics_path());
    assert_eq!(read(&eval_dir.join("eval.json"))["test"], metrics["test"]);

    assert_success(&snnloc(&["inspect", d]));
    let rows = read_csv(&dir.join("inspect").join("synaptic_delays.csv"));
    assert_eq!(rows.len(), 200 * 30);
    for row in &rows {
        let delay: f64 = row["delay_ms"].parse().unwrap();
        assert!(
            delay == delay.round() && (0.0..=5.0).contains(&delay),
            "{row:?}"
        );
    }
    assert!(dir.join("inspect").join("synaptic_delays.png").is_file());
}
