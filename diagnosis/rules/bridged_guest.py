"""MAC address spoofing for a VM whose bridge the diagnosis cannot see (part of `mac-spoofing-disabled`).

`mac-spoofing-disabled`'s main check (rules/network.py) sees the bridge: a Windows guest's
External switch over the VM's adapter, with VMs on it. A guest that PowerShell cannot show — a
Linux VM bridging a tap device for an emulator or KVM guests (simh/simh#1078), a guest not
entered — shows no switch at all. What the Hyper-V host still shows is enough to warn from its
side alone:

- an error seen on the VM says the machines behind it have no network (a ticket line or
  `--symptom`, matched to the triage catalog's `nested-vm-no-network`);
- its guest shows no virtual switch (the bridge, if any, is one Windows cannot list);
- the VM's adapter is on an External switch with MacAddressSpoofing Off, and Hyper-V drops every
  frame from a MAC address that is not the adapter's own (the guide: "MAC address spoofing must be
  enabled" for nested VMs on an external network; the same holds for anything a guest bridges).

A warning, not an error (docs/severity.md): the failure is seen, but what the guest does with its
adapter (a bridge, or NAT, which needs no spoofing) is not.
"""

from __future__ import annotations

from typing import Iterator

from nestlab.diagnosis.evidence import Evidence, Observed
from nestlab.diagnosis.rules.common import Hit, all_vms, adapter_selector, cmd, get_vmnetworkadapter, name_of, on_parent, ps, shown

NO_NETWORK = "nested-vm-no-network"  # diagnosis.triage: the machines inside/behind a VM have no network


def unseen_bridges(ev: Evidence) -> Iterator[Hit]:
    """A warning for each adapter of such a VM on an External switch with MAC address spoofing off."""
    lab = ev.lab
    if not any(NO_NETWORK in o.symptoms for o in ev.stated.symptoms):
        return  # no error seen says so (most diagnoses): no VM to look at
    for vm in all_vms(lab):
        seen_there = _no_network_seen(ev, vm)
        if seen_there is None or lab.owned(vm, "switch"):
            continue
        for adapter in lab.adapters(vm):
            switch = lab.switch_of(adapter)
            if switch is None or lab[switch].type != "External" or lab[adapter].mac_spoofing:
                continue
            yield Hit(
                subject=adapter,
                summary=f"the machines behind {name_of(vm)} get no network, and its adapter on External switch "
                        f"{lab[switch].name} has MAC address spoofing off, so Hyper-V drops every frame a bridge, "
                        f"an emulator or a nested VM inside it sends with its own MAC (its guest shows no switch "
                        f"Windows can list, so the bridge itself is not seen)",
                evidence=(seen_there.item(),
                          shown(ev, adapter, get_vmnetworkadapter(vm), "MacAddressSpoofing", "Off"),
                          shown(ev, switch, cmd("Get-VMSwitch", Name=lab[switch].name), "SwitchType", "External")),
                resolution=on_parent(vm, ps("Set-VMNetworkAdapter", **adapter_selector(lab, adapter),
                                            MacAddressSpoofing="On")),
                explains=(NO_NETWORK,),
                severity="warning",
            )


def _no_network_seen(ev: Evidence, vm: str) -> Observed | None:
    """The first error seen on `vm` (or on a machine inside it) that says it has no network."""
    return next((o for o in ev.stated.symptoms
                 if NO_NETWORK in o.symptoms and (o.node == vm or o.node.startswith(vm + "/"))), None)
