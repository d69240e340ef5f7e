"""An inventory of real hosts: how to reach each, and what a run may touch there.

The one reader of inventories (lab/inventory.example.yaml): `nestlab diagnose inventory:PATH`,
`pytest --lab=inventory:PATH` and the fleet listing (`fleet:LAB`, no file at all) all go through
`hosts_from_data`, so an entry means the same everywhere. Each entry under `hosts:` has

* `name`, `address`, optional `port`, `transport`, `auth`, `user`, `cert_validation` — how to
  reach it (a `HostAddress`); never a password;
* `destructive: true|false` (default false) — the host's owner agrees to have faults injected.
  A host is changed only when the run says `--allow-destructive` *and* its entry says so;
* `vms: [names]` (default: all) — the VMs of that host a run may change (inject faults on, or on
  anything inside them). Reading is never restricted: the collector sees what the host shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from nestlab.lab.psrp_session import HostAddress
from nestlab.simulator.errors import BadInput
from nestlab.simulator.model import NodeId
from nestlab.simulator.psdata import Command, Result
from nestlab.simulator.session_protocol import Request, Runs, answered


@dataclass(frozen=True)
class InventoryHost:
    address: HostAddress
    destructive: bool = False
    vms: tuple[str, ...] | None = None  # None: every VM of the host

    @property
    def name(self) -> str:
        return self.address.name

    def may_touch(self, node_id: str) -> bool:
        """Whether a node (host, VM, or anything on or inside a VM) is among the VMs the entry lists."""
        if self.vms is None:
            return True
        node = NodeId.parse(node_id)
        if node.host != self.name or not node.guest_path:
            return False  # another host, or the host itself: only when every VM may be touched
        return node.guest_path[0] in self.vms


def read_hosts(path: Path) -> list[InventoryHost]:
    """Every entry of an inventory file, read once: its address plus its permissions."""
    from ruamel.yaml import YAMLError

    from nestlab.simulator import labfile

    if not path.is_file():
        raise BadInput(f"inventory:{path}: no such file")
    try:  # the lab files' guarded loader: a hostile inventory is one line, never a crash (issue 13)
        data = labfile.parse(path.read_text(encoding="utf-8"))
    except YAMLError as exc:
        raise BadInput(labfile.yaml_error(str(path), exc)) from None
    return hosts_from_data(data, str(path))


def read_inventory(path: Path) -> list[HostAddress]:
    """How to reach every host of an inventory file (what a Session needs, without permissions)."""
    return [host.address for host in read_hosts(path)]


def hosts_from_data(data: Any, where: str) -> list[InventoryHost]:
    """An inventory already in memory (`{"hosts": [...]}`, from a file or a fleet listing);
    `where` names it in errors."""
    hosts = data.get("hosts") if isinstance(data, dict) else None
    if not isinstance(hosts, list) or not hosts:
        raise BadInput(f"{where}: needs a non-empty 'hosts:' list")
    return [_host(f"{where}: hosts[{index}]", entry) for index, entry in enumerate(hosts)]


def _host(where: str, entry: Any) -> InventoryHost:
    address = _address(where, entry)
    where = f"{where} ({address.name})"
    destructive = entry.get("destructive", False)
    if not isinstance(destructive, bool):
        raise BadInput(f"{where}: destructive must be true or false, not {destructive!r}")
    vms = entry.get("vms")
    if vms is not None and (not isinstance(vms, list) or not all(isinstance(v, str) and v for v in vms)):
        raise BadInput(f"{where}: vms must be a list of VM names")
    return InventoryHost(address, destructive, tuple(vms) if vms is not None else None)


def _address(where: str, entry: Any) -> HostAddress:
    if not isinstance(entry, dict) or not entry.get("name"):
        raise BadInput(f"{where}: each host needs a 'name'")
    if "password" in entry:
        raise BadInput(f"{where}: a password never goes in an inventory; set NESTLAB_PASSWORD or answer the prompt")
    port = entry.get("port")
    if port is not None and (not isinstance(port, int) or not 0 < port < 65536):
        raise BadInput(f"{where}: port must be a number from 1 to 65535")
    validation = entry.get("cert_validation", True)
    if not isinstance(validation, (bool, str)):
        raise BadInput(f"{where}: cert_validation must be true, false or a CA bundle path")
    from nestlab.lab.guest_credentials import parse_guests

    guest_user, guests = parse_guests(where, entry)
    try:
        return HostAddress(
            name=str(entry["name"]),
            server=str(entry.get("address") or entry["name"]),
            port=port,
            user=str(entry["user"]) if entry.get("user") else None,
            transport=str(entry.get("transport", "https")).lower(),
            auth=str(entry.get("auth", "negotiate")).lower(),
            cert_validation=validation,
            guest_user=guest_user,
            guests=guests,
        )
    except BadInput as exc:
        raise BadInput(f"{where}: {exc}") from None


@dataclass(frozen=True)
class Permission:
    """What a run may change: nothing, unless `--allow-destructive` and the host's entry agree."""

    hosts: dict[str, InventoryHost]
    allow_destructive: bool = False

    def may_change(self, host: str) -> bool:
        entry = self.hosts.get(host)
        return self.allow_destructive and entry is not None and entry.destructive

    def why_not(self, host: str, subject: str | None = None) -> str | None:
        """None when the change is allowed; else the reason, as one line."""
        entry = self.hosts.get(host)
        if entry is None:
            return f"{host} is not in the inventory"
        if not self.allow_destructive:
            return f"{host}: read-only without --allow-destructive"
        if not entry.destructive:
            return f"{host}: its inventory entry does not say destructive: true"
        if subject is not None and not entry.may_touch(subject):
            return f"{subject} is not among the VMs {host}'s inventory entry lets a run change ({', '.join(entry.vms or ())})"
        return None


# ----------------------------------------------------------------------------------------------
# read-only unless permitted: every pipeline sent to a real host is looked at first
# ----------------------------------------------------------------------------------------------

READ_VERBS = frozenset({
    "get", "test", "measure", "select", "where", "sort", "format", "out", "convertto", "find", "resolve",
    "show", "group", "compare",
})
READ_NATIVE = {  # native commands, and the arguments that make them only read
    "bcdedit": ("/enum",),
    "netsh": ("show",),
    "fltmc": ("filters",),  # lists the loaded minifilters (load/unload/attach/detach change them)
    "systeminfo": (),
    "ipconfig": (),
    "hostname": (),
    "whoami": (),
}


def changes_state(pipeline: Sequence[Command]) -> bool:
    """Whether a pipeline may change a host: anything but a known read (Get-*, Test-*, bcdedit /enum …).

    Unknown means "may change": a real host is protected from what this list does not know.
    """
    from nestlab.simulator.psparse import ScriptBlock

    for command in pipeline:
        name = command.name.lower()
        blocks = [v for v in (*command.arguments, *(v for _, v in command.parameters)) if isinstance(v, ScriptBlock)]
        if any(_block_changes_state(str(block)) for block in blocks):
            return True  # Where-Object { … | Stop-VM } changes as much as Stop-VM
        if name == "invoke-command":
            if not blocks:
                return True
            continue
        if name == "invoke-restmethod":
            if str(command.param("Method", "Get")).lower() != "get":
                return True
            continue
        if name in READ_NATIVE:
            words = [str(a).lower() for a in command.arguments]
            if not all(w in words for w in READ_NATIVE[name]):
                return True
            continue
        if name.split("-", 1)[0] not in READ_VERBS:
            return True
    return False


def _block_changes_state(text: str) -> bool:
    """A script block: its commands; an expression (`$_.State -eq 'Running'`) reads unless it calls a method."""
    from nestlab.simulator.psparse import parse

    if text.lstrip().startswith("$"):
        return "(" in text
    try:
        return changes_state(parse(text))
    except BadInput:
        return True  # what cannot be read cannot be trusted


class ReadOnly(BadInput):
    """A pipeline that would change a host the run may not change; nothing was sent."""


class GuardedSession(Runs):
    """A Session that lets through reads everywhere and changes only where `Permission` allows."""

    def __init__(self, session: Any, permission: Permission) -> None:
        self.inner = session
        self.permission = permission

    def hosts(self) -> list[str]:
        return self.inner.hosts()

    def send(self, requests: Sequence[Request]) -> list[Result]:
        for request in requests:
            self._check(request.host, [request.pipeline])
        return answered(requests, self.inner.send(requests))

    def close(self) -> None:
        self.inner.close()

    def _check(self, host: str, pipelines: Sequence[Sequence[Command]]) -> None:
        if self.permission.may_change(host):
            return
        for pipeline in pipelines:
            if changes_state(pipeline):
                text = " | ".join(str(c) for c in pipeline)
                raise ReadOnly(f"{host}: refused {text!r}: {self.permission.why_not(host)}")
