"""A fast loopback OpenAI-compatible server for the client benchmark (raw asyncio, no framework).

Streams ``/v1/chat/completions`` and ``/v1/completions`` as server-sent events over HTTP/1.1
keep-alive (chunked), ``max_tokens`` chunks of one word each (``tok``), with ``--delay-ms`` between
tokens (0: as fast as the socket takes them). For every request it records, on the machine's
monotonic clock (``time.perf_counter_ns``, CLOCK_MONOTONIC on Linux, shared by all processes):
when the request was read, when each token was written. ``GET /stats`` returns them as JSON, with
the number of TCP connections accepted (the ``/stats`` call's own included); ``POST /reset`` clears
them. It binds 127.0.0.1 only.

Run: ``python benchmarks/mock_openai_server.py --port 0 [--delay-ms 0]``; it prints ``PORT <n>``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

_OK_JSON = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
_SSE_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n")


def _chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


class MockServer:
    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.records: list[dict[str, Any]] = []  # per request: recv_ns, token_ns list
        self.connections = 0  # TCP connections accepted

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                recv_ns = 0
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    if line[:15].lower() == "content-length:":
                        length = int(line[15:].strip())
                body = await reader.readexactly(length) if length else b""
                recv_ns = time.perf_counter_ns()
                if method == "POST" and path.startswith("/v1/") and path.endswith("completions"):
                    await self._stream(writer, json.loads(body or b"{}"), path.endswith("chat/completions"), recv_ns)
                else:
                    out = b"{}"
                    if path == "/stats":
                        out = json.dumps({"requests": self.records, "connections": self.connections}).encode()
                    elif path == "/reset":
                        self.records = []
                        self.connections = 0
                    elif path == "/v1/models":
                        out = b'{"object":"list","data":[{"id":"mock","object":"model"}]}'
                    writer.write(_OK_JSON % len(out) + out)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _stream(self, writer: asyncio.StreamWriter, req: dict[str, Any], chat: bool, recv_ns: int) -> None:
        n = max(1, int(req.get("max_tokens") or req.get("max_completion_tokens") or 16))
        model = str(req.get("model") or "mock")
        stamps: list[int] = []
        writer.write(_SSE_HEAD)
        for i in range(n):
            if i and self.delay_s:
                await asyncio.sleep(self.delay_s)
            if chat:
                choice = {"index": 0, "delta": {"content": "tok " if i else "tok"}, "finish_reason": None}
                obj = "chat.completion.chunk"
            else:
                choice = {"index": 0, "text": "tok " if i else "tok", "finish_reason": None}
                obj = "text_completion"
            data = json.dumps({"id": "m", "object": obj, "created": 0, "model": model, "choices": [choice]})
            stamps.append(time.perf_counter_ns())
            writer.write(_chunk(b"data: " + data.encode() + b"\n\n"))
            await writer.drain()
        usage = {"prompt_tokens": 1, "completion_tokens": n, "total_tokens": n + 1}
        tail = json.dumps({"id": "m", "object": "chat.completion.chunk" if chat else "text_completion", "created": 0,
                           "model": model, "choices": [{"index": 0, "delta" if chat else "text": {} if chat else "",
                                                        "finish_reason": "length"}], "usage": usage})
        writer.write(_chunk(b"data: " + tail.encode() + b"\n\n") + _chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
        await writer.drain()
        self.records.append({"recv_ns": recv_ns, "token_ns": stamps})


async def _main(port: int, delay_s: float) -> None:
    srv = MockServer(delay_s)
    server = await asyncio.start_server(srv.handle, "127.0.0.1", port, backlog=1024)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay-ms", type=float, default=0.0, help="pause between two tokens of a stream")
    a = ap.parse_args(argv)
    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_main(a.port, a.delay_ms / 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
