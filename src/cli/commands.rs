//! What `train`, `eval` and `stimulus` do, on top of the library.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::Serialize;
use tch::Device;

use super::present::say;
use super::runtime::runtime;
use super::{EvalArgs, StimulusArgs, TrainArgs};
use snnloc::analysis::{chance_level, Analysis};
use snnloc::checkpoint::{Checkpoint, Saved};
use snnloc::device::device_name;
use snnloc::engine::Engine;
use snnloc::experiment::{self, Event};
use snnloc::ideal::check_ideal;
use snnloc::metrics::Metrics;
use snnloc::output;
use snnloc::plots;
use snnloc::run_folder::{config_beside, write_confusion, RunFolder};
use snnloc::stimulus::{random_ipd_input_signal, StimulusRng};
use snnloc::train::Progress;

/// Prints the notebook's progress lines, in its order, unless quiet; a
/// divergence is a warning on stderr, quiet or not.
fn notebook_printer(quiet: bool, num_classes: usize) -> impl FnMut(Event) -> Result<()> {
    move |event| match event {
        Event::Training(Progress::Diverged { at, loss }) => {
            eprintln!(
                "warning: training diverged at {at} (loss {loss}) and stopped there; the results are those of the weights before that batch; try a lower --lr"
            );
            Ok(())
        }
        _ if quiet => Ok(()),
        Event::Training(Progress::Epoch { epoch, loss }) => say!("Epoch {epoch}: loss={loss:.5}"),
        Event::Analysed { label, analysis } => {
            if label == "Train" {
                print_chance_level(num_classes)?;
            }
            print_analysis(label, analysis)
        }
    }
}

fn print_chance_level(num_classes: usize) -> Result<()> {
    say!("Chance accuracy level: {:.1}%", chance_level(num_classes))
}

fn print_analysis(label: &str, a: &Analysis) -> Result<()> {
    say!("{label} classifier accuracy: {:.1}%", a.accuracy_mean)?;
    say!("{label} absolute error: {:.1} deg", a.abs_error_mean)?;
    say!(
        "{label} class-midpoint error: {:.1} deg (estimated vs true class midpoint)",
        a.midpoint_error_mean
    )?;
    say!(
        "{label} decoded error: {:.1} deg (median of the class probabilities vs true IPD)",
        a.decoded_error_mean
    )?;
    let rates = &a.hidden_rates_hz;
    let (low, high) = rates
        .iter()
        .fold((f64::INFINITY, 0f64), |(l, h), &r| (l.min(r), h.max(r)));
    let silent = rates.iter().filter(|&&r| r == 0.0).count();
    say!(
        "{label} hidden rates: {low:.1} to {high:.1} spikes/s, {silent} of {} units silent",
        rates.len()
    )
}

pub fn train(args: &TrainArgs) -> Result<()> {
    let cfg = args.config.resolve()?;
    let device = runtime(&args.runtime)?;
    let engine = Engine::resolve(&cfg, device)?;
    let run = args
        .out
        .clone()
        .map_or_else(|| RunFolder::default_for(&cfg), RunFolder::new);
    if args.inspect {
        check_ideal(&cfg)?;
    }
    run.claim(&cfg, args.force, args.resume)?;
    let resume = match args.resume {
        true => Some(Checkpoint::read(&run.checkpoint_path(), &cfg)?),
        false => None,
    };
    let quiet = args.runtime.quiet;
    if !quiet {
        say!(
            "Training on {} ({} threads), seed {}, {engine} engine",
            device_name(device),
            tch::get_num_threads(),
            cfg.run.seed,
        )?;
        say!(
            "Want loss for epoch 1 to be about {:.2}, multiply m by constant to get this",
            (cfg.data.num_classes as f64).ln()
        )?;
    }
    if let (Some(c), false) = (&resume, quiet) {
        say!(
            "Resuming after epoch {} from {}",
            c.epochs_done,
            run.checkpoint_path().display()
        )?;
    }
    let printer = notebook_printer(quiet, cfg.data.num_classes);
    let checkpoint = run.checkpoint_path();
    let save = |saved: &Saved| Checkpoint::write(&checkpoint, &cfg, saved);
    let outcome = experiment::run_resumable(&cfg, device, engine, resume.as_ref(), printer, save)?;
    let metrics = Metrics::new(&outcome, cfg.data.num_classes, device, engine);
    run.write(&cfg, &metrics, &outcome, !args.no_plots, |staged| {
        if !quiet {
            let s = &outcome.seconds;
            say!(
                "Took {:.2} s (data {:.2} s, training {:.2} s = {:.3} s/epoch, analysis {:.2} s); results in {}",
                s.total,
                s.data_train + s.data_test,
                s.training,
                s.training / cfg.training.epochs as f64,
                s.analysis_train + s.analysis_test,
                run.dir().display()
            )?;
        }
        if !args.inspect {
            return Ok(());
        }
        // `experiment::run` keeps no data; its test set is drawn again,
        // identically, from the config's seed.
        let test_data = experiment::test_set(&cfg, Device::Cpu)?;
        super::inspect::inspect_into(
            &cfg,
            &outcome.weights,
            &test_data,
            (&staged.inspect_dir(), &run.inspect_dir()),
            quiet,
        )
    })
}

/// Draws the spikes evoked by random IPDs, as the notebook's first figure.
pub fn stimulus(args: &StimulusArgs) -> Result<()> {
    let cfg = args.config.resolve()?;
    let device = runtime(&args.runtime)?;
    anyhow::ensure!(
        (1..=plots::MAX_RASTER_PANELS).contains(&args.samples),
        "`samples` must be between 1 and {}, got {}",
        plots::MAX_RASTER_PANELS,
        args.samples
    );
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("results/stimulus-seed{}", cfg.run.seed)));
    output::prepare_dir(&out)?;
    let mut rng = StimulusRng::new(&cfg)?;
    let data = random_ipd_input_signal(&cfg, args.samples, &mut rng, device)?;
    let ipd = Vec::<f32>::try_from(&data.ipd.f_to_device(Device::Cpu)?)?;
    let spikes = data.spikes.f_to_device(Device::Cpu)?;
    let panels = ipd
        .iter()
        .enumerate()
        .map(|(i, &ipd)| {
            Ok(plots::RasterPanel {
                // int() of the notebook truncates toward zero.
                ipd_deg: (ipd as f64 * 180.0 / std::f64::consts::PI).trunc() as i64,
                steps: cfg.duration_steps(),
                neurons: cfg.input_size(),
                spikes: Vec::<u8>::try_from(&spikes.f_get(i as i64)?.f_flatten(0, -1)?)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let files = plots::stimulus_raster(&panels, &out.join("stimulus"))?;
    if !args.runtime.quiet {
        for file in files {
            say!("{}", file.display())?;
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct EvalReport<'a> {
    weights: String,
    device: String,
    engine: Engine,
    chance_accuracy: f64,
    test: &'a Analysis,
}

pub fn eval(args: &EvalArgs) -> Result<()> {
    let mut config_args = args.config.clone();
    // Weights remember the shapes they were trained with: start from the
    // config saved beside them unless told otherwise.
    let beside = config_beside(&args.weights);
    if config_args.file.is_none() && beside.is_file() {
        config_args.file = Some(beside);
    }
    let cfg = config_args.resolve()?;
    let device = runtime(&args.runtime)?;
    let engine = Engine::resolve(&cfg, device)?;
    let weights = output::load_weights(&args.weights, &cfg, device)?;
    if let Some(out) = &args.out {
        output::prepare_dir(out)?;
    }
    let test = experiment::evaluate(&cfg, device, engine, &weights)?;
    if !args.runtime.quiet {
        print_chance_level(cfg.data.num_classes)?;
        print_analysis("Test", &test)?;
    }
    if let Some(out) = &args.out {
        write_confusion(out, "test", &test)?;
        output::write_json(
            &out.join("eval.json"),
            &EvalReport {
                weights: args.weights.display().to_string(),
                device: device_name(device),
                engine,
                chance_accuracy: chance_level(cfg.data.num_classes),
                test: &test,
            },
        )
        .context("cannot write eval.json")?;
    }
    Ok(())
}
