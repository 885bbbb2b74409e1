"""tests/mutations.py stays usable: every planted bug still applies, exactly once, to today's code
(a refactor that moves a line would otherwise turn a mutation into an error, not a check)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_mutation_applies_exactly_once():
    spec = importlib.util.spec_from_file_location("attnlab_mutations", REPO / "tests" / "mutations.py")
    mutations = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("attnlab_mutations", mutations)  # dataclasses look their module up there
    spec.loader.exec_module(mutations)
    assert len(mutations.MUTATIONS) >= 13  # the named bugs and ten more
    counts = {m.name: (REPO / m.path).read_text(encoding="utf-8").count(m.old) for m in mutations.MUTATIONS}
    assert all(n == 1 for n in counts.values()), {k: n for k, n in counts.items() if n != 1}
