//! Ablation: the accuracy lost when each hidden unit is silenced alone,
//! and the accuracy as units are silenced one after another, least
//! important first.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::rates::draw_unit_bars;
use super::style::{
    draw_curve, draw_frame, draw_legend, draw_level, integer_label, padded_range, styled_mesh,
    MPL_BLUE, MPL_GREY, TICK_PX, TITLE_PX,
};
use super::text::font;
use super::{save, Figure};

pub struct AblationFigure<'a> {
    /// By unit index: accuracy (percentage points) lost when that unit
    /// alone is silenced; negative where silencing it helps.
    pub accuracy_lost: &'a [f64],
    /// Units that never fired (silencing them changes nothing).
    pub silent: &'a [bool],
    /// Accuracy (%) with the first k units of the importance order
    /// silenced, k = 0 (intact) to every unit.
    pub cumulative_accuracy: &'a [f64],
    /// Accuracy of guessing, %.
    pub chance: f64,
}

pub fn ablation_figure(fig: &AblationFigure, stem: &Path) -> Result<Vec<PathBuf>> {
    let n = fig.accuracy_lost.len();
    ensure!(n > 0, "ablation figure needs at least one unit");
    ensure!(
        fig.silent.len() == n && fig.cumulative_accuracy.len() == n + 1,
        "ablation figure needs a silent flag per unit and n + 1 cumulative accuracies"
    );
    save(fig, stem)
}

impl Figure for AblationFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1100, 450)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
        self.draw_single(&left)?;
        self.draw_cumulative(&right)
    }
}

impl AblationFigure<'_> {
    fn draw_single<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let n = self.accuracy_lost.len();
        let y = padded_range(self.accuracy_lost.iter().copied().chain([0.0, 1.0]), 0.1);
        let mut chart = ChartBuilder::on(area)
            .caption("Silencing one unit", font(TITLE_PX))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(
                -0.7..n as f64 - 0.3,
                y.start..y.end + 0.15 * (y.end - y.start),
            )?;
        styled_mesh(&mut chart)
            .x_label_formatter(&integer_label)
            .x_desc("Hidden unit")
            .y_desc("Accuracy lost (percentage points)")
            .draw()?;
        draw_level(&mut chart, 0.0, MPL_GREY, None)?;
        draw_unit_bars(&mut chart, self.accuracy_lost, self.silent, "Accuracy lost")?;
        draw_legend(&mut chart, TICK_PX, SeriesLabelPosition::UpperRight)?;
        draw_frame(&chart)
    }

    fn draw_cumulative<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let n = self.accuracy_lost.len() as f64;
        let mut chart = ChartBuilder::on(area)
            .caption("Silencing units, least important first", font(TITLE_PX))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.02 * n..1.02 * n, 0.0..100.0)?;
        styled_mesh(&mut chart)
            .x_label_formatter(&integer_label)
            .x_desc("Units silenced")
            .y_desc("Accuracy (%)")
            .draw()?;
        draw_level(&mut chart, self.chance, MPL_GREY, Some("Chance"))?;
        let points = self.cumulative_accuracy.iter().enumerate();
        let points = points.map(|(k, &a)| (k as f64, a));
        draw_curve(&mut chart, points, MPL_BLUE, false, Some("Network"))?;
        draw_legend(&mut chart, TICK_PX, SeriesLabelPosition::UpperRight)?;
        draw_frame(&chart)
    }
}
