"""Every kind of lab-file error is one line with the exact file, line and path (spec/lab-format.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nestlab.simulator import labfile
from nestlab.simulator.errors import BadInput

BAD = Path(__file__).resolve().parent.parent / "fixtures" / "bad-labs"


def errors_of(name: str) -> list[str]:
    path = BAD / name
    return [line.removeprefix(f"{path}:") for line in labfile.validate(path)]


def test_types_ranges_enums_and_unknown_keys_all_reported_with_line_and_path():
    assert errors_of("types.yaml") == [
        "5: hosts[0].kind: must be 'physical' or 'azure-vm' (got 'hyper-physical')",
        "6: hosts[0].cpu.cores: must be >= 1 (got 0)",
        "7: hosts[0].memory_gb: expected a number (got 'lots')",
        "8: hosts[0]: unknown key 'color'",
        "11: hosts[0].vms[0].generation: must be 1 or 2 (got 3)",
        "14: hosts[0].vms[0].processor.count: must be >= 1 (got 0)",
        "16: hosts[0].vms[1].processor.count: expected an integer (got 'two')",
        "17: hosts[0].vms[1].memory.startup_gb: must be > 0 (got 0)",
        "18: hosts[0].vms[1].clustered: expected true or false (got 'yes')",
        "19: hosts[0].vms[1].services[0].port: must be <= 65535 (got 70000)",
    ]


def test_dangling_references_and_duplicates_reported_but_missing_vhd_parent_is_not():
    assert errors_of("refs.yaml") == [
        "8: hosts[0].switches[0].adapter: adapter 'Ethernet9' is not a network adapter (networks[].adapter) of HV01",
        "15: hosts[0].vms[0].adapters[0].switch: switch 'Nope' is not declared on HV01",
        "16: hosts[0].vms[0].disks[1]: disk 'D:\\VMs\\Missing.vhdx' is not a declared vhd of HV01",
        "19: hosts[0].vms[0].guest.switches[0].adapter: adapter 'Nic2' is not an adapter of VM HV01/L1",
        "25: hosts[0].vms[0].guest.vms[0].disks[0]: disk 'C:\\x.vhdx' is not a declared vhd of HV01/L1",
        "26: hosts[0].vms[1].name: duplicate name 'L1' (also at line 13)",
        "27: hosts[1].name: duplicate name 'HV01' (also at line 4)",
    ]


def test_bad_addresses_prefixes_and_macs():
    assert errors_of("addresses.yaml") == [
        "5: hosts[0].networks[0].gateway: not an IPv4 address: '10.0.0.300'",
        "5: hosts[0].networks[0].ip: not an IPv4 address with prefix: '10.0.0.2'",
        "7: hosts[0].switches[0].host_ip: not an IPv4 address with prefix: '192.168.0.1/33'",
        "9: hosts[0].nat[0].internal_prefix: not an IPv4 network prefix: '192.168.0.0'",
        "11: hosts[0].portproxy[0].connect_address: not an IPv4 address: 'web01'",
        "15: hosts[0].vms[0].adapters[0].ip: not an IPv4 address with prefix: '10.0.0.5'",
        "15: hosts[0].vms[0].adapters[0].mac: not a MAC address of 12 hex digits: '00155DZZ0001'",
    ]


def test_unreadable_yaml_is_one_line_with_its_line():
    (line,) = errors_of("unreadable.yaml")
    assert line.startswith("6: not readable YAML: while parsing a flow mapping")


def test_duplicate_key_is_one_line_at_the_second_key():
    (line,) = errors_of("duplicate-key.yaml")
    assert line.startswith("5: not readable YAML:") and 'duplicate key "memory_gb"' in line


def test_load_raises_bad_input_with_every_line():
    with pytest.raises(BadInput) as caught:
        labfile.load(BAD / "types.yaml")
    assert len(caught.value.lines) == 10
    assert caught.value.lines[0] == f"{BAD / 'types.yaml'}:5: hosts[0].kind: must be 'physical' or 'azure-vm' (got 'hyper-physical')"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hosts: []\n", "<text>:1: missing required key 'lab'"),
        ("lab: x\nhosts:\n  - kind: physical\n", "<text>:3: hosts[0]: missing required key 'name'"),
        ("lab: x\nhosts:\n  - name: H\n    cpu: {vendor: Intel, cores: 1, model: 5}\n", "<text>:4: hosts[0].cpu.model: expected a string (got 5)"),
        ("lab: x\nhosts:\n  - name: H/1\n", "<text>:3: hosts[0].name: not a usable name (empty, or contains '/' or ':'): 'H/1'"),
        ("lab: x\nhosts: {name: H}\n", "<text>:2: hosts: expected a list (got a mapping)"),
        ("- a\n", "<text>:1: expected a mapping (got a list)"),
        (
            "lab: x\nhosts:\n  - name: H\n    vhds:\n      - {path: 'D:\\a.vhdx'}\n      - {path: 'd:\\A.VHDX'}\n",
            "<text>:6: hosts[0].vhds[1].path: duplicate path 'd:\\A.VHDX' (also at line 5)",
        ),
        (
            "lab: x\nhosts:\n  - name: H\n    vms:\n      - name: V\n        adapters: [{ip: 10.0.0.1/24}, {mac_spoofing: true}]\n",
            "<text>:6: hosts[0].vms[0].adapters[1]: duplicate name 'Network Adapter' (also at line 6)",
        ),
        (
            "lab: x\nhosts:\n  - name: H\n    vhds:\n      - {path: 'D:\\a.vhdx', disk_id: nope}\n",
            "<text>:5: hosts[0].vhds[0].disk_id: not a GUID: 'nope'",
        ),
    ],
)
def test_single_errors_from_text(text: str, expected: str):
    assert labfile.validate(text) == [expected]


def test_yaml_12_keeps_off_a_string_and_optional_model_keys_are_accepted():
    text = (
        "lab: x\nhosts:\n  - name: H\n    firewall: [{name: R, enabled: false}]\n"
        "    nat: [{name: N, internal_prefix: 192.168.0.0/24, static_mappings: "
        "[{external_port: 80, internal_ip: 192.168.0.2, internal_port: 80, external_ip: 10.0.0.1}]}]\n"
        "    vhds:\n      - {path: 'D:\\p.vhdx'}\n      - {path: 'D:\\c.avhdx', type: differencing, parent: 'D:\\p.vhdx', size_gb: 40}\n"
        "    vms:\n      - name: V\n        state: Off\n        adapters: [{mac: 00155D0A0B0C}]\n"
    )
    lab = labfile.loads(text)
    assert lab["H/V"].state == "Off"
    assert lab.mac("H/V:adapter:Network Adapter") == "00155D0A0B0C"
    assert lab["H:vhd:D:\\c.avhdx"].size_gb == 40


def test_unknown_builtin_and_missing_file_are_one_line():
    with pytest.raises(BadInput, match=r"builtin:nope: no such builtin lab \(builtin labs: "):
        labfile.load("builtin:nope")
    assert labfile.validate(Path("/nonexistent/lab.yaml")) == ["/nonexistent/lab.yaml: no such lab file"]
