"""nestlab's own diagnostic and fixer scripts (fixtures/scripts/) give a real host's answers.

Test-NestedHost.ps1 and Repair-NestedVm.ps1 are several hundred lines of the language people's
diagnostics use; they run unchanged in process (`nestlab ps --file`) and through pypsrp against
the served lab. Each fault is injected into builtin:reference; the verdict a script prints is the
one the lab's state implies (the fault's subject is the machine reported NOT READY, for the reason
the fault is about).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pypsrp.host import PSHost, PSHostUserInterface
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from nestlab.simulator import faults, labfile, powershell
from nestlab.simulator.endpoint.server import Credentials, LabServer
from nestlab.simulator.endpoint.testing import PASSWORD, USER
from nestlab.simulator.psdata import Command
from nestlab.simulator.pwsh import ScriptResult, run_script

SCRIPTS = Path(__file__).resolve().parent.parent / "fixtures" / "scripts"
CHECK = (SCRIPTS / "Test-NestedHost.ps1").read_text(encoding="utf-8")
REPAIR = (SCRIPTS / "Repair-NestedVm.ps1").read_text(encoding="utf-8")


class Answers:
    def __init__(self, *answers: str) -> None:
        self.pending = list(answers)

    def read_line(self, prompt: str) -> str | None:
        return self.pending.pop(0) if self.pending else None

    def write(self, text: str) -> None:
        pass


def run(lab, text: str, *args: str, host=None) -> ScriptResult:
    return run_script(lambda c, p: powershell.run(lab, c, p), "HV01", text, args=args, host=host)


def verdicts(result: ScriptResult) -> list[str]:
    return [line for line in result.information if line.startswith(("HOST ", "VM ", "  - ", "  ! "))]


def test_the_scripts_are_of_the_size_and_shape_of_real_diagnostics():
    assert len(CHECK.splitlines()) >= 250 and len(REPAIR.splitlines()) >= 180
    for construct in ("param(", "begin {", "process {", "switch", "try {", "catch", "foreach", "Where-Object", "@{",
                      "Select-Object", "Sort-Object", "Group-Object", "Select-String", "-f ", '@"', "exit "):
        assert construct in CHECK or construct in REPAIR, construct


def test_healthy_reference_is_ready(lab):
    result = run(lab, CHECK)
    assert not result.errors, [e.message for e in result.errors]
    assert verdicts(result) == ["HOST HV01 : READY", "VM L1 : READY"]
    assert result.exit_code == 0


@pytest.mark.parametrize("fault, expected", [
    ("extensions-not-exposed", ["HOST HV01 : READY", "VM L1 : NOT READY", "  - ExposeVirtualizationExtensions is off"]),
    ("dynamic-memory-enabled", ["HOST HV01 : READY", "VM L1 : NOT READY", "  - Dynamic memory is enabled"]),
    ("insufficient-vcpu", ["HOST HV01 : READY", "VM L1 : NOT READY", "  - Only 1 virtual processor(s); at least 2 needed"]),
    ("insufficient-memory", ["HOST HV01 : READY", "VM L1 : NOT READY", "  - Startup memory is 2 GB; at least 4 GB needed"]),
    ("hypervisor-launch-disabled", ["HOST HV01 : NOT READY", "  - Hypervisor not running: bcdedit hypervisorlaunchtype is Off",
                                    "VM L1 : READY"]),
    ("virtualization-disabled-in-firmware",
     ["HOST HV01 : NOT READY", "  - Hypervisor not running: virtualization is not enabled in firmware, or the processor lacks it",
      "VM L1 : READY"]),
    ("vbs-enabled", ["HOST HV01 : NOT READY", "  - Virtualization-based security is running (VBS)", "VM L1 : READY"]),
    ("credential-guard-enabled", ["HOST HV01 : NOT READY", "  - Virtualization-based security is running (VBS, Credential Guard)",
                                  "VM L1 : READY"]),
    ("device-guard-enabled", ["HOST HV01 : NOT READY", "  - Virtualization-based security is running (VBS, HVCI)", "VM L1 : READY"]),
    ("group-policy-blocking", ["HOST HV01 : NOT READY", "  - Virtualization-based security is running (VBS)",
                               "  - Group Policy turns virtualization-based security on", "VM L1 : READY"]),
    ("mac-spoofing-disabled", ["HOST HV01 : READY", "VM L1 : READY",
                               "  ! MAC address spoofing is off on: Network Adapter (nested guests get no network through an external switch)"]),
    ("vm-generation-1", ["HOST HV01 : READY", "VM L1 : READY", "  ! Generation 1 VM; generation 2 is recommended"]),
])
def test_each_fault_is_reported_on_its_machine_for_its_reason(lab, fault, expected):
    if not faults.get(fault).candidates(lab):  # VBS blocks nesting only on early builds: builtin:legacy (2016)
        lab = labfile.load("builtin:legacy")
    faults.get(fault).inject(lab)
    result = run(lab, CHECK)
    assert not result.errors, [e.message for e in result.errors]
    assert verdicts(result) == expected
    assert result.exit_code == sum(1 for line in expected if line.endswith("NOT READY"))


def test_host_build_check_reads_the_os(lab):
    faults.get("host-os-unsupported").inject(lab)
    lines = verdicts(run(lab, CHECK))
    build = lab.platform("HV01").os.build
    assert lines[:2] == ["HOST HV01 : NOT READY",
                         f"  - Windows build {build} is older than 14393; nesting needs Windows Server 2016 or later"]


def test_json_output_and_vm_filter(lab):
    faults.get("extensions-not-exposed").inject(lab)
    result = run(lab, CHECK, "-VMName", "L*", "-AsJson")
    text = result.output[-1]
    assert '"Ready":  false' in text and '"Check":  "Extensions"' in text


@pytest.mark.parametrize("fault, setting", [
    ("extensions-not-exposed", lambda lab: _processor(lab)["ExposeVirtualizationExtensions"] is True),
    ("dynamic-memory-enabled", lambda lab: _memory(lab)["DynamicMemoryEnabled"] is False),
    ("insufficient-memory", lambda lab: _memory(lab)["Startup"] >= 4 * 2**30),
    ("insufficient-vcpu", lambda lab: _processor(lab)["Count"] >= 2),
    ("mac-spoofing-disabled", lambda lab: str(_ask(lab, "Get-VMNetworkAdapter")["MacAddressSpoofing"]) == "On"),
])
def test_repair_with_yes_fixes_the_vm_and_brings_it_back(lab, fault, setting):
    faults.get(fault).inject(lab)
    result = run(lab, REPAIR, "-VMName", "L1", host=Answers("Y"))
    assert result.exit_code == 0, (result.information, [e.message for e in result.errors])
    assert result.information[-1] == "L1 is ready for nested virtualization."
    assert setting(lab)
    assert str(_ask(lab, "Get-VM")["State"]) == "Running"
    assert run(lab, CHECK).exit_code == 0


def test_repair_answered_no_changes_nothing(lab):
    faults.get("extensions-not-exposed").inject(lab)
    result = run(lab, REPAIR, "L1", host=Answers("maybe", "N"))
    assert result.exit_code == 1 and result.information[-3:] == ("Proceed? (Y/N) ", "Please answer Y or N: ", "Nothing changed.")
    assert _processor(lab)["ExposeVirtualizationExtensions"] is False
    assert str(_ask(lab, "Get-VM")["State"]) == "Running"


def test_repair_of_an_unknown_vm_is_exit_2(lab):
    result = run(lab, REPAIR, "-VMName", "Nope", "-Force")
    assert result.exit_code == 2 and "There is no VM named 'Nope'" in result.errors[0].message


def _ask(lab, cmdlet: str):
    params = (("Name", "L1"),) if cmdlet == "Get-VM" else (("VMName", "L1"),)
    return powershell.run(lab, "HV01", (Command(cmdlet, params),)).output[0]


def _processor(lab):
    return _ask(lab, "Get-VMProcessor")


def _memory(lab):
    return _ask(lab, "Get-VMMemory")


# -- through pypsrp ------------------------------------------------------------------------------------

class _YesUI(PSHostUserInterface):
    def ReadLine(self, runspace, pipeline):  # noqa: N802 - pypsrp's host method name
        return "Y"


def _invoke(lab, script: str, *, host=None, **parameters):
    with LabServer(lab, Credentials(USER, PASSWORD)) as server:
        wsman = WSMan("127.0.0.1", port=server.servers["HV01"].port, username=USER, password=PASSWORD, ssl=False,
                      auth="basic", encryption="never", no_proxy=True)
        with RunspacePool(wsman, host=host) as pool:
            ps = PowerShell(pool)
            ps.add_script(script)
            for name, value in parameters.items():
                ps.add_parameter(name, value)
            output = ps.invoke()
            lines = [str(i.message_data) for i in ps.streams.information]
            return ps, output, lines


def test_check_through_pypsrp_gives_the_same_verdicts(lab):
    faults.get("dynamic-memory-enabled").inject(lab)
    ps, output, lines = _invoke(lab, CHECK)
    assert [line for line in lines if line.startswith(("HOST ", "VM ", "  - "))] == [
        "HOST HV01 : READY", "VM L1 : NOT READY", "  - Dynamic memory is enabled"]
    assert [o.adapted_properties["Check"] if hasattr(o, "adapted_properties") and o.adapted_properties else
            o.extended_properties["Check"] for o in output] == ["DynamicMemory"]
    assert not ps.streams.error


def test_repair_through_pypsrp_with_force_changes_the_served_lab(lab):
    faults.get("extensions-not-exposed").inject(lab)
    ps, _, lines = _invoke(lab, REPAIR, VMName="L1", Force=True)
    assert lines[-1] == "L1 is ready for nested virtualization." and not ps.streams.error
    assert _processor(lab)["ExposeVirtualizationExtensions"] is True


def test_repair_through_pypsrp_without_a_host_cannot_prompt(lab):
    faults.get("extensions-not-exposed").inject(lab)
    ps, _, _ = _invoke(lab, REPAIR, VMName="L1")
    assert "NonInteractive mode" in str(ps.streams.error[0])
    assert _processor(lab)["ExposeVirtualizationExtensions"] is False


def test_repair_through_pypsrp_asks_the_clients_host(lab):
    faults.get("dynamic-memory-enabled").inject(lab)
    ps, _, lines = _invoke(lab, REPAIR, host=PSHost(None, None, False, "grader", None, _YesUI(), None), VMName="L1")
    assert "Proceed? (Y/N) " in lines and lines[-1] == "L1 is ready for nested virtualization."
    assert _memory(lab)["DynamicMemoryEnabled"] is False and not ps.streams.error
