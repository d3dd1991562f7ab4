//! What every printed document shares: the embedded Unicode font (DejaVu Sans, shipped in
//! `crates/core/assets/fonts`, so ₹ and accents print the same on every machine), text
//! measured in that font, and a page built up from positioned text and boxes. ID cards use
//! it now; invoices, receipts, prescriptions and summaries build on it.

use crate::error::{Error, Result};
use printpdf::{
    Color, FontId, Line, LinePoint, Mm, Op, PaintMode, ParsedFont, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions,
    Point, Pt, RawImage, RawImageData, RawImageFormat, Rect, Rgb, TextItem, XObjectId, XObjectTransform,
};
use std::sync::OnceLock;

const REGULAR_TTF: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
const BOLD_TTF: &[u8] = include_bytes!("../assets/fonts/DejaVuSans-Bold.ttf");

/// Parsing a font takes milliseconds; it is done once per process.
fn parsed(which: Weight) -> Result<&'static ParsedFont> {
    static REGULAR: OnceLock<Option<ParsedFont>> = OnceLock::new();
    static BOLD: OnceLock<Option<ParsedFont>> = OnceLock::new();
    let (cell, bytes) = match which {
        Weight::Regular => (&REGULAR, REGULAR_TTF),
        Weight::Bold => (&BOLD, BOLD_TTF),
    };
    cell.get_or_init(|| ParsedFont::from_bytes(bytes, 0, &mut Vec::new()))
        .as_ref()
        .ok_or_else(|| Error::internal("the embedded font could not be read"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Regular,
    Bold,
}

/// Colours used for status only; text is near-black.
pub const INK: (f32, f32, f32) = (0.11, 0.13, 0.16);
pub const MUTED: (f32, f32, f32) = (0.35, 0.38, 0.42);
pub const ACCENT: (f32, f32, f32) = (0.05, 0.33, 0.55);

fn rgb((r, g, b): (f32, f32, f32)) -> Color {
    Color::Rgb(Rgb::new(r, g, b, None))
}

/// The width of `text` in points at `size` in the given weight. Characters the font lacks
/// count as half an em.
pub fn text_width(text: &str, size: f32, weight: Weight) -> Result<f32> {
    let font = parsed(weight)?;
    let em = f32::from(font.units_per_em.max(1));
    let units: f32 = text
        .chars()
        .map(|c| font.lookup_glyph_index(c as u32).and_then(|g| font.get_glyph_width(g)).map_or(em / 2.0, f32::from))
        .sum();
    Ok(units / em * size)
}

/// `text` shortened with an ellipsis so that it fits in `max` points.
pub fn fit(text: &str, size: f32, weight: Weight, max: f32) -> Result<String> {
    if text_width(text, size, weight)? <= max {
        return Ok(text.to_string());
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let candidate = format!("{}…", chars.iter().collect::<String>().trim_end());
        if text_width(&candidate, size, weight)? <= max {
            return Ok(candidate);
        }
    }
    Ok(String::new())
}

/// A document being drawn: pages of operations in millimetres from the bottom-left corner.
pub struct Doc {
    doc: PdfDocument,
    regular: FontId,
    bold: FontId,
    pages: Vec<PdfPage>,
}

/// One page's operations.
pub struct Page {
    width: Mm,
    height: Mm,
    ops: Vec<Op>,
}

impl Doc {
    pub fn new(title: &str) -> Result<Doc> {
        let mut doc = PdfDocument::new(title);
        // printpdf leaves the dates at the Unix epoch: a printout is made now (UTC).
        if let Ok(now) = printpdf::DateTime::from_unix_timestamp(chrono::Utc::now().timestamp()) {
            let info = &mut doc.metadata.info;
            (info.creation_date, info.modification_date, info.metadata_date) = (now, now, now);
        }
        let regular = doc.add_font(parsed(Weight::Regular)?);
        let bold = doc.add_font(parsed(Weight::Bold)?);
        Ok(Doc { doc, regular, bold, pages: Vec::new() })
    }

    pub fn page(&self, width_mm: f32, height_mm: f32) -> Page {
        Page { width: Mm(width_mm), height: Mm(height_mm), ops: Vec::new() }
    }

    pub fn push(&mut self, page: Page) {
        self.pages.push(PdfPage::new(page.width, page.height, page.ops));
    }

    /// Writes the PDF with the font subset to the glyphs used.
    pub fn finish(mut self) -> Vec<u8> {
        let pages = std::mem::take(&mut self.pages);
        self.doc.with_pages(pages).save(&PdfSaveOptions::default(), &mut Vec::new())
    }

    fn font(&self, weight: Weight) -> FontId {
        match weight {
            Weight::Regular => self.regular.clone(),
            Weight::Bold => self.bold.clone(),
        }
    }
}

impl Page {
    /// Text with its baseline starting at (x, y) mm.
    // The drawing primitive every printout calls: position, size, weight and colour are
    // what a caller states each time, and a style struct would only move them.
    #[allow(clippy::too_many_arguments)]
    pub fn text(&mut self, doc: &Doc, x: f32, y: f32, size: f32, weight: Weight, colour: (f32, f32, f32), text: &str) {
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFillColor { col: rgb(colour) },
            Op::SetFont { font: PdfFontHandle::External(doc.font(weight)), size: Pt(size) },
            Op::SetTextCursor { pos: Point::new(Mm(x), Mm(y)) },
            Op::ShowText { items: vec![TextItem::Text(text.to_string())] },
            Op::EndTextSection,
        ]);
    }

    /// A filled rectangle, (x, y) its lower-left corner, in mm.
    pub fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, colour: (f32, f32, f32)) {
        self.ops.push(Op::SetFillColor { col: rgb(colour) });
        self.ops.push(Op::DrawRectangle {
            rectangle: Rect {
                mode: Some(PaintMode::Fill),
                ..Rect::from_xywh(Mm(x).into(), Mm(y).into(), Mm(w).into(), Mm(h).into())
            },
        });
    }

    /// A thin rule from (x1, y1) to (x2, y2), in mm.
    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, colour: (f32, f32, f32)) {
        let point = |x: f32, y: f32| LinePoint { p: Point::new(Mm(x), Mm(y)), bezier: false };
        self.ops.push(Op::SetOutlineColor { col: rgb(colour) });
        self.ops.push(Op::SetOutlineThickness { pt: Pt(0.5) });
        self.ops.push(Op::DrawLine { line: Line { points: vec![point(x1, y1), point(x2, y2)], is_closed: false } });
    }
}

/// A decoded picture (a clinic's logo): 8-bit RGB, transparency flattened onto white.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
}

/// The largest picture side accepted, in pixels.
pub const MAX_PICTURE_SIDE: u32 = 2_000;

/// Decodes a PNG (any colour type and bit depth) for printing.
pub fn decode_png(bytes: &[u8]) -> std::result::Result<Picture, String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    // 16-bit channels to 8, palettes and low bit depths to full 8-bit samples.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| format!("not a readable PNG: {e}"))?;
    let (w, h) = (reader.info().width, reader.info().height);
    if w == 0 || h == 0 || w > MAX_PICTURE_SIDE || h > MAX_PICTURE_SIDE {
        return Err(format!("the picture must be at most {MAX_PICTURE_SIDE} × {MAX_PICTURE_SIDE} pixels"));
    }
    let size = reader.output_buffer_size().ok_or("the picture is too large")?;
    let mut buf = vec![0; size];
    let frame = reader.next_frame(&mut buf).map_err(|e| format!("not a readable PNG: {e}"))?;
    let data = &buf[..frame.buffer_size()];
    let channels = frame.color_type.samples();
    let mut rgb = Vec::with_capacity(w as usize * h as usize * 3);
    for px in data.chunks_exact(channels) {
        let (r, g, b, a) = match px {
            [v] => (*v, *v, *v, 255),
            [v, a] => (*v, *v, *v, *a),
            [r, g, b] => (*r, *g, *b, 255),
            [r, g, b, a] => (*r, *g, *b, *a),
            _ => return Err("unexpected PNG layout".into()),
        };
        // Over white: c·a + 255·(1 − a).
        let over = |c: u8| ((u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a))) / 255) as u8;
        rgb.extend([over(r), over(g), over(b)]);
    }
    Ok(Picture { width: w as usize, height: h as usize, rgb })
}

impl Doc {
    /// Adds a picture to the document once; pages place it with [`Page::picture`].
    pub fn add_picture(&mut self, p: &Picture) -> XObjectId {
        let raw = RawImage {
            pixels: RawImageData::U8(p.rgb.clone()),
            width: p.width,
            height: p.height,
            data_format: RawImageFormat::RGB8,
            tag: Vec::new(),
        };
        self.doc.add_image(&raw)
    }
}

impl Page {
    /// Places a picture with its lower-left corner at (x, y) mm, `height` mm tall, keeping
    /// its proportions (the resolution is chosen so that its pixels span that height).
    pub fn picture(&mut self, id: &XObjectId, p: &Picture, x: f32, y: f32, height: f32) {
        let dpi = p.height as f32 / (height / 25.4);
        let transform = XObjectTransform {
            translate_x: Some(Mm(x).into()),
            translate_y: Some(Mm(y).into()),
            dpi: Some(dpi),
            ..Default::default()
        };
        self.ops.push(Op::UseXobject { id: id.clone(), transform });
    }
}

/// `text` as a QR code (error correction M) of `size` mm with its quiet zone, its lower left
/// corner at (x, y) mm: the ID card's MRN, the recovery sheet's key.
pub fn qr(page: &mut Page, text: &str, x: f32, y: f32, size: f32) -> Result<()> {
    use qrcode::{Color as Module, EcLevel, QrCode};
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(Error::internal)?;
    let n = code.width();
    let quiet = 2;
    let module = size / (n + 2 * quiet) as f32;
    page.fill_rect(x, y, size, size, (1.0, 1.0, 1.0));
    for (i, colour) in code.to_colors().into_iter().enumerate() {
        if colour == Module::Dark {
            let (col, row) = (i % n, i / n);
            let mx = x + (col + quiet) as f32 * module;
            // Rows run top-down in the code and bottom-up on the page.
            let my = y + size - (row + quiet + 1) as f32 * module;
            page.fill_rect(mx, my, module, module, (0.0, 0.0, 0.0));
        }
    }
    Ok(())
}
