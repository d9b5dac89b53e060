//! The hidden layer at work on up to eight samples, laid out like the
//! stimulus raster: per sample, the hidden spikes above the membrane
//! potentials, with the threshold that the spikes read.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;

use super::raster::{MAX_RASTER_PANELS, RASTER_COLS, RASTER_ROWS};
use super::style::{
    draw_cells, draw_frame, integer_label, padded_range, styled_mesh, MPL_RED, TICK_PX,
};
use super::text::font;
use super::{save, Figure};

/// One sample: `spikes` and `membrane` are `[step * units + unit]`, units
/// in the order they should appear (top to bottom in the raster).
pub struct ActivityPanel {
    pub caption: String,
    pub steps: usize,
    pub units: usize,
    pub spikes: Vec<u8>,
    pub membrane: Vec<f32>,
}

/// Samples sharing a time step and a threshold.
pub struct ActivityFigure<'a> {
    pub panels: &'a [ActivityPanel],
    pub dt_ms: f64,
    pub threshold: f64,
}

/// Draws the panels, four a row.
pub fn activity_figure(fig: &ActivityFigure, stem: &Path) -> Result<Vec<PathBuf>> {
    ensure!(
        (1..=MAX_RASTER_PANELS).contains(&fig.panels.len()),
        "activity figure needs 1 to {MAX_RASTER_PANELS} samples, got {}",
        fig.panels.len()
    );
    for (i, p) in fig.panels.iter().enumerate() {
        let cells = p.steps * p.units;
        ensure!(
            cells > 0 && p.spikes.len() == cells && p.membrane.len() == cells,
            "activity panel {i} does not hold {} steps x {} units of spikes and potentials",
            p.steps,
            p.units
        );
    }
    save(fig, stem)
}

impl Figure for ActivityFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1200, 760)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let cells = root.split_evenly((RASTER_ROWS, RASTER_COLS));
        let potentials = self.panels.iter().flat_map(|p| &p.membrane);
        let v_range = padded_range(
            potentials.map(|&v| v as f64).chain([0.0, self.threshold]),
            0.05,
        );
        for (i, (panel, cell)) in self.panels.iter().zip(&cells).enumerate() {
            let (top, bottom) = cell.split_vertically(cell.dim_in_pixel().1 * 11 / 20);
            let left = i % RASTER_COLS == 0;
            self.draw_spikes(&top, panel, left)?;
            self.draw_membrane(&bottom, panel, left, v_range.clone())?;
        }
        Ok(())
    }
}

/// Width of the y label area: ticks, plus the description on the left
/// column.
fn y_area(left: bool) -> u32 {
    if left {
        58
    } else {
        38
    }
}

impl ActivityFigure<'_> {
    fn time_range(&self, p: &ActivityPanel) -> std::ops::Range<f64> {
        0.0..p.steps as f64 * self.dt_ms
    }

    fn draw_spikes<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        p: &ActivityPanel,
        left: bool,
    ) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let units = p.units as f64;
        // The y axis holds -rank so that the first unit is at the top.
        let mut chart = ChartBuilder::on(area)
            .caption(&p.caption, font(TICK_PX))
            .margin(5)
            .x_label_area_size(4)
            .y_label_area_size(y_area(left))
            .build_cartesian_2d(self.time_range(p), -(units - 0.5)..0.5)?;
        let mut mesh = styled_mesh(&mut chart);
        mesh.disable_x_axis()
            .y_labels(4)
            .y_label_formatter(&|y| integer_label(&-y));
        if left {
            mesh.y_desc("Hidden unit (rank)");
        }
        mesh.draw()?;
        draw_cells(&chart, (p.units, p.steps), |unit, t| {
            if p.spikes[t * p.units + unit] != 0 {
                BLACK
            } else {
                WHITE
            }
        })?;
        draw_frame(&chart)
    }

    fn draw_membrane<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        p: &ActivityPanel,
        left: bool,
        v_range: std::ops::Range<f64>,
    ) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let mut chart = ChartBuilder::on(area)
            .margin(5)
            .margin_top(0)
            .x_label_area_size(36)
            .y_label_area_size(y_area(left))
            .build_cartesian_2d(self.time_range(p), v_range)?;
        let mut mesh = styled_mesh(&mut chart);
        mesh.x_labels(5).y_labels(4).x_desc("Time (ms)");
        if left {
            mesh.y_desc("Potential");
        }
        mesh.draw()?;
        // Each unit's colour follows its rank, as down the raster above.
        for unit in 0..p.units {
            let colour = ViridisRGB.get_color_normalized(unit as f64, 0.0, p.units as f64);
            let trace = (0..p.steps)
                .map(|t| (t as f64 * self.dt_ms, p.membrane[t * p.units + unit] as f64));
            chart.draw_series(LineSeries::new(trace, colour.mix(0.7).stroke_width(1)))?;
        }
        let end = p.steps as f64 * self.dt_ms;
        chart.draw_series(DashedLineSeries::new(
            [(0.0, self.threshold), (end, self.threshold)],
            5,
            4,
            MPL_RED.stroke_width(1),
        ))?;
        draw_frame(&chart)
    }
}
