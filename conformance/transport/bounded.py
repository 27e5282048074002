"""Bounded decompression of recorded bodies and files: a few kilobytes of gzip, deflate, brotli or zstd can
inflate to gigabytes (a "compression bomb"), so every decoder stops at a limit and says so.

``inflate(data, codings, limit)`` undoes a ``Content-Encoding`` list; ``gunzip(data, limit)`` a gzipped file.
Both raise ``TooLarge`` (naming the limit) when the output would pass ``limit`` bytes, and the codec's own
error (``zlib.error``, ``brotli.error``, ``zstandard.ZstdError``, ``EOFError``, ``ValueError``) when the data is
broken.
"""

from __future__ import annotations

import io
import zlib

import brotli
import zstandard

# The largest body the audit decodes (the default --max-body-mb of live runs: one size for both).
MAX_BODY_BYTES = 32 * 1024 * 1024
_CHUNK = 64 * 1024  # input fed to a decoder at a time


class TooLarge(ValueError):
    """Decompressed data over the limit."""

    def __init__(self, coding: str, limit: int):
        super().__init__(f"the {coding} data inflates to more than {limit:,} bytes (the limit): not decoded")
        self.limit = limit


def _zlib(data: bytes, wbits: int, limit: int, coding: str) -> bytes:
    """Every member of a zlib/gzip stream (a gzip file may hold several), within ``limit``."""
    out = bytearray()
    while True:
        decoder = zlib.decompressobj(wbits)
        out += decoder.decompress(data, limit + 1 - len(out))
        if len(out) > limit or decoder.unconsumed_tail:
            raise TooLarge(coding, limit)
        if not decoder.eof:
            raise EOFError(f"the {coding} data is cut short")
        data = decoder.unused_data
        if wbits != 31 or not data.lstrip(b"\0"):
            return bytes(out)  # gzip may be followed by another member (or NUL padding); zlib/raw deflate not


def gunzip(data: bytes, limit: int) -> bytes:
    """Decompress a gzip file (all its members) within ``limit`` bytes."""
    return _zlib(data, 31, limit, "gzip")


def _brotli(data: bytes, limit: int) -> bytes:
    decoder = brotli.Decompressor()
    out = bytearray()
    for at in range(0, max(len(data), 1), _CHUNK):
        out += decoder.process(data[at:at + _CHUNK], output_buffer_limit=limit + 1 - len(out))
        while len(out) <= limit and not decoder.can_accept_more_data():
            out += decoder.process(b"", output_buffer_limit=limit + 1 - len(out))
        if len(out) > limit:
            raise TooLarge("br", limit)
    if not decoder.is_finished():
        raise EOFError("the br data is cut short")
    return bytes(out)


def _zstd(data: bytes, limit: int) -> bytes:
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True)
    out = reader.read(limit + 1)
    if len(out) > limit:
        raise TooLarge("zstd", limit)
    return out


def inflate(data: bytes, codings: list[str], limit: int = MAX_BODY_BYTES) -> bytes:
    """Undo ``Content-Encoding`` (applied in order, so undone in reverse), each step within ``limit`` bytes."""
    for coding in reversed(codings):
        if coding in ("gzip", "x-gzip"):
            data = _zlib(data, 31, limit, "gzip")
        elif coding == "deflate":
            try:
                data = _zlib(data, 15, limit, "deflate")
            except zlib.error:
                data = _zlib(data, -15, limit, "deflate")  # raw deflate, as some servers send
        elif coding == "br":
            data = _brotli(data, limit)
        elif coding == "zstd":
            data = _zstd(data, limit)
        elif coding not in ("identity", ""):
            raise ValueError(f"unknown content-encoding {coding!r}")
    return data
