"""The client's deadline: a broken host fails in about --timeout, with one line and exit 2 (issue 13, item 8).

Every case goes through a small fault proxy on loopback (tests/helpers_transport.py) in front of
a served endpoint: refuse, reset, HTTP 500s, a stall after Create, an endless TimedOut.
"""

from __future__ import annotations

import json
import threading

import pytest
from click.testing import CliRunner

from nestlab.lab.cli import cli
from nestlab.lab.deadline import Deadline, DeadlineExceeded
from nestlab.lab.psrp_session import HostAddress, HostUnreachable, PsrpSession
from nestlab.simulator.endpoint.testing import PASSWORD, USER, serve_fake
from nestlab.simulator.psdata import Command

from helpers_transport import GUARD, FaultProxy, free_port

pytestmark = pytest.mark.endpoint
DEADLINE = 2.0


def test_a_deadline_counts_down_from_its_start_and_then_refuses():
    now = [100.0]
    deadline = Deadline(5, clock=lambda: now[0]).start()
    now[0] = 103.0
    assert deadline.check() == pytest.approx(2.0)
    now[0] = 105.5
    with pytest.raises(DeadlineExceeded, match="5 s deadline"):
        deadline.check()


def _address(port: int) -> HostAddress:
    return HostAddress("HV01", "127.0.0.1", port, USER, "http", "basic", connect_timeout=GUARD, operation_timeout=10)


def _run_bounded(port: int) -> BaseException | None:
    """Run one pipeline with the deadline in a thread; a hang fails the test instead of hanging it."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        session = PsrpSession([_address(port)], passwords=lambda a: PASSWORD, deadline=Deadline(DEADLINE))
        try:
            session.run("HV01", [Command("Get-Thing")])
            outcome.append(None)
        except BaseException as exc:  # the test looks at what came out
            outcome.append(exc)
        finally:
            session.close()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=DEADLINE + GUARD * 2)
    assert not worker.is_alive(), "the session outlived its deadline"
    return outcome[0]


@pytest.mark.parametrize("mode", ["stall", "timedout"])
def test_a_host_that_stops_answering_after_create_fails_at_the_deadline(mode):
    with serve_fake() as (server, _), FaultProxy(server.servers["HV01"].port, mode) as proxy:
        error = _run_bounded(proxy.port)
        assert proxy.opened.is_set() and (mode == "stall" or proxy.commanded.is_set())  # it got that far
    assert isinstance(error, HostUnreachable)
    assert "deadline" in str(error) and str(error).startswith("HV01 (http://127.0.0.1:") and "\n" not in str(error)
    if mode == "timedout":
        assert proxy.requests < 20  # a TimedOut answered at once is re-polled once a second, not 700 times


@pytest.mark.parametrize("mode", ["reset", "http500"])
def test_a_host_that_resets_or_answers_500_is_one_line(mode):
    with serve_fake() as (server, _), FaultProxy(server.servers["HV01"].port, mode) as proxy:
        error = _run_bounded(proxy.port)
    assert isinstance(error, HostUnreachable) and "\n" not in str(error)


def test_a_refused_connection_is_one_line():
    error = _run_bounded(free_port())
    assert isinstance(error, HostUnreachable) and "connection refused" in str(error)


def test_through_a_forwarding_proxy_the_deadline_changes_nothing():
    with serve_fake() as (server, _), FaultProxy(server.servers["HV01"].port) as proxy:
        assert _run_bounded(proxy.port) is None


# ----------------------------------------------------------------------------------------------
# the CLI: one line, exit 2, no empty report
# ----------------------------------------------------------------------------------------------


def _diagnose(target: str, *extra: str, command: str = "diagnose"):
    return CliRunner().invoke(cli, [command, target, "--timeout", str(DEADLINE), *extra])


@pytest.mark.parametrize("command, extra", [("diagnose", ()), ("diagnose", ("--json",)), ("check", ("--json",))])
def test_diagnose_of_one_stalled_host_prints_no_report_only_one_line(monkeypatch, command, extra):
    from bench.endpoint import USER as SERVED_USER, served
    from nestlab.simulator import labfile

    monkeypatch.setenv("NESTLAB_PASSWORD", PASSWORD)
    with served(labfile.load("builtin:reference"), PASSWORD) as (_, addresses):
        with FaultProxy(addresses[0].port, "stall") as proxy:
            result = _diagnose(f"psrp://{SERVED_USER}@127.0.0.1:{proxy.port}?transport=http&auth=basic", *extra, command=command)
    assert result.exit_code == 2
    assert result.stdout == ""  # neither "no findings (hosts: )" nor an empty clean JSON report
    assert result.stderr.count("\n") == 1 and "deadline" in result.stderr and "127.0.0.1" in result.stderr


def test_diagnose_of_an_inventory_with_one_refusing_host_names_the_partial_report(tmp_path, monkeypatch):
    from bench.endpoint import USER as SERVED_USER, served
    from nestlab.simulator import labfile

    monkeypatch.setenv("NESTLAB_PASSWORD", PASSWORD)
    lab = labfile.load("builtin:reference")
    with served(lab, PASSWORD) as (_, addresses):
        inventory = tmp_path / "inventory.yaml"
        first = addresses[0]
        inventory.write_text(
            "hosts:\n"
            f"  - {{name: {first.name}, address: 127.0.0.1, port: {first.port}, transport: http, auth: basic, user: {SERVED_USER}}}\n"
            f"  - {{name: HV99, address: 127.0.0.1, port: {free_port()}, transport: http, auth: basic, user: {SERVED_USER}}}\n")
        result = _diagnose(f"inventory:{inventory}", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["hosts"]
    assert result.stderr.count("\n") == 1 and "HV99" in result.stderr and f"partial report: diagnosed {first.name}" in result.stderr


def test_collect_and_capture_take_the_timeout_too(tmp_path, monkeypatch):
    monkeypatch.setenv("NESTLAB_PASSWORD", PASSWORD)
    with serve_fake() as (server, _), FaultProxy(server.servers["HV01"].port, "stall") as proxy:
        target = f"psrp://{USER}@127.0.0.1:{proxy.port}?transport=http&auth=basic"
        captured = CliRunner().invoke(cli, ["capture", target, "-o", str(tmp_path / "lab.yaml"), "--timeout", str(DEADLINE)])
    assert captured.exit_code == 2 and "deadline" in captured.stderr and captured.stderr.count("\n") == 1
    assert not (tmp_path / "lab.yaml").exists()
    for name in ("collect", "capture", "diagnose", "check"):
        assert "--timeout" in CliRunner().invoke(cli, [name, "--help"]).output
