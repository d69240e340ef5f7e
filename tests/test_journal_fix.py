"""`nestlab fix --yes` on a real host (issue 13, item 3): journalled like the BDD suite's runs, and a
psrp:// target named by what the host calls itself.

Before: `nestlab fix 'psrp://…@127.0.0.1:PORT?…' --yes` stopped at "HV01: not a host of this
target (hosts: 127.0.0.1)", and a fix through an inventory wrote no journal, so a connection cut
between resolution lines left L1 off with nothing to restore from.
"""

from __future__ import annotations

import secrets
from dataclasses import replace

import pytest
from click.testing import CliRunner

from bench.endpoint import served
from nestlab.lab import journal as J
from nestlab.simulator.actions import render
from nestlab.lab.cli import cli
from nestlab.lab.named import named
from nestlab.lab.psrp_session import HostAddress, HostUnreachable, PsrpSession
from nestlab.simulator import faults, labfile
from nestlab.simulator.psdata import Command

pytestmark = pytest.mark.endpoint


@pytest.fixture
def broken(monkeypatch, tmp_path):
    """builtin:reference with L1's virtualization extensions hidden, served on loopback; cwd a scratch folder."""
    password = "pw-" + secrets.token_urlsafe(18)
    monkeypatch.setenv("NESTLAB_PASSWORD", password)
    monkeypatch.chdir(tmp_path)
    lab = labfile.load("builtin:reference")
    faults.get("extensions-not-exposed").apply(lab, "HV01/L1")
    with served(lab, password) as (server, addresses):
        (address,) = addresses
        yield lab, address, password


def psrp_url(address: HostAddress) -> str:
    return f"psrp://nestlab@127.0.0.1:{address.port}?transport=http&auth=basic"


def journals(tmp_path):
    return sorted((tmp_path / ".nestlab" / "journals").glob("*-fix.json"))


def test_a_psrp_target_is_named_by_what_the_host_calls_itself(broken):
    lab, address, _ = broken
    by_address = replace(address, name="127.0.0.1")  # what a psrp:// target calls it
    session, renamed = named(PsrpSession([by_address]), [by_address])
    with session:
        assert session.hosts() == ["HV01"] and [a.name for a in renamed] == ["HV01"]
        assert session.run("HV01", (Command.of("Get-VM"),)).ok


def test_fix_yes_on_a_psrp_target_fixes_it_and_journals_every_change_first(broken, tmp_path):
    lab, address, password = broken
    result = CliRunner().invoke(cli, ["fix", psrp_url(address), "--yes"])
    assert result.exit_code == 0, result.output
    assert lab["HV01/L1"].processor.expose_virtualization_extensions is True
    (path,) = journals(tmp_path)
    journal = J.Journal.load(path)
    assert journal.baseline.endswith("-fix.before.yaml") and [a.name for a in journal.addresses.values()] == ["HV01"]
    lines = [render(s.inject[0]) for s in journal.steps]
    assert any(line.startswith("Set-VMProcessor") for line in lines)
    assert all(s.undo and s.status == J.APPLIED for s in journal.steps if s.inject[0].pipeline[0].name == "Set-VMProcessor")
    assert password not in path.read_text() and password not in result.output


def test_a_connection_cut_between_resolution_lines_is_put_back_by_restore(broken, tmp_path, monkeypatch):
    lab, address, _ = broken
    before = lab.copy()
    sent = PsrpSession.send

    def cut_after_stop(session, requests):  # send is the one way in: every command passes here
        for request in requests:
            if str(request.pipeline[0]).startswith("Set-VMProcessor"):
                raise HostUnreachable(request.host, f"{request.host}: lost during a pipeline (connection reset by peer)")
        return sent(session, requests)

    monkeypatch.setattr(PsrpSession, "send", cut_after_stop)
    result = CliRunner().invoke(cli, ["fix", psrp_url(address), "--yes"])
    monkeypatch.setattr(PsrpSession, "send", sent)
    assert result.exit_code == 2
    (path,) = journals(tmp_path)
    assert f"nestlab restore {path.relative_to(tmp_path)}" in result.output.replace("\n", "")
    assert lab["HV01/L1"].state == "Off", "the cut left L1 off"

    restored = CliRunner().invoke(cli, ["restore", str(path)])
    assert restored.exit_code == 0, restored.output
    assert lab == before  # as before the fix: L1 running again (still with the fault the fix did not finish)
