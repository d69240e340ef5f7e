"""A lab's topology as Graphviz dot or Mermaid text, for people who render it elsewhere.

Both follow the SVG drawing (lab/draw.py): every host and VM is a cluster (`subgraph`) holding its
own node, its switches, NATs and disks, and the clusters of the VMs it runs; adapters, uplinks,
NAT bindings and differencing-disk parents are the edges. Highlighted subjects (finding subjects,
by node id) get a red outline in both.
"""

from __future__ import annotations

import json
from typing import Iterable, Mapping

from nestlab.lab.draw import _header, _pill_label
from nestlab.simulator.model import Edge, Lab


def _quote(text: str) -> str:
    """A dot string: JSON's escapes of quote, backslash and newline are dot's too (not its \\u)."""
    return json.dumps(text, ensure_ascii=False)


def _ids(lab: Lab) -> dict[str, str]:
    """Short identifiers the two languages accept, in a stable order (n0, n1, …)."""
    return {node: f"n{i}" for i, node in enumerate(lab.nodes()) if lab.kind(node) not in ("adapter", "nic")}


def _edges(lab: Lab) -> list[tuple[str, str, str, bool]]:
    """(from, to, label, dashed) between drawn nodes."""
    found = []
    for vm in lab.all_vms():
        for adapter in lab.adapters(vm):
            switch = lab.switch_of(adapter)
            if switch:
                found.append((vm, switch, lab[adapter].name, False))
            for nested in lab.into(adapter, Edge.UPLINK):
                found.append((nested, vm, f"via {lab[adapter].name}", True))
    for host in lab.hosts():
        for nic in lab.owned(host, "nic"):
            for net in lab.out(nic, Edge.UPLINK):
                found.append((host, net, f"{lab[nic].adapter} {lab[nic].ip}", False))
            for switch in lab.into(nic, Edge.UPLINK):
                found.append((switch, host, f"bound to {lab[nic].adapter}", True))
    for nat in lab.nodes("nat"):
        found += [(nat, switch, "serves", False) for switch in lab.out(nat, Edge.NAT)]
    for vhd in lab.nodes("vhd"):
        found += [(vhd, parent, "parent", False) for parent in lab.out(vhd, Edge.PARENT)]
    return found


def _owned(lab: Lab, owner: str) -> list[str]:
    return [n for kind in ("switch", "nat", "vhd") for n in lab.owned(owner, kind)]


def dot(lab: Lab, *, highlight: Iterable[str] = ()) -> str:
    ids, marked = _ids(lab), set(highlight)
    lines = [f"digraph {_quote(lab.name)} {{", "  rankdir=BT; compound=true;",
             '  node [shape=box, style="rounded,filled", fontname="monospace", fontsize=10, fillcolor="#ffffff"];']

    def node(n: str, label: str, indent: str) -> None:
        extra = ', color="#c62828", penwidth=3' if n in marked else ""
        lines.append(f"{indent}{ids[n]} [label={_quote(label)}{extra}];")

    def cluster(owner: str, level: int, indent: str) -> None:
        title, detail = _header(lab, owner)
        extra = ' color="#c62828"; penwidth=3;' if owner in marked else ""
        lines.append(f"{indent}subgraph cluster_{ids[owner]} {{ label={_quote(f'L{level} {title}')};{extra}")
        node(owner, f"{title}\n{detail}", indent + "  ")
        for n in _owned(lab, owner):
            node(n, _pill_label(lab, n), indent + "  ")
        for vm in lab.vms(owner):
            cluster(vm, level + 1, indent + "  ")
        lines.append(f"{indent}}}")

    for net in lab.nodes("network"):
        node(net, lab[net].name, "  ")
    for host in lab.hosts():
        cluster(host, 0, "  ")
    for a, b, label, dashed in _edges(lab):
        style = ", style=dashed" if dashed else ""
        lines.append(f"  {ids[a]} -> {ids[b]} [label={_quote(label)}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def mermaid(lab: Lab, *, highlight: Iterable[str] = ()) -> str:
    ids, marked = _ids(lab), set(highlight)
    lines = ["flowchart TB"]

    def text(value: str) -> str:
        return '"' + value.replace('"', "#quot;") + '"'

    def cluster(owner: str, level: int, indent: str) -> None:
        title, detail = _header(lab, owner)
        lines.append(f"{indent}subgraph {ids[owner]}_box[{text(f'L{level} {title}')}]")
        lines.append(f"{indent}  {ids[owner]}[{text(f'{title}: {detail}')}]")
        for n in _owned(lab, owner):
            lines.append(f"{indent}  {ids[n]}[{text(_pill_label(lab, n))}]")
        for vm in lab.vms(owner):
            cluster(vm, level + 1, indent + "  ")
        lines.append(f"{indent}end")

    for net in lab.nodes("network"):
        lines.append(f"  {ids[net]}([{text(lab[net].name)}])")
    for host in lab.hosts():
        cluster(host, 0, "  ")
    for a, b, label, dashed in _edges(lab):
        arrow = "-.->" if dashed else "-->"
        lines.append(f"  {ids[a]} {arrow}|{text(label)}| {ids[b]}")
    drawn = [ids[n] for n in marked if n in ids]
    if drawn:
        lines.append("  classDef finding stroke:#c62828,stroke-width:3px")
        lines.append(f"  class {','.join(drawn)} finding")
    return "\n".join(lines) + "\n"


FORMATS: Mapping[str, str] = {".svg": "svg", ".dot": "dot", ".gv": "dot", ".mmd": "mermaid"}
