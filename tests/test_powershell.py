"""The simulated PowerShell surface: dispatch, binding, pipelines, object shapes against real output."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nestlab.simulator import powershell, psformat, psparse
from nestlab.simulator.errors import BadInput
from nestlab.simulator.psdata import Command, PSEnum, PSObject

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "powershell"


def run(lab, line, context="HV01"):
    return powershell.run_line(lab, context, line)


def fixture_body(name: str) -> list[str]:
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# source"), f"{name} must start with its source header"
    return [line for line in lines if not line.startswith("#")]


def list_names(name: str) -> list[str]:
    """Property names of the first Format-List block of a fixture, in order."""
    names = []
    for line in fixture_body(name):
        m = re.match(r"^(\S[^:]*?)\s+: ?", line)
        if m and not line.startswith(" "):
            if m.group(1) in names:
                break
            names.append(m.group(1))
    return names


# -- dispatch ----------------------------------------------------------------------------------


def test_unknown_cmdlet_is_command_not_found_and_fails_the_pipeline(lab):
    result = run(lab, "Get-VM | Get-Nonsense")
    assert result.failed and not result.output
    error = result.first_error()
    assert error.fully_qualified_error_id == "CommandNotFoundException"
    assert error.category == "ObjectNotFound"
    assert error.message.startswith("The term 'Get-Nonsense' is not recognized as the name of a cmdlet, function, "
                                    "script file, or operable program.")


def test_unknown_parameter_is_a_terminating_binding_error(lab):
    result = run(lab, "Get-VMProcessor -VMName L1 -Bogus 1")
    assert result.failed
    assert result.first_error().fully_qualified_error_id == \
        "NamedParameterNotFound,Microsoft.HyperV.PowerShell.Commands.GetVMProcessor"


def test_parameter_prefix_binds_like_powershell(lab):
    run(lab, "Stop-VM -Name L1 -TurnOff")
    assert run(lab, "Set-VMProcessor -VMName L1 -Expose $false").ok
    assert lab["HV01/L1"].processor.expose_virtualization_extensions is False


def test_missing_vm_is_a_non_terminating_error_with_the_real_text(lab):
    result = run(lab, "Get-VM -Name L1,Nope")
    assert not result.failed and len(result.output) == 1
    error = result.first_error()
    assert error.message == 'Hyper-V was unable to find a virtual machine with name "Nope".'
    assert error.fully_qualified_error_id == "InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM"
    assert error.category == "InvalidArgument"


def test_structured_commands_run_without_text(lab):
    result = powershell.run(lab, "HV01", (Command.of("Get-VMProcessor", VMName="L1"),
                                          Command.of("Select-Object", Property=["VMName", "ExposeVirtualizationExtensions"])))
    assert result.ok
    (obj,) = result.output
    assert list(obj) == ["VMName", "ExposeVirtualizationExtensions"]
    assert obj["ExposeVirtualizationExtensions"] is True


def test_pipeline_input_flows_into_set_vmnetworkadapter(lab):
    assert run(lab, "Get-VMNetworkAdapter -VMName L1 | Set-VMNetworkAdapter -MacAddressSpoofing Off").ok
    assert lab["HV01/L1:adapter:Network Adapter"].mac_spoofing is False


def test_select_expandproperty_and_where_object(lab):
    assert run(lab, "Get-VMProcessor -VMName L1 | Select-Object -ExpandProperty Count").output == (4,)
    names = [o["Name"] for o in run(lab, "Get-VM | Where-Object -Property State -EQ Running", "HV01/L1").output]
    assert names == ["L2-web", "L2-app"]
    assert run(lab, "Get-VM | Where-Object State -eq Off", "HV01/L1").output == ()


def test_guest_context_off_vm_is_unreachable(lab):
    run(lab, "Stop-VM -Name L1")
    result = run(lab, "Get-VM", "HV01/L1")
    assert result.failed
    assert result.first_error().message == "The virtual machine L1 is not in running state."


def test_invoke_command_runs_the_script_block_in_the_guest(lab):
    result = run(lab, "Invoke-Command -VMName L1 -ScriptBlock { Get-VM -Name L2-web | Select-Object -ExpandProperty Name }")
    assert result.output == ("L2-web",)
    structured = powershell.run(lab, "HV01", (Command.of("Invoke-Command", VMName="L1", ScriptBlock="Get-NetNat"),))
    assert [o["Name"] for o in structured.output] == ["NestedNAT"]


# -- object shapes against real output -----------------------------------------------------------

SHAPES = [
    ("get-vm-fl.txt", "Get-VM -Name L1", "HV01"),
    ("get-vmprocessor-fl.txt", "Get-VMProcessor -VMName L1", "HV01"),
    ("get-vhd-fl.txt", "Get-VHD -Path 'D:\\VMs\\L1\\L1_8F2A.avhdx'", "HV01"),
    ("get-netnat-fl.txt", "Get-NetNat", "HV01/L1"),
    ("win32-deviceguard-fl.txt",
     "Get-CimInstance -Namespace root\\Microsoft\\Windows\\DeviceGuard -ClassName Win32_DeviceGuard", "HV01"),
    ("get-windowsoptionalfeature-fl.txt", "Get-WindowsOptionalFeature -Online -FeatureName Microsoft-Hyper-V", "HV01"),
]


@pytest.mark.parametrize("fixture,line,context", SHAPES)
def test_object_properties_match_real_output_in_order(lab, fixture, line, context):
    (obj,) = run(lab, line, context).output
    expected = list_names(fixture)
    assert [n for n in obj if n != "PSComputerName" or "PSComputerName" in expected] == expected


def test_static_mapping_shape(lab):
    run(lab, "Add-NetNatStaticMapping -NatName NestedNAT -Protocol TCP -ExternalIPAddress 0.0.0.0 "
             "-InternalIPAddress 192.168.200.10 -InternalPort 80 -ExternalPort 82", "HV01/L1")
    (obj,) = run(lab, "Get-NetNatStaticMapping", "HV01/L1").output
    assert [n for n in obj if n != "PSComputerName"] == list_names("get-netnatstaticmapping-fl.txt")


def test_vmswitch_properties_follow_the_real_order(lab):
    (obj,) = run(lab, "Get-VMSwitch").output
    real = list_names("get-vmswitch-fl.txt")
    ours = list(obj)
    assert [n for n in ours if n in real] == [n for n in real if n in ours]
    assert {"Name", "SwitchType", "NetAdapterInterfaceDescription", "AllowManagementOS"} <= set(ours)


def test_enums_carry_real_numbers(lab):
    (vm,) = run(lab, "Get-VM L1").output
    assert vm["State"] == PSEnum("Microsoft.HyperV.PowerShell.VMState", "Running", 2)
    (adapter,) = run(lab, "Get-VMNetworkAdapter -VMName L1").output
    assert adapter["MacAddressSpoofing"].value == 0  # OnOffState On = 0
    (vhd,) = run(lab, "Get-VHD -Path D:\\VMs\\L1\\L1.vhdx").output
    assert (vhd["VhdType"].name, vhd["VhdType"].value, vhd["VhdFormat"].value) == ("Fixed", 2, 3)
    switches = {o["Name"]: o["SwitchType"].value for o in run(lab, "Get-VMSwitch", "HV01/L1").output}
    assert switches == {"NestedNAT": 1, "NestedExternal": 2}
    assert vm.type_names[0] == "Microsoft.HyperV.PowerShell.VirtualMachine"


TABLES = [
    ("get-vmprocessor-table.txt", "Get-VMProcessor -VMName L1"),
    ("get-vm-table.txt", "Get-VM -Name L1"),
    ("get-vmmemory-table.txt", "Get-VMMemory -VMName L1"),
    ("get-vmswitch-table.txt", "Get-VMSwitch"),
]


@pytest.mark.parametrize("fixture,line", TABLES)
def test_default_table_headers_match_real_output(lab, fixture, line):
    body = [row for row in fixture_body(fixture) if row.strip()]
    header = next(row for i, row in enumerate(body) if i + 1 < len(body) and body[i + 1].startswith("----"))
    rendered = psformat.render(list(run(lab, line).output)).strip("\n").splitlines()
    assert rendered[0].split() == header.split()


def test_portproxy_table_matches_the_real_layout(lab):
    real = [row for row in fixture_body("netsh-portproxy-show-all.txt") if not row.startswith("C:\\")]
    ours = run(lab, "netsh interface portproxy show all", "HV01/L1").output
    assert list(ours[1:5]) == [r for r in real if r][0:1] + [""] + [r for r in real if r][1:3]
    row = ours[5]
    assert row[:16].strip() == "10.20.0.50" and row[16:28].strip() == "8080" and row[28:44].strip() == "192.168.200.10"


def test_error_rendering_matches_the_console_shape(lab):
    run(lab, "Set-VMMemory -VMName L1 -DynamicMemoryEnabled $true")
    result = run(lab, "Set-VMMemory -VMName L1 -DynamicMemoryEnabled $true")
    text = psformat.format_error(result.first_error())
    real = fixture_body("error-set-vmmemory.txt")
    assert text.splitlines()[0] == real[0].replace("Hyper-V\\", "")
    assert text.splitlines()[-2:] == real[-2:]


# -- psparse ------------------------------------------------------------------------------------


def test_parse_pipeline_switches_sizes_and_native_arguments():
    (cmd,) = psparse.parse("Set-VMMemory -VMName L1 -StartupBytes 4GB -DynamicMemoryEnabled:$false")
    assert cmd.param("StartupBytes") == 4 * 1024 ** 3 and cmd.param("DynamicMemoryEnabled") is False
    first, second = psparse.parse("Get-VMProcessor -VMName L1 | select -ExpandProperty Count")
    assert second.name == "Select-Object" and second.param("ExpandProperty") == "Count"
    (native,) = psparse.parse("netsh int portproxy add v4tov4 listenport=8080 connectaddress=192.168.200.10")
    assert native.arguments == ("int", "portproxy", "add", "v4tov4", "listenport=8080", "connectaddress=192.168.200.10")
    (rest,) = psparse.parse("Invoke-RestMethod -Uri http://169.254.169.254/x -Headers @{Metadata='true'}")
    assert rest.param("Headers") == {"Metadata": "true"}
    (names,) = psparse.parse("Get-Service -Name vmms, vmcompute")
    assert names.param("Name") == ["vmms", "vmcompute"]


def test_parse_rejects_unbalanced_input():
    with pytest.raises(BadInput):
        psparse.parse("Get-VM -Name 'L1")
    with pytest.raises(BadInput):
        psparse.parse("Get-VM |")


def test_objects_are_psobjects_with_type_names(lab):
    for line in ("Get-VM", "Get-VMSwitch", "Get-NetIPAddress", "Get-Service", "Get-WindowsFeature -Name Hyper-V"):
        for obj in run(lab, line).output:
            assert isinstance(obj, PSObject) and obj.type_names


from hypothesis import given, settings, strategies as st  # noqa: E402

_names = st.from_regex(r"[A-Z][A-Za-z]{1,10}", fullmatch=True)
_values = st.one_of(st.booleans(), st.integers(min_value=0, max_value=10**9),
                    st.from_regex(r"[A-Za-z][A-Za-z0-9 ._\\-]{0,15}", fullmatch=True).map(str.rstrip).filter(bool))


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(_names, _values, max_size=4))
def test_a_rendered_command_parses_back_to_itself(params):
    command = Command("Get-Thing", tuple(params.items()))
    (parsed,) = psparse.parse(str(command))
    assert parsed == command
