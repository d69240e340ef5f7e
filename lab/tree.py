"""A lab drawn as a tree, the way people sketch nested virtualization on a whiteboard."""

from __future__ import annotations

from rich.tree import Tree

from nestlab.simulator.model import Lab


def lab_tree(lab: Lab) -> Tree:
    root = Tree(f"[bold]{lab.name}[/bold]" + (f" — {lab.description}" if lab.description else ""))
    for host in lab.hosts():
        record = lab[host]
        label = f"[bold]{host}[/bold] {record.kind}" + (f" {record.azure_size}" if record.azure_size else "")
        _owner(lab, host, root.add(f"{label}, {record.cpu.cores} cores, {record.memory_gb:g} GB"))
    return root


def _owner(lab: Lab, owner: str, branch: Tree) -> None:
    for switch in lab.owned(owner, "switch"):
        sw = lab[switch]
        branch.add(f"[cyan]switch[/cyan] {sw.name} ({sw.type}{', ' + sw.host_ip if sw.host_ip else ''})")
    for nat in lab.owned(owner, "nat"):
        branch.add(f"[cyan]NAT[/cyan] {lab[nat].name} {lab[nat].internal_prefix}")
    for vm in lab.vms(owner):
        record = lab[vm]
        nested = " [magenta]Hyper-V[/magenta]" if record.guest.hyperv_installed else ""
        chains = [" → ".join(lab[d].path.rsplit("\\", 1)[-1] for d in lab.chain(disk))
                  for disk in lab.disks(vm) if disk in lab]
        label = (f"[bold]{record.name}[/bold] {record.state}, gen {record.generation}, "
                 f"{record.processor.count} vCPU, {record.memory.startup_gb:g} GB{nested}")
        child = branch.add(label + (f" [dim]({'; '.join(chains)})[/dim]" if chains else ""))
        _owner(lab, vm, child)
