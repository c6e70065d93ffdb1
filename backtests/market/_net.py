"""Small network helpers shared by the online sources (offline detection, URL reads)."""

from __future__ import annotations

import functools
import logging
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Callable

from signals.errors import DataUnavailableError

log = logging.getLogger(__name__)

Opener = Callable[[str, float], bytes]


def default_opener(url: str, timeout: float) -> bytes:
    """GET ``url`` and return its bytes (urllib, ``timeout`` seconds)."""
    req = urllib.request.Request(url, headers={"User-Agent": "newsbt (research backtesting)"})
    with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 (fixed https URLs)
        return r.read()


def offline_forced() -> bool:
    """True when ``NEWSBT_OFFLINE`` is set to a true value (1, true, yes)."""
    return os.environ.get("NEWSBT_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


@functools.lru_cache(maxsize=8)
def _probe(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def online(host: str = "fred.stlouisfed.org", timeout: float = 2.0) -> bool:
    """Whether ``host`` is reachable (probed once per process), False if ``NEWSBT_OFFLINE`` is set."""
    if offline_forced():
        return False
    ok = _probe(host, 443, timeout)
    if not ok:
        log.info("no connection to %s: working offline", host)
    return ok


def fetch_bytes(url: str, what: str, *, opener: Opener | None = None, timeout: float = 20.0) -> bytes:
    """Download ``url``; any network failure becomes :class:`DataUnavailableError` naming ``what``."""
    if opener is None and offline_forced():
        raise DataUnavailableError(
            f"{what}: offline (NEWSBT_OFFLINE is set); use the cache, source='sample' or your own file"
        )
    try:
        return (opener or default_opener)(url, timeout)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise DataUnavailableError(
            f"{what}: download from {url} failed ({exc}); check the connection, or use the cache, "
            "source='sample' or a local file (source='files')"
        ) from exc
