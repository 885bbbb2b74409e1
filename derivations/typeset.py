"""Formulas typeset as PNG images with matplotlib's mathtext: the answer pages' and the report's one renderer.

A page that must open from disk with no network shows each formula as a PNG data URI.
`render_png` typesets mathtext at a fixed size and strips the PNG's text and time chunks
(`strip_metadata`), so a rebuild gives the same bytes; `typeset_answer` typesets a user's
answer text, only within the checker's cap (`answer_grammar.MAX_LENGTH` characters: mathtext's
time grows with the text), and returns None where mathtext cannot read it, for the caller to
show the text escaped instead. Used by the class summary here and by report/ (the report's
formulas, the feedback page).
"""
from __future__ import annotations

import base64
import io
import logging
import re
import struct
import zlib

from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.mathtext import MathTextParser

from .answer_grammar import MAX_LENGTH, clean

FONT_SIZE = 14
DPI = 200  # the image is shown at half its pixel size: sharp on high-density screens

# LaTeX that mathtext lacks, and what it understands instead.
MATHTEXT_SUBSTITUTIONS = (
    (r"\limits", ""),
    (r"\tfrac", r"\frac"),
    (r"\frac", r"\dfrac"),  # display-size fractions: mathtext's inline ones are tiny
    (r"\text{", r"\mathrm{"),
)


_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Text and time chunks carry the writer's name and version or a date; the image is the rest.
_DROPPED = {b"tEXt", b"zTXt", b"iTXt", b"tIME"}


def strip_metadata(png: bytes) -> bytes:
    """The same image with its text and time chunks removed (chunk CRCs are checked)."""
    if not png.startswith(_SIGNATURE):
        raise ValueError("not a PNG file")
    out, pos = [_SIGNATURE], len(_SIGNATURE)
    while pos < len(png):
        if pos + 8 > len(png):
            raise ValueError("truncated PNG chunk header")
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        end = pos + 12 + length
        if end > len(png):
            raise ValueError("truncated PNG chunk")
        (crc,) = struct.unpack(">I", png[end - 4:end])
        if zlib.crc32(png[pos + 4:end - 4]) != crc:
            raise ValueError(f"bad CRC in PNG chunk {kind!r}")
        if kind not in _DROPPED:
            out.append(png[pos:end])
        pos = end
        if kind == b"IEND":
            break
    return b"".join(out)


def render_png(mathtext: str) -> tuple[bytes, int, int]:
    """(PNG bytes without metadata, width, height in CSS pixels) of a mathtext formula; raises
    ValueError when mathtext cannot parse it."""
    with rc_context({"mathtext.fontset": "cm", "font.size": FONT_SIZE}):
        prop = FontProperties(size=FONT_SIZE)
        width, height, depth, _, _ = MathTextParser("path").parse(f"${mathtext}$", dpi=72, prop=prop)
        pad = 2.0
        fig = Figure(figsize=((width + 2 * pad) / 72, (height + 2 * pad) / 72))
        FigureCanvasAgg(fig)
        fig.text(pad / (width + 2 * pad), (depth + pad) / (height + 2 * pad), f"${mathtext}$",
                 fontproperties=prop, color="#111111")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, transparent=True, metadata={"Software": None})
    png = strip_metadata(buf.getvalue())
    w = round((width + 2 * pad) * DPI / 72 / 2)
    h = round((height + 2 * pad) * DPI / 72 / 2)
    return png, w, h


_BRACELESS = re.compile(r"\\([dt]?frac)\s*([0-9A-Za-z])\s*([0-9A-Za-z])")
_BRACELESS_SQRT = re.compile(r"\\sqrt\s*([0-9A-Za-z])")


def answer_fits(text: str) -> bool:
    """Whether a user's answer text is within the checker's cap (MAX_LENGTH characters), so typeset."""
    return len(text) <= MAX_LENGTH


def typeset_answer(text: str) -> tuple[str, int, int] | None:
    """(png data URI, width, height) of a user's answer text (LaTeX or plain), or None when it
    is longer than the checker's MAX_LENGTH characters or mathtext cannot read it: the caller
    shows it as escaped text then."""
    if not answer_fits(text):
        return None
    body = _BRACELESS.sub(r"\\\1{\2}{\3}", _BRACELESS_SQRT.sub(r"\\sqrt{\1}", clean(text)))  # \frac12: mathtext needs braces
    for old, new in MATHTEXT_SUBSTITUTIONS:
        body = body.replace(old, new)
    # mathtext logs a missing glyph with the character itself: student text, which must not reach the terminal raw.
    log = logging.getLogger("matplotlib.mathtext")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        png, w, h = render_png(body)
    except Exception:  # noqa: BLE001 - mathtext's parse errors (ValueError) or layout failures
        return None
    finally:
        log.setLevel(level)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii"), w, h
