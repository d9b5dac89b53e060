//! A parameter sweep: mean +- std error bars of each series.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{
    draw_frame, draw_legend, finite_or_zero, padded_range, styled_mesh, Chart, LABEL_PX, MPL_BLUE,
    MPL_BROWN, MPL_GREEN, MPL_GREY, MPL_ORANGE, MPL_PINK, MPL_PURPLE, MPL_RED,
};
use super::{save, Figure};

/// One curve of a sweep figure: mean +- std at each x.
pub struct ErrorBarSeries<'a> {
    pub label: &'a str,
    pub x: &'a [f64],
    pub mean: &'a [f64],
    pub std: &'a [f64],
}

/// Sweep series colours: the notebook draws training in blue and test in red.
const SERIES_COLOURS: [RGBColor; 7] = [
    MPL_BLUE, MPL_RED, MPL_GREEN, MPL_PURPLE, MPL_ORANGE, MPL_BROWN, MPL_PINK,
];

/// Draws mean +- std error bars of each series against a swept parameter.
pub fn sweep_figure(
    x_label: &str,
    y_label: &str,
    series: &[ErrorBarSeries],
    stem: &Path,
) -> Result<Vec<PathBuf>> {
    ensure!(!series.is_empty(), "sweep figure needs at least one series");
    for s in series {
        ensure!(
            s.x.len() == s.mean.len() && s.x.len() == s.std.len(),
            "sweep series '{}' has {} x values, {} means and {} stds",
            s.label,
            s.x.len(),
            s.mean.len(),
            s.std.len()
        );
    }
    save(
        &Sweep {
            x_label,
            y_label,
            series,
        },
        stem,
    )
}

struct Sweep<'a> {
    x_label: &'a str,
    y_label: &'a str,
    series: &'a [ErrorBarSeries<'a>],
}

impl Figure for Sweep<'_> {
    fn size(&self) -> (u32, u32) {
        (800, 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let x_range = padded_range(self.series.iter().flat_map(|s| s.x.iter().copied()), 0.05);
        let mut chart = ChartBuilder::on(root)
            .margin(15)
            .margin_right(25)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(x_range.clone(), 0.0..100.0)?;
        styled_mesh(&mut chart)
            .x_desc(self.x_label)
            .y_desc(self.y_label)
            .draw()?;
        for (i, series) in self.series.iter().enumerate() {
            let colour = SERIES_COLOURS.get(i).copied().unwrap_or(MPL_GREY);
            draw_error_bars(&mut chart, series, colour)?;
        }
        let (x0, x1) = (x_range.start, x_range.end);
        let marks = self.series.iter().flat_map(|s| {
            s.x.iter()
                .zip(s.mean)
                .zip(s.std)
                .flat_map(|((&x, &m), &sd)| {
                    let sd = finite_or_zero(sd);
                    [m - sd, m, m + sd].map(|y| ((x - x0) / (x1 - x0), y / 100.0))
                })
        });
        draw_legend(&mut chart, LABEL_PX, least_crowded_corner(marks))?;
        draw_frame(&chart)
    }
}

/// The corner of the plot, in axis fractions, that the fewest marks fall in:
/// where a legend hides the least data (matplotlib's `loc='best'`, coarsely).
fn least_crowded_corner(marks: impl Iterator<Item = (f64, f64)>) -> SeriesLabelPosition {
    // A legend of a few series covers about this much of the plot.
    const WIDTH: f64 = 0.25;
    const HEIGHT: f64 = 0.2;
    let corners = [
        (SeriesLabelPosition::UpperRight, 1.0 - WIDTH, 1.0 - HEIGHT),
        (SeriesLabelPosition::UpperLeft, 0.0, 1.0 - HEIGHT),
        (SeriesLabelPosition::LowerRight, 1.0 - WIDTH, 0.0),
        (SeriesLabelPosition::LowerLeft, 0.0, 0.0),
    ];
    let mut counts = [0usize; 4];
    for (x, y) in marks.filter(|(x, y)| x.is_finite() && y.is_finite()) {
        for (count, &(_, left, bottom)) in counts.iter_mut().zip(&corners) {
            *count +=
                (x >= left && x <= left + WIDTH && y >= bottom && y <= bottom + HEIGHT) as usize;
        }
    }
    // The first of the least crowded keeps the notebook's upper right on ties.
    let best = (0..4).min_by_key(|&i| counts[i]).unwrap_or(0);
    corners[best].0.clone()
}

/// Error-bar cap width in pixels (the notebook's capsize=5 points).
const CAP_WIDTH: u32 = 10;

/// One series as markers at the mean with mean +- std bars; points with a
/// non-finite x or mean are skipped, a non-finite std only loses its bar.
fn draw_error_bars<DB: DrawingBackend>(
    chart: &mut Chart<DB>,
    series: &ErrorBarSeries,
    colour: RGBColor,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let points: Vec<(f64, f64, f64)> = series
        .x
        .iter()
        .zip(series.mean)
        .zip(series.std)
        .filter(|((x, m), _)| x.is_finite() && m.is_finite())
        .map(|((&x, &m), &s)| (x, m, finite_or_zero(s).abs()))
        .collect();
    // The bar element itself marks the mean with a disc of half the cap width.
    let style = colour.filled().stroke_width(2);
    chart
        .draw_series(
            points
                .into_iter()
                .map(|(x, m, s)| ErrorBar::new_vertical(x, m - s, m, m + s, style, CAP_WIDTH)),
        )?
        .label(series.label)
        .legend(move |c| Circle::new(c, CAP_WIDTH / 2, style));
    Ok(())
}
