//! The analysis of one data split: histograms of true and estimated IPDs
//! beside the confusion matrix and its colour bar.

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;

use super::style::{
    draw_colour_bar, draw_frame, draw_legend, finite_or_zero, styled_mesh, COLOUR_BAR_AREA,
    MPL_BLUE, MPL_ORANGE, TICK_PX, TITLE_PX,
};
use super::text::font;
use super::{save, Figure};

/// Column-normalised confusion matrix etc. for one data split (Train or Test).
pub struct AnalysisFigure<'a> {
    pub label: &'a str,
    pub num_classes: usize,
    pub ipd_true_deg: &'a [f64],
    pub ipd_estimated_deg: &'a [f64],
    /// confusion[pred][true], already column-normalised (each true column
    /// sums to 1; an empty column is all NaN and is drawn as 0).
    pub confusion: &'a [Vec<f64>],
}

/// Lower bound, in degrees, of the IPD axis of the analysis figure (upper is its negation).
const IPD_MIN_DEG: f64 = -90.0;

/// Draws the IPD histogram and the confusion matrix of one data split.
pub fn analysis_figure(fig: &AnalysisFigure, stem: &Path) -> Result<Vec<PathBuf>> {
    let k = fig.num_classes;
    ensure!(k > 0, "analysis figure needs at least one class");
    ensure!(
        fig.confusion.len() == k && fig.confusion.iter().all(|row| row.len() == k),
        "confusion matrix must be {k} x {k} for {k} classes"
    );
    save(fig, stem)
}

/// Counts of in-range finite values in `bins` equal bins over the IPD axis.
fn ipd_histogram(values: &[f64], bins: usize) -> Vec<usize> {
    let mut counts = vec![0; bins];
    let span = -2.0 * IPD_MIN_DEG;
    for &v in values {
        if (IPD_MIN_DEG..=-IPD_MIN_DEG).contains(&v) {
            let bin = ((v - IPD_MIN_DEG) / span * bins as f64) as usize;
            counts[bin.min(bins - 1)] += 1;
        }
    }
    counts
}

impl Figure for AnalysisFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1000, 400)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let (hist_area, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
        let (matrix_area, bar_area) =
            right.split_horizontally(right.dim_in_pixel().0 - COLOUR_BAR_AREA);
        self.draw_histogram(&hist_area)?;
        let top = self.draw_confusion(&matrix_area)?;
        // The colour bar spans exactly the matrix's height.
        let bar_top = bar_area.get_pixel_range().1.start;
        let bar_bottom = bar_area.get_pixel_range().1.end;
        let max = confusion_max(self.confusion);
        draw_colour_bar(
            &bar_area,
            (
                (top.start - bar_top).max(0) as u32,
                (bar_bottom - top.end).max(0) as u32,
            ),
            0.0..max,
            "Probability",
            |p| ViridisRGB.get_color_normalized(p, 0.0, max),
        )
    }
}

impl AnalysisFigure<'_> {
    fn draw_histogram<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let k = self.num_classes;
        let true_counts = ipd_histogram(self.ipd_true_deg, k);
        let est_counts = ipd_histogram(self.ipd_estimated_deg, k);
        let top = true_counts
            .iter()
            .chain(&est_counts)
            .copied()
            .max()
            .unwrap_or(0)
            .max(1);
        let mut chart = ChartBuilder::on(area)
            .caption(self.label, font(TITLE_PX))
            .margin(10)
            .margin_left(20)
            .x_label_area_size(45)
            .y_label_area_size(0)
            .build_cartesian_2d(IPD_MIN_DEG..-IPD_MIN_DEG, 0.0..top as f64 * 1.25)?;
        // Like the notebook, no count ticks; the headroom keeps the legend
        // clear of the bars.
        styled_mesh(&mut chart)
            .disable_y_axis()
            .x_desc("IPD")
            .draw()?;
        let width = -2.0 * IPD_MIN_DEG / k as f64;
        // The estimate is drawn see-through so the true counts stay visible.
        let sets = [
            ("True", true_counts, MPL_BLUE.filled()),
            ("Estimated", est_counts, MPL_ORANGE.mix(0.6).filled()),
        ];
        for (label, counts, style) in sets {
            // Empty bins are skipped: a zero-height bar would still paint a
            // line of pixels along the axis.
            let bars = counts
                .into_iter()
                .enumerate()
                .filter(|&(_, c)| c > 0)
                .map(move |(i, c)| {
                    let x0 = IPD_MIN_DEG + i as f64 * width;
                    Rectangle::new([(x0, 0.0), (x0 + width, c as f64)], style)
                });
            chart
                .draw_series(bars)?
                .label(label)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], style));
        }
        draw_legend(&mut chart, TICK_PX, SeriesLabelPosition::UpperRight)?;
        draw_frame(&chart)
    }

    /// Draws the matrix and returns the vertical pixel range of its cells.
    fn draw_confusion<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<Range<i32>>
    where
        DB::ErrorType: 'static,
    {
        let (lo, hi) = (IPD_MIN_DEG, -IPD_MIN_DEG);
        let mut chart = ChartBuilder::on(area)
            .caption("Confusion matrix", font(TITLE_PX))
            .margin(10)
            .margin_right(5)
            .x_label_area_size(45)
            .y_label_area_size(55)
            .build_cartesian_2d(lo..hi, lo..hi)?;
        styled_mesh(&mut chart)
            .x_desc("True IPD")
            .y_desc("Estimated IPD")
            .draw()?;
        let max = confusion_max(self.confusion);
        let width = (hi - lo) / self.num_classes as f64;
        // confusion[pred][true]: the true class runs along x, the estimate up
        // y with class 0 at the bottom (imshow with origin='lower').
        let cells = self.confusion.iter().enumerate().flat_map(|(pred, row)| {
            row.iter().enumerate().map(move |(truth, &p)| {
                let (x0, y0) = (lo + truth as f64 * width, lo + pred as f64 * width);
                let colour =
                    ViridisRGB.get_color_normalized(finite_or_zero(p).clamp(0.0, max), 0.0, max);
                Rectangle::new([(x0, y0), (x0 + width, y0 + width)], colour.filled())
            })
        });
        chart.draw_series(cells)?;
        draw_frame(&chart)?;
        Ok(chart.plotting_area().get_pixel_range().1)
    }
}

/// Top of the colour scale: the largest probability, or 1 when there is
/// nothing positive to scale to.
fn confusion_max(confusion: &[Vec<f64>]) -> f64 {
    let max = confusion
        .iter()
        .flatten()
        .copied()
        .map(finite_or_zero)
        .fold(0.0, f64::max);
    if max > 0.0 {
        max
    } else {
        1.0
    }
}
