//! A grid sweep's heatmap: one number per pair of values, coloured on a
//! scale beside it and written in its cell.

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{
    draw_colour_bar, draw_frame, styled_mesh, Chart, COLOUR_BAR_AREA, TICK_PX, TITLE_PX,
};
use super::text::font;
use super::{save, Figure};

/// `cells[i][j]` is the number at `y_ticks[i]`, `x_ticks[j]`; NaN for none.
pub struct Heatmap<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub x_ticks: &'a [String],
    pub y_label: &'a str,
    pub y_ticks: &'a [String],
    pub cells: &'a [Vec<f64>],
}

/// Draws the heatmap into `<stem>.png` and `<stem>.svg`.
pub fn heatmap_figure(map: &Heatmap, stem: &Path) -> Result<Vec<PathBuf>> {
    let (rows, columns) = (map.y_ticks.len(), map.x_ticks.len());
    ensure!(
        rows > 0 && columns > 0,
        "a heatmap needs at least one row and one column"
    );
    ensure!(
        map.cells.len() == rows && map.cells.iter().all(|row| row.len() == columns),
        "heatmap cells must be {rows} x {columns}"
    );
    save(map, stem)
}

/// Cells without a number are grey, as no colour of the scale is.
const MISSING: RGBColor = RGBColor(220, 220, 220);

impl Heatmap<'_> {
    /// The colour scale: the finite numbers' span, widened when they are
    /// all equal so that the scale is never empty.
    fn scale(&self) -> Range<f64> {
        let finite = self
            .cells
            .iter()
            .flatten()
            .copied()
            .filter(|x| x.is_finite());
        let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        });
        match (lo.is_finite(), lo < hi) {
            (true, true) => lo..hi,
            (true, false) => lo - 0.5..lo + 0.5,
            _ => 0.0..1.0,
        }
    }

    fn draw_cells<DB: DrawingBackend>(&self, chart: &mut Chart<DB>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let Range { start: lo, end: hi } = self.scale();
        for (i, row) in self.cells.iter().enumerate() {
            for (j, &x) in row.iter().enumerate() {
                let (x0, y0) = (j as f64, i as f64);
                let colour = if x.is_finite() {
                    ViridisRGB.get_color_normalized(x, lo, hi)
                } else {
                    MISSING
                };
                chart.draw_series([Rectangle::new(
                    [(x0, y0), (x0 + 1.0, y0 + 1.0)],
                    colour.filled(),
                )])?;
                if x.is_finite() {
                    // Viridis is dark at its low end, light at its high.
                    let ink = if (x - lo) / (hi - lo) < 0.6 {
                        WHITE
                    } else {
                        BLACK
                    };
                    let style = font(TICK_PX)
                        .color(&ink)
                        .pos(Pos::new(HPos::Center, VPos::Center));
                    chart.draw_series([Text::new(
                        format!("{x:.1}"),
                        (x0 + 0.5, y0 + 0.5),
                        style,
                    )])?;
                }
            }
        }
        Ok(())
    }

    /// The values as tick labels at the cells' centres; plotters would put
    /// its ticks at round numbers instead.
    fn draw_ticks<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        chart: &Chart<DB>,
    ) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        const GAP: i32 = 6;
        for (j, label) in self.x_ticks.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(j as f64 + 0.5, 0.0));
            let style = font(TICK_PX).pos(Pos::new(HPos::Center, VPos::Top));
            root.draw(&Text::new(label.as_str(), (x, y + GAP), style))?;
        }
        for (i, label) in self.y_ticks.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(0.0, i as f64 + 0.5));
            let style = font(TICK_PX).pos(Pos::new(HPos::Right, VPos::Center));
            root.draw(&Text::new(label.as_str(), (x - GAP, y), style))?;
        }
        Ok(())
    }
}

impl Figure for Heatmap<'_> {
    fn size(&self) -> (u32, u32) {
        (800, 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let (map_area, bar_area) = root.split_horizontally(root.dim_in_pixel().0 - COLOUR_BAR_AREA);
        let (columns, rows) = (self.x_ticks.len() as f64, self.y_ticks.len() as f64);
        let mut chart = ChartBuilder::on(&map_area)
            .caption(self.title, font(TITLE_PX))
            .margin(10)
            .margin_right(5)
            .x_label_area_size(50)
            .y_label_area_size(100)
            .build_cartesian_2d(0.0..columns, 0.0..rows)?;
        styled_mesh(&mut chart)
            .x_labels(0)
            .y_labels(0)
            .x_desc(self.x_label)
            .y_desc(self.y_label)
            .draw()?;
        self.draw_cells(&mut chart)?;
        draw_frame(&chart)?;
        self.draw_ticks(root, &chart)?;
        // The colour bar spans exactly the cells' height.
        let cells = chart.plotting_area().get_pixel_range().1;
        let bar = bar_area.get_pixel_range().1;
        let Range { start: lo, end: hi } = self.scale();
        draw_colour_bar(
            &bar_area,
            (
                (cells.start - bar.start).max(0) as u32,
                (bar.end - cells.end).max(0) as u32,
            ),
            lo..hi,
            "",
            |x| ViridisRGB.get_color_normalized(x, lo, hi),
        )
    }
}
