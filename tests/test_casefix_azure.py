"""An Azure VM whose Hyper-V role cannot be installed (azure-docs #21181, KNOWN_FAILURES.md 5):
the size (IMDS vmSize) and the install's error text are the evidence, not launch events."""

from __future__ import annotations

import pytest

from nestlab.diagnosis.evidence import Statements
from nestlab.diagnosis.rules.checklist import azure_size_nests
from nestlab.diagnosis.symptoms import observe
from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.session import SimSession
from nestlab.simulator import labfile
from nestlab.simulator.faults import get

LAB = """
lab: casefix-azure
hosts:
  - name: AZ
    kind: azure-vm
    azure_size: SIZE
    os: {caption: Microsoft Windows Server 2019 Datacenter, build: 17763}
    cpu: {vendor: Intel, model: Intel(R) Xeon(R) CPU E5-2690 v4 @ 2.60GHz, cores: 6, virtualization_extensions: false}
    memory_gb: 112
    hyperv_installed: false
    volumes: [{drive: "C:", media: ssd, size_gb: 127, free_gb: 90}]
    networks: [{adapter: Ethernet, network: vnet, ip: 10.3.0.4/24, gateway: 10.3.0.1}]
"""
REFUSED = "Hyper-V cannot be installed: The processor does not have required virtualization capabilities"


@pytest.mark.parametrize("size, nests", [
    ("Standard_D8s_v3", True), ("Standard_E16ds_v5", True), ("Standard_F8s_v2", True), ("Standard_D4as_v5", True),
    ("Standard_NC6s_v3", False), ("Standard_DS2_v2", False), ("Standard_D4as_v4", False), ("Standard_B2s_v2", False),
    ("Standard_Q9_v9", None), ("", None),
])
def test_azure_sizes_by_the_acu_table(size, nests):
    assert azure_size_nests(size) is nests


def _errors(lab, symptoms=()):
    stated = Statements(symptoms=tuple(observe(t, "test", "AZ") for t in symptoms))
    report = diagnose_session(SimSession(lab), target=lab.name, stated=stated).report
    return [(f.root_cause, f.subject) for f in report.findings if f.severity == "error"]


def test_the_refused_install_on_a_size_that_does_not_nest_names_the_size():
    lab = labfile.loads(LAB.replace("SIZE", "Standard_NC6s_v3"))
    assert ("host-cpu-no-virtualization", "AZ") in _errors(lab, [REFUSED])
    get("host-cpu-no-virtualization").heal(lab, "AZ")  # the resize
    assert lab["AZ"].azure_size == "Standard_D8s_v5"
    assert ("host-cpu-no-virtualization", "AZ") not in _errors(lab, [REFUSED])


def test_without_the_error_text_nothing_says_the_role_was_wanted():
    assert ("host-cpu-no-virtualization", "AZ") not in _errors(labfile.loads(LAB.replace("SIZE", "Standard_NC6s_v3")))
