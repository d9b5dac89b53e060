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

/// A `rows × cols` picture drawn over a chart's whole plotting area, row 0
/// at the top, each pixel the colour of the cell under its centre
/// (matplotlib's imshow with interpolation='nearest'). Sampling pixel
/// centres keeps each colour's share of the area equal to its share of the
/// cells however many cells share a pixel; as one image it stays one
/// element in an SVG.
pub(super) fn draw_cells<DB: DrawingBackend>(
    chart: &Chart<DB>,
    (rows, cols): (usize, usize),
    colour: impl Fn(usize, usize) -> RGBColor,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let area = chart.plotting_area().strip_coord_spec();
    let (w, h) = area.dim_in_pixel();
    let (wu, hu) = (w as usize, h as usize);
    let mut rgb = vec![255u8; wu * hu * 3];
    for py in 0..hu {
        let row = ((py * 2 + 1) * rows / (hu * 2)).min(rows - 1);
        for px in 0..wu {
            let col = ((px * 2 + 1) * cols / (wu * 2)).min(cols - 1);
            let RGBColor(r, g, b) = colour(row, col);
            let at = (py * wu + px) * 3;
            rgb[at..at + 3].copy_from_slice(&[r, g, b]);
        }
    }
    let element = BitMapElement::with_owned_buffer((0, 0), (w, h), rgb)
        .ok_or_else(|| anyhow::anyhow!("image does not match its {w}x{h} area"))?;
    area.draw(&element)?;
    Ok(())
}

/// matplotlib's RdBu_r at `t` in [-1, 1]: blue for negative, white at 0,
/// red for positive, so the sign of a weight reads at a glance.
pub(super) fn diverging(t: f64) -> RGBColor {
    const ANCHORS: [(u8, u8, u8); 7] = [
        (5, 48, 97),
        (33, 102, 172),
        (146, 197, 222),
        (247, 247, 247),
        (244, 165, 130),
        (178, 24, 43),
        (103, 0, 31),
    ];
    let x = (finite_or_zero(t).clamp(-1.0, 1.0) + 1.0) / 2.0 * (ANCHORS.len() - 1) as f64;
    let i = (x.floor() as usize).min(ANCHORS.len() - 2);
    let f = x - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let ((r0, g0, b0), (r1, g1, b1)) = (ANCHORS[i], ANCHORS[i + 1]);
    RGBColor(mix(r0, r1), mix(g0, g1), mix(b0, b1))
}

/// The width, in pixels, kept for a colour bar and its labels.
pub(super) const COLOUR_BAR_AREA: u32 = 95;

/// A vertical colour bar for `range`, `margin_top` and `margin_bottom`
/// pixels in from the area's edges so that it spans exactly its image.
pub(super) fn draw_colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    (margin_top, margin_bottom): (u32, u32),
    range: Range<f64>,
    label: &str,
    colour: impl Fn(f64) -> RGBColor,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(area)
        .margin_top(margin_top)
        .margin_bottom(margin_bottom)
        .margin_left(8)
        .margin_right(5)
        .right_y_label_area_size(50)
        .build_cartesian_2d(0.0..1.0, range.clone())?;
    styled_mesh(&mut chart)
        .disable_x_axis()
        .set_tick_mark_size(LabelAreaPosition::Right, 5)
        .y_labels(6)
        .y_desc(label)
        .draw()?;
    const STEPS: usize = 128;
    let step = (range.end - range.start) / STEPS as f64;
    let bands = (0..STEPS).map(|i| {
        let y0 = range.start + i as f64 * step;
        Rectangle::new(
            [(0.0, y0), (1.0, y0 + step)],
            colour(y0 + step / 2.0).filled(),
        )
    });
    chart.draw_series(bands)?;
    draw_frame(&chart)
}

/// The number of columns of a grid of `n` small panels: near square, a
/// little wider than tall.
pub(super) fn grid_columns(n: usize) -> usize {
    ((n as f64).sqrt().ceil() as usize).clamp(1, n.max(1))
}

/// A curve through the finite points, solid or dashed, with a dot at each
/// point, labelled for the legend when `label` is given.
pub(super) fn draw_curve<DB: DrawingBackend>(
    chart: &mut Chart<DB>,
    points: impl IntoIterator<Item = (f64, f64)>,
    colour: RGBColor,
    dashed: bool,
    label: Option<&str>,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let points: Vec<(f64, f64)> = points
        .into_iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let line = colour.stroke_width(2);
    if dashed {
        chart.draw_series(DashedLineSeries::new(points.clone(), 6, 4, line))?;
    } else {
        chart.draw_series(LineSeries::new(points.clone(), line))?;
    }
    let dots = chart.draw_series(
        points
            .into_iter()
            .map(|c| Circle::new(c, 3, colour.filled())),
    )?;
    if let Some(label) = label {
        dots.label(label)
            .legend(move |(x, y)| PathElement::new([(x - 2, y), (x + 16, y)], line));
    }
    Ok(())
}

/// A dashed horizontal line across the whole chart at `y`.
pub(super) fn draw_level<DB: DrawingBackend>(
    chart: &mut Chart<DB>,
    y: f64,
    colour: RGBColor,
    label: Option<&str>,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let x = chart.x_range();
    let style = colour.stroke_width(1);
    let line = chart.draw_series(DashedLineSeries::new(
        [(x.start, y), (x.end, y)],
        5,
        4,
        style,
    ))?;
    if let Some(label) = label {
        line.label(label)
            .legend(move |(x, y)| PathElement::new([(x - 2, y), (x + 16, y)], style));
    }
    Ok(())
}

/// The corner of the plot, in axis fractions, that the fewest marks fall in:
/// where a legend hides the least data (matplotlib's `loc='best'`, coarsely).
pub(super) fn least_crowded_corner(marks: impl Iterator<Item = (f64, f64)>) -> SeriesLabelPosition {
    // A legend of a few series covers about this much of the plot.
    const WIDTH: f64 = 0.25;
    const HEIGHT: f64 = 0.2;
    let corners = [
        (SeriesLabelPosition::UpperRight, 1.0 - WIDTH, 1.0 - HEIGHT),
        (SeriesLabelPosition::UpperLeft, 0.0, 1.0 - HEIGHT),
        (SeriesLabelPosition::LowerRight, 1.0 - WIDTH, 0.0),
        (SeriesLabelPosition::LowerLeft, 0.0, 0.0),
    ];
    let mut counts = [0usize; 4];
    for (x, y) in marks.filter(|(x, y)| x.is_finite() && y.is_finite()) {
        for (count, &(_, left, bottom)) in counts.iter_mut().zip(&corners) {
            *count +=
                (x >= left && x <= left + WIDTH && y >= bottom && y <= bottom + HEIGHT) as usize;
        }
    }
    // The first of the least crowded keeps the notebook's upper right on ties.
    let best = (0..4).min_by_key(|&i| counts[i]).unwrap_or(0);
    corners[best].0.clone()
}
