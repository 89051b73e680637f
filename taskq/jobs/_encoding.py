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

A file that is not all UTF-8 is often UTF-8 with a few cp1252 lines (exports
pasted together): :func:`transcode_mixed` reads what is valid UTF-8 as UTF-8
and only the other bytes as cp1252, counting the lines that held them. A file
that is cp1252 throughout comes out as it would from a plain cp1252 decode
(a cp1252 byte pair that also spells a UTF-8 character, such as ``Ã©``, is
the exception, and rare in real text).
"""

from __future__ import annotations

import codecs
import contextvars
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputMalformed, InputUnreadable
from .findings import finding

__all__ = [
    "SAMPLE_BYTES",
    "UTF8",
    "Mixed",
    "decoding_findings",
    "sniff_encoding",
    "transcode_mixed",
    "transcode_to_utf8",
    "utf8_source",
]

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


MAX_LINES_LISTED = 20


@dataclass
class Mixed:
    """What :func:`transcode_mixed` found."""

    lines: int = 0
    """Lines holding bytes that are not UTF-8 (read as cp1252)."""
    listed: list[int] = field(default_factory=list)
    """The first :data:`MAX_LINES_LISTED` of them, 1-based."""
    utf8: int = 0
    """Characters beyond ASCII that were valid UTF-8."""
    _before: int = 0  # line breaks before the bytes being decoded
    _last: int = 0  # the last line counted


_STATE: contextvars.ContextVar[Mixed] = contextvars.ContextVar("taskq_mixed_decode")
_HIGH = re.compile("[^\x00-\x7f]")


def _as_cp1252(err: UnicodeError) -> tuple[str, int]:
    """Decode error handler: the bytes that are not UTF-8, read as cp1252."""
    assert isinstance(err, UnicodeDecodeError)
    bad = err.object[err.start : err.end]
    state = _STATE.get()
    line = state._before + bytes(err.object[: err.start]).count(b"\n") + 1
    if line != state._last:
        state._last = line
        state.lines += 1
        if len(state.listed) < MAX_LINES_LISTED:
            state.listed.append(line)
    # The five bytes cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) as Latin-1, as
    # a file of them is read (sniff_encoding), rather than U+FFFD.
    text = "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in bad)
    state.utf8 -= len(_HIGH.findall(text))  # not UTF-8: taken back off the count below
    return text, err.end


codecs.register_error("taskq-cp1252", _as_cp1252)


def transcode_mixed(src: Path, dest: Path) -> Mixed:
    """Stream ``src`` into ``dest`` as UTF-8: valid UTF-8 as it is, any other byte as cp1252.

    Returns:
        The lines that held bytes that are not UTF-8, and how much was valid UTF-8.
    """
    state = Mixed()
    token = _STATE.set(state)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="taskq-cp1252")
    first = True
    try:
        with src.open("rb") as fin, dest.open("w", encoding="utf-8", newline="") as fout:
            while chunk := fin.read(_CHUNK):
                text = decoder.decode(chunk)
                state._before += chunk.count(b"\n")
                if first:
                    text = text.removeprefix("\ufeff")
                    first = False
                state.utf8 += len(_HIGH.findall(text))
                fout.write(text)
            fout.write(decoder.decode(b"", final=True))
    finally:
        _STATE.reset(token)
    logger.debug("transcoded %s as UTF-8 with cp1252 fallback: %d line(s) not UTF-8", src, state.lines)
    return state


UTF8 = ("utf-8", "utf-8-sig")
"""Encoding names read as they are (no copy)."""


def utf8_source(path: Path, dest: Path, encoding: str, guessed: bool) -> tuple[Path, str, Mixed | None]:
    """The UTF-8 file to read for ``path`` in ``encoding``: ``(file, encoding, mixed)``.

    UTF-8 is read as it is. A cp1252 that was only ``guessed`` (not the caller's
    word) is read with :func:`transcode_mixed` into ``dest``, keeping what is valid
    UTF-8 (the encoding is then ``utf-8`` if any was: UTF-8 with some cp1252 lines,
    not a cp1252 file). Any other encoding is transcoded into ``dest``.
    """
    if guessed and encoding == "cp1252":
        mixed = transcode_mixed(path, dest)
        return dest, "utf-8" if mixed.utf8 else encoding, mixed
    if encoding.lower().replace("_", "-") in UTF8:
        return path, encoding, None
    return transcode_to_utf8(path, dest, encoding), encoding, None


def decoding_findings(display: Path, encoding: str, mixed: Mixed | None) -> list[dict[str, Any]]:
    """What the report says of how ``display`` was decoded: a warning listing the lines of a
    UTF-8 file that were read as cp1252, or an info note for a file transcoded whole."""
    if mixed is not None and mixed.utf8:
        shown = ", ".join(map(str, mixed.listed)) + (" ..." if mixed.lines > len(mixed.listed) else "")
        return [
            finding(
                "warning",
                f"{display.name}: {mixed.lines} line(s) hold bytes that are not UTF-8, read as cp1252 "
                f"(line(s) {shown}); the rest of the file is UTF-8. Check those lines' accented letters",
                code="mixed_encoding",
            )
        ]
    if encoding not in UTF8:
        return [
            finding("info", f"{display.name}: read as {encoding} and converted to UTF-8", code="transcoded")
        ]
    return []
