//! The training loss against the epoch.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{draw_frame, integer_label, padded_range, styled_mesh, MPL_BLUE};
use super::{save, Figure};

/// Draws the mean training loss against the epoch, epochs counted from 1.
pub fn loss_curve(loss_per_epoch: &[f64], stem: &Path) -> Result<Vec<PathBuf>> {
    ensure!(
        !loss_per_epoch.is_empty(),
        "loss curve needs at least one epoch"
    );
    save(&LossCurve(loss_per_epoch), stem)
}

struct LossCurve<'a>(&'a [f64]);

impl Figure for LossCurve<'_> {
    // matplotlib's default figure size at 100 dpi.
    fn size(&self) -> (u32, u32) {
        (640, 480)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let epochs = self.0.len() as f64;
        let x_range = padded_range([1.0, epochs].into_iter(), 0.05);
        let y_range = padded_range(self.0.iter().copied(), 0.05);
        let mut chart = ChartBuilder::on(root)
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(x_range, y_range)?;
        styled_mesh(&mut chart)
            .x_label_formatter(&integer_label)
            .x_desc("Epoch")
            .y_desc("Loss")
            .draw()?;
        // A non-finite loss breaks the line, as in matplotlib.
        let points = self.0.iter().enumerate().map(|(i, &l)| ((i + 1) as f64, l));
        let mut run = Vec::new();
        let style = MPL_BLUE.stroke_width(2);
        for (x, y) in points.chain([(f64::NAN, f64::NAN)]) {
            if y.is_finite() {
                run.push((x, y));
            } else if !run.is_empty() {
                if run.len() == 1 {
                    // A lone finite epoch would be an invisible zero-length line.
                    chart.draw_series([Circle::new(run[0], 2, style.filled())])?;
                } else {
                    chart.draw_series(LineSeries::new(run.iter().copied(), style))?;
                }
                run.clear();
            }
        }
        draw_frame(&chart)
    }
}
