"""The lines `python -m derivations check FILE` prints for one file's rows (also a notebook result's text).

Each field: ``[part] field = given``, then where a write-up's field was read (file, line, the
expression as written), the verdict with its condition, the evidence, the counterexample, a
simulation when asked for, and the deciding function. A field not found in a write-up says so.
"""
from __future__ import annotations


def table_lines(rows: list[dict], *, parts: bool = True, decided_by: bool = True) -> list[str]:
    """The CLI's lines for JSON-ready rows (`check_cli.check_file`, `answer_sources.check_source`);
    every value through `display.for_terminal`, so a field can neither forge a line nor reach the
    terminal's control sequences. ``parts`` = False leaves out the ``[part]`` prefix (one part's
    rows, as a Gradescope test shows them), ``decided_by`` = False the deciding function."""
    from .display import for_terminal as t

    out = []
    for r in rows:
        head = f"[{t(r['part'])}] {t(r['field'])}" if parts else t(r["field"])
        if r["verdict"] == "not-found":
            out.append(f"{head}: {t(r['evidence'])} (verdict not-found: nothing guessed, nothing decided)")
            continue
        out.append(f"{head} = {t(r['given'])}")
        if r.get("source"):
            out.append(f"  read from: {t(r['source'])}" + (f": {t(r['read'])}" if r.get("read") else ""))
        out.append(f"  verdict: {t(r['verdict'])}" + (f" (condition: {t(r['condition'])})" if r["condition"] else ""))
        out.append(f"  evidence: {t(r['evidence'])}")
        if r["counterexample"]:
            out.append(f"  counterexample: {t(r['counterexample'])}")
        if r.get("simulated"):
            out.append(f"  simulated: {t(r['simulated']['text'])}")
        if decided_by:
            out.append(f"  decided by: {t(r['decided_by'])}")
    return out
