"""derivations package of attnlab.

``from derivations import check`` decides answers in a notebook (`derivations.notebook.check`).
"""


def check(part: str, context: dict | None = None, **fields):
    """Decide one part's fields; see `derivations.notebook.check` (imported on first use: SymPy is slow to load)."""
    from .notebook import check as _check

    return _check(part, context, **fields)
