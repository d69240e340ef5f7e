"""`--tls`: the handshake runs in each connection's own thread with a timeout (issue 13, items 1 and 9)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from nestlab.simulator.endpoint import tls
from nestlab.simulator.endpoint.limits import Limits
from nestlab.simulator.endpoint.testing import PASSWORD, USER, serve_fake

from helpers_transport import GUARD, good_client_works

pytestmark = pytest.mark.endpoint
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def context(tmp_path):
    return tls.server_context(tls.self_signed(tmp_path))


def test_an_idle_socket_does_not_stop_a_tls_endpoint(context):
    with serve_fake(tls=context) as (server, _):
        port = server.servers["HV01"].port
        idle = socket.create_connection(("127.0.0.1", port), timeout=GUARD)  # connects, never says hello
        try:
            assert good_client_works(port, ssl=True)
            assert good_client_works(port, ssl=True)
        finally:
            idle.close()


def test_many_idle_sockets_neither_stop_it_nor_hold_more_threads_than_the_cap(context):
    limits = Limits(max_connections=4)
    with serve_fake(tls=context, limits=limits) as (server, _):
        port = server.servers["HV01"].port
        idle = [socket.create_connection(("127.0.0.1", port), timeout=GUARD) for _ in range(12)]
        try:
            assert good_client_works(port, ssl=True)
            assert len(server.servers["HV01"]._http.slots) <= limits.max_connections
        finally:
            for sock in idle:
                sock.close()


def test_a_silent_handshake_is_closed_after_the_handshake_timeout(context):
    with serve_fake(tls=context, limits=Limits(handshake_timeout=0.3)) as (server, _):
        with socket.create_connection(("127.0.0.1", server.servers["HV01"].port), timeout=GUARD) as idle:
            assert idle.recv(1) == b""  # the server hung up on us; a hang would be socket.timeout


def test_a_failed_handshake_is_no_traceback_and_the_endpoint_goes_on(context, capsys):
    with serve_fake(tls=context) as (server, _):
        port = server.servers["HV01"].port
        with socket.create_connection(("127.0.0.1", port), timeout=GUARD) as plain:
            plain.sendall(b"POST /wsman HTTP/1.1\r\nContent-Length: 0\r\n\r\n")  # http to an https port
            while plain.recv(4096):  # whatever TLS alert comes back, the server then closes
                pass
        assert good_client_works(port, ssl=True)
    assert "Traceback" not in capsys.readouterr().err


def test_serving_certificate_leaves_no_private_key_on_disk():
    context, holder = tls.serving_certificate("127.0.0.1")
    try:
        assert sorted(p.name for p in Path(holder.name).iterdir()) == ["cert.pem"]
        assert context.cert_store_stats() is not None
    finally:
        holder.cleanup()


def _serve(*arguments: str) -> subprocess.Popen:
    env = dict(os.environ, NESTLAB_PASSWORD=PASSWORD)
    return subprocess.Popen(
        [sys.executable, "-m", "nestlab", "serve", "builtin:reference", "--port", "0", "--user", USER, *arguments],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )


def test_serve_tls_stopped_by_sigterm_removes_its_certificate_folder_and_never_kept_a_key():
    process = _serve("--tls", "--host", "HV01")
    try:
        host_line = process.stdout.readline().split()
        certificate = Path(process.stdout.readline().split()[1])
        folder = certificate.parent
        assert host_line[1].startswith("https://") and certificate.is_file()
        assert not (folder / "key.pem").exists()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=GUARD) == 0
        assert not folder.exists()
        assert "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()


def test_a_client_reset_prints_no_traceback_on_the_server():
    process = _serve("--host", "HV01")
    try:
        url = process.stdout.readline().split()[1]
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        for partial in (b"POST /wsman HTTP/1.1\r\nContent-Length: 900\r\n\r\n<s:Env", b"POST /wsm"):
            sock = socket.create_connection(("127.0.0.1", port), timeout=GUARD)
            sock.sendall(partial)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.close()  # SO_LINGER 0: an RST, as a client that crashes or is killed sends
        assert good_client_works(port, simulated=True)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=GUARD) == 0
        assert "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
