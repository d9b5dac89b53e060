//! Tuning curves: one small panel per unit, a quantity against the true
//! IPD with its 95% band, on one shared y scale so that panels compare.
//! `inspect` draws the hidden units' rates and the output units' scores.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{
    draw_curve, draw_frame, grid_columns, padded_range, styled_mesh, Chart, MPL_BLUE, MPL_GREY,
    MPL_RED, TICK_PX, TITLE_PX,
};
use super::text::font;
use super::{save, Figure};

/// One unit's curve: values at each of the grid's x positions.
pub struct TuningPanel {
    pub title: String,
    pub mean: Vec<f64>,
    /// The band's lower and upper edges (NaN where there is no band).
    pub low: Vec<f64>,
    pub high: Vec<f64>,
    /// An x position to mark with a vertical line (the IPD an output unit
    /// stands for).
    pub mark_x: Option<f64>,
    /// Drawn in grey: a unit that never fired.
    pub muted: bool,
}

/// Panels sharing x positions and axis labels.
pub struct TuningGrid<'a> {
    pub title: &'a str,
    pub x: &'a [f64],
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub panels: &'a [TuningPanel],
}

/// Panel size in pixels.
const PANEL: (u32, u32) = (210, 165);
/// Room above the panels for the figure's title.
const HEADER: u32 = 34;

/// Draws the grid, `grid_columns` panels a row.
pub fn tuning_grid(grid: &TuningGrid, stem: &Path) -> Result<Vec<PathBuf>> {
    ensure!(
        !grid.panels.is_empty(),
        "tuning grid needs at least one panel"
    );
    ensure!(!grid.x.is_empty(), "tuning grid needs at least one x value");
    for p in grid.panels {
        ensure!(
            [p.mean.len(), p.low.len(), p.high.len()] == [grid.x.len(); 3],
            "tuning panel '{}' does not have one mean, low and high per x value",
            p.title
        );
    }
    save(grid, stem)
}

impl TuningGrid<'_> {
    fn rows(&self) -> usize {
        self.panels.len().div_ceil(grid_columns(self.panels.len()))
    }
}

impl Figure for TuningGrid<'_> {
    fn size(&self) -> (u32, u32) {
        let cols = grid_columns(self.panels.len()) as u32;
        (
            cols * PANEL.0 + 40,
            self.rows() as u32 * PANEL.1 + HEADER + 30,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let root = root.titled(self.title, font(TITLE_PX))?;
        let cols = grid_columns(self.panels.len());
        let cells = root.split_evenly((self.rows(), cols));
        let all = self
            .panels
            .iter()
            .flat_map(|p| p.mean.iter().chain(&p.low).chain(&p.high).copied());
        let y_range = padded_range(all, 0.05);
        let x_range = padded_range(self.x.iter().copied(), 0.04);
        for (i, (panel, cell)) in self.panels.iter().zip(&cells).enumerate() {
            let left = i % cols == 0;
            let bottom = i + cols >= self.panels.len();
            let mut chart = ChartBuilder::on(cell)
                .caption(&panel.title, font(TICK_PX))
                .margin(4)
                .x_label_area_size(if bottom { 38 } else { 18 })
                .y_label_area_size(if left { 52 } else { 36 })
                .build_cartesian_2d(x_range.clone(), y_range.clone())?;
            let mut mesh = styled_mesh(&mut chart);
            mesh.x_labels(5).y_labels(4);
            if bottom {
                mesh.x_desc(self.x_label);
            }
            if left {
                mesh.y_desc(self.y_label);
            }
            mesh.draw()?;
            draw_panel_curve(&mut chart, self.x, panel)?;
            draw_frame(&chart)?;
        }
        Ok(())
    }
}

/// The band as a filled polygon, the mean as a line with a dot at each x,
/// and the mark.
fn draw_panel_curve<DB: DrawingBackend>(
    chart: &mut Chart<DB>,
    x: &[f64],
    p: &TuningPanel,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let colour = if p.muted { MPL_GREY } else { MPL_BLUE };
    if let Some(mark) = p.mark_x {
        let y = chart.y_range();
        chart.draw_series(DashedLineSeries::new(
            [(mark, y.start), (mark, y.end)],
            4,
            3,
            MPL_RED.stroke_width(1),
        ))?;
    }
    let band: Vec<(f64, f64)> = x
        .iter()
        .zip(&p.high)
        .chain(x.iter().zip(&p.low).rev())
        .filter(|(_, y)| y.is_finite())
        .map(|(&x, &y)| (x, y))
        .collect();
    if band.len() >= 3 {
        chart.draw_series([Polygon::new(band, colour.mix(0.25).filled())])?;
    }
    let points = x.iter().copied().zip(p.mean.iter().copied());
    draw_curve(chart, points, colour, false, None)?;
    Ok(())
}
