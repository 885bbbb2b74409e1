"""The lines `python -m derivations check FILE` prints for one file's rows (also a notebook result's text).

Each field: ``[part] field = given``, then where a write-up's field was read (file, line, the
expression as written), the verdict with its condition, the evidence, the counterexample, a
simulation when asked for, and the deciding function. A field not found in a write-up says so.
"""
from __future__ import annotations


def table_lines(rows: list[dict]) -> list[str]:
    """The CLI's lines for JSON-ready rows (`check_cli.check_file`, `answer_sources.check_source`)."""
    out = []
    for r in rows:
        if r["verdict"] == "not-found":
            out.append(f"[{r['part']}] {r['field']}: not found (verdict not-found: nothing guessed, nothing decided)")
            continue
        out.append(f"[{r['part']}] {r['field']} = {r['given']}")
        if r.get("source"):
            out.append(f"  read from: {r['source']}: {r['read']}")
        out.append(f"  verdict: {r['verdict']}" + (f" (condition: {r['condition']})" if r["condition"] else ""))
        out.append(f"  evidence: {r['evidence']}")
        if r["counterexample"]:
            out.append(f"  counterexample: {r['counterexample']}")
        if r.get("simulated"):
            out.append(f"  simulated: {r['simulated']['text']}")
        out.append(f"  decided by: {r['decided_by']}")
    return out
