"""The plugin's fixtures as a project's own suite uses them (this suite loads the plugin through
its pytest11 entry point, like any project with nestlab installed)."""

from __future__ import annotations

import pytest
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from nestlab.injection import Injector
from nestlab.lab.diagnose import diagnose_session
from nestlab.simulator import labfile
from nestlab.simulator.psparse import parse


def _vm_names(host) -> dict[str, str]:
    """What a user's own tool would do: Get-VM over PSRP with the fixture's URL and credentials."""
    with RunspacePool(WSMan(host.server, **host.pypsrp_options())) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-VM")
        return {str(vm.adapted_properties["Name"]): str(vm.adapted_properties["State"]) for vm in ps.invoke()}


def test_nestlab_host_serves_the_lab_to_a_plain_pypsrp_client(nestlab_host):
    assert nestlab_host.url == f"http://127.0.0.1:{nestlab_host.port}/wsman"
    assert nestlab_host.name == "HV01" and [h.name for h in nestlab_host.hosts] == ["HV01"]
    assert _vm_names(nestlab_host) == {"L1": "Running"}
    assert nestlab_host.password not in repr(nestlab_host) and nestlab_host.password not in nestlab_host.target


def test_wrong_credentials_are_refused(nestlab_host):
    from pypsrp.exceptions import AuthenticationError

    options = {**nestlab_host.pypsrp_options(), "password": "not-" + nestlab_host.password}
    with pytest.raises(AuthenticationError):
        RunspacePool(WSMan(nestlab_host.server, **options)).open()


def test_inject_shows_on_the_served_host(nestlab_host, inject):
    injection = inject("extensions-not-exposed")
    assert injection.subject == "HV01/L1"
    with RunspacePool(WSMan(nestlab_host.server, **nestlab_host.pypsrp_options())) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-VMProcessor").add_parameter("VMName", "L1")
        (processor,) = ps.invoke()
    assert processor.adapted_properties["ExposeVirtualizationExtensions"] is False


def test_inject_then_undo_gives_back_the_exact_lab(nestlab_lab, inject):
    pristine = nestlab_lab.copy()
    first = inject("mac-spoofing-disabled")
    second = inject("winnat-locked")
    assert nestlab_lab != pristine
    second.undo()
    assert nestlab_lab != pristine and second.undone and not first.undone
    first.undo()
    assert nestlab_lab == pristine


def test_undo_all_is_what_teardown_does_and_undoes_later_injections_too(lab):
    injector = Injector(lab)
    pristine = lab.copy()
    injector("extensions-not-exposed")
    injector("dynamic-memory-enabled")
    injector.undo_all()
    assert lab == pristine and injector.injections == []


def test_nestlab_session_sees_what_the_diagnosis_sees(nestlab_session, inject):
    inject("extensions-not-exposed")
    report = diagnose_session(nestlab_session).report
    assert [(f.root_cause, f.subject) for f in report.errors()][:1] == [("extensions-not-exposed", "HV01/L1")]
    result = nestlab_session.run("HV01", parse("Get-VM -Name L1"))
    assert result.ok and result.output[0]["Name"] == "L1"


@pytest.mark.nestlab_lab("builtin:azure")
def test_the_marker_chooses_the_lab(nestlab_lab):
    assert nestlab_lab == labfile.load("builtin:azure")


def test_without_a_marker_the_lab_is_builtin_reference(nestlab_lab):
    assert nestlab_lab == labfile.load("builtin:reference")
