"""A real HTTP server on 127.0.0.1 serving GDELT-format and RSS fixtures built from ../shared/data/news/raw.

Used by tests/signals/test_ingest.py and benchmarks/ingest.py. The GKG fixture is the real 81-line
GKG 2.1 subset split into 15-minute files (``YYYYmmddHHMMSS.gkg.csv.zip``, record ids and V2.1DATE
rewritten to each file's batch time, every other byte as in the source), listed in GDELT's
``lastupdate.txt`` / ``masterfilelist.txt`` format (``size md5 url`` per line; export and mentions
files listed too, as GDELT does). The feed is the real CNBC RSS file, served with an ETag.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd

RAW = (
    Path(os.environ.get("NEWSBT_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
    / "news"
    / "raw"
)
GKG_RAW = RAW / "gdelt_20230702153000_subset.gkg.csv"
CNBC_RSS = RAW / "cnbc_finance_rss_20190729.xml"


def gkg_lines() -> list[bytes]:
    return [ln for ln in GKG_RAW.read_bytes().split(b"\n") if ln.strip()]


def make_gkg_zip(ts: str, lines: list[bytes]) -> bytes:
    """One GKG file for batch ``ts``: record ids ``ts-i`` and V2.1DATE = ts (as GDELT writes them)."""
    out = []
    for i, ln in enumerate(lines):
        f = ln.split(b"\t")
        f[0], f[1] = f"{ts}-{i}".encode(), ts.encode()
        out.append(b"\t".join(f))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{ts}.gkg.csv", b"\n".join(out) + b"\n")
    return buf.getvalue()


def batch_times(start: str, n: int) -> list[str]:
    t0 = pd.Timestamp(start)
    return [(t0 + pd.Timedelta(minutes=15 * k)).strftime("%Y%m%d%H%M%S") for k in range(n)]


class FixtureServer:
    """Serve ``files`` (path -> bytes) on 127.0.0.1 with per-path faults and an ETag on every file.

    ``faults[path]`` is a list consumed one per request: ``"500"``, ``"503"``, ``"404"``, ``"timeout"``
    (sleep ``stall`` s before answering), ``"html"`` (200 with an HTML error page), ``"truncate"``
    (half the bytes), ``"corrupt"`` (one byte flipped). ``delay`` seconds are slept on every request.
    """

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.faults: dict[str, list[str]] = {}
        self.log: list[tuple[str, int]] = []
        self._etags: dict[str, tuple[bytes, str]] = {}
        self.delay = 0.0
        self.stall = 2.0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_GET(self):
                outer._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def count(self, path: str, status: int | None = None) -> int:
        with self.lock:
            return sum(1 for p, s in self.log if p == path and (status is None or s == status))

    def _reply(self, h, status: int, body: bytes, ctype: str = "application/octet-stream", etag=None):
        with self.lock:
            self.log.append((h.path, status))
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body)))
            if etag:
                h.send_header("ETag", etag)
            h.end_headers()
            if body:
                h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _etag(self, path: str, body: bytes) -> str:
        """The MD5 ETag of a served file, computed once per bytes object (as a real server keeps it;
        the benchmark's in-process server would otherwise hash every file it serves)."""
        with self.lock:
            got = self._etags.get(path)
        if got is None or got[0] is not body:
            got = (body, '"' + hashlib.md5(body).hexdigest() + '"')
            with self.lock:
                self._etags[path] = got
        return got[1]

    def _handle(self, h) -> None:
        if self.delay:
            time.sleep(self.delay)
        path = h.path
        with self.lock:
            queue = self.faults.get(path, [])
            fault = queue.pop(0) if queue else None
        if fault in ("500", "503", "404"):
            return self._reply(h, int(fault), b"error", "text/plain")
        if fault == "timeout":
            time.sleep(self.stall)
        if fault == "html":
            return self._reply(
                h, 200, b"<!DOCTYPE html><html><body>Service temporarily down</body></html>", "text/html"
            )
        body = self.files.get(path)
        if body is None:
            return self._reply(h, 404, b"not found", "text/plain")
        etag = self._etag(path, body)
        if h.headers.get("If-None-Match") == etag:
            return self._reply(h, 304, b"", etag=etag)
        if fault == "truncate":
            body = body[: len(body) // 2]
        elif fault == "corrupt":
            body = body[:-10] + bytes([body[-10] ^ 0xFF]) + body[-9:]
        ctype = "application/rss+xml" if path.endswith(".xml") else "application/octet-stream"
        return self._reply(h, 200, body, ctype, etag)

    # ------------------------------------------------------------------ GDELT layout
    def publish_gkg(self, files: dict[str, bytes], prefix: str = "/gdeltv2/") -> None:
        """Serve GKG zips and (re)write lastupdate.txt and masterfilelist.txt listing them."""
        for ts, data in files.items():
            self.files[f"{prefix}{ts}.gkg.csv.zip"] = data
        gkg = sorted(p for p in self.files if p.startswith(prefix) and p.endswith(".gkg.csv.zip"))
        lines = []
        for p in gkg:
            ts = p.rsplit("/", 1)[1][:14]
            for kind in ("export.CSV.zip", "mentions.CSV.zip"):  # listed as GDELT does, never fetched
                fake = f"{ts}.{kind}".encode()
                lines.append(f"{len(fake)} {hashlib.md5(fake).hexdigest()} {self.url}{prefix}{ts}.{kind}")
            d = self.files[p]
            lines.append(f"{len(d)} {hashlib.md5(d).hexdigest()} {self.url}{p}")
        self.files[f"{prefix}masterfilelist.txt"] = ("\n".join(lines) + "\n").encode()
        self.files[f"{prefix}lastupdate.txt"] = ("\n".join(lines[-3:]) + "\n").encode()


def split_gkg(times: list[str]) -> dict[str, bytes]:
    """The real GKG subset split evenly over ``times`` (15-minute batches), one zip per batch."""
    lines = gkg_lines()
    k = len(times)
    return {ts: make_gkg_zip(ts, lines[i::k]) for i, ts in enumerate(times)}
