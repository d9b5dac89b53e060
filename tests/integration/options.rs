//! Every option is defined once; these tests walk the places that derive
//! from the definition — flags, config.json, `--config`, `sweep --param`
//! and the sweep's child runs — and the one engine decision.

use std::path::Path;
use std::thread;

use crate::common::{
    assert_one_line_error, scratch_dir, snnloc, tiny_net_config, TINY_NET as TINY,
};
use snnloc::config::{self, Config, EngineChoice, OptionDef, RngMode, ValueKind};
use snnloc::engine::Engine;
use snnloc::run_folder::RunFolder;
use tch::Device;

/// A valid value for `def` that differs from the tiny config's.
fn other_value(def: &OptionDef) -> String {
    let current = def.text(&tiny_net_config());
    match def.kind {
        ValueKind::Number => format!("{}", current.parse::<f64>().unwrap() * 1.5),
        ValueKind::Count | ValueKind::Seed => format!("{}", current.parse::<u64>().unwrap() + 1),
        ValueKind::Choice(names) => names.iter().find(|n| **n != current).unwrap().to_string(),
    }
}

fn read_config(path: &Path) -> Config {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// `snnloc train --<option> v` writes v into config.json, and `snnloc sweep
/// --param <option> --values v` hands v to its child run's config.json; the
/// two configs agree on everything but the seed.
fn walk(def: &'static OptionDef, root: &Path) -> Result<(), String> {
    let value = other_value(def);
    let (train_dir, sweep_dir) = (
        root.join(def.name),
        root.join(format!("sweep-{}", def.name)),
    );
    let flag = format!("--{}", def.name);
    let train_out = train_dir.to_str().unwrap().to_string();
    let mut train = vec![
        "train",
        "--no-plots",
        "--quiet",
        "--threads",
        "1",
        "--out",
        &train_out,
    ];
    // After TINY, which may give the same flag: the last one wins.
    train.extend(TINY);
    train.extend([flag.as_str(), &value]);
    let sweep_out = sweep_dir.to_str().unwrap().to_string();
    let mut sweep = vec![
        "sweep",
        "--param",
        def.name,
        "--values",
        &value,
        "--quiet",
        "--threads",
        "1",
        "--out",
        &sweep_out,
    ];
    sweep.extend(TINY);
    for args in [&train, &sweep] {
        let out = snnloc(args);
        if !out.status.success() {
            return Err(format!(
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    let trained = read_config(&RunFolder::new(&train_dir).config_path());
    let mut child = read_config(&sweep_dir.join("runs/0-0/config.json"));
    let want = def.parse(&value).map(|s| {
        let mut cfg = tiny_net_config();
        s.apply(&mut cfg);
        def.text(&cfg)
    })?;
    if def.text(&trained) != want || def.text(&child) != want {
        return Err(format!(
            "{}: flag gave {}, sweep child got {}, wanted {want}",
            def.name,
            def.text(&trained),
            def.text(&child)
        ));
    }
    child.run.seed = trained.run.seed;
    if child != trained {
        return Err(format!(
            "{}: the sweep's child config differs from train's: {child:?} vs {trained:?}",
            def.name
        ));
    }
    Ok(())
}

#[test]
fn every_sweepable_option_travels_from_flag_to_the_sweeps_child_config() {
    let root = scratch_dir("options-walk");
    let sweepable: Vec<&'static OptionDef> =
        config::options().iter().filter(|d| d.sweepable).collect();
    assert!(
        sweepable.len() >= 17,
        "only {} sweepable options",
        sweepable.len()
    );
    // Two walkers at a time: each runs single-threaded trainings.
    let root = &root;
    let failures: Vec<String> = thread::scope(|s| {
        let walkers: Vec<_> = sweepable
            .chunks(sweepable.len().div_ceil(2))
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|d| walk(d, root).err())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        walkers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert!(failures.is_empty(), "{failures:#?}");
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn names_aliases_and_json_keys_find_their_option() {
    for (name, key) in [
        ("tau", "tau_ms"),
        ("--dt-ms", "dt_ms"),
        ("num_hidden", "num_hidden"),
        ("duration", "duration_ms"),
    ] {
        assert_eq!(config::option(name).unwrap().key, key);
    }
    assert!(config::option("tau-msec")
        .unwrap_err()
        .to_string()
        .contains("unknown option 'tau-msec'"));
    for def in config::options() {
        assert_eq!(
            def.name,
            def.key.replace('_', "-"),
            "flag and JSON key spell one name"
        );
        assert!(!def.help().is_empty(), "{} has no help", def.name);
    }
}

#[test]
fn config_files_may_be_grouped_or_flat_and_misspelt_keys_are_named() {
    let grouped: Config =
        serde_json::from_str(r#"{"network": {"tau_ms": 2}, "run": {"rng": "numpy"}}"#).unwrap();
    let flat: Config = serde_json::from_str(r#"{"tau_ms": 2, "rng": "numpy"}"#).unwrap();
    assert_eq!(grouped, flat);
    // tau_ms is the notebook's one time constant: it sets both layers'.
    let net = &grouped.network;
    assert_eq!(
        (net.tau_hidden_ms, net.tau_output_ms, grouped.run.rng),
        (2.0, 2.0, RngMode::Numpy)
    );
    let specific: Config =
        serde_json::from_str(r#"{"tau_ms": 2, "network": {"tau_output_ms": 5}}"#).unwrap();
    assert_eq!(
        (
            specific.network.tau_hidden_ms,
            specific.network.tau_output_ms
        ),
        (2.0, 5.0)
    );
    assert_eq!(grouped.data, Config::default().data);
    let roundtrip: Config =
        serde_json::from_str(&serde_json::to_string(&grouped).unwrap()).unwrap();
    assert_eq!(roundtrip, grouped);
    for (json, needle) in [
        (
            r#"{"network": {"tau_m": 2}}"#,
            "unknown field `tau_m` in `network`",
        ),
        (r#"{"tau_m": 2}"#, "unknown field `tau_m`"),
        (
            r#"{"data": {"tau_ms": 2}}"#,
            "unknown field `tau_ms` in `data`",
        ),
        (r#"{"epochs": "ten"}"#, "`epochs`"),
    ] {
        let err = serde_json::from_str::<Config>(json)
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{json}: {err}");
    }

    let dir = scratch_dir("misspelt-config");
    std::fs::create_dir_all(&dir).unwrap();
    let file = RunFolder::new(&dir).config_path();
    std::fs::write(&file, r#"{"network": {"num_hiden": 3}}"#).unwrap();
    assert_one_line_error(
        &["train", "--config", file.to_str().unwrap()],
        "unknown field `num_hiden` in `network`",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_engine_is_decided_once_from_config_and_device() {
    let mut cfg = Config::default();
    let cuda = Device::Cuda(0);
    let cases = [
        (
            EngineChoice::Auto,
            RngMode::Fast,
            Device::Cpu,
            Some(Engine::Fused),
        ),
        (
            EngineChoice::Auto,
            RngMode::Numpy,
            Device::Cpu,
            Some(Engine::Reference),
        ),
        (
            EngineChoice::Auto,
            RngMode::Fast,
            cuda,
            Some(Engine::Reference),
        ),
        (
            EngineChoice::Reference,
            RngMode::Fast,
            Device::Cpu,
            Some(Engine::Reference),
        ),
        (
            EngineChoice::Fused,
            RngMode::Numpy,
            Device::Cpu,
            Some(Engine::Fused),
        ),
        (EngineChoice::Fused, RngMode::Fast, cuda, None),
    ];
    for (choice, rng, device, want) in cases {
        (cfg.run.engine, cfg.run.rng) = (choice, rng);
        let got = Engine::resolve(&cfg, device);
        assert_eq!(
            got.as_ref().ok(),
            want.as_ref(),
            "{choice} {rng} {device:?}: {got:?}"
        );
    }
}
