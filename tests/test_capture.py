"""`nestlab capture`: a served (or real) host read back into a lab file that reproduces it offline,
equal to the original on every attribute the probes can see, and saying what it could not see."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.endpoint import served
from nestlab.lab.capture import capture, write
from nestlab.lab.cli import cli
from nestlab.lab.psrp_session import PsrpSession
from nestlab.simulator import labfile
from nestlab.simulator.generate import generate

from helpers_visible import differences, visible

pytestmark = pytest.mark.endpoint


def captured_through_the_endpoint(lab, folder: Path):
    """serve(lab) → PsrpSession → capture → lab file → load: what a person gets offline."""
    password = secrets.token_urlsafe(16)
    with served(lab, password) as (_, addresses):
        with PsrpSession(addresses, passwords=lambda a: password) as session:
            result = capture(session, target="served")
    path = write(result, folder / "captured.yaml")
    return result, labfile.load(path)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), hosts=st.integers(1, 2), depth=st.integers(1, 3))
def test_capture_of_a_served_lab_equals_it_on_everything_the_probes_see(tmp_path, seed, hosts, depth):
    lab = generate(seed=seed, hosts=hosts, depth=depth)
    _, loaded = captured_through_the_endpoint(lab, tmp_path)
    assert differences(visible(lab), loaded) == []


def test_the_header_says_where_when_and_what_was_not_seen(tmp_path):
    lab = labfile.load("builtin:reference")
    lab.update("HV01/L1", state="Off")
    result, loaded = captured_through_the_endpoint(lab, tmp_path)
    text = (tmp_path / "captured.yaml").read_text()
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert header[0].startswith(f"# Captured by `nestlab capture` from served (hosts: HV01) at {result.captured_at}")
    assert any("HV01/L1: not Running" in line for line in header)
    assert "HV01/L1/L2-web" not in loaded and differences(visible(lab), loaded) == []


def test_nestlab_capture_of_an_inventory_writes_a_valid_lab(tmp_path, monkeypatch):
    lab = labfile.load("builtin:reference")
    password = secrets.token_urlsafe(16)
    monkeypatch.setenv("NESTLAB_PASSWORD", password)
    with served(lab, password) as (server, _):
        inventory = tmp_path / "inventory.yaml"
        inventory.write_text(
            "hosts:\n"
            f"  - {{name: HV01, address: 127.0.0.1, port: {server.servers['HV01'].port}, transport: http, auth: basic, user: nestlab}}\n"
        )
        out = tmp_path / "lab.yaml"
        result = CliRunner().invoke(cli, ["capture", f"inventory:{inventory}", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "captured HV01 (3 VMs)" in result.output
    assert differences(visible(lab), labfile.load(out)) == []
    assert password not in out.read_text() and password not in result.output


def test_an_unreachable_target_is_one_line_and_exit_2(tmp_path, monkeypatch):
    monkeypatch.setenv("NESTLAB_PASSWORD", "irrelevant")
    out = tmp_path / "lab.yaml"
    result = CliRunner().invoke(cli, ["capture", "psrp://nestlab@127.0.0.1:9?transport=http&auth=basic", "-o", str(out)])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and "127.0.0.1" in result.output
    assert not out.exists()
