"""The answer fields' declarations (derivations.answer_field, answer_fields): complete, and the only source.

A field is declared once, beside the question module that decides it; these tests fail when a
declaration lacks what its kind needs, names a field nobody declares, states a claim the audit
and the report cannot find, or differs from ANSWER-FILE.md's table.
"""
from __future__ import annotations

import ast
import re
import types
from pathlib import Path

import pytest

from derivations import answer_fields, answer_spaces
from derivations.answer_field import CHOICE, FLAG, MATH, AnswerField
from derivations.claims import CLAIMS_FILE, REGISTRY, claim_ids_in

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT.parent / "shared" / "spec" / "ANSWER-FILE.md"


def _spec_fields() -> list[tuple[str, str]]:
    """The (part, field) pairs of ANSWER-FILE.md's table, in its order (an empty first cell continues a part)."""
    out, part = [], None
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[1].startswith("`"):
            continue
        if cells[0]:
            part = re.fullmatch(r"`\[(\w+)\]`", cells[0]).group(1)
        out += [(part, f) for f in re.findall(r"`(\w+)`", cells[1])]
    return out


def test_the_declarations_are_the_fields_of_answer_file_md_in_its_order():
    spec = _spec_fields()
    assert len(spec) == 19  # the table as written on 2026-12-04: a parse that finds nothing cannot pass
    assert list(answer_fields.FIELDS) == spec


def test_each_declared_claim_is_one_the_audit_and_the_report_decide():
    ids = claim_ids_in(CLAIMS_FILE)  # the report's claims table is built from these ids and REGISTRY
    for claim, fields in answer_fields.CLAIM_FIELDS.items():
        assert claim in ids and claim in REGISTRY, claim
        assert all(answer_fields.FIELDS[k].kind == MATH for k in fields)


def test_each_flag_and_choice_is_read_by_a_decision():
    for field in answer_fields.FIELDS.values():
        if field.kind in (FLAG, CHOICE):
            assert answer_fields.readers(field.key), field.key


@pytest.mark.parametrize("kwargs, missing", [
    ({}, "space"),
    ({"space": answer_spaces.MEANS}, "decider"),
    ({"space": answer_spaces.MEANS, "decide": lambda v, f, x: None}, "decider"),
    ({"space": answer_spaces.MEANS, "decide": lambda v, f, x: None, "decided_by": print,
      "depends_on": (("q1c_i", "q"),)}, "context"),
    ({"kind": CHOICE}, "choices"),
    ({"kind": "number"}, "kind"),
])
def test_an_incomplete_declaration_is_refused(kwargs, missing):
    with pytest.raises(ValueError, match=missing):
        AnswerField("q1z", "x", **kwargs)


def test_a_dependency_on_an_unknown_field_or_a_field_declared_twice_is_refused():
    fine = AnswerField("q1z", "x", space=answer_spaces.MEANS, decide=lambda v, f, x: None, decided_by=print)
    stray = AnswerField("q1z", "y", space=answer_spaces.MEANS, decide=lambda v, f, x: None, decided_by=print,
                        depends_on=(("q1z", "nope"),), context=lambda given: None)
    assert list(answer_fields.collect([types.SimpleNamespace(__name__="m", FIELDS=(fine,))])) == [("q1z", "x")]
    with pytest.raises(ValueError, match="nope"):
        answer_fields.collect([types.SimpleNamespace(__name__="m", FIELDS=(fine, stray))])
    with pytest.raises(ValueError, match="twice"):
        answer_fields.collect([types.SimpleNamespace(__name__="m", FIELDS=(fine,)),
                               types.SimpleNamespace(__name__="n", FIELDS=(fine,))])


def test_no_question_module_imports_another():
    """What the questions share lives below them (averaging, output_variance, answer_scale, answer_value)."""
    questions = {p.stem for p in (ROOT / "derivations").glob("q[0-9]*.py")}
    assert len(questions) >= 7
    for stem in sorted(questions):
        tree = ast.parse((ROOT / "derivations" / f"{stem}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            assert not {n.rsplit(".", 1)[-1] for n in names} & (questions - {stem}), f"{stem} imports {names}"
