//! The PDF layout engine of the reports: A4 pages, the standard fonts
//! (Helvetica, Courier, and STSong-Light for Chinese), wrapping and
//! truncating text by its width, paragraphs, headings, fact lists and table
//! rows, and writing the document.

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 48.0;
const BODY: f32 = 9.0;

/// Font resource names.
const SANS: &[u8] = b"F1";
const BOLD: &[u8] = b"F2";
const MONO: &[u8] = b"F3";
const CJK: &[u8] = b"F4";

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Style {
    Title,
    Heading,
    Body,
    Mono,
    Small,
}

impl Style {
    fn size(self) -> f32 {
        match self {
            Style::Title => 16.0,
            Style::Heading => 11.5,
            Style::Body => BODY,
            Style::Mono | Style::Small => 7.5,
        }
    }

    fn font(self) -> &'static [u8] {
        match self {
            Style::Title | Style::Heading => BOLD,
            Style::Mono => MONO,
            Style::Body | Style::Small => SANS,
        }
    }

    fn leading(self) -> f32 {
        self.size() * 1.45
    }
}

/// Approximate advance of `c` in ems (for wrapping only).
fn em(c: char, style: Style) -> f32 {
    if u32::from(c) > 0xFF {
        1.0
    } else if style == Style::Mono {
        0.6
    } else if c.is_ascii_uppercase() || c == 'm' || c == 'w' {
        0.68
    } else {
        0.52
    }
}

/// Lays out lines and cells on pages.
pub(super) struct Layout {
    pub(super) pages: Vec<Content>,
    pub(super) y: f32,
    footer: String,
}

impl Layout {
    pub(super) fn new(footer: String) -> Self {
        let mut l = Self {
            pages: Vec::new(),
            y: 0.0,
            footer,
        };
        l.new_page();
        l
    }

    pub(super) fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.y = PAGE_H - MARGIN;
    }

    pub(super) fn need(&mut self, h: f32) {
        if self.y - h < MARGIN + 14.0 {
            self.new_page();
        }
    }

    pub(super) fn page(&mut self) -> &mut Content {
        if self.pages.is_empty() {
            self.pages.push(Content::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    pub(super) fn text_at(&mut self, x: f32, y: f32, text: &str, style: Style) {
        text_at(self.page(), x, y, text, style);
    }

    /// A paragraph, wrapped to the page width (indented by `indent`).
    pub(super) fn para(&mut self, text: &str, style: Style, indent: f32) {
        let width = PAGE_W - 2.0 * MARGIN - indent;
        for line in wrap(text, style, width) {
            self.need(style.leading());
            self.y -= style.leading();
            let y = self.y;
            self.text_at(MARGIN + indent, y, &line, style);
        }
    }

    pub(super) fn heading(&mut self, text: &str) {
        self.need(Style::Heading.leading() * 3.0);
        self.y -= 8.0;
        self.para(text, Style::Heading, 0.0);
        let y = self.y - 3.0;
        let c = self.page();
        c.set_line_width(0.5);
        c.move_to(MARGIN, y);
        c.line_to(PAGE_W - MARGIN, y);
        c.stroke();
        self.y -= 4.0;
    }

    /// `label: value` pairs, one per line.
    pub(super) fn facts(&mut self, facts: &[(&str, String)]) {
        for (label, value) in facts {
            self.need(Style::Body.leading());
            let start = self.y;
            self.text_at(MARGIN, start - Style::Body.leading(), label, Style::Small);
            self.para(value, Style::Body, 120.0);
        }
    }

    /// A table row: cells at fixed x offsets, truncated to their column.
    pub(super) fn row(&mut self, cells: &[(f32, String)], style: Style) {
        self.need(style.leading());
        self.y -= style.leading();
        let y = self.y;
        let width = PAGE_W - 2.0 * MARGIN;
        for (i, (x, text)) in cells.iter().enumerate() {
            let end = cells.get(i + 1).map_or(width, |n| n.0) - 4.0;
            let fit = truncate(text, style, end - x);
            self.text_at(MARGIN + x, y, &fit, style);
        }
    }

    /// A square of `side` points at the left margin below the current
    /// line, filled where `dark` (row-major, `width` modules a side, a QR
    /// code's modules: at most 177) is set, with a 4-module quiet zone.
    pub(super) fn modules(&mut self, width: usize, dark: &[bool], side: f32) {
        // Module counts are small: exact in f32.
        let n = |v: usize| f32::from(u16::try_from(v).unwrap_or(u16::MAX));
        let quiet = 4;
        let module = side / n(width + 2 * quiet);
        self.need(side);
        let top = self.y - module * n(quiet);
        let left = MARGIN + module * n(quiet);
        let c = self.page();
        for (i, _) in dark.iter().enumerate().filter(|(_, d)| **d) {
            let (row, col) = (i / width, i % width);
            c.rect(
                left + n(col) * module,
                top - n(row + 1) * module,
                module,
                module,
            );
        }
        c.fill_nonzero();
        self.y -= side;
    }

    pub(super) fn finish(self, title: &str) -> Vec<u8> {
        let n = self.pages.len();
        let mut pdf = Pdf::new();
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let info = Ref::new(3);
        let fonts = [Ref::new(4), Ref::new(5), Ref::new(6), Ref::new(7)];
        let cid = Ref::new(8);
        let descriptor = Ref::new(9);
        let first = 10;
        pdf.catalog(catalog).pages(tree);
        pdf.document_info(info)
            .title(TextStr(title))
            .creator(TextStr("govchain workstation"));
        let page_ids: Vec<Ref> = (0..n)
            .map(|i| Ref::new(first + 2 * i32::try_from(i).unwrap_or(0)))
            .collect();
        pdf.pages(tree)
            .kids(page_ids.iter().copied())
            .count(i32::try_from(n).unwrap_or(0));
        for (id, name) in fonts[..3]
            .iter()
            .zip([&b"Helvetica"[..], b"Helvetica-Bold", b"Courier"])
        {
            pdf.type1_font(*id)
                .base_font(Name(name))
                .encoding_predefined(Name(b"WinAnsiEncoding"));
        }
        pdf.type0_font(fonts[3])
            .base_font(Name(b"STSong-Light-UniGB-UTF16-H"))
            .encoding_predefined(Name(b"UniGB-UTF16-H"))
            .descendant_font(cid);
        pdf.cid_font(cid)
            .subtype(CidFontType::Type0)
            .base_font(Name(b"STSong-Light"))
            .system_info(SystemInfo {
                registry: Str(b"Adobe"),
                ordering: Str(b"GB1"),
                supplement: 4,
            })
            .font_descriptor(descriptor)
            .default_width(1000.0);
        pdf.font_descriptor(descriptor)
            .name(Name(b"STSong-Light"))
            .flags(FontFlags::SYMBOLIC)
            .bbox(Rect::new(-25.0, -254.0, 1000.0, 880.0))
            .italic_angle(0.0)
            .ascent(880.0)
            .descent(-120.0)
            .cap_height(880.0)
            .stem_v(93.0);
        for (i, (mut content, page)) in self.pages.into_iter().zip(&page_ids).enumerate() {
            // Footer: what this is and where in it.
            let footer = format!("{} · {}/{n}", self.footer, i + 1);
            text_at(&mut content, MARGIN, MARGIN - 16.0, &footer, Style::Small);
            let content_id = Ref::new(page.get() + 1);
            let mut p = pdf.page(*page);
            p.parent(tree)
                .media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
                .contents(content_id);
            let mut res = p.resources();
            let mut f = res.fonts();
            for (name, id) in [SANS, BOLD, MONO, CJK].iter().zip(fonts) {
                f.pair(Name(name), id);
            }
            f.finish();
            res.finish();
            p.finish();
            pdf.stream(content_id, &content.finish());
        }
        pdf.finish()
    }
}

/// Writes `text` at `(x, y)`: Latin-1 runs in the style's font, other runs
/// in the CJK font (UTF-16BE codes).
fn text_at(c: &mut Content, x: f32, y: f32, text: &str, style: Style) {
    let size = style.size();
    c.begin_text();
    c.set_text_matrix([1.0, 0.0, 0.0, 1.0, x, y]);
    let flush = |c: &mut Content, run: &str, ascii: bool| {
        if run.is_empty() {
            return;
        }
        if ascii {
            // WinAnsiEncoding is Latin-1 from 0xA0 on (·, ¥, ×, …).
            let bytes: Vec<u8> = run.chars().filter_map(|ch| u8::try_from(ch).ok()).collect();
            c.set_font(Name(style.font()), size);
            c.show(Str(&bytes));
        } else {
            let utf16: Vec<u8> = run.encode_utf16().flat_map(u16::to_be_bytes).collect();
            c.set_font(Name(CJK), size);
            c.show(Str(&utf16));
        }
    };
    let mut run = String::new();
    let mut run_ascii = true;
    let mut run_class = 0;
    for ch in text.chars() {
        let ch = if ch.is_control() { ' ' } else { ch };
        // Plain ASCII, Latin-1 and CJK runs apart: ASCII stays a literal
        // string (searchable in the file), the others are shown as bytes.
        let class = match u32::from(ch) {
            0..=0x7F => 0,
            0xA0..=0xFF => 1,
            _ => 2,
        };
        let ascii = class < 2;
        if class != run_class {
            run_class = class;
            flush(c, &run, run_ascii);
            run.clear();
            run_ascii = ascii;
        }
        run.push(ch);
    }
    flush(c, &run, run_ascii);
    c.end_text();
}

pub(super) fn width_of(text: &str, style: Style) -> f32 {
    text.chars().map(|c| em(c, style)).sum::<f32>() * style.size()
}

pub(super) fn truncate(text: &str, style: Style, width: f32) -> String {
    if width_of(text, style) <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut w = em('…', style) * style.size();
    for c in text.chars() {
        w += em(c, style) * style.size();
        if w > width {
            break;
        }
        out.push(c);
    }
    out.push_str("...");
    out
}

/// Greedy wrap by estimated width; breaks at spaces when it can.
pub(super) fn wrap(text: &str, style: Style, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut w = 0.0;
        let mut last_space: Option<usize> = None;
        for c in para.chars() {
            let cw = em(c, style) * style.size();
            if w + cw > width && !line.is_empty() {
                match last_space.filter(|&i| i > 0) {
                    Some(i) => {
                        let rest = line.split_off(i);
                        lines.push(std::mem::take(&mut line));
                        line.push_str(rest.trim_start());
                    }
                    None => lines.push(std::mem::take(&mut line)),
                }
                w = width_of(&line, style);
                last_space = None;
            }
            if c == ' ' {
                last_space = Some(line.len());
            }
            line.push(c);
            w += cw;
        }
        lines.push(line);
    }
    lines
}
