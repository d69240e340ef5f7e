"""`nestlab serve --max-shells-per-user N`: WinRM's MaxShellsPerUser is the served host's to set,
as `winrm set winrm/config/winrs @{MaxShellsPerUser="N"}` sets it on Windows."""

from __future__ import annotations

import pytest
from pypsrp.exceptions import WSManFaultError
from pypsrp.powershell import RunspacePool
from pypsrp.wsman import WSMan

from nestlab.simulator import labfile
from nestlab.simulator.endpoint.auth import Credentials
from nestlab.simulator.endpoint.quotas import Quotas
from nestlab.simulator.endpoint.server import LabServer

pytestmark = pytest.mark.endpoint

USER, PASSWORD = "labadmin", "quota-pa55-word"


def _wsman(server: LabServer) -> WSMan:
    port = server.servers["HV01"].port
    return WSMan("127.0.0.1", port=port, username=USER, password=PASSWORD, ssl=False, auth="basic",
                 encryption="never", cert_validation=False)


def test_the_quota_set_for_the_served_host_refuses_the_shell_past_it():
    lab = labfile.load("builtin:reference")
    with LabServer(lab, Credentials(USER, PASSWORD), hosts=["HV01"], quotas=Quotas(max_shells_per_user=2)) as server:
        first, second = RunspacePool(_wsman(server)), RunspacePool(_wsman(server))
        first.open()
        second.open()
        try:
            with pytest.raises(WSManFaultError, match="maximum number of 2 concurrent shells"):
                RunspacePool(_wsman(server)).open()
        finally:
            first.close()
            second.close()
        with RunspacePool(_wsman(server)) as pool:  # closing one makes room again
            assert pool.state is not None


def test_serve_offers_the_option_with_windows_default():
    from click.testing import CliRunner

    from nestlab.lab.commands.serve import command

    help_text = CliRunner().invoke(command, ["--help"]).output
    assert "--max-shells-per-user" in help_text and "30" in help_text
