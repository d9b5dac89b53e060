//! Distributions of one quantity per unit, side by side: a histogram per
//! panel with a dashed line at a reference value (for the time constants,
//! the layer's τ from which every unit started or around which they were
//! drawn).

use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{
    draw_frame, draw_legend, integer_label, padded_range, styled_mesh, MPL_BLUE, MPL_RED, TICK_PX,
    TITLE_PX,
};
use super::text::font;
use super::{save, Figure};

/// Bins of a panel: enough to show a shape, few enough that 12 values
/// still fill some.
const BINS: usize = 20;

pub struct HistogramPanel<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub values: &'a [f64],
    /// Drawn as a dashed vertical line, with its label in the legend.
    pub reference: (f64, &'a str),
}

pub struct HistogramFigure<'a> {
    pub panels: &'a [HistogramPanel<'a>],
}

pub fn histogram_figure(fig: &HistogramFigure, stem: &Path) -> Result<Vec<PathBuf>> {
    ensure!(!fig.panels.is_empty(), "histogram figure needs a panel");
    for p in fig.panels {
        ensure!(
            !p.values.is_empty() && p.values.iter().all(|v| v.is_finite()),
            "histogram panel {:?} needs finite values",
            p.title
        );
    }
    save(fig, stem)
}

/// The counts of `values` in `BINS` equal bins over `range`, the last bin
/// closed so that the maximum is counted.
fn counts(values: &[f64], range: &std::ops::Range<f64>) -> Vec<usize> {
    let width = (range.end - range.start) / BINS as f64;
    let mut counts = vec![0; BINS];
    for v in values {
        let bin = ((v - range.start) / width).floor().max(0.0) as usize;
        counts[bin.min(BINS - 1)] += 1;
    }
    counts
}

impl Figure for HistogramFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (550 * self.panels.len() as u32, 450)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let areas = root.split_evenly((1, self.panels.len()));
        for (panel, area) in self.panels.iter().zip(&areas) {
            draw_panel(panel, area)?;
        }
        Ok(())
    }
}

fn draw_panel<DB: DrawingBackend>(p: &HistogramPanel, area: &DrawingArea<DB, Shift>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (reference, reference_label) = p.reference;
    let x = padded_range(p.values.iter().copied().chain([reference]), 0.05);
    let counts = counts(p.values, &x);
    let top = *counts.iter().max().unwrap_or(&1) as f64 * 1.2 + 0.5;
    let mut chart = ChartBuilder::on(area)
        .caption(p.title, font(TITLE_PX))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d(x.clone(), 0.0..top)?;
    styled_mesh(&mut chart)
        .y_label_formatter(&integer_label)
        .x_desc(p.x_label)
        .y_desc("Units")
        .draw()?;
    let width = (x.end - x.start) / BINS as f64;
    let style = MPL_BLUE.filled();
    let bars = counts
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(b, &c)| {
            let left = x.start + b as f64 * width;
            Rectangle::new([(left, 0.0), (left + width, c as f64)], style)
        });
    chart
        .draw_series(bars)?
        .label("units")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], style));
    let line = MPL_RED.stroke_width(2);
    chart
        .draw_series(DashedLineSeries::new(
            [(reference, 0.0), (reference, top)],
            5,
            4,
            line,
        ))?
        .label(reference_label)
        .legend(move |(x, y)| PathElement::new([(x - 2, y), (x + 16, y)], line));
    draw_legend(&mut chart, TICK_PX, SeriesLabelPosition::UpperRight)?;
    draw_frame(&chart)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_falls_in_one_bin_the_maximum_in_the_last() {
        let values = [0.0, 0.4, 9.99, 10.0];
        let c = counts(&values, &(0.0..10.0));
        assert_eq!(c.iter().sum::<usize>(), values.len());
        assert_eq!((c[0], c[BINS - 1]), (2, 2));
    }
}
