"""Safe file writing for everything newsbt writes: atomic replacement, folder locks, clear errors.

* :func:`atomic_write` writes to a temporary file **in the destination's folder** and renames it
  over the destination (``os.replace``), so a reader sees either the old complete file or the new
  complete file, never a half-written one; a failed write (disk full, killed process) leaves the
  previous file untouched and removes the temporary file.
* Files get the permissions a plain ``open(path, "w")`` would give (``0o666`` minus the user's
  umask), not the ``0o600`` of :func:`tempfile.mkstemp`; folders are made with ``mkdir`` (umask).
* :func:`folder_lock` takes an exclusive ``filelock`` next to an output folder (``.<name>.lock``)
  so two runs writing the same output cannot interleave; a second run fails at once with a message
  naming the folder.
* :func:`os_error` turns an :class:`OSError` into a one-line :class:`~signals.errors.NewsbtError`
  naming the path and the fix (full disk, permission, read-only file system).

Readers never lock: a rename is atomic, so a reader always opens a complete file.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from signals.errors import NewsbtError

log = logging.getLogger(__name__)

__all__ = ["OutputError", "atomic_write", "dir_mode", "file_mode", "folder_lock", "make_dirs", "os_error"]


class OutputError(NewsbtError, OSError):
    """An output file or folder cannot be written (names the path and the fix)."""

    exit_code = 1


def _umask() -> int:
    """The process umask (read without changing it where the OS allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    old = os.umask(0o022)  # portable fallback: set and restore at once
    os.umask(old)
    return old


def file_mode() -> int:
    """Permission bits of a new file: ``0o666`` minus the user's umask."""
    return 0o666 & ~_umask()


def dir_mode() -> int:
    """Permission bits of a new folder: ``0o777`` minus the user's umask (``mkdtemp`` gives 0700)."""
    return 0o777 & ~_umask()


_FIX = {
    errno.ENOSPC: "free disk space or write elsewhere",
    errno.EDQUOT: "free space in your quota or write elsewhere",
    errno.EACCES: "check the folder's permissions or write elsewhere",
    errno.EPERM: "check the folder's permissions or write elsewhere",
    errno.EROFS: "the file system is read-only; write elsewhere",
    errno.ENOENT: "check that the folder exists",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "the path is a folder; give a file name",
}


def os_error(exc: OSError, path: str | os.PathLike, action: str = "write") -> OutputError:
    """A one-line :class:`OutputError` for ``exc`` raised while doing ``action`` on ``path``.

    Parameters
    ----------
    exc : OSError
    path : path
        The file or folder the user asked for (not a temporary name).
    action : str
        ``"write"``, ``"create"``, ``"read"``, ...

    Returns
    -------
    OutputError
        Message ``cannot <action> <path>: <reason> (<fix>)``.
    """
    reason = exc.strerror or str(exc) or type(exc).__name__
    fix = _FIX.get(exc.errno or -1, "check the path")
    return OutputError(f"cannot {action} {path}: {reason} ({fix})")


def make_dirs(folder: str | os.PathLike) -> Path:
    """Create ``folder`` and its parents (user's umask); an OS error becomes :class:`OutputError`."""
    p = Path(folder)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(exc, p, "create folder") from None
    return p


def atomic_write(
    path: str | os.PathLike,
    data: str | bytes | Callable[[Path], None],
    *,
    encoding: str = "utf-8",
) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, then rename).

    Parameters
    ----------
    path : path
        Destination; its folder is created if missing.
    data : str, bytes or callable
        Text (encoded with ``encoding``), bytes, or a function ``writer(tmp_path)`` that writes the
        whole file at ``tmp_path`` (e.g. ``lambda p: df.to_csv(p, index=False)``).
    encoding : str

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    OutputError
        The folder or the file cannot be written; the previous file (if any) is unchanged.
    """
    dest = Path(path)
    make_dirs(dest.parent if str(dest.parent) else ".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    except OSError as exc:
        raise os_error(exc, dest) from None
    tmp = Path(tmp_name)
    try:
        try:
            if callable(data):
                os.close(fd)
                data(tmp)
            else:
                raw = data.encode(encoding) if isinstance(data, str) else data
                with os.fdopen(fd, "wb") as fh:
                    fh.write(raw)
                    fh.flush()
                    os.fsync(fh.fileno())
            os.chmod(tmp, file_mode())
            os.replace(tmp, dest)
        except OSError as exc:
            raise os_error(exc, dest) from None
    finally:
        if tmp.exists():
            with contextlib.suppress(OSError):
                tmp.unlink()
    return dest


@contextlib.contextmanager
def folder_lock(out: str | os.PathLike, *, timeout: float = 0) -> Iterator[Path]:
    """Exclusive lock on the output ``out`` (a file or folder) for the duration of the block.

    The lock file is ``.<name>.lock`` next to ``out``; the parent folder is created.

    Raises
    ------
    OutputError
        Another run holds the lock (after ``timeout`` seconds), or the lock cannot be created.
    """
    from filelock import FileLock, Timeout

    p = Path(out)
    parent = make_dirs(p.parent if str(p.parent) else ".")
    lock = FileLock(str(parent / f".{p.name}.lock"), mode=file_mode())
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise OutputError(
            f"another newsbt run is writing {p} (lock {lock.lock_file}); wait for it to finish or "
            "choose another output"
        ) from None
    except OSError as exc:
        raise os_error(exc, p, "lock") from None
    try:
        yield p
    finally:
        lock.release()
