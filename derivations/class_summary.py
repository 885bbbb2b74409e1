"""The class's common mistakes: `python -m derivations check FILE… --summary DIR`.

`group_class(paths, results)` groups, for every part and field, the class's answers by meaning:
two answers are one group when they evaluate (`answer_algebra.evaluate`, in the part's space) to
values of the same shape whose difference simplifies to zero (``A A^T`` and ``A*A.T``;
``\\frac{k_a+k_b}{2}`` and ``0.5 k_a + 0.5 k_b``); an answer that does not evaluate is grouped by its
cleaned text, and the fields not found in write-ups form one group. Each group has its count, its
verdicts, one counterexample and its files; wrong groups (fails, unparseable, not-checkable,
not-found) come first, the most frequent first.

`write_summary(folder, paths, results)` writes ``SUMMARY.md`` and ``summary.html`` (one file with no
network: each group's formula typeset by `derivations.typeset` as the feedback page does, above the
text as written; student text through `display.for_html`). Raises
`fileguard.errors.UserError` for a folder it may not write (`check_summary_dir`, called first).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .display import for_html
from .typeset import typeset_answer

from .answer_file import PARTS

WRONG = ("fails", "unparseable", "not-checkable", "not-found")


@dataclass
class Group:
    """Answers to one field that mean the same."""

    given: str  # the first answer seen, as written
    verdicts: Counter = field(default_factory=Counter)
    files: list[str] = field(default_factory=list)
    counterexample: str = ""
    evidence: str = ""
    value: object = None  # the evaluated value, or None when it did not evaluate
    key: str = ""  # the cleaned text, for answers that do not evaluate

    @property
    def count(self) -> int:
        return len(self.files)

    @property
    def verdict(self) -> str:
        return self.verdicts.most_common(1)[0][0]

    @property
    def wrong(self) -> bool:
        return self.verdict in WRONG


def _meaning(part: str, fld: str, text: str):
    """(value or None, cleaned text) of an answer in its part's space."""
    from .answer_algebra import evaluate
    from .answer_fields import FIELDS
    from .answer_grammar import clean
    from .answer_spaces import ALL_OBJECT_NAMES, SCALARS

    space = FIELDS[(part, fld)].space
    try:
        key = clean(text)
    except Exception:  # noqa: BLE001 - any text is grouped somewhere; clean itself never evaluates
        key = text
    try:
        value, _ = evaluate(text, SCALARS if space is None else space, ALL_OBJECT_NAMES)
    except Exception:  # noqa: BLE001 - unparseable or not reducible: grouped by its text instead
        return None, key
    return value.simplified(), key


def _same(a, b) -> bool:
    from .answer_algebra import add, scale

    if a.shape != b.shape:
        return False
    try:
        return add(a, scale(b, -1)).is_zero()
    except Exception:  # noqa: BLE001 - a difference SymPy cannot settle is not called equal
        return False


def group_class(paths: list[str], results: list[list[dict]]) -> dict[tuple[str, str], list[Group]]:
    """{(part, field): groups, wrong first and most frequent first}, in PARTS order."""
    out: dict[tuple[str, str], list[Group]] = {}
    for path, rows in zip(paths, results):
        for r in rows:
            if PARTS[r["part"]][r["field"]] in ("prose", "flag", "choice"):
                continue
            groups = out.setdefault((r["part"], r["field"]), [])
            if r["verdict"] == "not-found":
                value, key = None, "\0not-found"
            else:
                value, key = _meaning(r["part"], r["field"], r["given"])
            match = None
            for g in groups:
                if value is not None and g.value is not None and _same(value, g.value):
                    match = g
                    break
                if value is None and g.value is None and key == g.key:
                    match = g
                    break
            if match is None:
                match = Group(r["given"] if r["verdict"] != "not-found" else "(not found)", value=value, key=key)
                groups.append(match)
            match.verdicts[r["verdict"]] += 1
            match.files.append(path)
            if r["counterexample"] and not match.counterexample:
                match.counterexample = r["counterexample"]
            if not match.evidence:
                match.evidence = r["evidence"]
    order = {(p, f): i for i, (p, f) in enumerate((p, f) for p in PARTS for f in PARTS[p])}
    return {k: sorted(v, key=lambda g: (not g.wrong, -g.count)) for k, v in sorted(out.items(), key=lambda kv: order[kv[0]])}


def _top_wrong(grouped, n: int = 10):
    wrong = [(k, g) for k, groups in grouped.items() for g in groups if g.wrong]
    return sorted(wrong, key=lambda kg: -kg[1].count)[:n]


def render_md(grouped, n_files: int) -> str:
    lines = [f"# The class's answers, grouped by meaning ({n_files} files)", "",
             "Answers are one group when their values in the part's space differ by an expression that simplifies "
             "to zero (`python -m derivations check --summary`). Wrong answers first, the most frequent first.", "",
             "## Most frequent wrong answers", "", "| part | field | answer | count | verdict |", "|---|---|---|---|---|"]
    for (p, f), g in _top_wrong(grouped):
        lines.append(f"| {p} | {f} | `{_md_code(g.given)}` | {g.count} | {g.verdict} |")
    for (p, f), groups in grouped.items():
        lines += ["", f"## [{p}] {f}", ""]
        for g in groups:
            verdicts = ", ".join(f"{v} {n}" for v, n in g.verdicts.most_common())
            lines += [f"### `{_md_code(g.given)}`: {g.count} file{'s' if g.count != 1 else ''}, {verdicts}", ""]
            if g.counterexample:
                lines.append(f"- Counterexample: {g.counterexample}")
            lines.append(f"- Files: {', '.join(g.files)}")
            lines.append("")
    return "\n".join(lines) + "\n"


def _md_code(text: str) -> str:
    return " ".join(text.split()).replace("`", "'").replace("|", "\\|")


def _formula(text: str) -> str:
    """An answer for the HTML page: typeset (`typeset.typeset_answer`) above its text as written, or
    the text alone where mathtext cannot read it; student text always through `display.for_html`."""
    shown = typeset_answer(text) if text else None
    code = f"<code>{for_html(text)}</code>"
    if shown is None:
        return code
    return f'<img class="math" src="{shown[0]}" width="{shown[1]}" height="{shown[2]}" alt="{for_html(text)}"><br>{code}'


def render_html(grouped, n_files: int) -> str:
    """summary.html: one file with no network, each group's answer typeset as the feedback page does."""
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8"><title>The class\'s answers</title>',
           "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}code{white-space:pre-wrap}"
           ".wrong{color:#cf222e}.right{color:#1a7f37}td,th{text-align:left;padding:.2em .6em;vertical-align:top}</style>",
           f"</head><body><h1>The class's answers, grouped by meaning ({n_files} files)</h1>",
           "<p>Answers are one group when their values in the part's space differ by an expression that simplifies to zero. "
           "Wrong answers first, the most frequent first. Each formula is typeset above the text as written.</p>",
           "<h2>Most frequent wrong answers</h2><table><tr><th>part</th><th>field</th><th>answer</th><th>count</th><th>verdict</th></tr>"]
    for (p, f), g in _top_wrong(grouped):
        out.append(f"<tr><td>{for_html(p)}</td><td>{for_html(f)}</td><td>{_formula(g.given)}</td>"
                   f"<td>{g.count}</td><td class='wrong'>{for_html(g.verdict)}</td></tr>")
    out.append("</table>")
    for (p, f), groups in grouped.items():
        out.append(f"<h2>[{for_html(p)}] {for_html(f)}</h2><table><tr><th>answer</th><th>count</th><th>verdicts</th>"
                   "<th>counterexample</th><th>files</th></tr>")
        for g in groups:
            verdicts = ", ".join(f"{v} {n}" for v, n in g.verdicts.most_common())
            out.append(f"<tr><td>{_formula(g.given)}</td><td>{g.count}</td>"
                       f"<td class='{'wrong' if g.wrong else 'right'}'>{for_html(verdicts)}</td>"
                       f"<td>{for_html(g.counterexample)}</td><td>{for_html(', '.join(g.files))}</td></tr>")
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def check_summary_dir(folder: Path, inputs: list[str], error) -> None:
    """Refuse a summary folder before any work (an input, the data, not a folder); ``error`` exits 2."""
    from fileguard.errors import UserError
    from fileguard.outputs import check_output

    try:
        check_output(folder, "summary", folder=True, inputs=inputs)
        for name in ("SUMMARY.md", "summary.html"):
            check_output(Path(folder) / name, "summary", inputs=inputs)
    except UserError as exc:
        error(str(exc))


def write_summary(folder: Path, paths: list[str], results: list[list[dict]]) -> list[Path]:
    """Write DIR/SUMMARY.md and DIR/summary.html; the written paths."""
    from fileguard.outputs import write_atomic

    grouped = group_class(paths, results)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "SUMMARY.md", folder / "summary.html"]
    write_atomic(written[0], render_md(grouped, len(paths)), "summary")
    write_atomic(written[1], render_html(grouped, len(paths)), "summary")
    return written
