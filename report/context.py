"""What the report shows, gathered in one place (`Context`, filled by report.build and turned
into the report's outline by report.outline), and the number formats the text shares. The
outline, the tables and the renderers never import report.build, so that imports point one
way: build → renderers → outline → tables → context."""
from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class FigureFile:
    file: str            # relative to the report folder: figures/<name>.png
    title: str
    caption: str
    png: bytes


@dataclass
class Context:
    claims: list[dict] = field(default_factory=list)
    ids_note: str = ""
    questions: list[tuple[str, str, list[dict]]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    simulations: dict = field(default_factory=dict)
    model: dict = field(default_factory=dict)
    figures: list[FigureFile] = field(default_factory=list)
    data_files: dict[str, bytes] = field(default_factory=dict)
    formula_errors: list[str] = field(default_factory=list)
    dev_questions: int | None = None   # the dev set's size: its lines in the data, else the records' dev_total

    def figure(self, file: str) -> FigureFile | None:
        return next((f for f in self.figures if f.file == file), None)


def g(x: float, digits: int = 3) -> str:
    """A number with ``digits`` significant digits, no exponent for ordinary sizes."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if x == 0:
        return "0"
    if 1e-4 <= abs(x) < 1e6:
        decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(x)))))
        return f"{x:.{decimals}f}"
    return f"{x:.{digits - 1}e}"


def num(x: float) -> str:
    """A parameter value as typed: 10, 0.5, 128."""
    return f"{x:g}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(round(seconds % 60)):02d} s"
    return f"{int(seconds // 3600)} h {int(round(seconds % 3600 / 60)):02d} min"
