//! The figures of an inspection, PNG and SVG: each analysis handed to its
//! `plots` figure, hidden units in the order of their preferred IPD
//! wherever units line up (tuning, activity, weights).

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{Activity, ClassComparison, HiddenTuning, Inspection, OutputTuning, WeightMaps};
use crate::analysis::chance_level;
use crate::config::Config;
use crate::labels::class_ipd_deg;
use crate::labels::Score;
use crate::output::create_dir;
use crate::plots::{
    ablation_figure, activity_figure, comparison_figure, histogram_figure, rates_figure,
    tuning_grid, weight_heatmaps, AblationFigure, ActivityFigure, ActivityPanel, ClassSeries,
    Colours, ComparisonFigure, HistogramFigure, HistogramPanel, RatesFigure, TuningGrid,
    TuningPanel, WeightHeatmaps, WeightPanel,
};

pub const HIDDEN_TUNING_FIGURE: &str = "hidden_tuning";
pub const OUTPUT_TUNING_FIGURE: &str = "output_tuning";
pub const HIDDEN_ACTIVITY_FIGURE: &str = "hidden_activity";
pub const HIDDEN_RATES_FIGURE: &str = "hidden_rates";
pub const WEIGHTS_W1_FIGURE: &str = "weights_w1";
pub const WEIGHTS_W2_FIGURE: &str = "weights_w2";
pub const WEIGHTS_INPUT_CLASS_FIGURE: &str = "weights_input_class";
/// Drawn only where the hidden layer is recurrent.
pub const WEIGHTS_REC_FIGURE: &str = "weights_rec";
/// Drawn beside the others only where the synapses have delays.
pub const DELAYS_FIGURE: &str = "synaptic_delays";
pub const ABLATION_FIGURE: &str = "ablation";
pub const IDEAL_FIGURE: &str = "ideal_vs_network";
/// Drawn only where each unit has its own τ.
pub const TIME_CONSTANTS_FIGURE: &str = "time_constants";

/// Draws every figure into `dir` (created if needed) and returns the files.
pub fn write_figures(dir: &Path, cfg: &Config, ins: &Inspection) -> Result<Vec<PathBuf>> {
    create_dir(dir)?;
    let stem = |name: &str| dir.join(name);
    let mut files = hidden_tuning(cfg, &ins.hidden, &stem(HIDDEN_TUNING_FIGURE))?;
    files.extend(output_tuning(
        cfg,
        &ins.output,
        &stem(OUTPUT_TUNING_FIGURE),
    )?);
    files.extend(activity(
        cfg,
        &ins.activity,
        &ins.hidden.order,
        &stem(HIDDEN_ACTIVITY_FIGURE),
    )?);
    files.extend(rates(ins, &stem(HIDDEN_RATES_FIGURE))?);
    files.extend(weights(&ins.weights, &ins.hidden, dir)?);
    files.extend(ablation(cfg, ins, &stem(ABLATION_FIGURE))?);
    files.extend(comparison(cfg, ins, &stem(IDEAL_FIGURE))?);
    if let Some(tau) = &ins.weights.tau_ms {
        files.extend(time_constants(cfg, tau, &stem(TIME_CONSTANTS_FIGURE))?);
    }
    Ok(files)
}

fn class_midpoints(cfg: &Config) -> Vec<f64> {
    let n = cfg.data.num_classes;
    (0..n).map(|c| class_ipd_deg(c, n)).collect()
}

fn hidden_tuning(cfg: &Config, tuning: &HiddenTuning, stem: &Path) -> Result<Vec<PathBuf>> {
    let panels: Vec<TuningPanel> = tuning
        .order
        .iter()
        .map(|&j| {
            let unit = &tuning.units[j];
            let stats = &unit.per_class;
            TuningPanel {
                title: match unit.preferred {
                    Some(p) => format!("unit {j}: {:.0}°", p.ipd_deg),
                    None => format!("unit {j}: silent"),
                },
                mean: stats.iter().map(|s| s.mean).collect(),
                // A rate is never negative, whatever mean − 1.96 SD says.
                low: stats.iter().map(|s| s.low().max(0.0)).collect(),
                high: stats.iter().map(|s| s.high()).collect(),
                mark_x: None,
                muted: unit.silent(),
            }
        })
        .collect();
    tuning_grid(
        &TuningGrid {
            title: "Hidden units by preferred IPD: rate per true IPD class (mean, 95% of samples)",
            x: &class_midpoints(cfg),
            x_label: "True IPD (deg)",
            y_label: "Rate (spikes/s)",
            panels: &panels,
        },
        stem,
    )
}

fn output_tuning(cfg: &Config, tuning: &OutputTuning, stem: &Path) -> Result<Vec<PathBuf>> {
    let midpoints = class_midpoints(cfg);
    let panels: Vec<TuningPanel> = tuning
        .score
        .iter()
        .enumerate()
        .map(|(k, stats)| TuningPanel {
            title: format!("output {k}: {:+.1}°", midpoints[k]),
            mean: stats.iter().map(|s| s.mean).collect(),
            low: stats.iter().map(|s| s.low()).collect(),
            high: stats.iter().map(|s| s.high()).collect(),
            mark_x: Some(midpoints[k]),
            muted: false,
        })
        .collect();
    tuning_grid(
        &TuningGrid {
            title: "Output units: class score per true IPD class (mean, 95% of samples); dashed: the IPD each output stands for",
            x: &midpoints,
            x_label: "True IPD (deg)",
            y_label: "Score",
            panels: &panels,
        },
        stem,
    )
}

fn activity(
    cfg: &Config,
    activity: &Activity,
    order: &[usize],
    stem: &Path,
) -> Result<Vec<PathBuf>> {
    let panels: Vec<ActivityPanel> = activity
        .samples
        .iter()
        .map(|s| {
            let spikes = s.spikes.iter();
            let potentials = s.membrane.iter();
            ActivityPanel {
                caption: format!(
                    "IPD {:.0}°: class {}, estimate {}",
                    s.ipd_deg, s.true_class, s.predicted_class
                ),
                steps: s.spikes.len(),
                units: order.len(),
                spikes: spikes
                    .flat_map(|row| order.iter().map(|&j| row[j] as u8))
                    .collect(),
                membrane: potentials
                    .flat_map(|row| order.iter().map(|&j| row[j]))
                    .collect(),
            }
        })
        .collect();
    activity_figure(
        &ActivityFigure {
            panels: &panels,
            dt_ms: cfg.stimulus.dt_ms,
            threshold: cfg.network.threshold,
        },
        stem,
    )
}

fn rates(ins: &Inspection, stem: &Path) -> Result<Vec<PathBuf>> {
    let units = &ins.hidden.units;
    let silent: Vec<bool> = units.iter().map(|u| u.silent()).collect();
    let title = format!(
        "Hidden firing rates on {} samples: {} of {} units silent",
        ins.recording.len(),
        silent.iter().filter(|&&s| s).count(),
        units.len()
    );
    rates_figure(
        &RatesFigure {
            title: &title,
            mean_hz: &units.iter().map(|u| u.mean_rate_hz).collect::<Vec<_>>(),
            sd_hz: &units.iter().map(|u| u.rate_sd_hz).collect::<Vec<_>>(),
            silent: &silent,
        },
        stem,
    )
}

/// The range of `n` equal cells centred on the first and last of `centres`.
fn cell_range(centres: &[f64]) -> Range<f64> {
    let (first, last) = (centres[0], centres[centres.len() - 1]);
    let half = if centres.len() > 1 {
        0.5 * (last - first) / (centres.len() - 1) as f64
    } else {
        0.5
    };
    first - half..last + half
}

/// A heatmap axis: its label and the data range its cells span.
type Axis<'a> = (&'a str, Range<f64>);

fn panel<'a>(
    title: &'a str,
    (x_label, x_range): &Axis<'a>,
    (y_label, y_range): &Axis<'a>,
    values: &'a [Vec<f32>],
    x_dividers: &'a [f64],
) -> WeightPanel<'a> {
    WeightPanel {
        title,
        x_label,
        y_label,
        x_range: x_range.clone(),
        y_range: y_range.clone(),
        values,
        x_dividers,
    }
}

/// A weight figure: its file stem, colour-bar label, size and panels.
type HeatmapFigure<'a> = (&'a str, &'a str, (u32, u32), Vec<WeightPanel<'a>>);

/// The hidden units' axis of the weight maps, in tuning order, and where
/// the dashed line before the silent units goes.
fn unit_axis(maps: &WeightMaps, tuning: &HiddenTuning) -> (Axis<'static>, Vec<f64>) {
    let hidden = maps.unit_order.len();
    let active = tuning.units.iter().filter(|u| !u.silent()).count();
    let dividers: Vec<f64> = (active > 0 && active < hidden)
        .then_some(active as f64 - 0.5)
        .into_iter()
        .collect();
    let units = (
        "Hidden unit (rank by preferred IPD)",
        -0.5..hidden as f64 - 0.5,
    );
    (units, dividers)
}

fn draw_heatmaps(
    figures: Vec<HeatmapFigure>,
    colours: Colours,
    dir: &Path,
) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for (name, colour_label, size, panels) in figures {
        let maps = WeightHeatmaps {
            panels: &panels,
            colour_label,
            colours,
            size,
        };
        files.extend(weight_heatmaps(&maps, &dir.join(name))?);
    }
    Ok(files)
}

/// The weight figures: W1 per ear and W2 with units in tuning order
/// (silent units right of a dashed line), W1·W2 per ear, W_rec where the
/// layer is recurrent, and the W1 synapses' delays per ear where they have
/// them.
fn weights(maps: &WeightMaps, tuning: &HiddenTuning, dir: &Path) -> Result<Vec<PathBuf>> {
    let (units, dividers) = unit_axis(maps, tuning);
    let delays = ("Fibre phase delay (deg)", cell_range(&maps.delay_deg));
    let classes = ("Output class (midpoint IPD, deg)", -90.0..90.0);
    let (w1, w2) = ((&units, &delays), transpose(&maps.w2));
    let figures = vec![
        (
            WEIGHTS_W1_FIGURE,
            "Weight",
            (1200, 500),
            vec![
                panel(
                    "W1, left ear (no IPD)",
                    w1.0,
                    w1.1,
                    &maps.w1_left,
                    &dividers,
                ),
                panel(
                    "W1, right ear (lags by the IPD)",
                    w1.0,
                    w1.1,
                    &maps.w1_right,
                    &dividers,
                ),
            ],
        ),
        (
            WEIGHTS_W2_FIGURE,
            "Weight",
            (760, 500),
            vec![panel(
                "W2, hidden unit to output class",
                &units,
                &classes,
                &w2,
                &dividers,
            )],
        ),
        (
            WEIGHTS_INPUT_CLASS_FIGURE,
            "Weight product",
            (1200, 500),
            vec![
                panel(
                    "W1·W2, left ear",
                    &classes,
                    &delays,
                    &maps.input_class_left,
                    &[],
                ),
                panel(
                    "W1·W2, right ear",
                    &classes,
                    &delays,
                    &maps.input_class_right,
                    &[],
                ),
            ],
        ),
    ];
    let mut files = draw_heatmaps(figures, Colours::Signed, dir)?;
    if let Some(w_rec) = &maps.w_rec {
        // Drawn with the source along x, so rows are its columns.
        let to = (
            "Target hidden unit (rank by preferred IPD)",
            units.1.clone(),
        );
        let w_rec = transpose(w_rec);
        let panels = vec![panel(
            "W_rec, from each hidden unit (x) to each (y)",
            &units,
            &to,
            &w_rec,
            &dividers,
        )];
        let figure = (WEIGHTS_REC_FIGURE, "Weight", (760, 560), panels);
        files.extend(draw_heatmaps(vec![figure], Colours::Signed, dir)?);
    }
    if let Some([left, right]) = &maps.delays_ms {
        // Laid out like W1's, so that a unit's delays sit where its weights
        // do in the figure beside.
        let panels = vec![
            panel(
                "Delays, left ear (no IPD)",
                &units,
                &delays,
                left,
                &dividers,
            ),
            panel(
                "Delays, right ear (lags by the IPD)",
                &units,
                &delays,
                right,
                &dividers,
            ),
        ];
        let figure = (DELAYS_FIGURE, "Learned delay (ms)", (1200, 500), panels);
        files.extend(draw_heatmaps(vec![figure], Colours::FromZero, dir)?);
    }
    Ok(files)
}

fn transpose(rows: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let cols = rows.first().map_or(0, Vec::len);
    (0..cols)
        .map(|c| rows.iter().map(|row| row[c]).collect())
        .collect()
}

/// The distribution of each layer's time constants, against the layer's τ
/// they started from (all of them, or as the gamma draws' mean).
fn time_constants(cfg: &Config, tau: &[Vec<f32>; 2], stem: &Path) -> Result<Vec<PathBuf>> {
    let values = tau
        .each_ref()
        .map(|t| t.iter().map(|&x| f64::from(x)).collect::<Vec<_>>());
    let net = &cfg.network;
    let start = format!("initial τ ({})", net.tau_init);
    let panel = |title, values, tau| HistogramPanel {
        title,
        x_label: "Membrane time constant τ (ms)",
        values,
        reference: (tau, start.as_str()),
    };
    histogram_figure(
        &HistogramFigure {
            panels: &[
                panel("Hidden units", &values[0], net.tau_hidden_ms),
                panel("Readout units", &values[1], net.tau_output_ms),
            ],
        },
        stem,
    )
}

fn ablation(cfg: &Config, ins: &Inspection, stem: &Path) -> Result<Vec<PathBuf>> {
    let a = &ins.ablation;
    let lost: Vec<f64> = a
        .single
        .iter()
        .map(|s| a.intact.accuracy_pct - s.accuracy_pct)
        .collect();
    let silent: Vec<bool> = ins.hidden.units.iter().map(|u| u.silent()).collect();
    ablation_figure(
        &AblationFigure {
            accuracy_lost: &lost,
            silent: &silent,
            cumulative_accuracy: &a
                .cumulative
                .iter()
                .map(|s| s.accuracy_pct)
                .collect::<Vec<_>>(),
            chance: chance_level(cfg.data.num_classes),
        },
        stem,
    )
}

fn comparison(cfg: &Config, ins: &Inspection, stem: &Path) -> Result<Vec<PathBuf>> {
    let per_class = &ins.comparison.per_class;
    let scores = |pick: fn(&ClassComparison) -> Option<Score>| -> (Vec<f64>, Vec<f64>) {
        let score = |c| pick(c).map_or((f64::NAN, f64::NAN), |s| (s.accuracy_pct, s.abs_error_deg));
        per_class.iter().map(score).unzip()
    };
    let network = scores(|c| Some(c.network));
    let ideal = scores(|c| Some(c.ideal));
    let known = scores(|c| c.ideal_known_offset);
    fn series<'a>(
        label: &'a str,
        limit: bool,
        (accuracy, abs_error_deg): &'a (Vec<f64>, Vec<f64>),
    ) -> ClassSeries<'a> {
        ClassSeries {
            label,
            limit,
            accuracy,
            abs_error_deg,
        }
    }
    let mut all = vec![
        series("Network", false, &network),
        series("Ideal observer", true, &ideal),
    ];
    let known_score = ins.ideal.known_offset.as_ref().map(|(_, r)| r.score);
    if known_score.is_some() {
        all.push(series("Ideal, offset known", true, &known));
    }
    let title = format!(
        "Per class: network {:.1}% vs ideal observer {:.1}%{}",
        ins.comparison.network.accuracy_pct,
        ins.ideal.unknown_offset.score.accuracy_pct,
        known_score.map_or(String::new(), |s| format!(
            " ({:.1}% knowing the shared offset)",
            s.accuracy_pct
        ))
    );
    comparison_figure(
        &ComparisonFigure {
            title: &title,
            class_ipd_deg: &class_midpoints(cfg),
            series: &all,
            chance: chance_level(cfg.data.num_classes),
        },
        stem,
    )
}
