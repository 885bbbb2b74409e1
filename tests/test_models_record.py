"""models.record.Record: the one declaration of a result record, read and written through it."""

from __future__ import annotations

import ast
import json
from dataclasses import fields
from pathlib import Path

import pytest

from models.record import (FILE_NAMES, READABLE_VERSIONS, SETTINGS_BEFORE_THEY_EXISTED, VERSION, Record,
                           RecordError)

REPO = Path(__file__).resolve().parents[1]
COMMITTED = sorted((REPO / "report" / "results").glob("*.json"))


def minimal(**extra) -> dict:
    return {"name": "r", "variant": "vanilla", "recipe": "no-pretraining", "faithful": False, "dev_correct": 3,
            "dev_total": 10, **extra}


def test_there_are_committed_records():
    assert len(COMMITTED) >= 10


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_every_committed_record_reads_and_writes_back_byte_for_byte(path):
    """Reading never changes evidence: a record written back is the file it was read from
    (same keys, same order, same values, same formatting)."""
    text = path.read_text(encoding="utf-8")
    record = Record.read(path)
    assert record.to_json() == text
    assert record.to_dict() == json.loads(text)


def test_a_new_record_declares_its_version_and_round_trips():
    record = Record.new(**minimal(wall_seconds=1.23456, seed=None, config={"n_layer": 2}))
    data = json.loads(record.to_json())
    assert list(data)[0] == "version" and data["version"] == VERSION == READABLE_VERSIONS[-1]
    assert data["dev_accuracy"] == 0.3 and data["wall_seconds"] == 1.235
    assert "seed" in data and data["seed"] is None  # given as null: written as null
    assert "limit" not in data  # not given: not written
    again = Record.from_dict(data)
    assert again == record and again.to_json() == record.to_json()


def test_a_field_the_type_does_not_declare_cannot_be_written():
    with pytest.raises(TypeError, match="declared in models.record.Record"):
        Record.new(**minimal(learning_rate_typo=1e-3))


def test_a_file_with_a_field_the_type_does_not_declare_is_refused():
    with pytest.raises(RecordError, match="field 'learning_rate_typo' is not declared"):
        Record.from_dict(minimal(learning_rate_typo=1e-3))


@pytest.mark.parametrize("version", [0, 1, VERSION + 1])
def test_a_version_the_reader_does_not_know_is_refused(version):
    # 1 is the version without the key: a file that says "version": 1 was not written by this code
    with pytest.raises(RecordError, match="version .* is not one this code reads"):
        Record.from_dict(minimal(version=version))


def test_version_1_is_a_record_without_the_key():
    record = Record.from_dict(minimal())
    assert record.version is None and "version" not in record.to_dict()


@pytest.mark.parametrize("data, message", [
    (minimal(dev_total="10"), "field 'dev_total' must be int, not str"),
    (minimal(faithful=1), "field 'faithful' must be bool, not int"),
    (minimal(dev_correct=True), "field 'dev_correct' must be int, not bool"),
    (minimal(settings=[1]), "field 'settings' must be dict, not list"),
    (minimal(version="2"), "field 'version' must be int, not str"),
    (minimal(dev_correct=11), r"must lie in 0..dev_total"),
    (minimal(recipe="course"), "recipe 'course' is not one of"),
    ({k: v for k, v in minimal().items() if k != "name"}, "missing field 'name'"),
    ([], "expected a JSON object"),
])
def test_a_malformed_record_is_one_line_saying_what(data, message):
    with pytest.raises(RecordError, match=message) as e:
        Record.from_dict(data)
    assert "\n" not in str(e.value)


def test_every_field_has_a_json_type_and_a_meaning():
    for f in fields(Record):
        if f.name in FILE_NAMES:
            assert f.metadata["json"] and f.metadata["doc"], f.name


def _dict_keys(node) -> set[str]:
    return {k.value for d in ast.walk(node) if isinstance(d, ast.Dict) for k in d.keys
            if isinstance(k, ast.Constant) and isinstance(k.value, str)}


def test_every_field_a_writer_writes_is_declared():
    """The writers (training, the baselines, the recipe, the pipeline) name record fields as
    keywords of new_record / Record.new / with_fields: each one must be a declared field, so an
    incomplete declaration fails here, before any run."""
    writers = {}
    for path in sorted((REPO / "models").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            called = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if called not in ("new_record", "with_fields") and not (
                    called == "new" and isinstance(f, ast.Attribute) and getattr(f.value, "id", "") == "Record"):
                continue
            keys = {k.arg for k in node.keywords if k.arg}
            keys |= {key for k in node.keywords if k.arg is None for key in _dict_keys(k.value)}
            writers.setdefault(path.relative_to(REPO).as_posix(), set()).update(keys)
    assert {"models/commands/finetune.py", "models/commands/evaluate.py", "models/commands/london.py",
            "models/commands/nearest_name.py",
            "models/recipe.py", "models/pipeline.py"} <= set(writers)
    for where, keys in writers.items():
        assert keys <= FILE_NAMES, f"{where} writes {sorted(keys - FILE_NAMES)}, which models.record.Record does not declare"


def test_settings_before_they_existed_name_recipe_settings_as_they_ran():
    from models import data as D
    from models.recipe import Recipe
    assert set(SETTINGS_BEFORE_THEY_EXISTED) <= {f.name for f in fields(Recipe)}
    assert SETTINGS_BEFORE_THEY_EXISTED["truncate_min"] == D.TRUNCATE_MIN


def test_settings_changed_from_reads_a_missing_setting_as_it_ran():
    reference = {"line_form": "question", "n_embd": 128}
    old = Record.from_dict(minimal(recipe="cpu-recipe", settings={"n_embd": 128}))
    assert old.settings_changed_from(reference) == {"line_form": SETTINGS_BEFORE_THEY_EXISTED["line_form"]}
    new = Record.from_dict(minimal(recipe="cpu-recipe", settings={"n_embd": 64, "line_form": "question"}))
    assert new.settings_changed_from(reference) == {"n_embd": 64}
