//! The stimulus figure: spike rasters of up to eight stimuli.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{draw_cells, draw_frame, integer_label, styled_mesh, TITLE_PX};
use super::text::font;
use super::{save, Figure};

/// One panel of the stimulus raster: spikes[t * neurons + n] in {0,1}.
pub struct RasterPanel {
    pub ipd_deg: i64,
    pub steps: usize,
    pub neurons: usize,
    pub spikes: Vec<u8>,
}

/// The most panels the 2x4 raster grid holds, as in the notebook.
pub const MAX_RASTER_PANELS: usize = 8;

pub(super) const RASTER_ROWS: usize = 2;
pub(super) const RASTER_COLS: usize = 4;

/// Draws spike rasters for up to eight stimuli, neurons down and time across.
pub fn stimulus_raster(panels: &[RasterPanel], stem: &Path) -> Result<Vec<PathBuf>> {
    ensure!(
        (1..=MAX_RASTER_PANELS).contains(&panels.len()),
        "stimulus raster needs 1 to {MAX_RASTER_PANELS} panels, got {}",
        panels.len()
    );
    for (i, panel) in panels.iter().enumerate() {
        ensure!(
            panel.steps > 0 && panel.neurons > 0,
            "raster panel {i} is empty ({} steps x {} neurons)",
            panel.steps,
            panel.neurons
        );
        let expected = panel.steps.checked_mul(panel.neurons);
        ensure!(
            expected == Some(panel.spikes.len()),
            "raster panel {i} has {} spike values, expected {} steps x {} neurons",
            panel.spikes.len(),
            panel.steps,
            panel.neurons
        );
    }
    save(&Raster(panels), stem)
}

struct Raster<'a>(&'a [RasterPanel]);

/// Room for tick labels plus the axis description, in pixels.
const RASTER_X_LABEL_AREA: u32 = 40;
const RASTER_Y_TICK_AREA: u32 = 34;
const RASTER_Y_DESC_EXTRA: u32 = 20;

impl Figure for Raster<'_> {
    fn size(&self) -> (u32, u32) {
        (1000, 400)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let (w, h) = root.dim_in_pixel();
        // The left column is wider by the y description so that all panels
        // get plotting areas of one size, as matplotlib's tight_layout does.
        let col_w = (w - RASTER_Y_DESC_EXTRA) / RASTER_COLS as u32;
        let x_breaks: Vec<u32> = (1..RASTER_COLS as u32)
            .map(|c| RASTER_Y_DESC_EXTRA + c * col_w)
            .collect();
        let cells = root.split_by_breakpoints(x_breaks, [h / RASTER_ROWS as u32]);
        for (i, (panel, cell)) in self.0.iter().zip(&cells).enumerate() {
            let left_column = i % RASTER_COLS == 0;
            // Label time on every panel with no panel below it, so that
            // layouts with fewer than eight panels keep their x label.
            let nothing_below = i + RASTER_COLS >= self.0.len();
            draw_raster_panel(cell, panel, left_column, nothing_below)?;
        }
        Ok(())
    }
}

fn draw_raster_panel<DB: DrawingBackend>(
    cell: &DrawingArea<DB, Shift>,
    panel: &RasterPanel,
    y_desc: bool,
    x_desc: bool,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (steps, neurons) = (panel.steps as f64, panel.neurons as f64);
    let y_area = RASTER_Y_TICK_AREA + if y_desc { RASTER_Y_DESC_EXTRA } else { 0 };
    // Pixel centres sit on integer coordinates like matplotlib's imshow; the
    // y axis holds -neuron so that neuron 0 is at the top (origin='upper').
    let mut chart = ChartBuilder::on(cell)
        .caption(format!("True IPD = {} deg", panel.ipd_deg), font(TITLE_PX))
        .margin(6)
        .margin_right(10)
        .x_label_area_size(RASTER_X_LABEL_AREA)
        .y_label_area_size(y_area)
        .build_cartesian_2d(-0.5..steps - 0.5, -(neurons - 0.5)..0.5)?;
    let mut mesh = styled_mesh(&mut chart);
    mesh.x_labels(5)
        .y_labels(5)
        .x_label_formatter(&integer_label)
        .y_label_formatter(&|y| integer_label(&-y));
    if x_desc {
        mesh.x_desc("Time (steps)");
    }
    if y_desc {
        mesh.y_desc("Input neuron index");
    }
    mesh.draw()?;

    draw_cells(&chart, (panel.neurons, panel.steps), |n, t| {
        if panel.spikes[t * panel.neurons + n] != 0 {
            BLACK
        } else {
            WHITE
        }
    })?;
    draw_frame(&chart)
}
