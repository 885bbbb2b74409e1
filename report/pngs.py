"""PNG files without the metadata that would make them differ between builds or versions."""
from __future__ import annotations

import struct

from derivations.typeset import _SIGNATURE, strip_metadata  # noqa: F401 - re-exported for report/


def size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels from the IHDR chunk."""
    if not png.startswith(_SIGNATURE) or png[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    return struct.unpack(">II", png[16:24])
