//! Input spikes as lists of active inputs (`spikes`), and the fused
//! engine's two ways of reading them: lists and dense products must give
//! the same network, and its numbers must not depend on the thread count.

use std::process::Command;

use crate::common::{assert_success, batch_and_weights, scratch_dir, small_config};
use snnloc::config::{Config, Readout};
use snnloc::engine::Engine;
use snnloc::run_folder::RunFolder;
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

/// The fused engine reading a batch as lists and as a dense tensor. Both
/// forms sum each output in one order, and with 0/1 spikes a fused
/// multiply-add by 0 leaves a sum as it was and one by 1 adds the weight
/// rounded once, so the two agree bit for bit on every CPU (for finite
/// weights).
fn lists_against_dense(cfg: &Config, seed: u64) {
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
    assert_eq!(a.loss, d.loss, "{what}");
    assert!(scores(&sparse).equal(&scores(&dense)), "{what}");
    assert!(a.w1.equal(&d.w1), "{what}: W1 gradients differ");
    assert!(a.w2.equal(&d.w2), "{what}: W2 gradients differ");
    assert!(
        a.w1.abs().max().double_value(&[]) > 0.0,
        "{what}: no gradient"
    );
}

#[test]
fn lists_and_dense_products_give_the_same_network() {
    let mut cfg = small_config();
    for seed in [0, 1] {
        lists_against_dense(&cfg, seed);
    }
    cfg.stimulus.envelope_power = 100.0;
    lists_against_dense(&cfg, 2);
    cfg.network.readout = Readout::Max;
    lists_against_dense(&cfg, 3);
    // 400 inputs: the input sums come in two blocks.
    let mut wide = small_config();
    wide.stimulus.anf_per_ear = 200;
    wide.data.batch_size = 7;
    lists_against_dense(&wide, 4);
}

/// The fused engine cuts its loops between threads by outputs, never
/// within a sum, so every thread count trains to the same numbers.
/// `MKL_ENABLE_INSTRUCTIONS=AVX2` makes libtorch's MKL run the code it runs
/// on CPUs without AVX-512, where its own products change with the thread
/// count (a CI machine's did), so the runs that set it check that no number
/// of the engine's passes through them. Odd batch sizes and widths cut the
/// loops unevenly.
#[test]
fn fused_engine_numbers_do_not_depend_on_the_thread_count() {
    let configs: [(&[&str], Option<&str>); 3] = [
        (&["--envelope-power", "0", "--batch-size", "64"], None),
        (
            &[
                "--envelope-power",
                "40",
                "--readout",
                "max",
                "--batch-size",
                "33",
            ],
            Some("AVX2"),
        ),
        (
            &[
                "--num-hidden",
                "31",
                "--batch-size",
                "7",
                "--rate-reg-strength",
                "1",
            ],
            Some("AVX2"),
        ),
    ];
    for (n, (extra, mkl)) in configs.into_iter().enumerate() {
        let run = |threads: &str| {
            let dir = scratch_dir(&format!("threads-{threads}-{n}"));
            let d = dir.to_str().unwrap();
            let common = [
                "train",
                "--out",
                d,
                "--threads",
                threads,
                "--epochs",
                "2",
                "-q",
                "--no-plots",
                "--n-training-batches",
                "8",
                "--n-testing-batches",
                "2",
            ];
            let mut command = Command::new(env!("CARGO_BIN_EXE_snnloc"));
            command.args(common).args(extra);
            if let Some(mkl) = mkl {
                command.env("MKL_ENABLE_INSTRUCTIONS", mkl);
            }
            assert_success(&command.output().expect("snnloc runs"));
            let text = std::fs::read_to_string(RunFolder::new(&dir).metrics_path()).unwrap();
            let mut metrics: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(metrics["engine"], "fused");
            for key in ["seconds", "threads"] {
                metrics.as_object_mut().unwrap().remove(key);
            }
            (
                metrics,
                std::fs::read(RunFolder::new(&dir).weights_path()).unwrap(),
            )
        };
        let one = run("1");
        for threads in ["2", "3"] {
            assert_eq!(
                one,
                run(threads),
                "{threads} threads, {extra:?}, MKL {mkl:?}"
            );
        }
    }
}
