"""A fault goes only where its state can show to a diagnosis (found by the accuracy tests).

A diagnosis reaches hosts and the guests of Running VMs, reads disks through VMs' drives and
their ParentPath, and cannot look past a damaged file; an Azure VM has no firmware switch.
"""

from __future__ import annotations

from dataclasses import replace

from nestlab.simulator import faults, labfile
from nestlab.simulator.faults import compatible
from nestlab.simulator.model import Edge


def test_firmware_is_not_a_cause_on_an_azure_vm_but_a_missing_vtx_is():
    lab = labfile.load("builtin:azure")
    azure = [h for h in lab.hosts() if lab[h].kind == "azure-vm"]
    assert azure
    assert not set(azure) & set(faults.get("virtualization-disabled-in-firmware").candidates(lab))
    assert set(azure) <= set(faults.get("host-cpu-no-virtualization").candidates(lab))


def test_a_disk_no_vm_uses_is_not_a_corruption_subject():
    lab = labfile.load("builtin:reference")
    source = faults.get("dynamic-vhd").candidates(lab)[0]
    faults.get("dynamic-vhd").inject(lab, source)  # the VM now runs on a converted copy
    assert not lab.into(source, Edge.DISK)
    assert source not in faults.get("vhd-corrupt").candidates(lab)


def test_two_faults_on_one_disk_chain_are_not_combined():
    lab = labfile.load("builtin:reference")
    child = "HV01:vhd:D:\\VMs\\L1\\L1_8F2A.avhdx"
    (parent,) = lab.out(child, Edge.PARENT)
    corrupt, slow = faults.get("vhd-corrupt"), faults.get("slow-storage")
    assert not compatible(lab, (corrupt, child), (slow, parent))
    other = "HV01/L1:vhd:C:\\VMs\\L2-web\\L2-web.vhdx"
    assert compatible(lab, (corrupt, other), (slow, parent))


def test_forwards_into_a_vm_that_is_off_are_not_misdirected_or_removed():
    lab = labfile.load("builtin:reference")
    nats = faults.get("nat-static-mapping-wrong").candidates(lab)
    owners = faults.get("portproxy-missing").candidates(lab)
    assert nats and owners
    for vm in {v for n in nats for v in lab.vms(lab.owner(n))} | {v for o in owners for v in lab.vms(o)}:
        lab.set(vm, replace(lab[vm], state="Off"))
    assert not faults.get("nat-static-mapping-wrong").candidates(lab)
    assert not faults.get("portproxy-missing").candidates(lab)
