//! The figures' text: a bundled DejaVu Sans, so figures render the same on
//! machines without fontconfig or any system font, and [`GlyphFix`], which
//! lays out bitmap text itself. `GlyphFix` and the ab_glyph and
//! plotters-backend dependencies can go once plotters lays out ab_glyph text
//! with each glyph's left side bearing upstream.

use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, ScaleFont};
use anyhow::{anyhow, Result};
use plotters::prelude::{DrawingBackend, FontStyle, FontTransform, IntoFont, TextStyle};
use plotters::style::{register_font, text_anchor};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind, FontFamily,
};

const FONT_FAMILY: &str = "sans-serif";

static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The bundled face, parsed once and registered with plotters as
/// "sans-serif", the family behind all of plotters' default text styles.
pub(super) fn bundled_font() -> Result<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| {
        let face = FontRef::try_from_slice(FONT_BYTES).ok()?;
        register_font(FONT_FAMILY, FontStyle::Normal, FONT_BYTES).ok()?;
        Some(face)
    })
    .as_ref()
    .ok_or_else(|| anyhow!("the bundled font DejaVuSans.ttf could not be loaded"))
}

pub(super) fn font(px: u32) -> TextStyle<'static> {
    (FONT_FAMILY, px).into_font().into()
}

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
