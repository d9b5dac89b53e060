//! What each subcommand does, on top of the library.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use tch::Device;

use crate::analysis::{analyse, chance_level, Analysis};
use crate::cli::{EvalArgs, RuntimeArgs, StimulusArgs, SweepArgs, SweepMergeArgs, TrainArgs};
use crate::config::{Config, Engine};
use crate::device::{device_name, select_device};
use crate::experiment::{self, Event, Outcome};
use crate::output;
use crate::plots;
use crate::seed::seed_torch;
use crate::stimulus::{random_ipd_input_signal, StimulusRng};
use crate::sweep::{self, Launcher, Shard, SweepSpec};

/// Applies --device and --threads.
pub fn runtime(args: &RuntimeArgs) -> Result<Device> {
    if let Some(threads) = args.threads {
        anyhow::ensure!(threads >= 1, "--threads must be at least 1, got {threads}");
        tch::set_num_threads(threads as i32);
    }
    select_device(&args.device)
}

/// Prints the notebook's progress lines, in its order, unless quiet.
fn notebook_printer(quiet: bool, num_classes: usize) -> impl FnMut(Event) {
    move |event| {
        if quiet {
            return;
        }
        match event {
            Event::Epoch { epoch, loss } => println!("Epoch {epoch}: loss={loss:.5}"),
            Event::Analysed { label, analysis } => {
                if label == "Train" {
                    print_chance_level(num_classes);
                }
                print_analysis(label, analysis)
            }
        }
    }
}

fn print_chance_level(num_classes: usize) {
    println!("Chance accuracy level: {:.1}%", chance_level(num_classes));
}

fn print_analysis(label: &str, a: &Analysis) {
    println!("{label} classifier accuracy: {:.1}%", a.accuracy_mean);
    println!("{label} absolute error: {:.1} deg", a.abs_error_mean);
}

#[derive(Serialize)]
struct Metrics<'a> {
    device: String,
    engine: Engine,
    threads: i32,
    chance_accuracy: f64,
    train: &'a Analysis,
    test: &'a Analysis,
    loss_hist: &'a [f64],
    seconds: &'a experiment::Timings,
}

pub fn train(args: &TrainArgs) -> Result<()> {
    let cfg = args.config.resolve()?;
    let device = runtime(&args.runtime)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("results/train-seed{}", cfg.seed)));
    output::check_out_dir(&out)?;
    let quiet = args.runtime.quiet;
    if !quiet {
        println!(
            "Training on {} ({} threads), seed {}, {} engine",
            device_name(device),
            tch::get_num_threads(),
            cfg.seed,
            serde_json::to_value(cfg.resolved_engine())?
                .as_str()
                .unwrap_or("?")
        );
        println!(
            "Want loss for epoch 1 to be about {:.2}, multiply m by constant to get this",
            (cfg.num_classes as f64).ln()
        );
    }
    let outcome = experiment::run(&cfg, device, notebook_printer(quiet, cfg.num_classes))?;
    write_run(&out, &cfg, device, &outcome, !args.no_plots)?;
    if !quiet {
        println!(
            "Took {:.2} s (data {:.2} s, training {:.2} s = {:.3} s/epoch, analysis {:.2} s); results in {}",
            outcome.seconds.total,
            outcome.seconds.data_train + outcome.seconds.data_test,
            outcome.seconds.training,
            outcome.seconds.training / cfg.epochs as f64,
            outcome.seconds.analysis_train + outcome.seconds.analysis_test,
            out.display()
        );
    }
    Ok(())
}

/// Writes every file of a finished run into `out`.
pub fn write_run(
    out: &Path,
    cfg: &Config,
    device: Device,
    outcome: &Outcome,
    plots: bool,
) -> Result<()> {
    output::create_dir(out)?;
    output::write_json(&out.join("config.json"), cfg)?;
    output::write_csv(
        &out.join("loss.csv"),
        &["epoch", "loss", "seconds"],
        outcome
            .loss
            .iter()
            .zip(&outcome.seconds.epochs)
            .enumerate()
            .map(|(e, (l, s))| vec![(e + 1).to_string(), l.to_string(), s.to_string()]),
    )?;
    for (label, analysis) in [("train", &outcome.train), ("test", &outcome.test)] {
        write_confusion(out, label, analysis)?;
    }
    output::write_json(
        &out.join("metrics.json"),
        &Metrics {
            device: device_name(device),
            engine: cfg.resolved_engine(),
            threads: tch::get_num_threads(),
            chance_accuracy: chance_level(cfg.num_classes),
            train: &outcome.train,
            test: &outcome.test,
            loss_hist: &outcome.loss,
            seconds: &outcome.seconds,
        },
    )?;
    output::save_weights(&out.join("weights.safetensors"), &outcome.weights)?;
    if plots {
        plots::loss_curve(&outcome.loss, &out.join("loss"))?;
        for (label, analysis) in [("Train", &outcome.train), ("Test", &outcome.test)] {
            let confusion = analysis.confusion_normalised();
            plots::analysis_figure(
                &plots::AnalysisFigure {
                    label,
                    num_classes: cfg.num_classes,
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
        "--samples must be between 1 and {}, got {}",
        plots::MAX_RASTER_PANELS,
        args.samples
    );
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("results/stimulus-seed{}", cfg.seed)));
    output::check_out_dir(&out)?;
    let mut rng = StimulusRng::new(&cfg)?;
    let data = random_ipd_input_signal(&cfg, args.samples, &mut rng, device)?;
    output::create_dir(&out)?;
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
            println!("{}", file.display());
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
    chance_accuracy: f64,
    test: &'a Analysis,
}

pub fn eval(args: &EvalArgs) -> Result<()> {
    let mut config_args = args.config.clone();
    // Weights remember the shapes they were trained with: start from the
    // config saved beside them unless told otherwise.
    let beside = args.weights.with_file_name("config.json");
    if config_args.config.is_none() && beside.is_file() {
        config_args.config = Some(beside);
    }
    let cfg = config_args.resolve()?;
    let device = runtime(&args.runtime)?;
    let weights = output::load_weights(&args.weights, &cfg, device)?;
    if let Some(out) = &args.out {
        output::check_out_dir(out)?;
    }
    let test_data = experiment::test_set(&cfg, device)?;
    let _generator = seed_torch(cfg.seed);
    let test = analyse(&test_data, &weights, &cfg)?;
    if !args.runtime.quiet {
        print_chance_level(cfg.num_classes);
        print_analysis("Test", &test);
    }
    if let Some(out) = &args.out {
        output::create_dir(out)?;
        write_confusion(out, "test", &test)?;
        output::write_json(
            &out.join("eval.json"),
            &EvalReport {
                weights: args.weights.display().to_string(),
                device: device_name(device),
                chance_accuracy: chance_level(cfg.num_classes),
                test: &test,
            },
        )?;
    }
    Ok(())
}

/// Splits the cores among parallel runs: libtorch gives every process a
/// thread per core, and OpenMP threads spin-waiting on oversubscribed cores
/// slow every run down.
fn threads_per_job(jobs: usize) -> Option<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (jobs > 1).then(|| (cores / jobs).max(1))
}

/// Checks every input, then runs (or with --dry-run lists) a sweep's jobs,
/// each as a child `snnloc train` of this very executable.
pub fn sweep(args: &SweepArgs) -> Result<()> {
    let base = args.config.resolve_unvalidated()?;
    let spec = SweepSpec::new(&args.param, &args.values, args.repeats, base)?;
    let shard: Shard = args.shard.parse()?;
    // The children use --device and --threads; a bad one fails here, once.
    runtime(&args.runtime)?;
    if args.dry_run {
        for job in spec.jobs(shard) {
            println!(
                "job {} {}={} repeat {}: {}",
                job.index,
                spec.param,
                job.value,
                job.repeat,
                sweep::train_command(&spec.config(&job)?, &spec.param)?
            );
        }
        return Ok(());
    }
    let exe = std::env::current_exe().context("cannot find the snnloc executable to run")?;
    sweep::run(
        &spec,
        &sweep::Options {
            out: args.out.clone(),
            shard,
            launcher: Launcher {
                exe,
                device: args.runtime.device.clone(),
                threads: args.runtime.threads.or_else(|| threads_per_job(args.jobs)),
            },
            jobs: args.jobs,
            max_runs: args.max_runs,
            force: args.force,
            quiet: args.runtime.quiet,
        },
    )?;
    Ok(())
}

pub fn sweep_merge(args: &SweepMergeArgs) -> Result<()> {
    let report = sweep::merge(&args.out, &args.dirs)?;
    if !args.quiet {
        println!(
            "merged {} of {} jobs into {}{}",
            report.merged,
            report.total,
            args.out.display(),
            if report.merged < report.total {
                "; run the missing shards, or `snnloc sweep ... --out` the merged folder to run the rest"
            } else {
                ""
            }
        );
    }
    Ok(())
}
