"""Text-encoding detection and streaming transcoding for delimited files.

DuckDB's CSV reader wants UTF-8. :func:`sniff_encoding` looks at the first
bytes of a file and names its encoding; :func:`transcode_to_utf8` rewrites a
non-UTF-8 file to a temporary UTF-8 copy in fixed-size chunks, so memory stays
flat however big the file is. UTF-8 files (with or without a BOM) are never
copied.

Detection order: byte-order marks (UTF-8, UTF-16 LE/BE), then the NUL-byte
pattern of BOM-less UTF-16, then "is the sample valid UTF-8", then cp1252, and
Latin-1 as the last resort (every byte sequence is valid Latin-1). A sample
with NUL bytes that is not UTF-16, or mostly control characters, is binary.
"""

from __future__ import annotations

import codecs
import logging
from pathlib import Path

from ..errors import InputMalformed, InputUnreadable

__all__ = ["SAMPLE_BYTES", "sniff_encoding", "transcode_to_utf8"]

logger = logging.getLogger(__name__)

SAMPLE_BYTES = 1 << 16
"""How much of the file the encoding sniffer reads."""

_CHUNK = 1 << 20
_CONTROL = set(range(0, 32)) - {9, 10, 12, 13}


def _utf16_without_bom(sample: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` when NULs sit on one parity of an ASCII-ish text."""
    if len(sample) < 4:
        return None
    even = sample[0::2]
    odd = sample[1::2]
    even_nul = even.count(0) / len(even)
    odd_nul = odd.count(0) / len(odd)
    if odd_nul > 0.3 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.3 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def sniff_encoding(path: Path, sample: bytes | None = None, expected: str = "delimited text") -> str:
    """The encoding of the text file at ``path``, judged from its first bytes.

    Returns one of ``utf-8``, ``utf-8-sig``, ``utf-16`` (with BOM),
    ``utf-16-le``, ``utf-16-be``, ``cp1252`` or ``latin-1``. A file whose sample
    is valid UTF-8 is reported as ``utf-8`` even if invalid bytes appear later;
    the caller falls back when DuckDB reports invalid UTF-8 (see
    :func:`taskq.jobs.io.open_table`).

    Raises:
        InputUnreadable: the sample looks binary (NUL bytes that are not
            UTF-16, or mostly control characters), naming the file and what
            it was ``expected`` to hold (``delimited text``, ``JSON lines``).
    """
    if sample is None:
        with path.open("rb") as fh:
            sample = fh.read(SAMPLE_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        guess = _utf16_without_bom(sample)
        if guess:
            return guess
        raise InputUnreadable(
            f"{path.name}: looks like a binary file (NUL bytes), not {expected}", path=str(path)
        )
    controls = sum(1 for b in sample if b in _CONTROL)
    if sample and controls / len(sample) > 0.05:
        raise InputUnreadable(
            f"{path.name}: looks like a binary file (control characters), not {expected}",
            path=str(path),
        )
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def transcode_to_utf8(src: Path, dest: Path, encoding: str) -> Path:
    """Stream ``src`` (in ``encoding``) into ``dest`` as UTF-8, 1 MiB at a time.

    A BOM is dropped. Bytes that ``encoding`` cannot map (the five undefined
    cp1252 positions) become U+FFFD rather than failing the read.

    Returns:
        ``dest``.
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    first = True
    with src.open("rb") as fin, dest.open("w", encoding="utf-8", newline="") as fout:
        try:
            while chunk := fin.read(_CHUNK):
                text = decoder.decode(chunk)
                if first:
                    text = text.removeprefix("\ufeff")
                    first = False
                fout.write(text)
            fout.write(decoder.decode(b"", final=True))
        except UnicodeError as exc:  # e.g. "utf-16" asked for a file without a BOM
            raise InputMalformed(f"{src.name}: cannot decode as {encoding}: {exc}", path=str(src)) from None
    logger.debug("transcoded %s from %s to %s", src, encoding, dest)
    return dest
