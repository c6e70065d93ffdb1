"""Decode article files by what their bytes are, never with ``errors="replace"``.

Order: the caller's ``encoding=`` (strict); a byte-order mark (UTF-8, UTF-16, UTF-32); strict
UTF-8; UTF-16 without a BOM (NUL bytes in every other position); then ``charset-normalizer``
limited to the encodings news files come in here (:data:`CANDIDATES`: Japanese CP932/Shift_JIS,
EUC-JP, ISO-2022-JP and Western CP1252; others through ``encoding=``), decoded strictly. A file nothing decodes
is an :class:`InputFormatError` naming the file and the ``encoding`` option.
"""

from __future__ import annotations

import codecs
import logging
import re

from signals.errors import ConfigError, InputFormatError

__all__ = ["CANDIDATES", "decode_bytes", "decode_xml"]

log = logging.getLogger(__name__)

#: encodings the detector may choose (strictly decoded); others only through ``encoding=``
CANDIDATES = ("cp932", "euc_jp", "iso2022_jp", "cp1252")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_HOW = "pass encoding='<codec>' (CLI --encoding, config [articles].encoding)"
_XML_DECL = re.compile(rb"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])([A-Za-z0-9._:-]+)([\"'])")


def _strict(data: bytes, enc: str, origin: str) -> str:
    try:
        return data.decode(enc)
    except UnicodeDecodeError as exc:
        raise InputFormatError(
            f"{origin}: not valid {enc} at byte {exc.start} ({data[exc.start : exc.start + 8]!r}); {_HOW}"
        ) from None


def _utf16_without_bom(data: bytes) -> str | None:
    head = data[:4096]
    if len(head) < 4 or head.count(0) < len(head) // 4:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    return "utf-16-le" if odd > 3 * max(even, 1) else "utf-16-be" if even > 3 * max(odd, 1) else None


def detect(data: bytes) -> str | None:
    """The encoding of ``data`` (a Python codec name), or ``None`` when nothing fits."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return enc
    try:
        data.decode("utf-8")
        # 7-bit ISO-2022-JP is valid UTF-8 too; its escape sequences give it away
        return "iso2022_jp" if b"\x1b$B" in data or b"\x1b$@" in data else "utf-8"
    except UnicodeDecodeError:
        pass
    enc = _utf16_without_bom(data)
    if enc:
        return enc
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=list(CANDIDATES)).best()
    return None if best is None else best.encoding


def decode_bytes(data: bytes, origin: str, encoding: str | None = None) -> tuple[str, str]:
    """Decode a whole file.

    Parameters
    ----------
    data : bytes
        The file's bytes.
    origin : str
        File name for messages.
    encoding : str, optional
        Codec to use (strict), e.g. ``"cp932"``; default: detected.

    Returns
    -------
    text : str
        Without a BOM.
    encoding : str
        The codec used.

    Raises
    ------
    InputFormatError
        The bytes are not valid in the given or any detected encoding.
    ConfigError
        ``encoding`` is not a codec Python knows.
    """
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ConfigError(f"encoding={encoding!r} is not a known codec; {_HOW}") from None
        return _strict(data, encoding, origin).lstrip("\ufeff"), encoding
    enc = detect(data)
    if enc is None:
        raise InputFormatError(
            f"{origin}: cannot tell the text encoding (not UTF-8/UTF-16 and none of {', '.join(CANDIDATES)} "
            f"fits); {_HOW}"
        )
    if enc not in ("utf-8", "utf-8-sig"):
        log.info("%s: decoded as %s (detected)", origin, enc)
    return _strict(data, enc, origin).lstrip("\ufeff"), enc


def decode_xml(data: bytes, origin: str, encoding: str | None = None) -> tuple[bytes, str]:
    """Feed bytes re-encoded as UTF-8 with a matching declaration, decoded by what they are.

    The declared encoding is used when the bytes are valid in it and not valid UTF-8 (so a
    feed declaring ISO-8859-1 that is really UTF-8 is read as UTF-8, with a warning).
    """
    m = _XML_DECL.match(data)
    declared = m.group(2).decode("ascii").lower() if m else None
    enc = encoding
    if enc is None and declared and declared.replace("_", "-") not in ("utf-8", "utf8"):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                data.decode(declared)
                enc = declared
            except (UnicodeDecodeError, LookupError):
                enc = None
    text, used = decode_bytes(data, origin, enc)
    if declared and _norm(used) != _norm(declared):
        log.warning("%s: declares encoding %s but its bytes are %s; read as %s", origin, declared, used, used)
    out = text.encode("utf-8")
    mo = _XML_DECL.match(out)
    if mo:
        out = out[: mo.start(2)] + b"utf-8" + out[mo.end(2) :]
    return out, used


def _norm(name: str) -> str:
    try:
        return codecs.lookup(name).name.replace("utf-8-sig", "utf-8")
    except LookupError:
        return name
