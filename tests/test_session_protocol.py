"""The one Session primitive (issue 16 item 2): `send(requests) -> results`, each result carrying
its request; `run`/`run_batch` are helpers on top, so a double sees all the traffic; the error
tree tells a refused or missing credential from an unreachable host."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from nestlab.diagnosis.collect import Walk, collect
from nestlab.lab.diagnose import collection_gaps
from nestlab.lab.session import SimSession
from nestlab.simulator import labfile
from nestlab.simulator.errors import AuthFailed, BadInput, HostUnreachable, SessionError
from nestlab.simulator.model import NodeId
from nestlab.simulator.psdata import Command, Result
from nestlab.simulator.session_protocol import FunctionSession, Request, Session

GET_VM = (Command.of("Get-VM"),)


def reference() -> SimSession:
    return SimSession(labfile.load("builtin:reference"))


def test_every_result_carries_the_request_that_produced_it():
    session = reference()
    requests = [Request.at("HV01", GET_VM), Request.at("HV01", GET_VM, ("L1",)), Request.at("HV01", GET_VM, ("L1", "L2-web"))]
    results = session.send(requests)
    assert [r.request for r in results] == requests
    assert [str(r.request.where) for r in results] == ["HV01", "HV01/L1", "HV01/L1/L2-web"]
    assert {str(vm["Name"]) for vm in results[1].output} == {"L2-web", "L2-app"}  # it ran where it says


def test_run_and_run_batch_are_send_underneath():
    sent: list[list[Request]] = []
    inner = reference()
    session = FunctionSession(batches=lambda requests: (sent.append(list(requests)), inner.send(requests))[1],
                              hosts=inner.hosts())
    one = session.run("HV01", GET_VM, vm=("L1",))
    batch = session.run_batch("HV01", [GET_VM, GET_VM], vms=[(), ("L1",)])
    assert [len(s) for s in sent] == [1, 2]
    assert sent[0][0] == Request(NodeId(("HV01", "L1")), GET_VM)
    assert one.request == sent[0][0] and [r.request for r in batch] == sent[1]
    with pytest.raises(ValueError):
        session.run_batch("HV01", [GET_VM], vms=[(), ()])


def test_a_double_sees_the_whole_collection():
    seen: list[Request] = []
    inner = reference()
    double = FunctionSession.around(inner, lambda request, s: (seen.append(request), s.send([request])[0])[1])
    evidence = collect(double)
    direct = collect(reference())
    assert labfile.dumps(evidence.lab) == labfile.dumps(direct.lab)
    assert any(r.guest_levels for r in seen) and any(r.vm for r in seen) and any(not r.vm for r in seen)


def test_sessions_satisfy_the_protocol():
    assert isinstance(reference(), Session)
    assert isinstance(FunctionSession(lambda r: Result()), Session)


def test_function_session_checks_its_handler_answers_each_request():
    with pytest.raises(ValueError):
        FunctionSession()
    short = FunctionSession(batches=lambda requests: [Result()])
    with pytest.raises(ValueError, match="2 requests came back as 1"):
        short.send([Request.at("HV01", GET_VM), Request.at("HV01", GET_VM)])


def test_a_fan_out_answers_every_running_guest_below_its_place_parents_first():
    (result,) = reference().send([Request.at("HV01", (Command.of("Get-CimInstance", ClassName="Win32_ComputerSystem"),),
                                             guest_levels=3)])
    paths = [path for path, _ in result.guests]
    assert paths[0] == ("L1",) and set(paths[1:]) == {("L1", "L2-web"), ("L1", "L2-app")}
    assert all(answer.output for _, answer in result.guests)
    (shallow,) = reference().send([Request.at("HV01", GET_VM, guest_levels=1)])
    assert [path for path, _ in shallow.guests] == [("L1",)]


def test_a_request_for_a_place_that_runs_nothing_is_bad_input():
    with pytest.raises(BadInput):
        _ = Request(NodeId.parse("network:corp"), GET_VM).host


# ----------------------------------------------------------------------------------------------
# the error tree
# ----------------------------------------------------------------------------------------------


def test_the_error_tree():
    for kind in (HostUnreachable, AuthFailed):
        assert issubclass(kind, SessionError) and issubclass(kind, BadInput)
    assert not issubclass(AuthFailed, HostUnreachable)
    error = AuthFailed("HV01", "HV01: no password for nestlab: set NESTLAB_PASSWORD or run interactively")
    assert error.host == "HV01" and error.kind == "auth-failed" and HostUnreachable("HV01", "x").kind == "unreachable"


def test_refused_credentials_are_an_auth_gap_not_an_unreachable_host():
    def refuse(request: Request) -> Result:
        raise AuthFailed(request.host, f"{request.host} (http://127.0.0.1:1): cannot open a PowerShell session: "
                                       "the credentials were rejected (HTTP 401)")

    walk = Walk()
    collect(FunctionSession(refuse, hosts=["HV01"]), walk=walk)
    (gap,) = collection_gaps(walk)
    assert gap.node == "HV01" and gap.kind == "auth-failed" and "rejected" in gap.why
    assert "unreachable" not in gap.why


def test_a_missing_password_is_named_as_such(monkeypatch):
    """No NESTLAB_PASSWORD and no terminal: the CLI says there is no password, in one line, exit 2."""
    from nestlab.lab.cli import cli

    monkeypatch.delenv("NESTLAB_PASSWORD", raising=False)
    monkeypatch.setattr("nestlab.lab.psrp_session._keyring_password", lambda account: None)
    result = CliRunner().invoke(cli, ["diagnose", "psrp://nestlab@127.0.0.1:1?transport=http&auth=basic", "--json"])
    assert result.exit_code == 2
    assert "no password for nestlab" in result.stderr and "connection refused" not in result.stderr


# ----------------------------------------------------------------------------------------------
# over the wire: the fan-out and batches give what SimSession gives
# ----------------------------------------------------------------------------------------------


@pytest.mark.endpoint
def test_a_fan_out_over_psrp_answers_as_simsession_does():
    import secrets

    from bench.endpoint import served
    from nestlab.lab.psrp_session import PsrpSession
    from nestlab.simulator.generate import generate

    lab = generate(seed=1, hosts=1, depth=3)
    host = lab.hosts()[0]
    probe = (Command.of("Get-CimInstance", ClassName="Win32_OperatingSystem"),)
    requests = [Request.at(host, GET_VM), Request.at(host, probe, guest_levels=8), Request.at(host, probe, guest_levels=8)]
    expected = SimSession(lab.copy()).send(requests)
    password = secrets.token_urlsafe(12)
    with served(lab, password) as (server, addresses):
        with PsrpSession(addresses, passwords=lambda a: password) as session:
            got = session.send(requests)
            assert server.servers[host].endpoint.requests["Command"] == 1  # one PSRP pipeline for all three
    assert [r.request for r in got] == requests
    assert got[0] == expected[0]
    for wire, sim in zip(got[1:], expected[1:]):
        assert [path for path, _ in wire.guests] == [path for path, _ in sim.guests]
        assert any(len(path) == 3 for path, _ in wire.guests)  # three levels down in one round trip
        assert [answer for _, answer in wire.guests] == [answer for _, answer in sim.guests]
