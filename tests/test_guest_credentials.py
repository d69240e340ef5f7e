"""PowerShell Direct `-Credential` for real guests (issue 11): a guest login per run, per host or
per VM, its password from the environment, a file or a prompt (never argv, files we write, logs or
errors); the served endpoint checks it as Windows does ("The credential is invalid."), and with
`guest_credential_required` refuses a call without one (a missing mandatory parameter)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace

import pytest

from nestlab.diagnosis.collect import collect
from nestlab.lab import guest_credentials as gc
from nestlab.lab.inventory import hosts_from_data
from nestlab.lab.psrp_session import HostAddress, PsrpSession
from nestlab.lab.targets import parse_psrp_url
from nestlab.simulator import labfile
from nestlab.simulator.endpoint.auth import Credentials
from nestlab.simulator.endpoint.server import LabServer
from nestlab.simulator.errors import BadInput
from nestlab.simulator.psdata import Command

pytestmark = pytest.mark.endpoint
USER = "nestlab"
OS = (Command.of("Get-CimInstance", ClassName="Win32_OperatingSystem"),)


@pytest.fixture(autouse=True)
def _no_run_user(monkeypatch):
    for name in (gc.GUEST_USER_ENV, gc.GUEST_PASSWORD_ENV, gc.GUEST_PASSWORD_FILE_ENV):
        monkeypatch.delenv(name, raising=False)
    gc.set_guest_user(None)
    yield
    gc.set_guest_user(None)


@pytest.fixture
def strict():
    """builtin:reference served as Windows serves it: PowerShell Direct needs the guest's credential."""
    password = secrets.token_urlsafe(16)
    lab = labfile.load("builtin:reference")
    server = LabServer(lab, Credentials(USER, password), guest_credential_required=True).start()
    try:
        yield HostAddress("HV01", "127.0.0.1", server.servers["HV01"].port, USER, "http", "basic"), password
    finally:
        server.stop()


def _session(address, password):
    return PsrpSession([address], passwords=lambda a: password)


def test_without_a_credential_a_windows_like_host_refuses_powershell_direct(strict):
    address, password = strict
    with _session(address, password) as session:
        assert session.run("HV01", OS).ok  # the host itself needs no guest credential
        result = session.run("HV01", OS, vm=("L1",))
    assert result.failed
    (error,) = result.errors
    assert error.message == "Cannot process command because of one or more missing mandatory parameters: Credential."
    assert error.fully_qualified_error_id == "MissingMandatoryParameter,Microsoft.PowerShell.Commands.InvokeCommandCommand"
    assert error.category == "InvalidArgument"


def test_with_the_guests_credential_every_way_into_a_guest_works(strict, monkeypatch):
    address, password = strict
    monkeypatch.setenv(gc.GUEST_PASSWORD_ENV, password)
    address = replace(address, guest_user="HV01\\nestlab")
    with _session(address, password) as session:
        assert session.run("HV01", OS, vm=("L1",)).ok  # WRAPPER_CREDENTIAL
        batch = session.run_batch("HV01", [OS, (Command.of("Get-VM"),)], vm=("L1",))  # GUEST_BATCH_CREDENTIAL
        assert all(r.ok for r in batch) and {v["Name"] for v in batch[1].output} >= {"L2-web"}
        mixed = session.run_batch("HV01", [OS, OS, (Command.of("Get-VM"),)], vms=[(), ("L1",), ("L1",)])
        assert [r.ok for r in mixed] == [True, True, True]
        assert mixed[0].output[0]["CSName"] == "HV01" and mixed[1].output[0]["CSName"] != "HV01"
    # the whole collection walks into L1 the same way
    with _session(address, password) as session:
        lab = collect(session).lab
    assert "HV01/L1" in lab and lab.platform("HV01/L1").hyperv_installed


def test_a_wrong_guest_password_is_windows_error_and_never_shown(strict, monkeypatch, caplog):
    address, password = strict
    wrong = secrets.token_urlsafe(16)
    monkeypatch.setenv(gc.GUEST_PASSWORD_ENV, wrong)
    caplog.set_level(logging.DEBUG)
    with _session(replace(address, guest_user="nestlab"), password) as session:
        result = session.run("HV01", OS, vm=("L1",))
        assert wrong not in repr(session._guest_credentials)
    (error,) = result.errors
    assert (error.message, error.category) == ("The credential is invalid.", "InvalidArgument")
    assert error.fully_qualified_error_id.startswith("CreateRemoteRunspaceForVMFailed,")
    assert wrong not in caplog.text and wrong not in str(result)


def test_the_served_lab_lets_credential_less_calls_in_unless_asked_not_to():
    password = secrets.token_urlsafe(16)
    with LabServer(labfile.load("builtin:reference"), Credentials(USER, password)) as server:
        address = HostAddress("HV01", "127.0.0.1", server.servers["HV01"].port, USER, "http", "basic")
        with _session(address, password) as session:
            assert session.run("HV01", OS, vm=("L1",)).ok


def test_per_vm_logins_in_an_inventory_and_passwords_only_by_reference(tmp_path, monkeypatch):
    (host,) = hosts_from_data({"hosts": [{"name": "HV01", "user": "admin", "guest_user": "Administrator",
                                          "guests": {"L1": {"user": ".\\labadmin", "password_env": "L1_PASSWORD"}}}]},
                              "inv.yaml")
    assert host.address.guest_login("L1") == gc.GuestLogin(".\\labadmin", "L1_PASSWORD")
    assert host.address.guest_login("DC") == gc.GuestLogin("Administrator")
    with pytest.raises(BadInput, match="a password never goes in an inventory"):
        hosts_from_data({"hosts": [{"name": "HV01", "guests": {"L1": {"user": "u", "password": "hunter2"}}}]}, "inv.yaml")
    with pytest.raises(BadInput, match="needs a 'user'"):
        hosts_from_data({"hosts": [{"name": "HV01", "guests": {"L1": {"password_env": "X"}}}]}, "inv.yaml")
    secret = tmp_path / "l1.pw"
    secret.write_text("s3cret-from-file\n")
    login = gc.GuestLogin("labadmin", "UNSET_FOR_TEST", str(secret))
    assert gc.resolve(login, where="HV01/L1", prompt=False).password == "s3cret-from-file"
    assert "s3cret" not in repr(gc.resolve(login, where="HV01/L1", prompt=False))
    with pytest.raises(BadInput, match="no guest password for labadmin") as caught:
        gc.resolve(gc.GuestLogin("labadmin", "UNSET_FOR_TEST"), where="HV01/L1", prompt=False)
    assert "HV01/L1" in str(caught.value)


def test_the_run_wide_guest_user_comes_from_the_option_target_or_environment(monkeypatch):
    assert HostAddress("HV01", "h").guest_login("L1") is None  # nobody said: no -Credential
    monkeypatch.setenv(gc.GUEST_USER_ENV, "envuser")
    assert HostAddress("HV01", "h").guest_login("L1") == gc.GuestLogin("envuser")
    gc.set_guest_user("optionuser")
    assert HostAddress("HV01", "h").guest_login("L1") == gc.GuestLogin("optionuser")
    assert parse_psrp_url("psrp://admin@hv01?guest_user=Administrator").guest_login("L1") == gc.GuestLogin("Administrator")


def test_the_cli_takes_a_guest_user_and_no_guest_password():
    from click.testing import CliRunner

    from nestlab.lab.cli import cli

    help_text = CliRunner().invoke(cli, ["--help"]).output
    assert "--guest-user" in help_text and "--guest-password" not in help_text
    assert CliRunner().invoke(cli, ["--guest-password", "x", "labs"]).exit_code == 2


def test_a_guest_below_a_guest_is_entered_hop_by_hop_each_with_its_own_credential(strict, monkeypatch):
    address, password = strict
    deep = ("L1", "L2-web")
    monkeypatch.setenv("L1_PW", password)
    only_l1 = replace(address, guests=(("L1", gc.GuestLogin("nestlab", "L1_PW")),))
    with _session(only_l1, password) as session:
        assert session.run("HV01", OS, vm=("L1",)).ok
        (error,) = session.run("HV01", OS, vm=deep).errors  # L2-web's hop has no credential
    assert error.fully_qualified_error_id.startswith("MissingMandatoryParameter,")
    monkeypatch.setenv("L2_PW", "not-" + password)
    wrong = replace(only_l1, guests=(*only_l1.guests, ("L2-web", gc.GuestLogin("nestlab", "L2_PW"))))
    with _session(wrong, password) as session:
        (error,) = session.run("HV01", OS, vm=deep).errors
    assert error.message == "The credential is invalid."
    monkeypatch.setenv("L2_PW", password)
    with _session(wrong, password) as session:
        inside = session.run("HV01", OS, vm=deep)
        batch = session.run_batch("HV01", [OS, (Command.of("Get-CimInstance", ClassName="Win32_ComputerSystem"),)],
                                  vm=deep)
        lab = collect(session).lab
    assert inside.ok and inside.output[0]["CSName"] not in ("HV01", "L1")
    assert all(r.ok for r in batch)
    assert lab.platform("HV01/L1/L2-web").os.build > 0


def test_a_windows_like_host_refuses_a_rendered_inner_hop_without_a_credential(strict, monkeypatch):
    address, password = strict
    monkeypatch.setenv(gc.GUEST_PASSWORD_ENV, password)
    with _session(address, password) as session:  # no guest login at all: the old wrappers
        assert session.run("HV01", OS, vm=("L1", "L2-web")).failed
