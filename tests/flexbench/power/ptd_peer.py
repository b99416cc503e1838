"""A scripted MLPerf power server (the director side of power-dev's ptd_client_server, v3) on
127.0.0.1, for testing our client over real TCP.

Its replies come from the data files in ``data/`` (see data/README.md): the handshake, the
session reply (session id and server uuid) and the ``OK`` replies are the ones a real server
sent in a published MLPerf v3.0 power run (``server.json``'s ``messages``). ``server.json``,
``server.log`` and ``ptd_logs.txt`` are served as captured. What cannot be replayed is
generated the way the real server would make it: ``time`` answers with this machine's clock
shifted by the captured 134.5 ms client-server difference, and each phase's ``spl.txt`` holds
the captured analyser rows, re-stamped every ``step_s`` between that phase's start and stop.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

DATA = Path(__file__).parent / "data"
# client.log of the captured run: "The time difference between the client and the server is
# within range 134.180 ms..134.817 ms" (client ahead of the server)
CAPTURED_CLIENT_AHEAD_S = 0.1345


def _fmt(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%m-%d-%Y %H:%M:%S.%f")[:-3]


@dataclass
class Captured:
    hello: str
    new_reply: str
    session: str
    ok: str
    rows: list[tuple[float, float, float, float]]  # Watts, Volts, Amps, PF

    @classmethod
    def load(cls) -> "Captured":
        msgs = json.loads((DATA / "server.json").read_text())["messages"]
        by_cmd = {m["cmd"].split(",")[0]: m["reply"] for m in msgs}
        new_reply = by_cmd["new"]
        session = new_reply[3:].split(",")[0]
        start = next(m["reply"] for m in msgs if m["cmd"].endswith(",start,ranging"))
        rows = []
        for line in (DATA / "spl_run_1_excerpt.txt").read_text().splitlines():
            f = line.split(",")
            rows.append((float(f[3]), float(f[5]), float(f[7]), float(f[9])))
        return cls(by_cmd[msgs[0]["cmd"]], new_reply, session, start, rows)


@dataclass
class PtdPeer:
    step_s: float = 0.01
    client_ahead_s: float = CAPTURED_CLIENT_AHEAD_S
    hello: str | None = None  # overrides the captured handshake reply
    refuse_download: str | None = None  # a file name answered with "Error"
    captured: Captured = field(default_factory=Captured.load)
    commands: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self._started: dict[str, float] = {}
        self._row = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.files["power/server.json"] = (DATA / "server.json").read_bytes()
        self.files["power/server.log"] = (DATA / "server.log").read_bytes()
        self.files["power/ptd_logs.txt"] = (DATA / "ptd_logs_excerpt.txt").read_bytes()

    def __enter__(self) -> "PtdPeer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def server_time(self) -> float:
        return time.time() - self.client_ahead_s

    def _spl(self, mode: str, t0: float, t1: float) -> bytes:
        lines = []
        t = t0
        while t <= t1:
            w, v, a, pf = self.captured.rows[self._row % len(self.captured.rows)]
            self._row += 1
            lines.append(f"Time,{_fmt(t)},Watts,{w:.6f},Volts,{v:.6f},Amps,{a:.6f},PF,{pf:.6f},"
                         f"Mark,{self.captured.session}_{mode}")
            t += self.step_s
        return ("\n".join(lines) + "\n").encode()

    def _reply(self, cmd: str, conn: socket.socket) -> str | None:
        parts = cmd.split(",")
        sid = self.captured.session
        if cmd == "time":
            return repr(self.server_time())
        if parts[0] == "new" and len(parts) == 3:
            return self.captured.new_reply
        if parts[0] == "session" and len(parts) >= 3:
            if parts[1] != sid:
                return "Error: unknown session"
            rest = parts[2:]
            if rest[0] == "start" and rest[1] in ("ranging", "testing"):
                self._started[rest[1]] = self.server_time()
                return self.captured.ok
            if rest[0] == "stop" and rest[1] in self._started:
                mode = rest[1]
                spl = self._spl(mode, self._started[mode], self.server_time())
                if mode == "ranging":
                    self.files["ranging/spl.txt"] = spl
                else:
                    self.files["run_1/spl.txt"] = spl
                    watts = [float(x.split(",")[3]) for x in spl.decode().splitlines()]
                    self.files["run_1/ptd_out.txt"] = (f"Analyzer 1:\nPower: {sum(watts) / len(watts):.6f} \n"
                                                       f"Uncertainty: n/a (scripted peer)\n").encode()
                return "OK"
            if rest == ["done"]:
                return "OK"
            return "Error Unknown session command"
        if parts[0] == "download" and len(parts) == 3 and parts[1] == sid and parts[2] in self.files:
            if parts[2] == self.refuse_download:
                return "Error"
            data = self.files[parts[2]]
            for i in range(0, len(data), 1000):  # several chunks, as a real server sends large files
                chunk = data[i:i + 1000]
                conn.sendall(f"{len(chunk)}\r\n".encode() + chunk)
            conn.sendall(b"0\r\n")
            return None
        if parts[0] == "cleanup" and len(parts) == 2 and parts[1] == sid:
            return "OK"
        return "Error"

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            buf = b""
            first = True
            while True:
                while b"\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                raw, buf = buf.split(b"\n", 1)
                cmd = raw.rstrip(b"\r").decode()
                self.commands.append(cmd)
                if first:
                    first = False
                    conn.sendall(((self.hello or self.captured.hello) + "\r\n").encode())
                    continue
                reply = self._reply(cmd, conn)
                if reply is not None:
                    conn.sendall((reply + "\r\n").encode())
