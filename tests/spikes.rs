//! Input spikes as lists of active inputs (`spikes`), and the fused
//! engine's two ways of reading them: lists and dense products must give
//! the same network, and its numbers must not depend on the thread count.

mod common;

use common::{
    assert_success, batch_and_weights, max_relative_difference, scratch_dir, small_config, snnloc,
};
use snnloc::config::{Config, Readout};
use snnloc::engine::Engine;
use snnloc::spikes::{ActiveInputs, Spikes};
use tch::{Device, Kind, Tensor};

#[test]
fn active_inputs_list_exactly_the_ones() {
    // Widths that are and are not whole 8-byte words, rows empty and full.
    for (samples, steps, inputs) in [(3, 5, 200), (2, 4, 13), (1, 3, 8), (2, 2, 1)] {
        let _generator = snnloc::seed::seed_torch(inputs as u64);
        let spikes = Tensor::rand([samples, steps, inputs], (Kind::Float, Device::Cpu))
            .lt(0.3)
            .to_kind(Kind::Uint8);
        let _ = spikes.get(0).get(0).fill_(1);
        let _ = spikes.get(0).get(1).fill_(0);
        let active = ActiveInputs::new(&spikes).unwrap();
        assert_eq!(
            [active.samples(), active.steps(), active.inputs()],
            [samples, steps, inputs].map(|d| d as usize)
        );
        let all: Vec<usize> = (0..samples as usize).collect();
        assert!(
            active
                .dense(&all)
                .unwrap()
                .equal(&spikes.to_kind(Kind::Float)),
            "{samples}×{steps}×{inputs}: lists lose or invent spikes"
        );
        assert_eq!(active.row(0, 0).len(), inputs as usize);
        assert!(active.row(0, 1).is_empty());
        let reversed: Vec<usize> = all.iter().rev().copied().collect();
        let order = Tensor::from_slice(&reversed.iter().map(|&s| s as i64).collect::<Vec<_>>());
        assert!(active
            .dense(&reversed)
            .unwrap()
            .equal(&spikes.index_select(0, &order).to_kind(Kind::Float)));
    }
}

#[test]
fn spikes_other_than_zero_and_one_are_refused() {
    let bytes = Tensor::from_slice(&[0u8, 1, 2, 0]).view([1, 2, 2]);
    let error = ActiveInputs::new(&bytes).err().expect("a 2 was listed");
    assert!(error.to_string().contains("0 or 1"), "{error}");
    let floats = Tensor::from_slice(&[0f32, 0.5, 1.0, 0.0]).view([1, 2, 2]);
    assert!(ActiveInputs::new(&floats).is_err(), "0.5 was listed");
    assert!(ActiveInputs::new(&Tensor::zeros([4, 4], (Kind::Uint8, Device::Cpu))).is_err());
}

/// The fused engine reading a batch as lists and as a dense tensor. The
/// lists sum in the order MKL's one-thread product was measured to use, so
/// on such machines the two agree bit for bit (the default inputs below);
/// elsewhere the gradients may differ by rounding.
fn lists_against_dense(cfg: &Config, seed: u64, exact: bool) {
    let (spikes, labels, w) = batch_and_weights(cfg, seed);
    let lists = ActiveInputs::new(&spikes).unwrap();
    let (sparse, dense) = (Spikes::Active(lists.all()), Spikes::from(&spikes));
    let engine = Engine::Fused;
    let (a, d) = (
        engine
            .loss_and_gradients(&sparse, &labels, &w, cfg)
            .unwrap(),
        engine.loss_and_gradients(&dense, &labels, &w, cfg).unwrap(),
    );
    let scores = |s: &Spikes| engine.class_scores(s, &w, cfg).unwrap();
    let what = format!("inputs {}, seed {seed}", cfg.input_size());
    if exact {
        assert_eq!(a.loss, d.loss, "{what}");
        assert!(scores(&sparse).equal(&scores(&dense)), "{what}");
    } else {
        assert!((a.loss - d.loss).abs() <= 1e-6 * d.loss.abs(), "{what}");
    }
    for (x, y) in [(&a.w1, &d.w1), (&a.w2, &d.w2)] {
        let difference = max_relative_difference(x, y);
        assert!(
            difference < 1e-6,
            "{what}: gradients differ by {difference:e}"
        );
    }
    assert!(
        a.w1.abs().max().double_value(&[]) > 0.0,
        "{what}: no gradient"
    );
}

#[test]
fn lists_and_dense_products_give_the_same_network() {
    let mut cfg = small_config();
    for seed in [0, 1] {
        lists_against_dense(&cfg, seed, true);
    }
    cfg.stimulus.envelope_power = 100.0;
    lists_against_dense(&cfg, 2, true);
    cfg.network.readout = Readout::Max;
    lists_against_dense(&cfg, 3, true);
    // 400 inputs: the input sums come in two blocks.
    let mut wide = small_config();
    wide.stimulus.anf_per_ear = 200;
    wide.data.batch_size = 7;
    lists_against_dense(&wide, 4, false);
}

/// The fused engine's sums are formed in one order whatever the thread
/// count, so one and two threads train to the same numbers: at envelope
/// power 0 both read dense spikes (density 0.6), at power 40 both read
/// lists (0.045), and the max readout takes its W2 gradient through time.
#[test]
fn fused_engine_numbers_do_not_depend_on_the_thread_count() {
    for extra in [
        &["--envelope-power", "0"][..],
        &["--envelope-power", "40", "--readout", "max"],
    ] {
        let metrics = |threads: &str| {
            let dir = scratch_dir(&format!("threads-{threads}-{}", extra.len()));
            let d = dir.to_str().unwrap();
            let args = [
                &[
                    "train",
                    "--out",
                    d,
                    "--threads",
                    threads,
                    "--epochs",
                    "2",
                    "-q",
                    "--no-plots",
                ][..],
                &[
                    "--batch-size",
                    "64",
                    "--n-training-batches",
                    "8",
                    "--n-testing-batches",
                    "2",
                ],
                extra,
            ]
            .concat();
            let out = snnloc(&args);
            assert_success(&out);
            let text = std::fs::read_to_string(dir.join("metrics.json")).unwrap();
            let mut metrics: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(metrics["engine"], "fused");
            for key in ["seconds", "threads"] {
                metrics.as_object_mut().unwrap().remove(key);
            }
            (
                metrics,
                std::fs::read(dir.join("weights.safetensors")).unwrap(),
            )
        };
        assert_eq!(metrics("1"), metrics("2"), "{extra:?}");
    }
}
