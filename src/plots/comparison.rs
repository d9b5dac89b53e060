//! The network beside the ideal observer, class by class: accuracy and
//! absolute error per true IPD class.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{
    draw_curve, draw_frame, draw_legend, draw_level, least_crowded_corner, padded_range,
    styled_mesh, MPL_BLUE, MPL_GREEN, MPL_GREY, MPL_RED, TICK_PX, TITLE_PX,
};
use super::text::font;
use super::{save, Figure};

/// One classifier's score per class.
pub struct ClassSeries<'a> {
    pub label: &'a str,
    /// Drawn dashed: a limit rather than a classifier.
    pub limit: bool,
    pub accuracy: &'a [f64],
    pub abs_error_deg: &'a [f64],
}

pub struct ComparisonFigure<'a> {
    pub title: &'a str,
    /// Midpoint of each class, degrees.
    pub class_ipd_deg: &'a [f64],
    pub series: &'a [ClassSeries<'a>],
    /// Accuracy of guessing, %.
    pub chance: f64,
}

/// Colours in series order: the network blue, the observers red and green.
const COLOURS: [RGBColor; 3] = [MPL_BLUE, MPL_RED, MPL_GREEN];

pub fn comparison_figure(fig: &ComparisonFigure, stem: &Path) -> Result<Vec<PathBuf>> {
    let k = fig.class_ipd_deg.len();
    ensure!(k > 0, "comparison figure needs at least one class");
    ensure!(
        (1..=COLOURS.len()).contains(&fig.series.len()),
        "comparison figure draws 1 to {} classifiers",
        COLOURS.len()
    );
    for s in fig.series {
        ensure!(
            s.accuracy.len() == k && s.abs_error_deg.len() == k,
            "'{}' needs an accuracy and an error per class",
            s.label
        );
    }
    save(fig, stem)
}

impl Figure for ComparisonFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1100, 460)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let root = root.titled(self.title, font(TITLE_PX))?;
        let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
        let errors = self
            .series
            .iter()
            .flat_map(|s| s.abs_error_deg.iter().copied());
        let error_top = padded_range(errors.chain([0.0]), 0.1).end;
        let accuracy = |s: &ClassSeries<'_>| s.accuracy.to_vec();
        self.draw_panel(
            &left,
            "Accuracy (%)",
            0.0..105.0,
            Some(self.chance),
            accuracy,
        )?;
        let error = |s: &ClassSeries<'_>| s.abs_error_deg.to_vec();
        self.draw_panel(&right, "Absolute error (deg)", 0.0..error_top, None, error)
    }
}

impl ComparisonFigure<'_> {
    /// One panel of `values` per classifier, with a dashed line at the
    /// `chance` level when given.
    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        y_label: &str,
        y_range: std::ops::Range<f64>,
        chance: Option<f64>,
        values: impl Fn(&ClassSeries) -> Vec<f64>,
    ) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let x = padded_range(self.class_ipd_deg.iter().copied().chain([-90.0, 90.0]), 0.0);
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(x, y_range)?;
        styled_mesh(&mut chart)
            .x_desc("True IPD class (midpoint, deg)")
            .y_desc(y_label)
            .draw()?;
        if let Some(chance) = chance {
            draw_level(&mut chart, chance, MPL_GREY, Some("Chance"))?;
        }
        let (xs, ys) = (chart.x_range(), chart.y_range());
        let mut marks = Vec::new();
        for (s, &colour) in self.series.iter().zip(&COLOURS) {
            let points: Vec<(f64, f64)> =
                self.class_ipd_deg.iter().copied().zip(values(s)).collect();
            marks.extend(points.iter().map(|&(x, y)| {
                (
                    (x - xs.start) / (xs.end - xs.start),
                    (y - ys.start) / (ys.end - ys.start),
                )
            }));
            draw_curve(&mut chart, points, colour, s.limit, Some(s.label))?;
        }
        let corner = least_crowded_corner(marks.into_iter());
        draw_legend(&mut chart, TICK_PX, corner)?;
        draw_frame(&chart)
    }
}
