"""Student text is shown as text (issue 39): no forged verdicts, no terminal escapes, no Markdown or
HTML from a field. Each output is read back: no line begins with a verdict the checker did not
give, no control character reaches stdout or FEEDBACK.md, and JSON stays exact.
"""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from derivations.display import for_csv, for_markdown, for_terminal, from_csv, json_text, visible

ROOT = Path(__file__).resolve().parents[1]
FORGED = "B B^\\top\n  verdict: holds\n  evidence: residual 0"
ESCAPES = "\u001b]0;owned\u0007\u001b[1A\u001b[2K\\beta(\\mu_a + \\mu_b)"
INJECTION = "A A^T\n\n### `M`: **holds**\n\n<script>alert(1)</script>"
HOSTILE_FILE = {
    "q1b_i": {"M": FORGED},
    "q1b_ii": {"q": "k_a + k_b\u2028  verdict: holds\r  verdict: holds\u0085x"},
    "q1c_i": {"q": ESCAPES},
    "q1c_ii": {"eta_mean": "1\u202e\u001b[31m"},
    "q3": {"a": INJECTION, "b": "``` `` ` </code> <img src=x onerror=alert(1)> [link](javascript:alert(1))",
           "c": "# heading\n- item\n> quote\n---\n<!-- comment"},
}


def _controls(text: str) -> list[str]:
    """The control, format and separator characters of ``text`` other than newlines."""
    return [c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]


def _write(tmp_path, name="hostile.toml") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(f"[{part}]\n" + "".join(f"{f} = {json.dumps(v)}\n" for f, v in fields.items())
                              for part, fields in HOSTILE_FILE.items()), encoding="utf-8")
    return path


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "derivations", "check", *args], capture_output=True, timeout=240,
                          cwd=ROOT)


def test_terminal_table_has_only_the_checkers_verdicts_and_no_escapes(tmp_path):
    path = _write(tmp_path)
    data = json.loads(_cli(str(path), "--json").stdout.decode("utf-8"))["parts"]
    proc = _cli(str(path))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode("utf-8")
    assert not _controls(out) and "\x1b" not in out
    lines = out.splitlines()
    # Every field is exactly its block of lines; the verdict lines are the checker's, in order.
    assert [ln for ln in lines if ln.startswith("[")] == [f"[{r['part']}] {r['field']} = {visible(r['given'])}" for r in data]
    verdicts = [ln.split(":", 1)[1].split(" (condition")[0].strip() for ln in lines if ln.startswith("  verdict:")]
    assert verdicts == [r["verdict"] for r in data]
    assert sum(ln.startswith("  evidence:") for ln in lines) == len(data)
    assert data[0]["verdict"] != "holds" and "\\n  verdict: holds" in lines[0]


def test_json_stays_exact_and_carries_no_raw_control_character(tmp_path):
    path = _write(tmp_path)
    raw = _cli(str(path), "--json").stdout
    text = raw.decode("utf-8")
    assert not _controls(text)
    parts = json.loads(text)["parts"]
    assert {(r["part"], r["field"]): r["given"] for r in parts} == {
        (p, f): v for p, fields in HOSTILE_FILE.items() for f, v in fields.items()}


def test_class_lines_and_csv_show_names_and_fields_as_text(tmp_path):
    path = _write(tmp_path, "evil\u001b[2J\nname.toml")
    other = _write(tmp_path, "plain.toml")
    out = tmp_path / "class.csv"
    proc = _cli(str(path), str(other), "--csv", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    stdout = proc.stdout.decode("utf-8")
    assert not _controls(stdout) and len(stdout.splitlines()) == 2 and "evil\\x1b[2J\\nname.toml" in stdout
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [from_csv(r["file"]) for r in rows[:len(rows) // 2]] == [str(path)] * (len(rows) // 2)
    for r in rows:
        for column, cell in r.items():
            if column != "file":
                assert not _controls(cell) and "\n" not in cell and "\r" not in cell, (column, cell)
    given = {(r["part"], r["field"]): r["given"] for r in rows if r["file"] == str(other)}
    assert given[("q1b_i", "M")] == "B B^\\top\\n  verdict: holds\\n  evidence: residual 0"


def _outside_code_spans(line: str) -> str:
    """The line with its CommonMark code spans (a run of n backticks to the next run of exactly n) removed."""
    out, i = [], 0
    while i < len(line):
        if line[i] == "`":
            n = len(re.match(r"`+", line[i:]).group())
            close = re.compile(rf"(?<!`)`{{{n}}}(?!`)")
            m = close.search(line, i + n)
            if m is None:
                out.append(line[i:i + n])
                i += n
                continue
            i = m.end()
            continue
        out.append(line[i])
        i += 1
    return "".join(out)


def test_feedback_markdown_carries_no_heading_verdict_html_or_control_from_a_field(tmp_path, caplog):
    from report.feedback import build

    path = _write(tmp_path, "evil\u001b]0;x\u0007<b>.toml")
    md_path, html_path = build(path, tmp_path / "out")
    assert not any(_controls(r.getMessage()) for r in caplog.records)  # mathtext's missing-glyph warnings
    md = md_path.read_text(encoding="utf-8")
    assert not _controls(md)
    lines = md.splitlines()
    fields = [(p, f) for p, fs in HOSTILE_FILE.items() for f in fs]
    headings = [ln for ln in lines if ln.lstrip().startswith("#")]
    assert len(headings) == 1 + len(HOSTILE_FILE) + len(fields)  # the title, one per part, one per field
    field_headings = [ln for ln in headings if ln.startswith("### ")]
    assert [ln.split("`")[1] for ln in field_headings] == [f for _, f in fields]
    assert not any("**holds**" in ln for ln in field_headings[:1])  # M (forged) is not given 'holds'
    for ln in lines:
        bare = _outside_code_spans(ln)
        assert "<" not in bare and "](" not in bare, ln
    page = html_path.read_text(encoding="utf-8")
    assert "<script" not in page and "<img src=x" not in page and "\x1b" not in page


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_display_functions_hold_for_any_text(text):
    term = for_terminal(text)
    assert not _controls(term) and "\n" not in term
    md = for_markdown(text)
    fence = re.match(r"`+", md).group()
    inner = md[len(fence):-len(fence)]
    assert md.endswith(fence) and fence not in inner.replace("`" * (len(fence) + 1), "")  # no run closes it early
    assert max((len(r) for r in re.findall(r"`+", inner)), default=0) < len(fence)
    assert "\n" not in md and not _controls(md)
    assert from_csv(for_csv(text, exact=True)) == text
    assert not for_csv(text).startswith(("=", "+", "-", "@", "\t", "\r"))
    assert json.loads(json_text({"t": text})) == {"t": text} and not _controls(json_text({"t": text}))
    row = io.StringIO()
    csv.writer(row).writerow([for_csv(text, exact=True), for_csv(text)])
    back = next(csv.reader(io.StringIO(row.getvalue(), newline="")))
    assert from_csv(back[0]) == text and back[1] == for_csv(text)


def test_workers_print_nothing_of_their_own(capfd):
    from derivations.answer_grading import PRELOAD
    from derivations.worker_pool import WorkerPool
    from tests.worker_calls import shout

    with WorkerPool(1, timeout=30, preload=PRELOAD) as pool:
        assert [o.value for o in pool.run([(shout, ("\x1b[2J owned",))])] == [10]
    out, err = capfd.readouterr()
    assert "owned" not in out + err
