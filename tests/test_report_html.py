"""index.html in headless Chromium: every figure loads from the page itself (one file that can
be mailed), every formula is typeset, and the screenshots of the first screen and of the model
section (report.screenshots) come out at the window's size and differ.

Needs Debian's `chromium` package (`.ci/run` installs it); skipped, with the reason shown
by pytest's -ra summary, where no Chromium binary exists.

The page renders from report/ (the committed report). The image check runs on a copy of
the page with a small script added, so the report itself stays free of scripts: after
the load event the script records, for every <img>, whether it decoded and its natural
size, and the page's visible text; `--dump-dom` prints the resulting DOM.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from report.build import REPORT_DIR, SCREENSHOTS
from report.screenshots import WINDOW, browser, chromium, take

BROWSER = browser()
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium binary on PATH (Debian: apt-get install chromium)")

PROBE = """<script>
window.addEventListener("load", () => {
  const imgs = Array.from(document.images).map(i => ({
    src: i.getAttribute("src").slice(0, 48), cls: i.className,
    complete: i.complete, w: i.naturalWidth, h: i.naturalHeight}));
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({imgs: imgs, text: document.body.innerText,
                                    formulas: document.querySelectorAll(".formula").length,
                                    errors: document.querySelectorAll(".math-error").length});
  document.body.appendChild(out);
});
</script>"""


@pytest.fixture(scope="module")
def page() -> Path:
    page = REPORT_DIR / "index.html"
    if not page.is_file():
        pytest.fail("report/index.html is missing: run `python -m report` (the generated report is committed)")
    return page


@pytest.fixture(scope="module")
def probed(page, tmp_path_factory) -> dict:
    copy = tmp_path_factory.mktemp("page")  # alone in its folder: nothing beside it to load
    source = page.read_text(encoding="utf-8")
    assert "</body>" in source
    (copy / "index.html").write_text(source.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    proc = chromium("--virtual-time-budget=15000", "--dump-dom", (copy / "index.html").as_uri())
    found = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert found, "the probe script did not run: " + proc.stdout[-500:]
    return json.loads(html.unescape(found.group(1)))


def test_every_figure_and_formula_image_loads(probed):
    imgs = probed["imgs"]
    figures = [i for i in imgs if i["src"].startswith("data:image/png;base64,") and i["cls"] != "math"]
    formulas = [i for i in imgs if i["cls"] == "math"]
    assert len(figures) >= 6 and len(formulas) > 20
    broken = [i["src"] for i in imgs if not (i["complete"] and i["w"] > 0 and i["h"] > 0)]
    assert not broken, f"images that did not load: {broken}"


def test_every_formula_is_typeset(probed):
    assert probed["errors"] == 0
    assert probed["formulas"] == len([i for i in probed["imgs"] if i["cls"] == "math"])
    text = probed["text"]
    latex = re.findall(r"\\[A-Za-z]+|\$", text)
    assert not latex, f"raw LaTeX left in the page's text: {sorted(set(latex))}"
    assert "1. The audit" in text and "4. The model" in text


def test_screenshots_of_the_first_screen_and_the_model_section(page, tmp_path):
    from report.pngs import size
    shots = take(page, tmp_path)
    assert set(shots) == set(SCREENSHOTS)
    data = {what: path.read_bytes() for what, path in shots.items()}
    for what, png in data.items():
        assert png.startswith(b"\x89PNG") and size(png) == WINDOW, what
        assert len(png) > 20_000, f"{what}: an almost empty picture"
    assert data["first screen"] != data["model section"]  # the fragment scrolled the view
