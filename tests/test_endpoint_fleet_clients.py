"""pypsrp, pywinrm and Ansible's winrm and psrp connections against the container fleet (`nestlab up`),
marked `docker`: with Basic, and with Negotiate/NTLM and message encryption (Windows' defaults).

The image is built under its own tag and the lab file has a unique name, so the containers
(`nestlab-pytest-clients-…-hv01`) and the image cannot collide with another run's; `down`
removes what `up` made. Skipped, with the engine's reason, where no Docker engine answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import winrm
from click.testing import CliRunner

from pypsrp.client import Client

from nestlab.lab import fleet, image
from nestlab.lab.cli import cli
from nestlab.lab.targets import read_inventory
from nestlab.simulator import labfile
from nestlab.simulator.errors import BadInput

pytestmark = [pytest.mark.docker, pytest.mark.endpoint]

PASSWORD = "Fleet-clients-pa55"
TAG = "nestlab-clients-test:latest"
ANSIBLE = Path(sys.executable).with_name("ansible")


@pytest.fixture(scope="module")
def fleet_hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Any]]:
    pytest.importorskip("docker", reason="the docker package is not installed (pip install 'nestlab[docker]')")
    try:
        client = fleet.connect()
    except BadInput as exc:
        pytest.skip(str(exc))
    image.build_image(client, tag=TAG, log=lambda line: None)
    folder = tmp_path_factory.mktemp("clients")
    lab_file = folder / f"pytest-clients-{uuid.uuid4().hex[:8]}.yaml"
    labfile.save(labfile.load("builtin:reference"), lab_file)
    inventory = folder / "inventory.yaml"
    name = fleet.fleet_name(str(lab_file))
    try:
        result = CliRunner().invoke(cli, ["up", str(lab_file), "--image", TAG, "-o", str(inventory)],
                                    env={"NESTLAB_PASSWORD": PASSWORD})
        assert result.exit_code == 0, result.output
        yield read_inventory(inventory)
    finally:
        fleet.down(client, name)


def test_pywinrm_run_cmd_and_run_ps_against_each_container(fleet_hosts):
    for host in fleet_hosts:
        session = winrm.Session(f"http://{host.server}:{host.port or fleet.PORT}/wsman", auth=("nestlab", PASSWORD),
                                transport="basic")
        assert session.run_cmd("hostname").std_out.decode().strip() == host.name
        result = session.run_ps("Get-VM | Select-Object Name")
        assert result.status_code == 0 and "Name" in result.std_out.decode()


def test_pypsrp_defaults_and_pywinrm_ntlm_against_each_container(fleet_hosts):
    """pypsrp's defaults (Negotiate, encryption) and pywinrm's ntlm: what a Windows host asks for."""
    for host in fleet_hosts:
        with Client(host.server, port=host.port or fleet.PORT, username="nestlab", password=PASSWORD, ssl=False,
                    no_proxy=True) as client:
            output, _, had_errors = client.execute_ps("$env:COMPUTERNAME; (Get-VM).Count -gt 0")
            assert (output, had_errors) == (f"{host.name}\nTrue", False)
        session = winrm.Session(f"http://{host.server}:{host.port or fleet.PORT}/wsman", auth=("nestlab", PASSWORD),
                                transport="ntlm")
        assert session.run_ps("hostname; exit 3").status_code == 3


@pytest.mark.skipif(not ANSIBLE.exists(), reason=f"ansible-core is not installed beside {sys.executable}")
@pytest.mark.parametrize("connection", [
    "{ansible_connection: winrm, ansible_winrm_transport: ntlm, ansible_winrm_scheme: http}",
    "{ansible_connection: psrp, ansible_psrp_protocol: http, ansible_psrp_ignore_proxy: true}",
], ids=["winrm-ntlm", "psrp-negotiate"])
def test_ansible_raw_with_windows_auth_against_the_fleet(fleet_hosts, tmp_path, connection):
    hosts = "\n".join(f"        {h.name}: {{ansible_host: {h.server}, ansible_port: {h.port or fleet.PORT}}}" for h in fleet_hosts)
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(f"""\
all:
  vars: {{ansible_user: nestlab, ansible_password: "{{{{ lookup('env', 'NESTLAB_PASSWORD') }}}}"}}
  children:
    fleet:
      hosts:
{hosts}
      vars: {connection}
""")
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = {**os.environ, "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg"), "ANSIBLE_HOME": str(tmp_path / "home"),
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"), "ANSIBLE_NOCOLOR": "1", "LC_ALL": "C.UTF-8",
           "NESTLAB_PASSWORD": PASSWORD}
    result = subprocess.run([str(ANSIBLE), "-i", str(inventory), "fleet", "-m", "raw", "-a", "hostname"], env=env,
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for host in fleet_hosts:
        assert f"{host.name} | CHANGED | rc=0 >>\n{host.name}" in result.stdout


@pytest.mark.skipif(not ANSIBLE.exists(), reason=f"ansible-core is not installed beside {sys.executable}")
def test_ansible_raw_over_winrm_against_the_fleet(fleet_hosts, tmp_path):
    hosts = "\n".join(f"        {h.name}: {{ansible_host: {h.server}, ansible_port: {h.port or fleet.PORT}}}" for h in fleet_hosts)
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(f"""\
all:
  children:
    fleet:
      hosts:
{hosts}
      vars:
        ansible_connection: winrm
        ansible_winrm_transport: basic
        ansible_winrm_scheme: http
        ansible_user: nestlab
        ansible_password: "{{{{ lookup('env', 'NESTLAB_PASSWORD') }}}}"
""")
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = {**os.environ, "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg"), "ANSIBLE_HOME": str(tmp_path / "home"),
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"), "ANSIBLE_NOCOLOR": "1", "LC_ALL": "C.UTF-8",
           "NESTLAB_PASSWORD": PASSWORD}
    result = subprocess.run([str(ANSIBLE), "-i", str(inventory), "fleet", "-m", "raw", "-a", "hostname"], env=env,
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for host in fleet_hosts:
        assert f"{host.name} | CHANGED | rc=0 >>\n{host.name}" in result.stdout
