"""`python -m report --answers FILE --out DIR`: a feedback page for one answer file.

The same decisions as `python -m derivations check FILE` (derivations.answer_checks),
written as DIR/FEEDBACK.md and DIR/feedback.html in the report's style: one section per
question part, each field with its verdict, condition, evidence, counterexample and the
deciding function, the given formula typeset (matplotlib's mathtext, embedded as a PNG
data URI; the HTML needs no network). Nothing is written when the file has a user error.
"""
from __future__ import annotations

from html import escape
from pathlib import Path

from fileguard.errors import UserError
from fileguard.outputs import check_output, write_atomic

PART_TITLES = {
    "q1a": "1(a) copying", "q1b_i": "1(b) i: the matrix M", "q1b_ii": "1(b) ii: a query that averages",
    "q1c_i": "1(c) i: a query for noisy keys", "q1c_ii": "1(c) ii: one head with a stretched key",
    "q1d_i": "1(d) i: two heads", "q1d_ii": "1(d) ii: two heads with a stretched key", "q2g_ii": "2(g) ii: cost ratio",
    "q3": "3: considerations (prose)",
}
MATH_KINDS = {"prose", "flag", "choice"}


class FeedbackError(Exception):
    """A user error in the answer file; one line."""


def collect(answers_path: Path) -> tuple[dict, list[dict]]:
    """The answers of one file and their rows, each field decided under the budget of time and size
    of `derivations check` (`derivations.answer_grading.grade`). Raises `FeedbackError` (one line)."""
    from derivations.answer_file import PARTS, AnswerFileError, read_answers
    from derivations.answer_grading import grade
    from derivations.display import for_terminal

    try:
        answers = read_answers(answers_path)
    except AnswerFileError as exc:
        raise FeedbackError(for_terminal(exc)) from None
    rows = []
    for row in grade([answers])[0]:
        row["math"] = PARTS[row["part"]][row["field"]] not in MATH_KINDS
        rows.append(row)
    return answers, rows


def _counts(rows: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        out[r["verdict"]] = out.get(r["verdict"], 0) + 1
    return out


def render_md(name: str, rows: list[dict]) -> str:
    """FEEDBACK.md: every text that comes from the answer file (its name, the given formula, evidence and
    conditions that quote it) is a code span of `derivations.display.for_markdown`, so no field can make
    a heading, a verdict, HTML or a line of its own."""
    from derivations.display import for_markdown as md

    counts = _counts(rows)
    lines = [f"# Feedback on {md(name)}", "",
             "Each answer is decided by proof from the expression as given (`python -m derivations check`); "
             "the evidence is computed from it. A simulation or a numeric check is called that, never a proof.", "",
             "Verdicts: " + ", ".join(f"{v} {n}" for v, n in sorted(counts.items())), ""]
    part = None
    for r in rows:
        if r["part"] != part:
            part = r["part"]
            lines += [f"## {PART_TITLES.get(part, part)}", ""]
        lines += [f"### {md(r['field'])}: **{r['verdict']}**", "", f"Given: {md(r['given'])}", ""]
        if r["condition"]:
            lines += [f"- Condition: {md(r['condition'])}"]
        lines += [f"- Evidence: {md(r['evidence'])}"]
        if r["counterexample"]:
            lines += [f"- Counterexample: {md(r['counterexample'])}"]
        lines += [f"- Decided by: {md(r['decided_by'])}", ""]
    return "\n".join(lines)


def render_html(name: str, rows: list[dict]) -> str:
    """feedback.html: text from the answer file through `derivations.display.for_html` (escaped, controls
    made visible); the given formula typeset by mathtext when it can be, else shown as code."""
    from derivations.display import for_html

    from .mathrender import typeset_answer
    from .render_html import STYLE

    counts = _counts(rows)
    badges = " ".join(f'<span class="verdict v-{escape(v)}">{escape(v)} {n}</span>' for v, n in sorted(counts.items()))
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>Feedback on {for_html(name)}</title><style>{STYLE}</style></head><body>",
           f"<header><h1>Feedback on {for_html(name)}</h1><p>Each answer is decided by proof from the expression as given "
           f"(<code>python -m derivations check</code>); the evidence is computed from it.</p><p>{badges}</p></header><main>"]
    part = None
    for r in rows:
        if r["part"] != part:
            part = r["part"]
            out.append(f"<h2>{escape(PART_TITLES.get(part, part))}</h2>")
        shown = None
        if r["math"]:
            shown = typeset_answer(r["given"])  # None beyond the checker's MAX_LENGTH characters
        given = (f'<img class="math" src="{shown[0]}" width="{shown[1]}" height="{shown[2]}" alt="{for_html(r["given"])}">'
                 if shown else f"<code>{for_html(r['given'])}</code>")
        out.append('<div class="claim">')
        out.append(f'<div class="head"><code>{for_html(r["field"])}</code> '
                   f'<span class="verdict v-{escape(r["verdict"])}">{escape(r["verdict"])}</span></div>')
        out.append(f'<div class="formulas"><span class="formula">{given}</span></div>')
        if r["condition"]:
            out.append(f"<p><b>Condition:</b> {for_html(r['condition'])}</p>")
        out.append(f"<p><b>Evidence:</b> {for_html(r['evidence'])}</p>")
        if r["counterexample"]:
            out.append(f"<p><b>Counterexample:</b> {for_html(r['counterexample'])}</p>")
        out.append(f"<p><b>Decided by:</b> <code>{for_html(r['decided_by'])}</code></p></div>")
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"


def build(answers_path: Path, out_dir: Path) -> list[Path]:
    """Write FEEDBACK.md and feedback.html for one answer file into ``out_dir`` (created if needed).

    Raises `FeedbackError` (one line) for an answer file with a user error, or an output that is
    the answer file or not a regular file (fileguard.outputs.check_output); nothing is written then.
    """
    paths = [out_dir / "FEEDBACK.md", out_dir / "feedback.html"]
    try:
        for path in paths:
            check_output(path, "feedback page", inputs=[answers_path])
    except UserError as exc:
        raise FeedbackError(str(exc)) from None
    _, rows = collect(Path(answers_path))
    name = Path(answers_path).name
    out_dir.mkdir(parents=True, exist_ok=True)
    texts = [render_md(name, rows), render_html(name, rows)]
    for path, text in zip(paths, texts):
        write_atomic(path, text)
    return paths
