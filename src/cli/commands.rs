//! What `train`, `eval` and `stimulus` do, on top of the library.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use tch::Device;

use super::present::say;
use super::{EvalArgs, RuntimeArgs, StimulusArgs, TrainArgs};
use snnloc::analysis::{chance_level, Analysis};
use snnloc::config::Config;
use snnloc::device::{device_name, select_device};
use snnloc::engine::Engine;
use snnloc::experiment::{self, Event, Outcome};
use snnloc::inspect::check_ideal;
use snnloc::metrics::Metrics;
use snnloc::output;
use snnloc::plots;
use snnloc::stimulus::{random_ipd_input_signal, StimulusRng};
use snnloc::train::Progress;

/// Applies --device and --threads.
pub fn runtime(args: &RuntimeArgs) -> Result<Device> {
    set_threads(args.threads)?;
    select_device(&args.device)
}

/// Applies --threads, when given, to both pools: libtorch's and rayon's
/// (the stimulus generator's), so that `sweep --jobs N --threads 1` runs N
/// threads in all. The stimulus does not depend on the thread count.
pub fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(threads) = threads {
        anyhow::ensure!(threads >= 1, "`threads` must be at least 1, got {threads}");
        tch::set_num_threads(threads as i32);
        // Rayon's global pool is sized once per process; a second call (in
        // tests, several commands run in one process) keeps the first size.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global();
    }
    Ok(())
}

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
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("results/train-seed{}", cfg.run.seed)));
    if args.inspect {
        check_ideal(&cfg)?;
    }
    output::prepare_dir(&out)?;
    let inspect_out = super::inspect::default_out(&out);
    if args.inspect {
        output::prepare_dir(&inspect_out)?;
    }
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
    let printer = notebook_printer(quiet, cfg.data.num_classes);
    let outcome = experiment::run(&cfg, device, engine, printer)?;
    write_run(
        &out,
        &cfg,
        &Metrics::new(&outcome, cfg.data.num_classes, device, engine),
        &outcome,
        !args.no_plots,
    )?;
    if !quiet {
        let s = &outcome.seconds;
        say!(
            "Took {:.2} s (data {:.2} s, training {:.2} s = {:.3} s/epoch, analysis {:.2} s); results in {}",
            s.total,
            s.data_train + s.data_test,
            s.training,
            s.training / cfg.training.epochs as f64,
            s.analysis_train + s.analysis_test,
            out.display()
        )?;
    }
    if args.inspect {
        // `experiment::run` keeps no data; its test set is drawn again,
        // identically, from the config's seed.
        let test_data = experiment::test_set(&cfg, Device::Cpu)?;
        super::inspect::inspect_into(&cfg, &outcome.weights, &test_data, &inspect_out, quiet)?;
    }
    Ok(())
}

/// Writes every file of a finished run into `out`.
fn write_run(
    out: &Path,
    cfg: &Config,
    metrics: &Metrics,
    outcome: &Outcome,
    plots: bool,
) -> Result<()> {
    #[derive(Serialize)]
    struct LossRow {
        epoch: usize,
        loss: f64,
        seconds: f64,
    }
    output::write_json(&out.join("config.json"), cfg)?;
    let loss = outcome.loss.iter().zip(&outcome.seconds.epochs).enumerate();
    output::write_csv_rows(
        &out.join("loss.csv"),
        loss.map(|(e, (&loss, &seconds))| LossRow {
            epoch: e + 1,
            loss,
            seconds,
        }),
    )?;
    for (label, analysis) in [("train", &outcome.train), ("test", &outcome.test)] {
        write_confusion(out, label, analysis)?;
    }
    metrics.write(&out.join("metrics.json"))?;
    output::save_weights(&out.join("weights.safetensors"), &outcome.weights)?;
    if plots {
        // A training that diverged in its first epoch has no loss to draw.
        if !outcome.loss.is_empty() {
            plots::loss_curve(&outcome.loss, &out.join("loss"))?;
        }
        for (label, analysis) in [("Train", &outcome.train), ("Test", &outcome.test)] {
            let confusion = analysis.confusion_normalised();
            plots::analysis_figure(
                &plots::AnalysisFigure {
                    label,
                    num_classes: cfg.data.num_classes,
                    ipd_true_deg: &analysis.ipd_true_deg,
                    ipd_estimated_deg: &analysis.ipd_estimated_deg,
                    confusion: &confusion,
                },
                &out.join(format!("analysis_{}", label.to_lowercase())),
            )?;
        }
    }
    Ok(())
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

fn write_confusion(out: &Path, label: &str, analysis: &Analysis) -> Result<()> {
    output::write_matrix_csv(
        &out.join(format!("confusion_{label}.csv")),
        "counts",
        &analysis.confusion,
    )?;
    output::write_matrix_csv(
        &out.join(format!("confusion_{label}_normalised.csv")),
        "probability",
        &analysis.confusion_normalised(),
    )
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
    let beside = args.weights.with_file_name("config.json");
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
