"""`from derivations import check`: decide answers in a notebook, shown as a feedback table.

``check("q1b_ii", q=r"\\beta (k_a + k_b)")`` decides the fields of one part (other parts a field
depends on, such as (c) i's query for the weights of (c) ii, are passed as ``context``) and returns
a `CheckResult`. Jupyter shows its `_repr_html_`: a table of field, answer, verdict, condition,
evidence, counterexample and deciding function, every piece of the student's text HTML-escaped;
each answer is wrapped in ``\\(…\\)`` so that Jupyter's MathJax typesets it where it is available, and
elsewhere it shows as the escaped text itself (derivations does not import report/, whose
typesetting needs matplotlib). ``print(result)`` gives the lines of `python -m derivations check`.

Raises `AnswerFileError` for an unknown part or field, as an answer file with them would.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

from .answer_file import PARTS, AnswerFileError

_COLORS = {"holds": "#1a7f37", "holds-with-conditions": "#9a6700", "fails": "#cf222e", "unparseable": "#8250df",
           "not-checkable": "#57606a"}


@dataclass(frozen=True)
class CheckResult:
    """The decisions of one `check` call: ``rows`` as `python -m derivations check --json` gives them."""

    part: str
    rows: tuple

    @property
    def verdicts(self) -> dict[str, str]:
        return {r["field"]: r["verdict"] for r in self.rows}

    def __str__(self) -> str:
        from .answer_table import table_lines

        return "\n".join(table_lines(list(self.rows)))

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in
                       ("field", "answer", "verdict", "condition", "evidence", "counterexample", "decided by"))
        body = []
        for r in self.rows:
            color = _COLORS.get(r["verdict"], "#57606a")
            given = escape(r["given"])
            body.append(
                "<tr>"
                f"<td><code>{escape(r['field'])}</code></td>"
                f"<td><span class='attnlab-answer'>\\({given}\\)</span></td>"
                f"<td><b style='color:{color}'>{escape(r['verdict'])}</b></td>"
                f"<td>{escape(r['condition'])}</td><td>{escape(r['evidence'])}</td>"
                f"<td>{escape(r['counterexample'])}</td><td><code>{escape(r['decided_by'])}</code></td>"
                "</tr>")
        return (f"<table class='attnlab-check'><caption style='text-align:left'>[{escape(self.part)}] decided by proof "
                f"from the expression as given</caption><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def check(part: str, context: dict | None = None, **fields) -> CheckResult:
    """Decide the ``fields`` of ``part`` (ANSWER-FILE.md's names); ``context`` holds other parts they depend on.

    Raises `AnswerFileError` (one line) for an unknown part or field, or no field at all.
    """
    from .answer_checks import check_answers

    if part not in PARTS:
        raise AnswerFileError(f"unknown part {part!r} (known: {', '.join(PARTS)})")
    for name in fields:
        if name not in PARTS[part]:
            raise AnswerFileError(f"unknown field {name!r} in [{part}] (known: {', '.join(PARTS[part])})")
    if not fields:
        raise AnswerFileError(f"no field given for [{part}] (known: {', '.join(PARTS[part])})")
    answers = {p: dict(v) for p, v in (context or {}).items()}
    for p in answers:
        if p not in PARTS:
            raise AnswerFileError(f"unknown part {p!r} in context (known: {', '.join(PARTS)})")
    answers[part] = {f: fields[f] for f in PARTS[part] if f in fields}
    ordered = {p: answers[p] for p in PARTS if p in answers}
    rows = tuple(r.to_json() for r in check_answers(ordered) if r.part == part)
    return CheckResult(part, rows)
