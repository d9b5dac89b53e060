//! Hidden firing rates: one bar per unit, silent units flagged.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{
    draw_frame, draw_legend, integer_label, padded_range, styled_mesh, Chart, MPL_BLUE, MPL_RED,
    TICK_PX, TITLE_PX,
};
use super::text::font;
use super::{save, Figure};

/// Each unit's mean rate and its spread over samples.
pub struct RatesFigure<'a> {
    pub title: &'a str,
    /// By unit index, spikes/s.
    pub mean_hz: &'a [f64],
    pub sd_hz: &'a [f64],
    /// Units that never fired.
    pub silent: &'a [bool],
}

pub fn rates_figure(fig: &RatesFigure, stem: &Path) -> Result<Vec<PathBuf>> {
    let n = fig.mean_hz.len();
    ensure!(n > 0, "rates figure needs at least one unit");
    ensure!(
        fig.sd_hz.len() == n && fig.silent.len() == n,
        "rates figure needs a mean, a spread and a silent flag per unit"
    );
    save(fig, stem)
}

impl Figure for RatesFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (900, 450)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let n = self.mean_hz.len();
        let tops = self.mean_hz.iter().zip(self.sd_hz).map(|(m, s)| m + s);
        let top = padded_range(tops.chain([0.0, 1.0]), 0.05).end;
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, font(TITLE_PX))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(-0.7..n as f64 - 0.3, -0.04 * top..top * 1.15)?;
        styled_mesh(&mut chart)
            .x_label_formatter(&integer_label)
            .x_desc("Hidden unit")
            .y_desc("Firing rate (mean ± sd over samples, spikes/s)")
            .draw()?;
        draw_unit_bars(&mut chart, self.mean_hz, self.silent, "Mean rate")?;
        let bars = (0..n).filter(|&j| !self.silent[j]).map(|j| {
            let (m, s) = (self.mean_hz[j], self.sd_hz[j]);
            ErrorBar::new_vertical(j as f64, m - s, m, m + s, BLACK.stroke_width(1), 6)
        });
        chart.draw_series(bars)?;
        draw_legend(&mut chart, TICK_PX, SeriesLabelPosition::UpperRight)?;
        draw_frame(&chart)
    }
}

/// One bar per unit at x = its index, and a red cross at 0 on each
/// flagged unit, labelled for the legend ("silent"); the y range should
/// reach a little below 0 so that the crosses show whole.
pub(super) fn draw_unit_bars<DB: DrawingBackend>(
    chart: &mut Chart<DB>,
    values: &[f64],
    flagged: &[bool],
    label: &str,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let style = MPL_BLUE.filled();
    let bars = values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite() && **v != 0.0)
        .map(|(j, &v)| Rectangle::new([(j as f64 - 0.35, 0.0), (j as f64 + 0.35, v)], style));
    chart
        .draw_series(bars)?
        .label(label)
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], style));
    if flagged.iter().any(|&f| f) {
        let crosses = (0..flagged.len())
            .filter(|&j| flagged[j])
            .map(|j| Cross::new((j as f64, 0.0), 6, MPL_RED.stroke_width(2)));
        chart
            .draw_series(crosses)?
            .label("silent (no spike)")
            .legend(|c| Cross::new(c, 6, MPL_RED.stroke_width(2)));
    }
    Ok(())
}
