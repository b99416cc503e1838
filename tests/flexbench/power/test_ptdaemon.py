"""Our power-dev protocol client against a scripted server on 127.0.0.1 (tests/.../ptd_peer.py)."""

from __future__ import annotations

import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from flexbench.power import PowerError
from flexbench.power.ptdaemon import SERVER_FILES, PtdClient, ntp_offset, parse_spl
from tests.flexbench.power.ptd_peer import DATA, PtdPeer

SESSION = "2023-02-23_22-16-50"  # the captured server's session id


def test_a_whole_session_ranging_then_testing(tmp_path: Path):
    with PtdPeer() as peer:
        c = PtdClient("127.0.0.1", peer.port, label="flexbench", timeout_s=10)
        c.connect()
        offset = c.check_time("start")
        assert c.new_session() == SESSION and c.summary.server_uuid == "1f3696ff-818d-4ff7-a409-211bc120b48a"
        for mode in ("ranging", "testing"):
            c.start(mode)
            time.sleep(0.05)  # the workload
            c.stop(mode)
        c.done()
        for name in SERVER_FILES:
            c.download(name, tmp_path / name)
        c.cleanup()
        c.close()
    # the captured server ran 134.2..134.8 ms behind its client; the peer keeps that difference. The
    # server read its clock inside the round trip, so the midpoint is off by at most half of it
    # (whatever the round trip was on this machine now: the client records it)
    rtt_ms = c.summary.offsets[0]["round_trip_ms"]
    assert abs(offset + 134.5) <= rtt_ms / 2 + 0.01
    assert peer.commands == [
        "mlcommons/power client v3", "time", f"new,flexbench,{c.summary.client_uuid}",
        f"session,{SESSION},start,ranging", f"session,{SESSION},stop,ranging",
        f"session,{SESSION},start,testing", f"session,{SESSION},stop,testing", f"session,{SESSION},done",
        *[f"download,{SESSION},{n}" for n in SERVER_FILES], f"cleanup,{SESSION}"]
    for name in SERVER_FILES:
        assert (tmp_path / name).read_bytes() == peer.files[name], name
    assert (tmp_path / "power/server.json").read_bytes() == (DATA / "server.json").read_bytes()  # several chunks
    phases = c.summary.phases
    assert [len(phases[m]) for m in ("ranging", "testing")] == [4, 4]
    assert phases["ranging"][3][0] <= phases["testing"][0][0]
    spl = parse_spl(tmp_path / "run_1/spl.txt")
    assert len(spl.samples) >= 3 and {x.value for x in spl.samples} <= {r[0] for r in peer.captured.rows}


def test_a_server_of_another_protocol_version_is_refused():
    with PtdPeer(hello="mlcommons/power server v2") as peer:
        c = PtdClient("127.0.0.1", peer.port, timeout_s=10)
        with pytest.raises(PowerError, match="expected 'mlcommons/power server v3'"):
            c.connect()
        c.close()


def test_a_clock_offset_above_the_limit_stops_before_measuring():
    with PtdPeer(client_ahead_s=1.5) as peer:
        c = PtdClient("127.0.0.1", peer.port, timeout_s=10, max_offset_ms=400)
        c.connect()
        with pytest.raises(PowerError, match=r"differs from this machine.s by -\d+\.\d ms at start \(limit 400 ms\)"):
            c.check_time("start")
        c.close()
    measured = c.summary.offsets[0]  # 1.5 s, give or take half the round trip
    assert abs(measured["offset_ms"] + 1500) <= measured["round_trip_ms"] / 2 + 0.01
    assert not any(cmd.startswith("session,") for cmd in peer.commands)


def test_a_refused_download_and_a_refused_command_are_errors(tmp_path: Path):
    with PtdPeer(refuse_download="power/server.log") as peer:
        c = PtdClient("127.0.0.1", peer.port, timeout_s=10)
        c.connect()
        c.new_session()
        with pytest.raises(PowerError, match="refused 'session,.*,stop,testing'"):
            c.stop("testing")  # never started
        c.start("testing")
        c.stop("testing")
        with pytest.raises(PowerError, match=r"refused to send power/server.log: 'Error'"):
            c.download("power/server.log", tmp_path / "server.log")
        assert not (tmp_path / "server.log").exists()
        c.close()


def test_nothing_listening():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(PowerError, match=f"cannot connect to the power server 127.0.0.1:{port}"):
        PtdClient("127.0.0.1", port, timeout_s=5).connect()


def test_bad_label():
    with pytest.raises(PowerError, match="--ptd_label"):
        PtdClient("127.0.0.1", label="a b")


def test_spl_of_the_captured_run():
    spl = parse_spl(DATA / "spl_run_1_excerpt.txt")
    assert len(spl.samples) == 12 and spl.samples[-1].value == 571.39
    assert spl.samples[1].t - spl.samples[0].t == pytest.approx(1.006)


def test_ntp_offset_against_a_local_sntp_responder():
    """A UDP responder on 127.0.0.1 whose clock runs 250 ms ahead of ours."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))

    def ntp(t: float) -> tuple[int, int]:
        return int(t) + 2208988800, int((t % 1) * 2**32)

    def serve() -> None:
        data, addr = sock.recvfrom(512)
        reply = bytearray(48)
        reply[0] = (0 << 6) | (4 << 3) | 4  # server mode
        reply[1] = 2
        struct.pack_into("!II", reply, 24, *struct.unpack_from("!II", data, 40))
        struct.pack_into("!II", reply, 32, *ntp(time.time() + 0.25))
        struct.pack_into("!II", reply, 40, *ntp(time.time() + 0.25))
        sock.sendto(bytes(reply), addr)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    r = ntp_offset("127.0.0.1", sock.getsockname()[1], timeout_s=5)
    t.join()
    sock.close()
    # the responder stamped both its times inside the round trip: the offset is 250 ms, give or take
    # half the delay measured (not a bound on this machine's speed)
    assert abs(r["offset_ms"] - 250) <= r["delay_ms"] / 2 + 0.01 and r["delay_ms"] >= 0
