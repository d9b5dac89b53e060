//! Weight matrices as heatmaps: one or more panels side by side on one
//! colour scale with its colour bar, so that panels (the two ears) compare:
//! diverging and symmetric about 0 for weights, so that signs read at a
//! glance, or viridis from 0 for what cannot be negative (delays).

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{
    diverging, draw_cells, draw_colour_bar, draw_frame, styled_mesh, COLOUR_BAR_AREA, MPL_GREY,
    TITLE_PX,
};
use super::text::font;
use super::{save, Figure};

/// One matrix: `values[row][col]`, row 0 at the bottom of the y range and
/// column 0 at the left of the x range, each cell an equal share.
pub struct WeightPanel<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub x_range: Range<f64>,
    pub y_range: Range<f64>,
    pub values: &'a [Vec<f32>],
    /// x positions of dashed vertical lines (where silent units begin).
    pub x_dividers: &'a [f64],
}

pub struct WeightHeatmaps<'a> {
    pub panels: &'a [WeightPanel<'a>],
    /// The colour bar's label.
    pub colour_label: &'a str,
    pub colours: Colours,
    pub size: (u32, u32),
}

/// How values map to colours, up to the largest |value|.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colours {
    /// Diverging, symmetric about 0.
    Signed,
    /// Viridis from 0 (for values that are never negative).
    FromZero,
}

impl Colours {
    fn range(self, scale: f64) -> Range<f64> {
        match self {
            Colours::Signed => -scale..scale,
            Colours::FromZero => 0.0..scale,
        }
    }

    fn of(self, v: f64, scale: f64) -> RGBColor {
        match self {
            Colours::Signed => diverging(v / scale),
            Colours::FromZero => ViridisRGB.get_color_normalized(v, 0.0, scale),
        }
    }
}

pub fn weight_heatmaps(fig: &WeightHeatmaps, stem: &Path) -> Result<Vec<PathBuf>> {
    ensure!(!fig.panels.is_empty(), "heatmap figure needs a panel");
    for p in fig.panels {
        let cols = p.values.first().map_or(0, Vec::len);
        ensure!(
            cols > 0 && p.values.iter().all(|row| row.len() == cols),
            "heatmap '{}' must be a non-empty matrix with rows of one length",
            p.title
        );
    }
    save(fig, stem)
}

impl WeightHeatmaps<'_> {
    /// The largest |value|, the scale's end (1 when all are 0).
    fn scale(&self) -> f64 {
        let values = self.panels.iter().flat_map(|p| p.values.iter().flatten());
        let max = values
            .map(|v| v.abs() as f64)
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        if max > 0.0 {
            max
        } else {
            1.0
        }
    }
}

impl Figure for WeightHeatmaps<'_> {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let (maps, bar) = root.split_horizontally(root.dim_in_pixel().0 - COLOUR_BAR_AREA);
        let scale = self.scale();
        let cells = maps.split_evenly((1, self.panels.len()));
        let mut image_rows = 0..0;
        for (panel, cell) in self.panels.iter().zip(&cells) {
            image_rows = draw_panel(cell, panel, |v| self.colours.of(v, scale))?;
        }
        let bar_rows = bar.get_pixel_range().1;
        draw_colour_bar(
            &bar,
            (
                (image_rows.start - bar_rows.start).max(0) as u32,
                (bar_rows.end - image_rows.end).max(0) as u32,
            ),
            self.colours.range(scale),
            self.colour_label,
            |v| self.colours.of(v, scale),
        )
    }
}

/// Draws one matrix and returns the vertical pixel range of its image.
fn draw_panel<DB: DrawingBackend>(
    cell: &DrawingArea<DB, Shift>,
    p: &WeightPanel,
    colour: impl Fn(f64) -> RGBColor,
) -> Result<Range<i32>>
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(cell)
        .caption(p.title, font(TITLE_PX))
        .margin(10)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(p.x_range.clone(), p.y_range.clone())?;
    styled_mesh(&mut chart)
        .x_labels(6)
        .y_labels(6)
        .x_desc(p.x_label)
        .y_desc(p.y_label)
        .draw()?;
    let rows = p.values.len();
    // The image's row 0 is at the top; the matrix's row 0 at the bottom.
    draw_cells(&chart, (rows, p.values[0].len()), |r, c| {
        colour(p.values[rows - 1 - r][c] as f64)
    })?;
    for &x in p.x_dividers {
        let (y0, y1) = (p.y_range.start, p.y_range.end);
        chart.draw_series(DashedLineSeries::new(
            [(x, y0), (x, y1)],
            5,
            4,
            MPL_GREY.stroke_width(2),
        ))?;
    }
    draw_frame(&chart)?;
    Ok(chart.plotting_area().get_pixel_range().1)
}
