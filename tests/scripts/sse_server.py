"""A small OpenAI-compatible streaming server for the FlexBench concurrency tests, on 127.0.0.1.

It answers ``/health`` and streams ``/v1/chat/completions`` and ``/v1/completions`` as server-sent
events: ``tokens`` words, one chunk each, ``delay_s`` apart (the first after ``ttft_s``). It holds
no model: it stands for an inference server whose speed is known, so a test can check what the
client measures against it. It counts the requests in flight, the most at once, and the TCP
connections it accepted. With ``hold_after_done`` it keeps the body open after ``[DONE]`` (as some
servers do) until ``release`` is set, or 60 s, and records which ended each hold.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class SSEServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512

    def __init__(self, *, tokens: int = 8, ttft_s: float = 0.004, delay_s: float = 0.002,
                 hold_after_done: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hold_after_done = hold_after_done
        self.release = threading.Event()
        self.holds_ended: list[str] = []  # per held stream: "release" or "timeout"
        self.connections = 0
        self.tokens = tokens
        self.ttft_s = ttft_s
        self.delay_s = delay_s
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.served = 0
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        with self.lock:
            self.connections += 1  # called once per accepted TCP connection
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up (the end of a run) is not an error of the server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> "SSEServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: SSEServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = b'{"status": "ok"}'
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        chat = self.path.endswith("/chat/completions")
        srv = self.server
        with srv.lock:
            srv.in_flight += 1
            srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            n = min(srv.tokens, int(request.get("max_tokens") or srv.tokens))
            time.sleep(srv.ttft_s)
            for k in range(n):
                if k:
                    time.sleep(srv.delay_s)
                piece = ("" if k == 0 else " ") + f"word{k}"
                choice = {"index": 0, "delta": {"content": piece}} if chat else {"index": 0, "text": piece}
                self._chunk(b"data: " + json.dumps({"choices": [choice]}).encode() + b"\n\n")
        finally:
            # counted out before [DONE]: a client is done only once it has it, so the server's count
            # never runs ahead of the client's requests in flight
            with srv.lock:
                srv.in_flight -= 1
                srv.served += 1
        if not srv.hold_after_done:  # [DONE] and the end of the body in one write, as a fast server sends them
            self._chunk(b"data: [DONE]\n\n", b"")
            return
        self._chunk(b"data: [DONE]\n\n")
        ended = "release" if srv.release.wait(60) else "timeout"
        with srv.lock:
            srv.holds_ended.append(ended)
        self._chunk(b"")

    def _chunk(self, *chunks: bytes) -> None:
        self.wfile.write(b"".join(f"{len(data):x}\r\n".encode() + data + b"\r\n" for data in chunks))
        self.wfile.flush()
