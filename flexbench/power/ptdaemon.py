"""A client of the MLCommons power-dev ``ptd_client_server`` protocol (version 3).

The SUT talks to the power *server* on the director machine (TCP port 4950), which fronts
SPEC PTDaemon and the analyser. Messages are text lines ending in CRLF; each command gets
one reply line. The exchange, as the reference client and server implement it:

====================================  ==============================================
client sends                          server replies
====================================  ==============================================
``mlcommons/power client v3``         ``mlcommons/power server v3``
``time``                              the server's Unix time, e.g. ``1677190610.414642``
``new,<label>,<client uuid>``         ``OK <session id>,<server uuid>``
``session,<id>,start,ranging``        ``OK`` once PTDaemon measures (auto ranges)
``session,<id>,stop,ranging``         ``OK`` (the server keeps ranging/spl.txt)
``session,<id>,start,testing``        ``OK`` (ranges set from the ranging run)
``session,<id>,stop,testing``         ``OK`` (run_1/spl.txt, ptd_out.txt)
``session,<id>,done``                 ``OK`` (the server writes server.json/.log)
``download,<id>,<file>``              the file as chunks: a line with the byte count, the
                                      bytes, ..., and a line ``0``
``cleanup,<id>``                      ``OK``
====================================  ==============================================

A reply starting with ``Error`` is a refusal. Our client checks the clock offset to the
server (``time``) before each phase and around each run, and reports it; it never sets
the clock. See docs/power.md for the sources.
"""

from __future__ import annotations

import hashlib
import json
import logging
import select
import socket
import struct
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexbench.power import PowerError
from flexbench.fileio import atomic_write_text
from flexbench.power.samples import Sample, Series
from flexbench.power.window import parse_time

PROTOCOL_VERSION = "3"
CLIENT_HELLO = f"mlcommons/power client v{PROTOCOL_VERSION}"
SERVER_HELLO = f"mlcommons/power server v{PROTOCOL_VERSION}"
DEFAULT_PORT = 4950
MAX_OFFSET_MS = 400.0  # the limit the reference client applies to the SUT-director clock difference
MODES = ("ranging", "testing")
# what the server holds for a session, by the names the protocol downloads them under
SERVER_FILES = ("power/ptd_logs.txt", "ranging/spl.txt", "power/server.json", "power/server.log",
                "run_1/spl.txt", "run_1/ptd_out.txt")
MAX_LINE = 1 << 20


class _Conn:
    """Line-oriented TCP connection with chunked file transfer."""

    def __init__(self, sock: socket.socket, timeout_s: float, peer: str) -> None:
        self.sock = sock
        self.timeout_s = timeout_s
        self.peer = peer
        self.buf = b""

    def _fill(self) -> None:
        ready, _, _ = select.select([self.sock], [], [], self.timeout_s)
        if not ready:
            raise PowerError(f"power server {self.peer} did not answer within {self.timeout_s:g} s")
        data = self.sock.recv(65536)
        if not data:
            raise PowerError(f"power server {self.peer} closed the connection")
        self.buf += data

    def send_line(self, text: str) -> None:
        try:
            self.sock.sendall(text.encode() + b"\r\n")
        except OSError as exc:
            raise PowerError(f"cannot send to power server {self.peer}: {exc}") from None

    def recv_line(self) -> str:
        while b"\n" not in self.buf:
            if len(self.buf) > MAX_LINE:
                raise PowerError(f"power server {self.peer} sent a line longer than {MAX_LINE} bytes")
            self._fill()
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode(errors="replace")

    def recv_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


@dataclass
class Summary:
    """What client.json records (the fields MLPerf's power checker requires)."""

    client_uuid: uuid.UUID = field(default_factory=uuid.uuid4)
    server_uuid: str | None = None
    session: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    phases: dict[str, list[list[float]]] = field(default_factory=lambda: {m: [] for m in MODES})
    offsets: list[dict[str, Any]] = field(default_factory=list)
    ntp: list[dict[str, Any]] = field(default_factory=list)

    def phase(self, mode: str, n: int) -> None:
        marks = self.phases[mode]
        pair = [time.time(), time.monotonic()]
        if len(marks) == n:
            marks.append(pair)
        elif len(marks) > n:
            marks[n] = pair

    def to_json(self, results: dict[str, str]) -> dict[str, Any]:
        return {
            "version": "1.0",
            "timezone": -time.localtime().tm_gmtoff,
            "modules": {"flexbench.power.ptdaemon": "flexbench/power/ptdaemon.py"},
            "sources": sources(),
            "messages": self.messages,
            "uuid": {"client": str(self.client_uuid), "server": self.server_uuid},
            "session_name": self.session,
            "results": results,
            "phases": self.phases,
            "time_offsets": self.offsets,
            "ntp": self.ntp,
            "client": "cmx flexbench.power.ptdaemon (not the reference power-dev client)",
        }


def sha1_file(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def sources() -> dict[str, str]:
    here = Path(__file__).resolve().parent
    return {f"flexbench/power/{p.name}": sha1_file(p) for p in sorted(here.glob("*.py"))}


def hash_tree(files: dict[str, Path]) -> dict[str, str]:
    return {name: sha1_file(p) for name, p in sorted(files.items()) if p.is_file()}


class PtdClient:
    def __init__(self, addr: str, port: int = DEFAULT_PORT, *, label: str = "", timeout_s: float = 120.0,
                 max_offset_ms: float = MAX_OFFSET_MS, log: logging.Logger | None = None) -> None:
        if any(not (c.isalnum() or c in "-_") for c in label):
            raise PowerError(f"--ptd_label {label!r}: only letters, digits, '-' and '_' are allowed")
        self.addr, self.port, self.label = addr, port, label
        self.timeout_s = timeout_s
        self.max_offset_ms = max_offset_ms
        self.log = log or logging.getLogger("ptd-client")
        self.summary = Summary()
        self.conn: _Conn | None = None

    # -- connection ---------------------------------------------------------------------
    def connect(self) -> None:
        peer = f"{self.addr}:{self.port}"
        try:
            sock = socket.create_connection((self.addr, self.port), timeout=self.timeout_s)
        except OSError as exc:
            raise PowerError(f"cannot connect to the power server {peer}: {exc}") from None
        self.conn = _Conn(sock, self.timeout_s, peer)
        reply = self.command(CLIENT_HELLO)
        if reply != SERVER_HELLO:
            raise PowerError(f"power server {peer} answered {reply!r} to the hello; expected {SERVER_HELLO!r} "
                             f"(protocol version mismatch?)")
        self.log.info("connected to %s, protocol v%s", peer, PROTOCOL_VERSION)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def command(self, cmd: str, *, expect_ok: bool = False) -> str:
        if self.conn is None:
            raise PowerError("not connected to the power server")
        self.log.info("-> %r", cmd)
        t0 = time.time()
        self.conn.send_line(cmd)
        reply = self.conn.recv_line()
        t1 = time.time()
        self.log.info("<- %r", reply)
        self.summary.messages.append({"cmd": cmd, "cmd_time": t0, "reply": reply, "reply_time": t1})
        if expect_ok and reply != "OK":
            raise PowerError(f"power server refused {cmd!r}: {reply!r}")
        return reply

    # -- time ---------------------------------------------------------------------------
    def check_time(self, where: str) -> float:
        """The server clock minus ours (ms), from the midpoint of one ``time`` round trip."""
        t0 = time.time()
        reply = self.command("time")
        t1 = time.time()
        try:
            remote = float(reply)
        except ValueError:
            raise PowerError(f"power server answered {reply!r} to 'time'") from None
        offset_ms = (remote - (t0 + t1) / 2) * 1000.0
        self.summary.offsets.append({"where": where, "server_time": remote, "client_sent": t0, "client_received": t1,
                                     "offset_ms": round(offset_ms, 3), "round_trip_ms": round((t1 - t0) * 1000, 3)})
        self.log.info("clock offset to the server at %s: %+.3f ms (round trip %.3f ms)", where, offset_ms,
                      (t1 - t0) * 1000)
        if abs(offset_ms) > self.max_offset_ms:
            raise PowerError(f"the power server's clock differs from this machine's by {offset_ms:+.1f} ms at {where} "
                             f"(limit {self.max_offset_ms:g} ms); synchronise both with NTP and retry")
        return offset_ms

    # -- session ------------------------------------------------------------------------
    def new_session(self) -> str:
        reply = self.command(f"new,{self.label},{self.summary.client_uuid}")
        if not reply.startswith("OK ") or "," not in reply:
            raise PowerError(f"power server refused a new session: {reply!r}")
        session, server_uuid = reply[3:].rsplit(",", 1)
        self.summary.session, self.summary.server_uuid = session, server_uuid
        self.log.info("session %s (server %s)", session, server_uuid)
        return session

    def start(self, mode: str) -> None:
        self.summary.phase(mode, 0)
        self.command(f"session,{self.summary.session},start,{mode}", expect_ok=True)
        self.summary.phase(mode, 1)

    def stop(self, mode: str) -> None:
        self.summary.phase(mode, 2)
        self.command(f"session,{self.summary.session},stop,{mode}", expect_ok=True)
        self.summary.phase(mode, 3)

    def done(self) -> None:
        self.command(f"session,{self.summary.session},done", expect_ok=True)

    def download(self, name: str, dest: Path) -> None:
        """Receives one chunked file into ``dest`` (written whole, then renamed)."""
        assert self.conn is not None
        cmd = f"download,{self.summary.session},{name}"
        self.log.info("-> %r", cmd)
        self.conn.send_line(cmd)
        parts: list[bytes] = []
        while True:
            line = self.conn.recv_line()
            try:
                n = int(line, 10)
            except ValueError:
                raise PowerError(f"power server refused to send {name}: {line!r}") from None
            if n < 0:
                raise PowerError(f"power server sent a negative chunk length for {name}")
            if n == 0:
                break
            parts.append(self.conn.recv_exact(n))
        data = b"".join(parts)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(dest)
        self.log.info("received %s (%d bytes) -> %s", name, len(data), dest)

    def cleanup(self) -> None:
        self.command(f"cleanup,{self.summary.session}", expect_ok=True)


def write_client_json(path: Path, summary: Summary, results: dict[str, str]) -> None:
    atomic_write_text(path, json.dumps(summary.to_json(results), indent=4) + "\n")


def parse_spl(path: Path) -> Series:
    """``spl.txt``: ``Time,MM-DD-YYYY HH:MM:SS.mmm,Watts,W,Volts,V,Amps,A,PF,pf,Mark,label``."""
    out: list[Sample] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.startswith("Time,"):
            continue
        f = line.split(",")
        if len(f) < 4 or f[2] != "Watts":
            continue  # PTDaemon notices and errors share the Time, prefix
        try:
            out.append(Sample(parse_time(f[1]), float(f[3])))
        except ValueError:
            raise PowerError(f"{path}:{lineno}: cannot read time/Watts from {line[:80]!r}") from None
    out.sort(key=lambda s: s.t)
    return Series("power", tuple(out), f"ptdaemon:{path.name}")


# -- SNTP (RFC 4330), only to report this machine's offset to an NTP server -----------------
NTP_EPOCH_DELTA = 2208988800  # seconds from 1900-01-01 to 1970-01-01


def _ntp_to_unix(sec: int, frac: int) -> float:
    return sec - NTP_EPOCH_DELTA + frac / 2**32


def ntp_offset(server: str, port: int = 123, timeout_s: float = 5.0) -> dict[str, float]:
    """One SNTP query: the offset (server - local, ms) and round-trip delay, as ntpdate computes them."""
    packet = bytearray(48)
    packet[0] = (0 << 6) | (4 << 3) | 3  # no leap warning, version 4, client mode
    t1 = time.time()
    sec = int(t1) + NTP_EPOCH_DELTA
    struct.pack_into("!II", packet, 40, sec, int((t1 % 1) * 2**32))
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout_s)
            s.sendto(bytes(packet), (server, port))
            data, _ = s.recvfrom(512)
    except OSError as exc:
        raise PowerError(f"no answer from NTP server {server}:{port}: {exc}") from None
    t4 = time.time()
    if len(data) < 48 or (data[0] & 0x7) not in (4, 5):
        raise PowerError(f"NTP server {server}:{port} sent no valid server reply")
    t2 = _ntp_to_unix(*struct.unpack_from("!II", data, 32))
    t3 = _ntp_to_unix(*struct.unpack_from("!II", data, 40))
    offset = ((t2 - t1) + (t3 - t4)) / 2
    delay = (t4 - t1) - (t3 - t2)
    return {"offset_ms": round(offset * 1000, 3), "delay_ms": round(delay * 1000, 3)}
