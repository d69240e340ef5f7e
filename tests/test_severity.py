"""Scope and severity, calibrated (issue 11, item 3; docs/severity.md).

The guide's network and performance rules judge the nested chain, not the ordinary VMs beside
it; a port is "missing" a forward only when something says someone wants it reachable; Windows'
own listeners never are; severity follows the one written rule. Every test diagnoses through a
SimSession, as `nestlab diagnose` does.
"""

from __future__ import annotations

from nestlab.simulator.actions import texts

from dataclasses import replace

import pytest

from nestlab.diagnosis.evidence import Statements
from nestlab.diagnosis.rules.network import system_port
from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.session import SimSession
from nestlab.simulator import faults
from nestlab.simulator.labfile import lab_from_data, lab_to_data, load
from nestlab.simulator.model import Lab, Listener

L1, WEB = "HV01/L1", "HV01/L1/L2-web"
FILE_SERVER = {
    "name": "FS01", "state": "Running", "processor": {"count": 2}, "memory": {"startup_gb": 8},
    "adapters": [
        {"name": "Network Adapter", "switch": "External", "ip": "10.20.0.70/24"},
        {"name": "Backup", "switch": "Backup", "ip": "172.16.9.70/24"},
    ],
    "disks": ["D:\\VMs\\FS01\\FS01.vhdx", "E:\\Data\\FS01-data.vhdx"],
}


def report(lab: Lab, **stated):
    return diagnose_session(SimSession(lab), target=lab.name, stated=Statements(**stated)).report


def loud(lab: Lab, **stated) -> list[tuple[str, str, str]]:
    return [(f.severity, f.root_cause, f.subject) for f in report(lab, **stated).findings if f.severity != "info"]


@pytest.fixture
def with_file_server() -> Lab:
    """builtin:reference plus a file server beside L1: a second adapter on a Private backup switch
    and its data disk on an HDD volume, as real Hyper-V servers run them."""
    data = lab_to_data(load("builtin:reference"))
    host = data["hosts"][0]
    host["volumes"].append({"drive": "E:", "media": "hdd", "size_gb": 8000, "free_gb": 5000})
    host["switches"].append({"name": "Backup", "type": "Private"})
    host["vhds"] += [{"path": "D:\\VMs\\FS01\\FS01.vhdx", "type": "fixed", "size_gb": 127},
                     {"path": "E:\\Data\\FS01-data.vhdx", "type": "fixed", "size_gb": 4000}]
    host["vms"].append(FILE_SERVER)
    return lab_from_data(data)


def test_an_ordinary_vm_beside_the_nested_chain_is_not_judged_by_the_network_and_performance_rules(with_file_server):
    assert loud(with_file_server) == []


def test_the_same_private_switch_on_a_nested_host_is_an_error(with_file_server):
    lab = with_file_server
    faults.get("switch-private").inject(lab, "HV01/L1:adapter:Network Adapter")
    assert ("error", "switch-private", "HV01/L1:adapter:Network Adapter") in loud(lab)


def test_the_catalog_puts_network_and_performance_faults_only_on_the_nested_chain(with_file_server):
    for fault_id in ("switch-private", "switch-internal", "slow-storage", "bandwidth-limited"):
        assert not [s for s in faults.get(fault_id).candidates(with_file_server) if "FS01" in s], fault_id


@pytest.mark.parametrize("port", [135, 445, 5985, 5986, 47001, 49664, 3389])
def test_system_ports_are_never_missing_a_forward(port):
    lab = load("builtin:reference")
    lab.update(WEB, services=(*lab[WEB].services, Listener(port=port)))
    assert system_port(port)
    assert not report(lab).by_root_cause("portproxy-missing")


def test_a_listener_nobody_wants_public_is_not_missing_but_a_stated_one_is_an_error():
    lab = load("builtin:reference")
    lab.update_platform(L1, portproxy=(), firewall=())  # no forward, no allow rule: nothing says "public"
    assert not report(lab).by_root_cause("portproxy-missing")
    found = report(lab, reachable=(("L2-web", 80),)).by_root_cause("portproxy-missing")
    assert [(f.subject, f.severity) for f in found] == [(L1, "error")]
    assert "connectaddress=192.168.200.10 connectport=80" in " ".join(texts(found[0].resolution))


def test_a_vm_forwarded_on_another_port_makes_a_second_service_likely_wanted_a_warning():
    lab = load("builtin:reference")
    lab.update(WEB, services=(*lab[WEB].services, Listener(port=8443)))
    lab.update_platform(L1, firewall=())  # no allow rule waiting for it: likely, not certain
    found = report(lab).by_root_cause("portproxy-missing")
    assert [(f.subject, f.severity) for f in found] == [(L1, "warning")]


def test_an_allow_rule_with_nothing_behind_it_is_evidence_a_forward_is_wanted_an_error():
    lab = load("builtin:reference")
    lab.update_platform(L1, portproxy=())
    assert ("error", "portproxy-missing", L1) in loud(lab)


def test_insufficient_memory_on_a_vm_with_the_role_but_no_vms_is_a_warning():
    data = lab_to_data(load("builtin:reference"))
    l1 = data["hosts"][0]["vms"][0]
    l1["memory"]["startup_gb"] = 2
    l1["guest"].update(vms=[], portproxy=[], firewall=[], vhds=[])
    lab = lab_from_data(data)
    assert loud(lab) == [("warning", "insufficient-memory", L1)]


def test_insufficient_memory_where_the_nested_vms_do_not_fit_is_an_error():
    lab = load("builtin:reference")
    lab.update(L1, memory=replace(lab[L1].memory, startup_gb=2))
    assert ("error", "insufficient-memory", L1) in loud(lab)


def test_a_rotational_volume_is_one_warning_not_one_per_disk():
    lab = load("builtin:reference")
    volumes = tuple(replace(v, media="hdd") for v in lab.platform(L1).volumes)
    lab.update_platform(L1, volumes=volumes)
    found = [(f.subject, f.severity) for f in report(lab).by_root_cause("slow-storage")]
    assert sorted(found) == [("HV01/L1:vhd:C:\\VMs\\L2-app\\L2-app.vhdx", "warning"),
                             ("HV01/L1:vhd:C:\\VMs\\L2-web\\L2-web.vhdx", "info")]


def test_the_severity_rule_is_written_once_in_code_and_in_the_docs():
    from pathlib import Path

    from nestlab.diagnosis.findings import SEVERITIES, SEVERITY_RULE

    doc = (Path(__file__).resolve().parent.parent / "docs" / "severity.md").read_text(encoding="utf-8")
    assert tuple(SEVERITY_RULE) == SEVERITIES
    assert all(meaning in doc for meaning in SEVERITY_RULE.values())
