"""PNG files without the metadata that would make them differ between builds or versions."""
from __future__ import annotations

import struct
import zlib

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Text and time chunks carry the writer's name and version or a date; the image is the rest.
_DROPPED = {b"tEXt", b"zTXt", b"iTXt", b"tIME"}


def strip_metadata(png: bytes) -> bytes:
    """The same image with its text and time chunks removed (chunk CRCs are checked)."""
    if not png.startswith(_SIGNATURE):
        raise ValueError("not a PNG file")
    out, pos = [_SIGNATURE], len(_SIGNATURE)
    while pos < len(png):
        if pos + 8 > len(png):
            raise ValueError("truncated PNG chunk header")
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        end = pos + 12 + length
        if end > len(png):
            raise ValueError("truncated PNG chunk")
        (crc,) = struct.unpack(">I", png[end - 4:end])
        if zlib.crc32(png[pos + 4:end - 4]) != crc:
            raise ValueError(f"bad CRC in PNG chunk {kind!r}")
        if kind not in _DROPPED:
            out.append(png[pos:end])
        pos = end
        if kind == b"IEND":
            break
    return b"".join(out)


def size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels from the IHDR chunk."""
    if not png.startswith(_SIGNATURE) or png[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    return struct.unpack(">II", png[16:24])
