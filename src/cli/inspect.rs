//! `inspect` (what a trained network learned) and `ideal` (the information
//! limit of a stimulus), on top of `snnloc::inspect`. Both run on the CPU
//! and without training.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use tch::Device;

use super::present::say;
use super::runtime::set_threads;
use super::{IdealArgs, InspectArgs};
use snnloc::config::{Config, PhaseOffset};
use snnloc::experiment::test_set;
use snnloc::ideal::{
    check_ideal, ideal_limits, offset_window_steps, IdealLimits, IdealResult, DEFAULT_PHASE_POINTS,
};
use snnloc::inspect::ideal_rows::summary_rows;
use snnloc::inspect::tables::IDEAL_SUMMARY_CSV;
use snnloc::inspect::{inspect, write_csvs, write_figures, Inspection};
use snnloc::model::Weights;
use snnloc::output;
use snnloc::run_folder::RunFolder;
use snnloc::stimulus::Dataset;

pub fn inspect_run(args: &InspectArgs) -> Result<()> {
    set_threads(args.cpu.threads)?;
    let run = RunFolder::new(&args.run_dir);
    let mut cfg = run.read_config()?;
    if let Some(seed) = args.seed {
        cfg.run.seed = seed;
    }
    cfg.validate()?;
    check_ideal(&cfg)?;
    let weights = run.read_weights(&cfg, Device::Cpu)?;
    let out = args.out.clone().unwrap_or_else(|| run.inspect_dir());
    claim_inspect_folder(&out, args.force)?;
    let data = test_set(&cfg, Device::Cpu)?;
    snnloc::staging::write_folder(&out, |dir| {
        inspect_into(&cfg, &weights, &data, (dir, &out), args.cpu.quiet)
    })
}

/// Decides, before any work, that `inspect` may replace `out` whole: it is
/// new, or holds only what `inspect` writes (CSVs and figures), unless
/// `force`.
fn claim_inspect_folder(out: &Path, force: bool) -> Result<()> {
    let exists = output::check_folder_path(out)?;
    if exists && !force {
        let ours = |name: &str| {
            [".csv", ".png", ".svg"]
                .iter()
                .any(|ext| name.ends_with(ext))
                || name.starts_with('.')
        };
        for entry in std::fs::read_dir(out)?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            anyhow::ensure!(
                ours(&name) && entry.path().is_file(),
                "`out` {} holds {name}, which inspect does not write; choose another `out`, or add `force` to replace the folder whole",
                out.display()
            );
        }
    }
    match exists {
        true => output::prepare_dir(snnloc::staging::parent(out)),
        // An empty folder, which the finished inspection takes the place of.
        false => output::prepare_dir(out),
    }
}

/// Inspects `w` on `data`, writes the CSVs and figures into the first
/// folder of `(out, shown)` and, unless quiet, prints what they show in a
/// few lines, naming the second, where the files will be.
pub fn inspect_into(
    cfg: &Config,
    w: &Weights,
    data: &Dataset,
    (out, shown): (&Path, &Path),
    quiet: bool,
) -> Result<()> {
    let clock = Instant::now();
    let ins = inspect(cfg, w, data)?;
    let analysis = clock.elapsed().as_secs_f64();
    let clock = Instant::now();
    let csvs = write_csvs(out, cfg, &ins)?;
    let figures = write_figures(out, cfg, &ins)?;
    if !quiet {
        print_inspection(&ins)?;
        say!(
            "Inspected {} samples in {analysis:.2} s, figures in {:.2} s; {} CSV files and {} figures (PNG and SVG) in {}",
            ins.recording.len(),
            clock.elapsed().as_secs_f64(),
            csvs.len(),
            figures.len() / 2,
            shown.display()
        )?;
    }
    Ok(())
}

fn print_inspection(ins: &Inspection) -> Result<()> {
    let n = &ins.comparison.network;
    say!(
        "Network: accuracy {:.1}%, absolute error {:.1} deg, class-midpoint error {:.1} deg, decoded error {:.1} deg",
        n.accuracy_pct,
        n.abs_error_deg,
        n.midpoint_error_deg,
        n.decoded_error_deg
    )?;
    let units = &ins.hidden.units;
    let preferred: Vec<f64> = units
        .iter()
        .filter_map(|u| u.preferred.map(|p| p.ipd_deg))
        .collect();
    let (low, high) = preferred
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| {
            (l.min(x), h.max(x))
        });
    let silent = units.len() - preferred.len();
    if preferred.is_empty() {
        say!("Hidden units: all {} silent", units.len())?;
    } else {
        say!(
            "Hidden units: {silent} of {} silent; the others prefer IPDs from {low:.0} to {high:.0} deg",
            units.len()
        )?;
    }
    let a = &ins.ablation;
    if let Some(&top) = a.importance_order.last() {
        say!(
            "Ablation: silencing unit {top} alone costs {:.1} points of accuracy, the most of any unit",
            a.intact.accuracy_pct - a.single[top].accuracy_pct
        )?;
    }
    print_ideal(&ins.ideal)
}

pub fn ideal(args: &IdealArgs) -> Result<()> {
    let cfg = args.config.resolve()?;
    set_threads(args.cpu.threads)?;
    check_ideal(&cfg)?;
    if let Some(window_ms) = args.offset_window_ms {
        offset_window_steps(&cfg, window_ms)?;
    }
    if let Some(out) = &args.out {
        output::prepare_dir(out)?;
    }
    let data = test_set(&cfg, Device::Cpu)?;
    let mut limits = ideal_limits(&cfg, &data, DEFAULT_PHASE_POINTS)?;
    if let Some(window_ms) = args.offset_window_ms {
        limits = limits.with_offset_window(&cfg, &data, window_ms)?;
    }
    if !args.cpu.quiet {
        say!(
            "Ideal observer on the test set of seed {} ({} samples, {}):",
            cfg.run.seed,
            data.len(),
            match cfg.stimulus.phase_offset {
                PhaseOffset::PerCall => "one phase offset shared by all samples",
                PhaseOffset::PerSample => "a phase offset per sample",
            }
        )?;
        print_ideal(&limits)?;
    }
    if let Some(out) = &args.out {
        output::create_dir(out)?;
        let path = out.join(IDEAL_SUMMARY_CSV);
        output::write_csv_rows(&path, summary_rows(&limits, None))?;
        if !args.cpu.quiet {
            say!("{}", path.display())?;
        }
    }
    Ok(())
}

fn print_ideal(limits: &IdealLimits) -> Result<()> {
    print_observer("Ideal observer", &limits.unknown_offset)?;
    if let Some((offset, known)) = &limits.known_offset {
        print_observer(
            &format!(
                "Ideal observer told the shared offset ({:.1} deg, estimated from all samples' first-ear spikes; an upper bound)",
                offset.to_degrees()
            ),
            known,
        )?;
    }
    if let Some((window_ms, r)) = &limits.offset_window {
        print_observer(
            &format!("Ideal observer that forgets the offset after every {window_ms} ms"),
            r,
        )?;
    }
    Ok(())
}

fn print_observer(label: &str, r: &IdealResult) -> Result<()> {
    let s = &r.score;
    say!(
        "{label}: accuracy {:.1}%, absolute error {:.1} deg, class-midpoint error {:.1} deg, decoded (posterior median) error {:.2} deg, MAP IPD rms error {:.2} deg",
        s.accuracy_pct, s.abs_error_deg, s.midpoint_error_deg, s.decoded_error_deg, r.map_ipd_rms_deg
    )
}
