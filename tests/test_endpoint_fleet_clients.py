"""pypsrp, pywinrm and Ansible's winrm and psrp connections against the container fleet (`nestlab up`),
marked `docker`: with Basic, and with Negotiate/NTLM and message encryption (Windows' defaults).

The image is built under its own tag and the lab file has a unique name, so the containers
(`nestlab-pytest-clients-…-hv01`) and the image cannot collide with another run's; `down`
removes what `up` made. Skipped, with the engine's reason, where no Docker engine answers.
"""

from __future__ import annotations

import sys
import uuid
from typing import Any, Iterator

import pytest
import winrm
from click.testing import CliRunner

from pypsrp.client import Client

from helpers_clients import ANSIBLE, PSRP_NEGOTIATE, WINRM_BASIC, WINRM_NTLM, Ansible
from nestlab.lab import fleet, image
from nestlab.lab.cli import cli
from nestlab.lab.targets import read_inventory
from nestlab.simulator import labfile
from nestlab.simulator.errors import BadInput

pytestmark = [pytest.mark.docker, pytest.mark.endpoint]

PASSWORD = "Fleet-clients-pa55"
TAG = "nestlab-clients-test:latest"


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


def _fleet_ansible(fleet_hosts, folder, connection: dict) -> Ansible:
    hosts = {h.name: {"ansible_host": h.server, "ansible_port": h.port or fleet.PORT} for h in fleet_hosts}
    return Ansible(folder, {"fleet": (hosts, connection)}, user="nestlab", password=PASSWORD, timeout=300)


CONNECTIONS = pytest.mark.parametrize("connection", [WINRM_NTLM, PSRP_NEGOTIATE, WINRM_BASIC],
                                      ids=["winrm-ntlm", "psrp-negotiate", "winrm-basic"])


@pytest.mark.skipif(not ANSIBLE.exists(), reason=f"ansible-core is not installed beside {sys.executable}")
@CONNECTIONS
def test_ansible_raw_against_the_fleet(fleet_hosts, tmp_path, connection):
    result = _fleet_ansible(fleet_hosts, tmp_path, connection)("fleet", "raw", "hostname")
    assert result.returncode == 0, result.stdout + result.stderr
    for host in fleet_hosts:
        assert f"{host.name} | CHANGED | rc=0 >>\n{host.name}" in result.stdout


@pytest.mark.skipif(not ANSIBLE.exists(), reason=f"ansible-core is not installed beside {sys.executable}")
@pytest.mark.parametrize("connection", [WINRM_NTLM, PSRP_NEGOTIATE], ids=["winrm-ntlm", "psrp-negotiate"])
def test_ansible_script_against_the_fleet(fleet_hosts, tmp_path, connection):
    """`script`: the temporary folder, the upload and the run happen in each container's own file store."""
    (tmp_path / "probe.ps1").write_text("$env:COMPUTERNAME\n(Get-VM).Count -gt 0\n")
    result = _fleet_ansible(fleet_hosts, tmp_path, connection)("fleet", "script", str(tmp_path / "probe.ps1"))
    assert result.returncode == 0, result.stdout + result.stderr
    for host in fleet_hosts:
        assert f"{host.name} | CHANGED =>" in result.stdout
        assert f'"stdout_lines": [\n        "{host.name}",\n        "True"\n    ]' in result.stdout
