"""A lab's topology as a picture: hosts and VMs as nested boxes, one level of nesting per box.

Nested virtualization is drawn the way it is built: a host's box holds its virtual switches and
NATs (one row), the boxes of the VMs it runs (the next level, side by side) and its virtual
disks (the bottom row, each differencing disk pointing at its parent). A VM's adapters are lines
from the top of its box to the switch they are connected to; an External switch's uplink goes
to the host's NIC and the physical network (the bar at the top), or, nested, to the VM's own
adapter one level up. Boxes are tinted by level (L0 physical/cloud host, L1, L2, …).

`layout(lab)` computes the shapes (no library needed: the nesting *is* the layout) and `svg()`
renders them as one self-contained SVG; `highlight` marks the subjects of findings (by node id),
which is how the HTML report shows where the diagnosis points. Dot and Mermaid text of the same
lab are in `lab/draw_formats.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Iterable, Mapping

from nestlab.simulator.model import Edge, Lab, owner_of_id

CHAR = 7.3  # px per character of the 12px monospace labels
PAD = 14
GAP = 18
HEADER = 72  # title, detail, a finding's badge, and room for one above the first pill row
PILL_H = 24
ROW_GAP = 12
TOP = 20 + PILL_H + 60  # networks bar, then room for the uplinks
ROW_WIDTH = 1500  # VM boxes side by side up to this width, then a new row (hosts: twice that)
WRAP_GAP = ROW_GAP * 3  # between rows of VM boxes: room for the stubs of the lower row's adapters
LEVEL_FILL = ("#eef3fb", "#e9f6ec", "#fdf5e1", "#f8eaf3", "#eaf5f7", "#f3efe6")
PILL_FILL = {"switch": "#d7e6fa", "nat": "#eadcf7", "vhd": "#ececec", "network": "#cfe9d6"}
SEVERITY_COLOR = {"error": "#c62828", "warning": "#e08a00", "info": "#5b7db1"}


@dataclass(frozen=True)
class Shape:
    """One drawn node: a box (host, VM) or a pill (switch, NAT, VHD, network)."""

    id: str
    kind: str
    x: float
    y: float
    w: float
    h: float
    label: str
    detail: str = ""
    level: int = 0

    @property
    def top(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y)

    @property
    def bottom(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h)


@dataclass(frozen=True)
class Line:
    """One drawn edge; `id` is the node it stands for (an adapter, a NIC) when there is one."""

    start: tuple[float, float]
    end: tuple[float, float]
    kind: str  # adapter, uplink, nic, nat, parent
    id: str = ""
    label: str = ""
    detail: str = ""
    dashed: bool = False


@dataclass
class Scene:
    """Everything to draw, in absolute coordinates."""

    width: float = 0
    height: float = 0
    shapes: dict[str, Shape] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------
# Layout
# ----------------------------------------------------------------------------------------------


def text_width(text: str) -> float:
    return len(text) * CHAR


def layout(lab: Lab) -> Scene:
    scene = Scene()
    sizes: dict[str, tuple[float, float]] = {}
    hosts = lab.hosts()
    for host in hosts:
        _measure(lab, host, sizes)
    y, width, first_row = TOP, 200.0, set()
    for index, row in enumerate(wrap([sizes[h][0] for h in hosts], ROW_WIDTH * 2, GAP * 2)):
        x = PAD
        for i in row:
            _place(lab, hosts[i], x, y, 0, sizes, scene)
            x += sizes[hosts[i]][0] + GAP * 2
            if index == 0:
                first_row.add(hosts[i])
        width = max(width, x - GAP * 2)
        y += max(sizes[hosts[i]][1] for i in row) + TOP - 20
    _networks(lab, scene, width, first_row)
    scene.width = max(width + PAD, max((s.x + s.w for s in scene.shapes.values()), default=0) + PAD)
    scene.height = max(y - (TOP - 20) + PAD, TOP)
    return scene


def wrap(widths: list[float], limit: float, gap: float) -> list[list[int]]:
    """Indexes of boxes, in order, cut into rows no wider than `limit` (a row holds at least one)."""
    rows: list[list[int]] = []
    used = 0.0
    for i, w in enumerate(widths):
        if rows and used + gap + w <= limit:
            rows[-1].append(i)
            used += gap + w
        else:
            rows.append([i])
            used = w
    return rows


def _header(lab: Lab, owner: str) -> tuple[str, str]:
    record = lab[owner]
    if lab.kind(owner) == "host":
        size = f" {record.azure_size}" if record.azure_size else ""
        return record.name, f"{record.kind}{size} · {record.cpu.cores} cores · {record.memory_gb:g} GB"
    hyperv = " · Hyper-V" if record.guest.hyperv_installed else ""
    return record.name, (f"{record.state} · gen {record.generation} · {record.processor.count} vCPU · "
                         f"{record.memory.startup_gb:g} GB{hyperv}")


def _switch_row(lab: Lab, owner: str) -> list[str]:
    """Switches, each followed by the NAT that serves it; NATs serving nothing at the end."""
    nats = lab.owned(owner, "nat")
    row: list[str] = []
    for switch in lab.owned(owner, "switch"):
        row.append(switch)
        row += [n for n in nats if switch in lab.out(n, Edge.NAT) and n not in row]
    return row + [n for n in nats if n not in row]


def _disk_row(lab: Lab, owner: str) -> list[str]:
    """The owner's VHDs, each chain child first so that every parent arrow is short."""
    vhds = lab.owned(owner, "vhd")
    row: list[str] = []
    for vm in lab.vms(owner):
        for disk in lab.disks(vm):
            if disk in lab:
                row += [d for d in lab.chain(disk) if d not in row and d in vhds]
    return row + [d for d in vhds if d not in row]


def _pill_label(lab: Lab, node: str) -> str:
    record = lab[node]
    kind = lab.kind(node)
    if kind == "switch":
        return f"{record.name} · {record.type}" + (f" {record.host_ip}" if record.host_ip else "")
    if kind == "nat":
        return f"NAT {record.name} {record.internal_prefix}"
    if kind == "vhd":
        users = [lab[vm].name for vm in lab.into(node, Edge.DISK)]
        name = record.path.rsplit("\\", 1)[-1]
        return (f"{', '.join(users)}: " if users else "") + name
    return str(getattr(record, "name", node))


def _pill_width(label: str) -> float:
    return text_width(label) + 20


def _row_width(lab: Lab, row: list[str]) -> float:
    return sum(_pill_width(_pill_label(lab, n)) for n in row) + GAP * max(len(row) - 1, 0)


def _pill_lines(lab: Lab, row: list[str]) -> list[list[str]]:
    """A row of pills cut into lines no wider than ROW_WIDTH."""
    return [[row[i] for i in line] for line in wrap([_pill_width(_pill_label(lab, n)) for n in row], ROW_WIDTH, GAP)]


def _measure(lab: Lab, owner: str, sizes: dict[str, tuple[float, float]]) -> tuple[float, float]:
    title, detail = _header(lab, owner)
    children = lab.vms(owner)
    child_sizes = [_measure(lab, vm, sizes) for vm in children]
    rows = [line for r in (_switch_row(lab, owner), _disk_row(lab, owner)) if r for line in _pill_lines(lab, r)]
    child_rows = wrap([w for w, _ in child_sizes], ROW_WIDTH, GAP)
    inner = max(
        text_width(f"{title}  L0") + 40, text_width(detail),
        *(_row_width(lab, r) for r in rows),
        *(sum(child_sizes[i][0] for i in r) + GAP * (len(r) - 1) for r in child_rows),
    )
    height = HEADER + len(rows) * (PILL_H + ROW_GAP)
    if children:  # room for the adapter lines above the first row, their stubs above the others
        height += ROW_GAP * 3 + sum(max(child_sizes[i][1] for i in r) for r in child_rows)
        height += WRAP_GAP * (len(child_rows) - 1)
    sizes[owner] = (inner + 2 * PAD, height + PAD)
    return sizes[owner]


def _place(lab: Lab, owner: str, x: float, y: float, level: int,
           sizes: dict[str, tuple[float, float]], scene: Scene) -> None:
    w, h = sizes[owner]
    title, detail = _header(lab, owner)
    scene.shapes[owner] = Shape(owner, lab.kind(owner), x, y, w, h, title, detail, level)
    cursor = y + HEADER
    switch_row = _switch_row(lab, owner)
    for line in _pill_lines(lab, switch_row):
        _pills(lab, line, x + PAD, cursor, level, scene)
        cursor += PILL_H + ROW_GAP
    children = lab.vms(owner)
    wrapped: set[str] = set()  # VMs below the first row: their adapters get a labelled stub
    if children:
        cursor += ROW_GAP * 2
        for index, row in enumerate(wrap([sizes[vm][0] for vm in children], ROW_WIDTH, GAP)):
            cx = x + PAD
            for i in row:
                _place(lab, children[i], cx, cursor, level + 1, sizes, scene)
                cx += sizes[children[i]][0] + GAP
                if index:
                    wrapped.add(children[i])
            cursor += max(sizes[children[i]][1] for i in row) + WRAP_GAP
        cursor += ROW_GAP - WRAP_GAP
    disk_row = _disk_row(lab, owner)
    for line in _pill_lines(lab, disk_row):
        _pills(lab, line, x + PAD, cursor, level, scene)
        cursor += PILL_H + ROW_GAP
    if disk_row:
        for vhd in disk_row:
            for parent in lab.out(vhd, Edge.PARENT):
                if parent in scene.shapes:
                    a, b = scene.shapes[vhd], scene.shapes[parent]
                    scene.lines.append(Line((a.x + a.w, a.y + a.h / 2), (b.x, b.y + b.h / 2), "parent",
                                            detail=f"{lab[vhd].path} is a differencing disk of {lab[parent].path}"))
    for nat in lab.owned(owner, "nat"):
        for switch in lab.out(nat, Edge.NAT):
            a, b = scene.shapes[switch], scene.shapes[nat]
            scene.lines.append(Line((a.x + a.w, a.y + a.h / 2), (b.x, b.y + b.h / 2), "nat",
                                    detail=f"NAT {lab[nat].name} serves switch {lab[switch].name}"))
    for vm in children:
        _adapters(lab, vm, scene, stub=vm in wrapped)


def _pills(lab: Lab, row: list[str], x: float, y: float, level: int, scene: Scene) -> None:
    for node in row:
        label = _pill_label(lab, node)
        w = _pill_width(label)
        scene.shapes[node] = Shape(node, lab.kind(node), x, y, w, PILL_H, label, _pill_detail(lab, node), level)
        x += w + GAP


def _pill_detail(lab: Lab, node: str) -> str:
    record = lab[node]
    if lab.kind(node) == "vhd":
        parent = f", parent {record.parent}" if record.parent else ""
        return f"{record.path} ({record.type}, {record.size_gb:g} GB{parent})"
    if lab.kind(node) == "switch" and record.adapter:
        return f"{record.type} switch {record.name} bound to {record.adapter}"
    return node


def _adapters(lab: Lab, vm: str, scene: Scene, *, stub: bool = False) -> None:
    """Lines from the top of a VM's box to its switches; an adapter a nested External switch is
    bound to leaves the box right above that switch, so the bridge reads as one line. A VM in a
    wrapped row gets a short stub labelled with its switch instead of a line across the row above."""
    box = scene.shapes[vm]
    adapters = lab.adapters(vm)
    for i, adapter in enumerate(adapters):
        switch = lab.switch_of(adapter)
        record = lab[adapter]
        bound = [s for s in lab.into(adapter, Edge.UPLINK) if s in scene.shapes]
        x = scene.shapes[bound[0]].top[0] if bound else box.x + box.w * (i + 1) / (len(adapters) + 1)
        spoofing = "On" if record.mac_spoofing else "Off"
        detail = f"adapter '{record.name}' of {box.label} ({record.ip or 'no address'}), MAC address spoofing {spoofing}"
        address = record.ip.split("/")[0] if record.ip else ""
        if switch is not None and switch in scene.shapes and stub:
            scene.lines.append(Line((x, box.y), (x, box.y - WRAP_GAP + 8), "adapter", adapter,
                                    f"{address} → {lab[switch].name}".strip(), detail))
        elif switch is not None and switch in scene.shapes:
            scene.lines.append(Line((x, box.y), scene.shapes[switch].bottom, "adapter", adapter, address, detail))
        for nested in bound:
            scene.lines.append(Line(scene.shapes[nested].top, (x, box.y), "uplink", adapter, "",
                                    f"External switch {lab[nested].name} bridges through {detail}", dashed=True))


def _networks(lab: Lab, scene: Scene, width: float, first_row: set[str]) -> None:
    """The physical networks as pills across the top, each NIC a line up from its host (a host
    in a wrapped row: a stub labelled with the network)."""
    networks = lab.nodes("network")
    if not networks:
        return
    slot = width / len(networks)
    for i, net in enumerate(networks):
        label = lab[net].name
        w = _pill_width(label)
        scene.shapes[net] = Shape(net, "network", PAD + slot * i + (slot - w) / 2, 20, w, PILL_H, label, net)
    for host in lab.hosts():
        box = scene.shapes[host]
        for nic in lab.owned(host, "nic"):
            record = lab[nic]
            switches = [s for s in lab.into(nic, Edge.UPLINK) if s in scene.shapes]
            x = scene.shapes[switches[0]].top[0] if switches else box.top[0]
            for net in lab.out(nic, Edge.UPLINK):
                detail = f"NIC {record.adapter} ({record.ip}) of {box.label} on {lab[net].name}"
                if host in first_row:
                    scene.lines.append(Line((x, box.y), scene.shapes[net].bottom, "nic", nic, f"{record.adapter} {record.ip}", detail))
                else:
                    scene.lines.append(Line((x, box.y), (x, box.y - 30), "nic", nic,
                                            f"{record.adapter} {record.ip} → {lab[net].name}", detail))
            for switch in switches:
                scene.lines.append(Line(scene.shapes[switch].top, (x, box.y), "uplink", nic, "",
                                        f"External switch {lab[switch].name} bound to NIC {record.adapter}", dashed=True))


# ----------------------------------------------------------------------------------------------
# Findings on the drawing
# ----------------------------------------------------------------------------------------------


def marks(scene: Scene, subjects: Mapping[str, Iterable[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
    """Finding subjects → the drawn element (shape or line id) that shows each one.

    A subject that is drawn is itself marked; an adapter or NIC marks its line; anything else
    (a missing parent disk, a volume) marks the nearest drawn owner."""
    drawn = set(scene.shapes) | {line.id for line in scene.lines if line.id}
    found: dict[str, list[tuple[str, str]]] = {}
    for subject, causes in subjects.items():
        node = subject
        while node not in drawn and node != owner_of_id(node):
            node = owner_of_id(node)
        if node in drawn:
            found.setdefault(node, []).extend(causes)
    return found


# ----------------------------------------------------------------------------------------------
# SVG
# ----------------------------------------------------------------------------------------------

STYLE = """
.nl text{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12px;fill:#1d2733}
.nl .title{font-weight:bold;font-size:13px}
.nl .detail,.nl .lbl{fill:#4a5561;font-size:11px}
.nl .halo{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
.nl .box{stroke:#8796a8;stroke-width:1.2}
.nl .pill{stroke:#7a8899;stroke-width:1}
.nl .edge{stroke:#56677a;stroke-width:1.4;fill:none}
.nl .edge.dashed{stroke-dasharray:5 4}
.nl .finding{stroke-width:3.5}
.nl .badge{font-size:11px;font-weight:bold}
""" + "".join(f".nl .finding.sev-{sev}{{stroke:{color}}}.nl .badge.sev-{sev}{{fill:{color}}}"
              for sev, color in SEVERITY_COLOR.items())


def svg(lab: Lab, *, highlight: Mapping[str, Iterable[tuple[str, str]]] | None = None, scene: Scene | None = None) -> str:
    """The lab as one SVG document. `highlight`: subject → [(root cause, severity)] to mark."""
    scene = scene or layout(lab)
    marked = marks(scene, highlight or {})
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="nl nestlab-topology" role="img" '
        f'width="{scene.width:.0f}" height="{scene.height:.0f}" viewBox="0 0 {scene.width:.0f} {scene.height:.0f}">',
        f"<title>{escape(lab.name)}: topology</title>",
        f"<style>{STYLE}</style>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#56677a"/></marker></defs>',
        f'<rect width="100%" height="100%" fill="#ffffff"/>',
    ]
    boxes = sorted((s for s in scene.shapes.values() if s.kind in ("host", "vm")), key=lambda s: s.level)
    parts += [_box(s, marked.get(s.id)) for s in boxes]
    parts += [_line(line, marked.get(line.id)) for line in scene.lines]
    parts += [_pill(s, marked.get(s.id)) for s in scene.shapes.values() if s.kind not in ("host", "vm")]
    parts += [_badge(scene, node, causes) for node, causes in marked.items()]
    parts.append("</svg>")
    return "\n".join(p for p in parts if p)


def _worst(causes: list[tuple[str, str]] | None) -> str | None:
    if not causes:
        return None
    order = list(SEVERITY_COLOR)
    return min((sev for _, sev in causes), key=lambda sev: order.index(sev) if sev in order else len(order))


def _mark_attrs(causes: list[tuple[str, str]] | None) -> tuple[str, str]:
    """(extra class, stroke attribute) for a marked element."""
    worst = _worst(causes)
    if worst is None:
        return "", ""
    return f" finding sev-{worst}", ""


def _box(s: Shape, causes: list[tuple[str, str]] | None) -> str:
    cls, stroke = _mark_attrs(causes)
    fill = LEVEL_FILL[s.level % len(LEVEL_FILL)]
    tip = escape(f"{s.id}: {s.detail}")
    return (
        f'<g data-id="{escape(s.id)}" data-kind="{s.kind}" data-level="{s.level}">'
        f"<title>{tip}</title>"
        f'<rect class="box{cls}"{stroke} x="{s.x:.1f}" y="{s.y:.1f}" width="{s.w:.1f}" height="{s.h:.1f}" rx="8" fill="{fill}"/>'
        f'<text class="title halo" x="{s.x + PAD:.1f}" y="{s.y + 19:.1f}">{escape(s.label)}</text>'
        f'<text class="lbl" x="{s.x + s.w - PAD:.1f}" y="{s.y + 19:.1f}" text-anchor="end">L{s.level}</text>'
        f'<text class="detail halo" x="{s.x + PAD:.1f}" y="{s.y + 36:.1f}">{escape(s.detail)}</text>'
        "</g>"
    )


def _pill(s: Shape, causes: list[tuple[str, str]] | None) -> str:
    cls, stroke = _mark_attrs(causes)
    rx = {"switch": 4, "nat": 12, "vhd": 2, "network": 12}.get(s.kind, 4)
    return (
        f'<g data-id="{escape(s.id)}" data-kind="{s.kind}">'
        f"<title>{escape(s.detail or s.id)}</title>"
        f'<rect class="pill{cls}"{stroke} x="{s.x:.1f}" y="{s.y:.1f}" width="{s.w:.1f}" height="{s.h:.1f}" '
        f'rx="{rx}" fill="{PILL_FILL.get(s.kind, "#eee")}"/>'
        f'<text x="{s.x + 10:.1f}" y="{s.y + 16:.1f}">{escape(s.label)}</text>'
        "</g>"
    )


def _line(line: Line, causes: list[tuple[str, str]] | None) -> str:
    cls, stroke = _mark_attrs(causes)
    (x1, y1), (x2, y2) = line.start, line.end
    dashed = " dashed" if line.dashed else ""
    arrow = ' marker-end="url(#arrow)"' if line.kind == "parent" else ""
    data = f' data-id="{escape(line.id)}"' if line.id else ""
    text = (f'<text class="lbl halo" x="{x1 + 4:.1f}" y="{y1 - 5:.1f}">{escape(line.label)}</text>'
            if line.label else "")
    return (
        f'<g{data} data-kind="{line.kind}"><title>{escape(line.detail)}</title>'
        f'<path class="edge{dashed}{cls}"{stroke} d="M{x1:.1f},{y1:.1f} L{x2:.1f},{y2:.1f}"{arrow}/>{text}</g>'
    )


def _badge(scene: Scene, node: str, causes: list[tuple[str, str]]) -> str:
    """The root-cause ids beside a marked element, in the colour of the worst severity."""
    worst = _worst(causes) or "error"
    text = escape(", ".join(dict.fromkeys(cause for cause, _ in causes)))
    if node in scene.shapes:
        s = scene.shapes[node]
        x, y = (s.x + PAD, s.y + 53) if s.kind in ("host", "vm") else (s.x, s.y - 4)
        anchor = "start"
    else:
        line = next(line for line in scene.lines if line.id == node)
        x, y = (line.start[0] + line.end[0]) / 2 + 6, (line.start[1] + line.end[1]) / 2
        anchor = "start"
    return (f'<text class="badge halo sev-{worst}" data-finding="{escape(node)}" x="{x:.1f}" y="{y:.1f}" '
            f'text-anchor="{anchor}">⚠ {text}</text>')


def lab_html(lab: Lab) -> str:
    """A lab in a notebook (`Lab._repr_html_`): its name and the drawing."""
    title = escape(lab.name + (f" — {lab.description}" if lab.description else ""))
    return f'<div class="nestlab-lab"><p><b>{title}</b></p>{svg(lab)}</div>'
