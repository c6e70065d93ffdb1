"""On-disk cache of a theme book's compiled regular expressions (CPython's ``re`` byte code).

Compiling the default theme book parses ~100 kB of generated regex text; in CPython almost all of
that time is the pure-Python parser (``re._parser``), not the C compiler. This cache stores, per
pattern string, what ``re._compiler.compile`` hands to ``_sre.compile`` (the code words, flags and
group tables) and rebuilds the pattern objects from it directly, skipping the parser.

Safety:

* One file per book **content**: the file name is a SHA-256 of the book's canonical text (every
  pattern string and flag the book compiles) and of the interpreter (version, ``_sre.MAGIC``,
  ``CODESIZE``, this format's version). Different books, a changed book, or another Python never
  share a file; entries are also keyed by the exact pattern string they were compiled from.
* The payload is JSON (no pickle) with a SHA-256 of its body: a truncated, edited or otherwise
  corrupt file fails the check and is ignored (logged) and rewritten; ``_sre.compile`` validates
  the code words too (``RuntimeError`` on bad code), and each rebuilt pattern is checked for the
  same ``pattern``, ``groups`` and ``groupindex`` as the request; any failure falls back to
  ``re.compile`` for that pattern.
* The checksum guards against damage, not against a person: the cache holds compiled code, so
  it is trusted like the installed package. It is used only in a folder owned by the current user
  and writable by nobody else (created with mode 0700); a folder shared with others (group- or
  world-writable, or another owner) turns the cache off with a warning.
* The key also covers the source of the modules whose results it stores (this one, the theme
  book's trie factoring, the safe-regex check, the clause rules): an upgrade never reuses results
  of older code.
* Writes are atomic (temporary file in the same folder, then ``os.replace``); a read-only or
  missing folder only costs the cache (a debug log line), never the run. At most
  :data:`MAX_FILES` book files are kept (the least recently written are removed).
* Not CPython (no ``_sre.compile`` of that signature): the cache is off and ``re.compile`` is used.

Location: ``$NEWSBT_THEME_CACHE`` (a folder; ``off`` / ``0`` disables the cache), else
``platformdirs.user_cache_dir("newsbt")/themes`` (private to the user; never the possibly shared
``$NEWSBT_DATA``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
#: book files kept per cache folder
MAX_FILES = 16

try:  # CPython internals; the cache is simply off elsewhere
    import _sre
    from re import _compiler as _rc  # type: ignore[attr-defined]
    from re import _parser as _rp  # type: ignore[attr-defined]

    _OK = hasattr(_sre, "compile") and hasattr(_rc, "_code")
except ImportError:  # pragma: no cover - other interpreters
    _OK = False


def cache_dir() -> Path | None:
    """Folder of the theme-regex cache, or None when disabled (``NEWSBT_THEME_CACHE=off``)."""
    env = os.environ.get("NEWSBT_THEME_CACHE")
    if env is not None:
        return None if env.strip().lower() in ("", "0", "off", "no", "false") else Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("newsbt")) / "themes"


def _interpreter_tag() -> str:
    return f"{sys.implementation.name}-{sys.version}-{getattr(_sre, 'MAGIC', 0)}-{getattr(_sre, 'CODESIZE', 0)}"


def _code_tag() -> str:
    """SHA-256 of the source of the modules whose results the cache stores."""
    h = hashlib.sha256()
    for name in ("_regex_cache.py", "themes.py", "_matcher.py", "_safe_regex.py", "_clauses.py"):
        try:
            h.update((Path(__file__).parent / name).read_bytes())
        except OSError:  # pragma: no cover - a zipped install: the version string stands in
            h.update(name.encode())
    return h.hexdigest()


def _private(folder: Path) -> bool:
    """Create ``folder`` (mode 0700) and say whether only this user can write into it."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.stat()
    except OSError as exc:
        log.debug("theme regex cache folder %s unusable (%s)", folder, exc)
        return False
    if (hasattr(os, "getuid") and st.st_uid != os.getuid()) or st.st_mode & 0o022:
        log.warning(
            "theme regex cache folder %s is writable by other users or not yours: cache off "
            "(compiled code is only read from a private folder; set NEWSBT_THEME_CACHE to one)", folder
        )
        return False
    return True


def _entry(pattern: str, flags: int) -> list:
    """What ``re._compiler.compile`` passes to ``_sre.compile``, as JSON-able values."""
    p = _rp.parse(pattern, flags)
    code = _rc._code(p, flags)
    groupindex = dict(p.state.groupdict)
    indexgroup = [None] * p.state.groups
    for k, i in groupindex.items():
        indexgroup[i] = k
    return [flags | p.state.flags, list(code), p.state.groups - 1, groupindex, indexgroup]


def _rebuild(pattern: str, flags: int, e: list) -> re.Pattern:
    rx = _sre.compile(pattern, int(e[0]), e[1], int(e[2]), dict(e[3]), tuple(e[4]))
    if rx.pattern != pattern or rx.groups != int(e[2]) or dict(rx.groupindex) != dict(e[3]):
        raise ValueError("cached regex does not match its pattern")
    if rx.flags & flags != flags:
        raise ValueError("cached regex flags differ")
    return rx


class RegexCache:
    """Compile the regexes of one book, from and into an on-disk cache keyed by the book's content.

    Parameters
    ----------
    key_text : iterable of str
        The book's canonical content (e.g. every pattern it compiles, in order); hashed with the
        interpreter tag into the file name.
    folder : Path, optional
        Default :func:`cache_dir`; None (or an unusable folder) = no disk cache.
    """

    def __init__(self, key_text: Iterable[str], folder: Path | None = None, *, enabled: bool = True) -> None:
        h = hashlib.sha256(f"newsbt-theme-regex-{FORMAT_VERSION}\0{_interpreter_tag()}\0{_code_tag()}\0".encode())
        for s in key_text:
            h.update(s.encode("utf-8", "surrogatepass"))
            h.update(b"\0")
        self.key = h.hexdigest()
        self.folder = (folder if folder is not None else cache_dir()) if (enabled and _OK) else None
        if self.folder is not None and not _private(self.folder):
            self.folder = None
        self.path = self.folder / f"book-{self.key[:40]}.json" if self.folder is not None else None
        self.entries: dict[str, list] = {}
        self._used: set[str] = set()
        self.hits = self.misses = 0
        self.status = "off" if self.path is None else "new"
        self._dirty = False
        if self.path is not None:
            self._read()

    def _read(self) -> None:
        assert self.path is not None
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.debug("theme regex cache %s unreadable (%s); compiling", self.path, exc)
            return
        try:
            head, _, body = raw.partition(b"\n")
            meta = json.loads(head)
            if meta.get("sha256") != hashlib.sha256(body).hexdigest() or meta.get("key") != self.key:
                raise ValueError("checksum or key mismatch")
            entries = json.loads(body)
            if not isinstance(entries, dict):
                raise ValueError("not a table")
        except Exception as exc:  # noqa: BLE001 - any damage (not JSON, not a table, too deep ...)
            log.warning("theme regex cache %s is corrupt (%s); ignored and rebuilt", self.path, exc)
            self.status = "corrupt"
            self._dirty = True
            return
        self.entries = entries
        self.status = "read"

    def compile(self, pattern: str, flags: int = 0) -> re.Pattern:
        """``re.compile(pattern, flags)``, from the cache when this exact pattern is there."""
        if self.path is None:
            return re.compile(pattern, flags)
        k = f"{flags}:{pattern}"
        e = self.entries.get(k)
        if isinstance(e, list):
            try:
                rx = _rebuild(pattern, flags, e)
                self._used.add(k)
                self.hits += 1
                return rx
            except (RuntimeError, TypeError, ValueError, IndexError, OverflowError) as exc:
                log.warning("theme regex cache %s: bad entry (%s); recompiled", self.path, exc)
                self.status = "corrupt"
        self.misses += 1
        try:
            e = _entry(pattern, flags)
            rx = _rebuild(pattern, flags, e)
        except re.error:
            raise
        except Exception as exc:  # noqa: BLE001 - internals changed: plain compile, no caching
            log.debug("theme regex cache: %s; plain re.compile", exc)
            return re.compile(pattern, flags)
        self.entries[k] = e
        self._used.add(k)
        self._dirty = True
        return rx

    def memo(self, kind: str, arg: str, fn: Callable[[], Any]) -> Any:
        """``fn()`` (a JSON-able value derived only from ``arg``), from the cache when there.

        Used for the book's pure string work that precedes compiling (the trie factoring of an
        alternation, the safe-regex check of a pattern), keyed by ``kind`` and a SHA-256 of ``arg``.
        """
        if self.path is None:
            return fn()
        k = f"memo:{kind}:{hashlib.sha256(arg.encode('utf-8', 'surrogatepass')).hexdigest()}"
        if k in self.entries:
            self._used.add(k)
            return self.entries[k]
        v = fn()
        self.entries[k] = v
        self._used.add(k)
        self._dirty = True
        return v

    def save(self) -> None:
        """Write the cache file atomically when something new was compiled (errors only logged)."""
        if self.path is None or not self._dirty:
            return
        keep = {k: v for k, v in self.entries.items() if k in self._used}  # no stale growth
        body = json.dumps(keep, separators=(",", ":")).encode()
        head = json.dumps({"key": self.key, "sha256": hashlib.sha256(body).hexdigest()}).encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(head + b"\n" + body)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            log.debug("theme regex cache not written to %s (%s)", self.path, exc)
            return
        self._dirty = False
        self._evict()

    def _evict(self) -> None:
        """Keep the :data:`MAX_FILES` most recently written book files of the folder."""
        try:
            files = sorted(self.path.parent.glob("book-*.json"), key=lambda f: f.stat().st_mtime, reverse=True)
            for f in files[MAX_FILES:]:
                f.unlink(missing_ok=True)
        except OSError as exc:  # a file removed meanwhile by another process: next time
            log.debug("theme regex cache eviction skipped (%s)", exc)
