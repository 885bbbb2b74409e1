"""Where the data lives: read-only input that no command may write into."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def default_data_folder() -> Path:
    """$ATTNLAB_DATA when set, else ../shared/data beside the repository (it may not exist)."""
    if os.environ.get("ATTNLAB_DATA"):
        return Path(os.environ["ATTNLAB_DATA"])
    return REPO_ROOT / ".." / "shared" / "data"
