//! A parameter sweep: mean +- std error bars of each series, and dashed
//! reference lines (the ideal observer) beside them.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{
    draw_curve, draw_frame, draw_legend, finite_or_zero, least_crowded_corner, padded_range,
    styled_mesh, Chart, LABEL_PX, MPL_BLUE, MPL_BROWN, MPL_GREEN, MPL_GREY, MPL_ORANGE, MPL_PINK,
    MPL_PURPLE, MPL_RED,
};
use super::{save, Figure};

/// One curve of a sweep figure: mean +- std at each x.
pub struct ErrorBarSeries<'a> {
    pub label: &'a str,
    pub x: &'a [f64],
    pub mean: &'a [f64],
    pub std: &'a [f64],
}

/// A limit drawn as a dashed line through a value at each x.
pub struct ReferenceLine<'a> {
    pub label: &'a str,
    pub x: &'a [f64],
    pub y: &'a [f64],
}

/// Reference line colours: black, then grey.
const REFERENCE_COLOURS: [RGBColor; 2] = [BLACK, MPL_GREY];

/// Sweep series colours: the notebook draws training in blue and test in red.
const SERIES_COLOURS: [RGBColor; 7] = [
    MPL_BLUE, MPL_RED, MPL_GREEN, MPL_PURPLE, MPL_ORANGE, MPL_BROWN, MPL_PINK,
];

/// Draws mean +- std error bars of each series, and the reference lines,
/// against a swept parameter.
pub fn sweep_figure(
    x_label: &str,
    y_label: &str,
    series: &[ErrorBarSeries],
    references: &[ReferenceLine],
    stem: &Path,
) -> Result<Vec<PathBuf>> {
    ensure!(!series.is_empty(), "sweep figure needs at least one series");
    ensure!(
        references.len() <= REFERENCE_COLOURS.len(),
        "sweep figure draws at most {} reference lines",
        REFERENCE_COLOURS.len()
    );
    for r in references {
        ensure!(
            r.x.len() == r.y.len(),
            "reference line '{}' has {} x values and {} y values",
            r.label,
            r.x.len(),
            r.y.len()
        );
    }
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
            references,
        },
        stem,
    )
}

struct Sweep<'a> {
    x_label: &'a str,
    y_label: &'a str,
    series: &'a [ErrorBarSeries<'a>],
    references: &'a [ReferenceLine<'a>],
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
        for (line, &colour) in self.references.iter().zip(&REFERENCE_COLOURS) {
            let points = line.x.iter().copied().zip(line.y.iter().copied());
            draw_curve(&mut chart, points, colour, true, Some(line.label))?;
        }
        let (x0, x1) = (x_range.start, x_range.end);
        let bars = self.series.iter().flat_map(|s| {
            s.x.iter()
                .zip(s.mean)
                .zip(s.std)
                .flat_map(|((&x, &m), &sd)| {
                    let sd = finite_or_zero(sd);
                    [(x, m - sd), (x, m), (x, m + sd)]
                })
        });
        let lines = self
            .references
            .iter()
            .flat_map(|r| r.x.iter().copied().zip(r.y.iter().copied()));
        let marks = bars
            .chain(lines)
            .map(|(x, y)| ((x - x0) / (x1 - x0), y / 100.0));
        draw_legend(&mut chart, LABEL_PX, least_crowded_corner(marks))?;
        draw_frame(&chart)
    }
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
