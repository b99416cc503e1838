"""A small HTTP file server for the download tests, on 127.0.0.1 only.

It serves bytes from memory, answers ``Range: bytes=N-`` with 206 (and
``If-Range`` with the file's ETag), can be told to cut the connection after N
bytes of a response (to test resuming for real), to ignore ranges (HTTP 200
to a range request), to send no validator (no ETag), to redirect a path, to
trickle a body one byte at a time, or to send a body gzip-encoded (a compressed
answer), and records every request it gets.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class RangeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.cut_after: dict[str, list[int]] = {}  # path -> byte counts of the next responses to cut
        self.ignore_range = False
        self.no_validators = False  # no ETag: nothing to check a resume against
        self.redirects: dict[str, str] = {}  # path -> Location (a 302)
        self.trickle: dict[str, float] = {}  # path -> seconds between single bytes of the body
        self.gzip_encoded: set[str] = set()  # paths sent with Content-Encoding: gzip
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> "RangeServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=10)

    def requests_for(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]


class _Handler(BaseHTTPRequestHandler):
    server: RangeServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        srv = self.server
        rng = self.headers.get("Range")
        with srv.lock:
            srv.requests.append({"path": self.path, "range": rng, "if_range": self.headers.get("If-Range")})
            cuts = srv.cut_after.get(self.path) or []
            cut = cuts.pop(0) if cuts else None
        if self.path in srv.redirects:
            self.send_response(302)
            self.send_header("Location", srv.redirects[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = srv.files.get(self.path)
        if data is None:
            self.send_error(404, "Not Found")
            return
        etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        start = 0
        status = 200
        if self.path in srv.gzip_encoded:
            body = gzip.compress(data)
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        m = re.match(r"^bytes=(\d+)-$", rng or "")
        if m and not srv.ignore_range:
            if_range = self.headers.get("If-Range")
            if if_range is None or if_range == etag:
                start = int(m.group(1))
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
        body = data[start:]
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        if not srv.no_validators:
            self.send_header("ETag", etag)
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if self.path in srv.trickle:
            try:
                for i in range(len(body)):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(srv.trickle[self.path])
            except OSError:  # the client gave up
                pass
            return
        if cut is not None:
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            try:
                import socket

                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(body)
