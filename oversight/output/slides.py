"""The seminar deck as a PowerPoint file (python-pptx): a title slide, then the presentation
sequence (region KPIs, map, funnel, good example, poor example), each with its chart as a picture
(drawn by kaleido, oversight.output.images) and its numbers in the user's language. The examples' request
texts, personal data masked, go into the speaker notes."""

from __future__ import annotations

import io

from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.util import Emu, Pt

from oversight.analysis import heatmap
from oversight.i18n import t
from oversight.output import images, presentation

WIDE = (Emu(12192000), Emu(6858000))  # 16:9, 13.33 × 7.5 in
MARGIN = Emu(380000)
DARK = RGBColor(0x1F, 0x4E, 0x79)


def _text(frame, lines: list[str], size: int, bold_first: bool = False) -> None:
    frame.word_wrap = True
    for i, line in enumerate(lines):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.text = line
        paragraph.font.size = Pt(size)
        paragraph.font.bold = bold_first and i == 0
        paragraph.space_after = Pt(6)


def _title(slide, text: str) -> None:
    box = slide.shapes.add_textbox(MARGIN, Emu(200000), WIDE[0] - 2 * MARGIN, Emu(700000))
    _text(box.text_frame, [text], 28, bold_first=True)
    box.text_frame.paragraphs[0].font.color.rgb = DARK


def deck(con, made: presentation.Material, lang: str, target: float, title: str | None = None) -> bytes:
    """The deck as .pptx bytes. Raises images.ChromeMissing when no browser can draw the charts."""
    sequence = presentation.slides(con, made, lang, target, heatmap.boundaries())
    pictures = images.to_png([s.figure for s in sequence if s.figure is not None])
    pictures = iter(pictures)
    prs = Presentation()
    prs.slide_width, prs.slide_height = WIDE
    blank = prs.slide_layouts[6]

    cover = prs.slides.add_slide(blank)
    box = cover.shapes.add_textbox(MARGIN, Emu(2200000), WIDE[0] - 2 * MARGIN, Emu(2400000))
    _text(box.text_frame, [title or t("slides.deck_title", lang),
                           presentation.scope_name(con, made.filters, lang),
                           presentation.period_line(made.filters, made.as_of, lang)], 24, bold_first=True)
    box.text_frame.paragraphs[0].font.size = Pt(36)
    box.text_frame.paragraphs[0].font.color.rgb = DARK

    for item in sequence:
        slide = prs.slides.add_slide(blank)
        _title(slide, item.title)
        top = Emu(1000000)
        text_width = Emu(4300000) if item.figure is not None else WIDE[0] - 2 * MARGIN
        if item.figure is not None:
            left = MARGIN + text_width + Emu(150000)
            width = WIDE[0] - left - MARGIN
            png = next(pictures)
            picture = slide.shapes.add_picture(io.BytesIO(png), left, top, width=width)
            if picture.height > WIDE[1] - top - MARGIN:  # a tall chart: fit the height instead
                ratio = (WIDE[1] - top - MARGIN) / picture.height
                picture.height = int(picture.height * ratio)
                picture.width = int(picture.width * ratio)
        box = slide.shapes.add_textbox(MARGIN, top, text_width, WIDE[1] - top - MARGIN)
        _text(box.text_frame, item.points, 14)
        if item.notes:
            _text(slide.notes_slide.notes_text_frame, item.notes, 12)

    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()
