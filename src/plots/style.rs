//! Drawing helpers shared by the figures: text sizes, matplotlib's colours,
//! tick labels, axis ranges, axes, legends and frames.

use std::ops::Range;

use anyhow::Result;
use plotters::chart::MeshStyle;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::text::font;

// Text sizes in plotters' unit, the line height (the em is about 0.85 of
// it): close to matplotlib's 10 pt labels and 12 pt titles at 100 dpi.
pub(super) const TITLE_PX: u32 = 17;
pub(super) const LABEL_PX: u32 = 16;
pub(super) const TICK_PX: u32 = 14;

// matplotlib's default colour cycle, so the figures look like the notebook's.
pub(super) const MPL_BLUE: RGBColor = RGBColor(31, 119, 180);
pub(super) const MPL_ORANGE: RGBColor = RGBColor(255, 127, 14);
pub(super) const MPL_GREEN: RGBColor = RGBColor(44, 160, 44);
pub(super) const MPL_RED: RGBColor = RGBColor(214, 39, 40);
pub(super) const MPL_PURPLE: RGBColor = RGBColor(148, 103, 189);
pub(super) const MPL_BROWN: RGBColor = RGBColor(140, 86, 75);
pub(super) const MPL_PINK: RGBColor = RGBColor(227, 119, 194);
pub(super) const MPL_GREY: RGBColor = RGBColor(127, 127, 127);

/// Tick label without the trailing ".0" plotters prints on float axes, as
/// matplotlib writes them ("-90", "0.2"), without float noise.
pub(super) fn tick_label(v: &f64) -> String {
    // `+ 0.0` turns -0 into 0.
    format!("{}", (v * 1e9).round() / 1e9 + 0.0)
}

/// Tick label for axes whose values are counts (epochs, neuron indices):
/// fractional ticks that plotters may pick on short ranges stay unlabelled.
pub(super) fn integer_label(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        tick_label(v)
    } else {
        String::new()
    }
}

/// The finite values' range widened by `frac` of its span on both sides,
/// with a sane fallback when there is no span to widen.
pub(super) fn padded_range(values: impl Iterator<Item = f64>, frac: f64) -> Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let range = if lo > hi {
        0.0..1.0
    } else if lo == hi {
        let pad = (lo.abs() * 0.05).max(0.5);
        lo - pad..hi + pad
    } else {
        let pad = (hi - lo) * frac;
        lo - pad..hi + pad
    };
    // Spans beyond f64 (values near f64::MAX) would break tick placement.
    if (range.end - range.start).is_finite() {
        range
    } else {
        0.0..1.0
    }
}

pub(super) type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Axes without grid lines, as matplotlib draws them by default.
pub(super) fn styled_mesh<'a, 'b, DB: DrawingBackend>(
    chart: &'b mut Chart<'a, DB>,
) -> MeshStyle<'a, 'b, RangedCoordf64, RangedCoordf64, DB> {
    let mut mesh = chart.configure_mesh();
    mesh.disable_mesh()
        .x_label_formatter(&tick_label)
        .y_label_formatter(&tick_label)
        .label_style(font(TICK_PX))
        .axis_desc_style(font(LABEL_PX));
    mesh
}

pub(super) fn draw_legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    font_px: u32,
    position: SeriesLabelPosition,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(position)
        .label_font(font(font_px))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    Ok(())
}

/// Frames the plotting area on all four sides like matplotlib's spines.
pub(super) fn draw_frame<DB: DrawingBackend>(chart: &Chart<DB>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let area = chart.plotting_area().strip_coord_spec();
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    area.draw(&Rectangle::new(
        [(0, 0), (w - 1, h - 1)],
        BLACK.stroke_width(1),
    ))?;
    Ok(())
}

pub(super) fn finite_or_zero(v: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        0.0
    }
}
