"""testinfra's WinRM backend (pytest-testinfra) against the served lab: it runs commands in a WinRS cmd shell.

testinfra hard-codes pywinrm's `ntlm` transport (testinfra/backend/winrm.py): this is also the
end-to-end test of WinRS over NTLM with WinRM message encryption.
"""

from __future__ import annotations

import pytest
import testinfra

from nestlab.simulator import labfile
from nestlab.simulator.endpoint.auth import Credentials
from nestlab.simulator.endpoint.server import LabServer

pytestmark = pytest.mark.endpoint

USER, PASSWORD = "labadmin", "S3cret-pa55"


def test_testinfra_runs_commands_over_winrm():
    lab = labfile.load("builtin:reference")
    with LabServer(lab, Credentials(USER, PASSWORD), hosts=["HV01"]) as server:
        port = server.servers["HV01"].port
        host = testinfra.get_host(f"winrm://{USER}:{PASSWORD}@127.0.0.1:{port}?no_ssl=true&no_verify_ssl=true")
        result = host.run("hostname")
        assert (result.rc, result.stdout) == (0, "HV01\r\n")
        assert host.run("netsh interface portproxy show all").rc == 0
