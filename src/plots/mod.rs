//! Figures twinned on the notebook's matplotlib plots: the stimulus raster,
//! the training loss, the train/test analysis (IPD histogram and confusion
//! matrix) and the parameter sweeps with error bars.
//!
//! Every figure is drawn once per backend from the same code, so the PNG and
//! the SVG always agree. Text uses a bundled DejaVu Sans: figures then render
//! the same on machines without fontconfig or any system font.

use std::ffi::OsString;
use std::fmt::Display;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use ab_glyph::FontRef;
use anyhow::{anyhow, ensure, Result};
use plotters::chart::MeshStyle;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use plotters::style::register_font;

use glyph_fix::GlyphFix;

/// One panel of the stimulus raster: spikes[t * neurons + n] in {0,1}.
pub struct RasterPanel {
    pub ipd_deg: i64,
    pub steps: usize,
    pub neurons: usize,
    pub spikes: Vec<u8>,
}

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

/// One curve of a sweep figure: mean +- std at each x.
pub struct ErrorBarSeries<'a> {
    pub label: &'a str,
    pub x: &'a [f64],
    pub mean: &'a [f64],
    pub std: &'a [f64],
}

/// The most panels the 2x4 raster grid holds, as in the notebook.
pub const MAX_RASTER_PANELS: usize = 8;

const RASTER_ROWS: usize = 2;
const RASTER_COLS: usize = 4;
/// Lower bound, in degrees, of the IPD axis of the analysis figure (upper is its negation).
const IPD_MIN_DEG: f64 = -90.0;

const FONT_FAMILY: &str = "sans-serif";
// Text sizes in plotters' unit, the line height (the em is about 0.85 of
// it): close to matplotlib's 10 pt labels and 12 pt titles at 100 dpi.
const TITLE_PX: u32 = 17;
const LABEL_PX: u32 = 16;
const TICK_PX: u32 = 14;

// matplotlib's default colour cycle, so the figures look like the notebook's.
const MPL_BLUE: RGBColor = RGBColor(31, 119, 180);
const MPL_ORANGE: RGBColor = RGBColor(255, 127, 14);
const MPL_GREEN: RGBColor = RGBColor(44, 160, 44);
const MPL_RED: RGBColor = RGBColor(214, 39, 40);
const MPL_PURPLE: RGBColor = RGBColor(148, 103, 189);
const MPL_BROWN: RGBColor = RGBColor(140, 86, 75);
const MPL_PINK: RGBColor = RGBColor(227, 119, 194);
const MPL_GREY: RGBColor = RGBColor(127, 127, 127);
/// Sweep series colours: the notebook draws training in blue and test in red.
const SERIES_COLOURS: [RGBColor; 7] = [
    MPL_BLUE, MPL_RED, MPL_GREEN, MPL_PURPLE, MPL_ORANGE, MPL_BROWN, MPL_PINK,
];

static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

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

/// Draws the mean training loss against the epoch, epochs counted from 1.
pub fn loss_curve(loss_per_epoch: &[f64], stem: &Path) -> Result<Vec<PathBuf>> {
    ensure!(
        !loss_per_epoch.is_empty(),
        "loss curve needs at least one epoch"
    );
    save(&LossCurve(loss_per_epoch), stem)
}

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

/// Draws mean +- std error bars of each series against a swept parameter.
pub fn sweep_figure(
    x_label: &str,
    y_label: &str,
    series: &[ErrorBarSeries],
    stem: &Path,
) -> Result<Vec<PathBuf>> {
    ensure!(!series.is_empty(), "sweep figure needs at least one series");
    for s in series {
        ensure!(
            s.x.len() == s.mean.len() && s.x.len() == s.std.len(),
            "sweep series '{}' has {} x values, {} means and {} stds",
            s.label,
            s.x.len(),
            s.mean.len(),
            s.std.len()
        );
    }
    save(
        &Sweep {
            x_label,
            y_label,
            series,
        },
        stem,
    )
}

/// A figure drawable on any plotters backend, so one piece of drawing code
/// yields both the PNG and the SVG.
trait Figure {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static;
}

/// Writes `<stem>.png` and `<stem>.svg`. Both are rendered to temporary
/// files beside their targets and renamed into place only once both
/// rendered, so a failure never leaves a truncated figure behind.
fn save(figure: &impl Figure, stem: &Path) -> Result<Vec<PathBuf>> {
    bundled_font()?;
    let png = with_suffix(stem, "png")?;
    let svg = with_suffix(stem, "svg")?;

    let png_tmp = TempFile::create(&png)?;
    {
        let root = GlyphFix(BitMapBackend::new(png_tmp.path(), figure.size())).into_drawing_area();
        render(figure, &root).map_err(|e| write_error(&png, e))?;
    }
    let svg_tmp = TempFile::create(&svg)?;
    let mut svg_text = String::new();
    {
        let root = SVGBackend::with_string(&mut svg_text, figure.size()).into_drawing_area();
        render(figure, &root).map_err(|e| write_error(&svg, e))?;
    }
    fs::write(svg_tmp.path(), svg_text).map_err(|e| write_error(&svg, e))?;

    png_tmp.persist()?;
    svg_tmp.persist()?;
    Ok(vec![png, svg])
}

fn render<DB: DrawingBackend>(figure: &impl Figure, root: &DrawingArea<DB, Shift>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    figure.draw(root)?;
    root.present()?;
    Ok(())
}

/// The bundled face, parsed once and registered with plotters as
/// "sans-serif", the family behind all of plotters' default text styles.
fn bundled_font() -> Result<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| {
        let face = FontRef::try_from_slice(FONT_BYTES).ok()?;
        register_font(FONT_FAMILY, FontStyle::Normal, FONT_BYTES).ok()?;
        Some(face)
    })
    .as_ref()
    .ok_or_else(|| anyhow!("the bundled font DejaVuSans.ttf could not be loaded"))
}

fn with_suffix(stem: &Path, ext: &str) -> Result<PathBuf> {
    ensure!(
        stem.file_name().is_some(),
        "figure path '{}' does not name a file",
        stem.display()
    );
    // Appending rather than `with_extension` keeps stems like "sweep_0.5" whole.
    let mut name: OsString = stem.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    Ok(PathBuf::from(name))
}

fn write_error(path: &Path, err: impl Display) -> anyhow::Error {
    anyhow!("cannot write figure {}: {err}", path.display())
}

/// A temporary file next to its target, removed on drop unless persisted.
struct TempFile {
    tmp: PathBuf,
    target: PathBuf,
    persisted: bool,
}

impl TempFile {
    fn create(target: &Path) -> Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = target
            .file_name()
            .ok_or_else(|| write_error(target, "not a file name"))?;
        let ext = target.extension().unwrap_or_default();
        // Hidden, unique per process and call, and still ending in the
        // target's extension because plotters picks the image format from it.
        let mut tmp_name = OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(
            ".tmp-{}-{}.",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        tmp_name.push(ext);
        let tmp = target.with_file_name(tmp_name);
        // Creating it up front reports a missing or read-only directory as a
        // plain I/O error before any drawing is done.
        fs::File::create(&tmp).map_err(|e| write_error(target, e))?;
        Ok(Self {
            tmp,
            target: target.to_path_buf(),
            persisted: false,
        })
    }

    fn path(&self) -> &Path {
        &self.tmp
    }

    fn persist(mut self) -> Result<()> {
        fs::rename(&self.tmp, &self.target).map_err(|e| write_error(&self.target, e))?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            // Best effort: the error that got us here is the one worth reporting.
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

fn font(px: u32) -> TextStyle<'static> {
    (FONT_FAMILY, px).into_font().into()
}

/// Tick label without the trailing ".0" plotters prints on float axes, as
/// matplotlib writes them ("-90", "0.2"), without float noise.
fn tick_label(v: &f64) -> String {
    // `+ 0.0` turns -0 into 0.
    format!("{}", (v * 1e9).round() / 1e9 + 0.0)
}

/// Tick label for axes whose values are counts (epochs, neuron indices):
/// fractional ticks that plotters may pick on short ranges stay unlabelled.
fn integer_label(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        tick_label(v)
    } else {
        String::new()
    }
}

/// The finite values' range widened by `frac` of its span on both sides,
/// with a sane fallback when there is no span to widen.
fn padded_range(values: impl Iterator<Item = f64>, frac: f64) -> Range<f64> {
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

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Axes without grid lines, as matplotlib draws them by default.
fn styled_mesh<'a, 'b, DB: DrawingBackend>(
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

fn draw_legend<'a, DB: DrawingBackend + 'a>(
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
fn draw_frame<DB: DrawingBackend>(chart: &Chart<DB>) -> Result<()>
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

    let area = chart.plotting_area().strip_coord_spec();
    let (w, h) = area.dim_in_pixel();
    let image = raster_image(panel, w as usize, h as usize);
    let element = BitMapElement::with_owned_buffer((0, 0), (w, h), image)
        .ok_or_else(|| anyhow!("raster image does not match its {w}x{h} area"))?;
    area.draw(&element)?;
    draw_frame(&chart)
}

/// Nearest-neighbour resampling of the spikes onto the plotting area's
/// pixels, black on white (matplotlib's gray_r with interpolation='nearest').
/// Sampling each pixel centre keeps the dark fraction equal to the spike
/// density, however many neurons share a pixel row.
fn raster_image(panel: &RasterPanel, w: usize, h: usize) -> Vec<u8> {
    let mut rgb = vec![255u8; w * h * 3];
    for py in 0..h {
        let n = ((py * 2 + 1) * panel.neurons / (h * 2)).min(panel.neurons - 1);
        for px in 0..w {
            let t = ((px * 2 + 1) * panel.steps / (w * 2)).min(panel.steps - 1);
            if panel.spikes[t * panel.neurons + n] != 0 {
                let at = (py * w + px) * 3;
                rgb[at..at + 3].fill(0);
            }
        }
    }
    rgb
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

/// The width, in pixels, kept for the confusion matrix's colour bar.
const COLOUR_BAR_AREA: u32 = 95;

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
        draw_colour_bar(
            &bar_area,
            (top.start - bar_top).max(0) as u32,
            (bar_bottom - top.end).max(0) as u32,
            confusion_max(self.confusion),
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

fn finite_or_zero(v: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        0.0
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

fn draw_colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    margin_top: u32,
    margin_bottom: u32,
    max: f64,
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
        .build_cartesian_2d(0.0..1.0, 0.0..max)?;
    styled_mesh(&mut chart)
        .disable_x_axis()
        .set_tick_mark_size(LabelAreaPosition::Right, 5)
        .y_labels(6)
        .y_desc("Probability")
        .draw()?;
    const STEPS: usize = 128;
    let step = max / STEPS as f64;
    let bands = (0..STEPS).map(|i| {
        let y0 = i as f64 * step;
        let colour = ViridisRGB.get_color_normalized(y0 + step / 2.0, 0.0, max);
        Rectangle::new([(0.0, y0), (1.0, y0 + step)], colour.filled())
    });
    chart.draw_series(bands)?;
    draw_frame(&chart)
}

struct Sweep<'a> {
    x_label: &'a str,
    y_label: &'a str,
    series: &'a [ErrorBarSeries<'a>],
}

impl Figure for Sweep<'_> {
    fn size(&self) -> (u32, u32) {
        (800, 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let x_range = padded_range(self.series.iter().flat_map(|s| s.x.iter().copied()), 0.05);
        let mut chart = ChartBuilder::on(root)
            .margin(15)
            .margin_right(25)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(x_range.clone(), 0.0..100.0)?;
        styled_mesh(&mut chart)
            .x_desc(self.x_label)
            .y_desc(self.y_label)
            .draw()?;
        for (i, series) in self.series.iter().enumerate() {
            let colour = SERIES_COLOURS.get(i).copied().unwrap_or(MPL_GREY);
            draw_error_bars(&mut chart, series, colour)?;
        }
        let (x0, x1) = (x_range.start, x_range.end);
        let marks = self.series.iter().flat_map(|s| {
            s.x.iter()
                .zip(s.mean)
                .zip(s.std)
                .flat_map(|((&x, &m), &sd)| {
                    let sd = finite_or_zero(sd);
                    [m - sd, m, m + sd].map(|y| ((x - x0) / (x1 - x0), y / 100.0))
                })
        });
        draw_legend(&mut chart, LABEL_PX, least_crowded_corner(marks))?;
        draw_frame(&chart)
    }
}

/// The corner of the plot, in axis fractions, that the fewest marks fall in:
/// where a legend hides the least data (matplotlib's `loc='best'`, coarsely).
fn least_crowded_corner(marks: impl Iterator<Item = (f64, f64)>) -> SeriesLabelPosition {
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

/// Error-bar cap width in pixels (the notebook's capsize=5 points).
const CAP_WIDTH: u32 = 10;

/// One series as markers at the mean with mean +- std bars; points with a
/// non-finite x or mean are skipped, a non-finite std only loses its bar.
fn draw_error_bars<DB: DrawingBackend>(
    chart: &mut Chart<DB>,
    series: &ErrorBarSeries,
    colour: RGBColor,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let points: Vec<(f64, f64, f64)> = series
        .x
        .iter()
        .zip(series.mean)
        .zip(series.std)
        .filter(|((x, m), _)| x.is_finite() && m.is_finite())
        .map(|((&x, &m), &s)| (x, m, finite_or_zero(s).abs()))
        .collect();
    // The bar element itself marks the mean with a disc of half the cap width.
    let style = colour.filled().stroke_width(2);
    chart
        .draw_series(
            points
                .into_iter()
                .map(|(x, m, s)| ErrorBar::new_vertical(x, m - s, m, m + s, style, CAP_WIDTH)),
        )?
        .label(series.label)
        .legend(move |c| Circle::new(c, CAP_WIDTH / 2, style));
    Ok(())
}

/// Works around plotters' bitmap text rendering; see [`GlyphFix`].
mod glyph_fix {
    use ab_glyph::{point, Font, ScaleFont};
    use plotters::prelude::{DrawingBackend, FontStyle, FontTransform};
    use plotters::style::text_anchor;
    use plotters_backend::{
        BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind, FontFamily,
    };

    use super::bundled_font;

    /// A bitmap backend whose text keeps each glyph's left side bearing.
    /// plotters 0.3.7 rasterises ab_glyph text without it, so letters collide
    /// ("Tr" in "Train" overlaps); everything else goes straight to the backend.
    pub(super) struct GlyphFix<DB>(pub DB);

    type BackendResult<DB> = Result<(), DrawingErrorKind<<DB as DrawingBackend>::ErrorType>>;

    impl<DB: DrawingBackend> DrawingBackend for GlyphFix<DB> {
        type ErrorType = DB::ErrorType;

        fn get_size(&self) -> (u32, u32) {
            self.0.get_size()
        }

        fn ensure_prepared(&mut self) -> BackendResult<DB> {
            self.0.ensure_prepared()
        }

        fn present(&mut self) -> BackendResult<DB> {
            self.0.present()
        }

        fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> BackendResult<DB> {
            self.0.draw_pixel(point, color)
        }

        fn draw_line<S: BackendStyle>(
            &mut self,
            from: BackendCoord,
            to: BackendCoord,
            style: &S,
        ) -> BackendResult<DB> {
            self.0.draw_line(from, to, style)
        }

        fn draw_rect<S: BackendStyle>(
            &mut self,
            upper_left: BackendCoord,
            bottom_right: BackendCoord,
            style: &S,
            fill: bool,
        ) -> BackendResult<DB> {
            self.0.draw_rect(upper_left, bottom_right, style, fill)
        }

        fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
            &mut self,
            path: I,
            style: &S,
        ) -> BackendResult<DB> {
            self.0.draw_path(path, style)
        }

        fn draw_circle<S: BackendStyle>(
            &mut self,
            center: BackendCoord,
            radius: u32,
            style: &S,
            fill: bool,
        ) -> BackendResult<DB> {
            self.0.draw_circle(center, radius, style, fill)
        }

        fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
            &mut self,
            vert: I,
            style: &S,
        ) -> BackendResult<DB> {
            self.0.fill_polygon(vert, style)
        }

        fn draw_text<S: BackendTextStyle>(
            &mut self,
            text: &str,
            style: &S,
            pos: BackendCoord,
        ) -> BackendResult<DB> {
            self.0.draw_text(text, &BearingText(style), pos)
        }

        fn estimate_text_size<S: BackendTextStyle>(
            &self,
            text: &str,
            style: &S,
        ) -> Result<(u32, u32), DrawingErrorKind<DB::ErrorType>> {
            self.0.estimate_text_size(text, style)
        }

        fn blit_bitmap(
            &mut self,
            pos: BackendCoord,
            size: (u32, u32),
            src: &[u8],
        ) -> BackendResult<DB> {
            self.0.blit_bitmap(pos, size, src)
        }
    }

    /// A text style that lays out glyphs itself; the backend still does the
    /// anchoring, rotation and clipping with plotters' own text box.
    struct BearingText<'a, S>(&'a S);

    impl<S: BackendTextStyle> BackendTextStyle for BearingText<'_, S> {
        type FontError = S::FontError;

        fn color(&self) -> BackendColor {
            self.0.color()
        }

        fn size(&self) -> f64 {
            self.0.size()
        }

        fn transform(&self) -> FontTransform {
            self.0.transform()
        }

        fn style(&self) -> FontStyle {
            self.0.style()
        }

        fn anchor(&self) -> text_anchor::Pos {
            self.0.anchor()
        }

        fn family(&self) -> FontFamily<'_> {
            self.0.family()
        }

        fn layout_box(&self, text: &str) -> Result<((i32, i32), (i32, i32)), S::FontError> {
            self.0.layout_box(text)
        }

        fn draw<E, F: FnMut(i32, i32, BackendColor) -> Result<(), E>>(
            &self,
            text: &str,
            pos: BackendCoord,
            mut draw: F,
        ) -> Result<Result<(), E>, S::FontError> {
            let Ok(face) = bundled_font() else {
                return self.0.draw(text, pos, draw);
            };
            let size = self.0.size() as f32;
            let font = face.as_scaled(size);
            let colour = self.0.color();
            // Same advances, kerning and baseline (half the size below the
            // top) as plotters, so text still fits the boxes it measured.
            let mut caret = pos.0 as f32;
            let baseline = pos.1 as f32 + size / 2.0;
            let mut previous = None;
            let mut result = Ok(());
            for c in text.chars() {
                let id = font.glyph_id(c);
                if let Some(previous) = previous {
                    caret += font.kern(previous, id);
                }
                previous = Some(id);
                let glyph = id.with_scale_and_position(size, point(caret, baseline));
                caret += font.h_advance(id);
                let Some(outline) = font.outline_glyph(glyph) else {
                    continue;
                };
                let origin = outline.px_bounds().min;
                outline.draw(|x, y, coverage| {
                    if result.is_ok() {
                        let (x, y) = (origin.x as i32 + x as i32, origin.y as i32 + y as i32);
                        result = draw(x, y, colour.mix(f64::from(coverage)));
                    }
                });
            }
            Ok(result)
        }
    }
}
