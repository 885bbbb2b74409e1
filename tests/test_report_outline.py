"""The report's outline (report.outline): declared once, rendered by both renderers, and an
incomplete declaration fails here: a block type a renderer does not handle, a section without
a title, anchor or navigation label, a figure named but not drawn (or drawn and never shown),
a link of the page to an id it lacks, a figure of the committed report missing from figures/.

The outline of a real (quick) build is used, with the London and nearest-name records only;
the audit and the sweep are cached in the process, so next to tests/test_report.py it is cheap.
"""
from __future__ import annotations

import dataclasses
import html
import json
import re
from pathlib import Path

import pytest

from report import outline as o
from report import render_html, render_md
from report.build import REPORT_DIR, Options, collect
from report.cli import main


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(context, output folder) of one quick build."""
    base = tmp_path_factory.mktemp("outline")
    results = base / "results"
    results.mkdir()
    for name, recipe, correct, faithful in (("london", "london", 25, True), ("nearest-name", "nearest-name", 17, False)):
        (results / f"{name}.json").write_text(json.dumps(
            {"name": name, "variant": "none", "recipe": recipe, "faithful": faithful, "device": "cpu",
             "commit": "0" * 40, "command": f"python -m models {recipe}", "seed": 0, "wall_seconds": 1.0,
             "dev_correct": correct, "dev_total": 500}), encoding="utf-8")
    out = base / "out"
    assert main(["--quick", "--out", str(out), "--results", str(results)]) == 0
    return collect(Options(quick=True, results_dir=results.resolve())), out


# --------------------------------------------------------------------------- declarations


def test_every_block_type_has_a_renderer_in_both_documents():
    assert set(o.BLOCK_TYPES) == set(render_md.RENDERERS) == set(render_html.RENDERERS)

    @dataclasses.dataclass(frozen=True)
    class Aside:
        text: str

    for renderer in (render_md, render_html):
        with pytest.raises(TypeError, match="no renderer for Aside"):
            renderer.block(Aside("x"))


@pytest.mark.parametrize("title, anchor, nav, message", [
    ("", "x", "X", "has no title"),
    ("  ", "x", "X", "has no title"),
    ("5. More", "", "5. More", "anchor '' is not"),
    ("5. More", "More results", "5. More", "anchor 'More results' is not"),
    ("5. More", "more", "", "has no navigation label"),
])
def test_a_section_without_title_anchor_or_label_is_refused(title, anchor, nav, message):
    with pytest.raises(o.OutlineError, match=message):
        o.Section(title, anchor, nav)


def test_a_section_holds_blocks_only_and_anchors_are_unique():
    with pytest.raises(TypeError, match="str is not an outline block"):
        o.Section("5. More", "more", "5. More", ("a bare string",))
    one = o.Section("5. More", "more", "5. More", (o.Paragraph("text"),))
    with pytest.raises(o.OutlineError, match="share the anchor"):
        o.Outline("t", (), (), (one, dataclasses.replace(one, title="6. Again")))


def test_a_figure_named_but_not_drawn_is_an_error(built):
    ctx, _ = built
    without = dataclasses.replace(ctx, figures=[f for f in ctx.figures if f.file != "figures/model_complexity.png"])
    with pytest.raises(o.OutlineError, match=r"figures/model_complexity\.png, which the build did not draw"):
        o.build_outline(without)


# --------------------------------------------------------------------------- the outline of a build


def test_sections_are_declared_and_rendered_in_the_same_order(built):
    ctx, out = built
    doc = o.build_outline(ctx)
    assert [s.anchor for s in doc.sections] == ["audit", "answers", "simulations", "model"]
    md = (out / "REPORT.md").read_text(encoding="utf-8")
    page = (out / "index.html").read_text(encoding="utf-8")
    assert re.findall(r"^## (.+)$", md, re.M) == [s.title for s in doc.sections]
    h2 = [html.unescape(t) for t in re.findall(r'<section id="[^"]+"><h2>(.*?)</h2>', page)]
    assert h2 == [s.title for s in doc.sections]
    nav = re.search(r"<nav>(.*?)</nav>", page).group(1)
    assert re.findall(r'<a href="#([^"]+)">', nav) == [s.anchor for s in doc.sections]


def test_every_link_of_the_page_to_itself_has_its_target(built):
    _, out = built
    page = (out / "index.html").read_text(encoding="utf-8")
    ids = set(re.findall(r' id="([^"]+)"', page))
    targets = set(re.findall(r'href="#([^"]+)"', page))
    assert len(targets) > 20  # the navigation and every claim's link to its audit row
    assert targets <= ids, sorted(targets - ids)


def test_the_figures_shown_are_the_figures_drawn(built):
    ctx, out = built
    doc = o.build_outline(ctx)
    named = [b.figure.file for s in doc.sections for b in s.blocks if isinstance(b, o.Figure)]
    written = sorted(p.relative_to(out).as_posix() for p in (out / "figures").iterdir())
    assert len(named) == len(set(named)) and sorted(named) == written


def test_the_committed_report_shows_only_figures_that_exist():
    md = (REPORT_DIR / "REPORT.md").read_text(encoding="utf-8")
    page = (REPORT_DIR / "index.html").read_text(encoding="utf-8")
    in_md = set(re.findall(r"^!\[.*\]\((figures/[^)]+)\)$", md, re.M))
    in_html = set(re.findall(r'data-file="(figures/[^"]+)"', page))
    assert len(in_md) >= 6 and in_md == in_html
    missing = [f for f in sorted(in_md) if not (REPORT_DIR / f).is_file()]
    assert not missing, f"the committed report shows figures that report/figures/ lacks: {missing}"


def test_the_dev_set_size_comes_from_the_data(built):
    from models import data as D
    ctx, out = built
    lines = [x for x in (D.data_dir(None) / D.DEV_TSV).read_text(encoding="utf-8").splitlines() if x.strip()]
    assert ctx.dev_questions == len(lines)
    md = (out / "REPORT.md").read_text(encoding="utf-8")
    assert f"### Results on the dev set ({len(lines)} questions)" in md


def test_without_the_data_the_dev_set_size_is_the_records(built):
    """No birth_dev.tsv: the size the records share is used; records that disagree give none."""
    ctx, _ = built
    from report.build import _shared_dev_total
    from report.results import Record

    def rec(total):
        return Record(name="r", variant="none", recipe="london", faithful=True, dev_correct=1, dev_total=total,
                      path="r.json")
    assert _shared_dev_total([rec(250), rec(250)]) == 250
    assert _shared_dev_total([rec(250), rec(500)]) is None
    unknown = dataclasses.replace(ctx, dev_questions=None)
    assert "### Results on the dev set\n" in render_md.render_markdown(unknown)
    assert "<h3>Results on the dev set</h3>" in render_html.render_html(unknown)
