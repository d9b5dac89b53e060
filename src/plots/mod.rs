//! Figures twinned on the notebook's matplotlib plots: the stimulus raster,
//! the training loss, the train/test analysis (IPD histogram and confusion
//! matrix), the parameter sweeps with error bars and the heatmaps of grid
//! sweeps; and the figures of `inspect`: tuning curves, hidden activity,
//! firing rates, weight heatmaps, ablation, the time constants' distribution
//! and the comparison with the ideal observer.
//!
//! Every figure is drawn once per backend from the same code, so the PNG and
//! the SVG always agree.

mod ablation;
mod activity;
mod analysis;
mod comparison;
mod grid;
mod histogram;
mod loss;
mod raster;
mod rates;
mod style;
mod sweep;
mod text;
mod tuning;
mod weights;

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use image::ImageEncoder;
use plotters::coord::Shift;
use plotters::drawing::DrawingAreaErrorKind;
use plotters::prelude::*;
use plotters_backend::DrawingErrorKind;

use crate::output::write_atomically;
use text::{bundled_font, GlyphFix};

pub use ablation::{ablation_figure, AblationFigure};
pub use activity::{activity_figure, ActivityFigure, ActivityPanel};
pub use analysis::{analysis_figure, AnalysisFigure};
pub use comparison::{comparison_figure, ClassSeries, ComparisonFigure};
pub use grid::{heatmap_figure, Heatmap};
pub use histogram::{histogram_figure, HistogramFigure, HistogramPanel};
pub use loss::loss_curve;
pub use raster::{stimulus_raster, RasterPanel, MAX_RASTER_PANELS};
pub use rates::{rates_figure, RatesFigure};
pub use sweep::{sweep_figure, ErrorBarSeries, ReferenceLine};
pub use tuning::{tuning_grid, TuningGrid, TuningPanel};
pub use weights::{weight_heatmaps, Colours, WeightHeatmaps, WeightPanel};

/// A figure drawable on any plotters backend, so one piece of drawing code
/// yields both the PNG and the SVG.
trait Figure {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static;
}

/// Writes `<stem>.png` and `<stem>.svg`, each atomically. The SVG is drawn
/// first, in memory, so a figure that fails to draw leaves neither file.
fn save(figure: &impl Figure, stem: &Path) -> Result<Vec<PathBuf>> {
    // Registers the font that all the figures' text asks for.
    bundled_font()?;
    let png = with_suffix(stem, "png")?;
    let svg = with_suffix(stem, "svg")?;
    let fail = |path: &Path| format!("cannot write figure {}", path.display());

    let mut svg_text = String::new();
    {
        let root = SVGBackend::with_string(&mut svg_text, figure.size()).into_drawing_area();
        render(figure, &root).with_context(|| fail(&svg))?;
    }
    let (width, height) = figure.size();
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let backend = BitMapBackend::with_buffer(&mut pixels, (width, height));
        render(figure, &GlyphFix(backend).into_drawing_area()).with_context(|| fail(&png))?;
    }
    let mut encoded = Vec::new();
    image::codecs::png::PngEncoder::new(&mut encoded)
        .write_image(&pixels, width, height, image::ColorType::Rgb8)
        .with_context(|| fail(&png))?;
    write_atomically(&png, |tmp| Ok(fs::write(tmp, encoded)?)).with_context(|| fail(&png))?;
    write_atomically(&svg, |tmp| Ok(fs::write(tmp, svg_text)?)).with_context(|| fail(&svg))?;
    Ok(vec![png, svg])
}

fn render<DB: DrawingBackend>(figure: &impl Figure, root: &DrawingArea<DB, Shift>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(backend_error)?;
    figure.draw(root)?;
    root.present().map_err(backend_error)?;
    Ok(())
}

/// A drawing backend's error by its own message: plotters' wrapper shows
/// the backend's error as a debug structure.
fn backend_error<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> anyhow::Error {
    match e {
        DrawingAreaErrorKind::BackendError(DrawingErrorKind::DrawingError(inner)) => {
            anyhow::anyhow!("{inner}")
        }
        other => anyhow::anyhow!("{other}"),
    }
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
