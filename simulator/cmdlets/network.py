"""Networking cmdlets: virtual switches and adapters, WinNAT, IP configuration, firewall, Test-NetConnection.

Shapes: samples/get-vmswitch.txt, get-vmnetworkadapter.txt, get-netnat.txt, get-netnatstaticmapping.txt;
errors: samples/error-winnat.txt. Names inside a guest: the VM's adapters appear as "Ethernet",
"Ethernet 2" … ("Microsoft Hyper-V Network Adapter" #n), matched to the parent's view by MAC.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace
from functools import lru_cache
from typing import Any, Iterable

from nestlab.simulator import behaviour, network
from nestlab.simulator.cmdlets import background, enums, ids
from nestlab.simulator.cmdlets.base import (Call, Ctx, Terminating, as_list, cmdlet, guid, hv_error, obj,
                                             platform_missing)
from nestlab.simulator.cmdlets.wildcards import like
from nestlab.simulator.cmdlets.shapes import VARIES, Shape
from nestlab.simulator.labfile import link_derived_edges
from nestlab.simulator.model import (Edge, FirewallRule, Nat, Platform, StaticMapping, Switch, VM, derived_mac, ip_of,
                                     nat_id, stable_guid, switch_id)
from nestlab.simulator.psdata import ErrorRecord, PSObject

CIM = "Microsoft.Management.Infrastructure.CimInstance"


class Nested(str):
    """A nested object as remoting shows it (its string form), still expandable by Select-Object."""

    obj: PSObject

    def __new__(cls, text: str, inner: PSObject) -> "Nested":
        self = super().__new__(cls, text)
        self.obj = inner
        return self


def cim(cls: str, props: list[tuple[str, Any]], ctx: Ctx, namespace: str = "ROOT/StandardCimv2",
        computer_name: str | None = None) -> PSObject:
    """A CIM instance; `computer_name`: ctx.computer_name, when the caller has read it already."""
    if computer_name is None:
        computer_name = ctx.computer_name
    return obj(_cim_types(cls, namespace), [*props, ("PSComputerName", computer_name)])


@lru_cache(maxsize=64)  # the classes this module writes: a few dozen pairs
def _cim_types(cls: str, namespace: str) -> tuple[str, str]:
    """A CIM class's type names, made once per class (not a new type-name text per object: the
    evidence keeps its firewall filters, NAT mappings, routes … of every place)."""
    return f"{CIM}#{namespace}/{cls}", CIM


def cim_shape(cls: str, props: list[tuple[str, Any]], namespace: str = "ROOT/StandardCimv2") -> Shape:
    """The Shape of the objects `cim(cls, props, ctx, namespace)` makes (PSComputerName last, set per object)."""
    return Shape((f"{CIM}#{namespace}/{cls}", CIM), [*props, ("PSComputerName", VARIES)])


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_PLAIN_IPV4 = re.compile(rf"({_OCTET}(?:\.{_OCTET}){{3}})(?:/([0-9]+))?")


def parse_interface(cidr: str) -> tuple[str, int]:
    """(address, prefix length) of an address as `ipaddress.ip_interface` reads it: str(.ip), .network.prefixlen.

    The lab's addresses are plain dotted quads with a prefix length ('10.0.0.5/24'): those are read
    here (octets 0-255 without leading zeros, a prefix of 0-32, as ipaddress accepts them), every
    other text (a netmask, IPv6, anything malformed) goes to ipaddress itself, which also raises
    what it raises. Get-NetIPAddress reads every address of every place (tests/test_cmdlet_shapes.py
    holds the two readings to the same answers)."""
    plain = _PLAIN_IPV4.fullmatch(cidr)
    if plain is not None:
        prefix = plain.group(2)
        if prefix is None:
            return plain.group(1), 32
        if int(prefix) <= 32:
            return plain.group(1), int(prefix)
    iface = ipaddress.ip_interface(cidr)
    return str(iface.ip), iface.network.prefixlen


def cim_error(call: Call, message: str, code: int, category: str, cim_class: str, terminating: bool = False) -> ErrorRecord:
    return ErrorRecord(message, f"Windows System Error {code},{call.cmdlet.name}", category,
                       target_name=cim_class, target_type=f"root/StandardCimv2/{cim_class}", activity=call.cmdlet.name,
                       reason="CimException", exception_type="Microsoft.Management.Infrastructure.CimException",
                       terminating=terminating)


def not_found(call: Call, cim_class: str, prop: str, value: Any) -> ErrorRecord:
    """A Cmdletization (CDXML) query for a plain value that matched nothing: VERBATIM text, id and category
    (Get-NetAdapter -Name, PS-AutoLab-Env#199; Get-NetAdapterRss, EUCweb/BIS-F#236). A wildcard that
    matches nothing is no error at all, as in PowerShell."""
    return ErrorRecord(f"No {cim_class} objects found with property '{prop}' equal to '{value}'.  Verify the value of "
                       "the property and retry.", f"CmdletizationQuery_NotFound_{prop},{call.cmdlet.name}", "ObjectNotFound",
                       target_name=str(value), target_type="String", activity=call.cmdlet.name, reason="CimJobException",
                       exception_type="Microsoft.Management.Infrastructure.CimException", terminating=False)


def query_not_found(call: Call, cim_class: str, where: str) -> ErrorRecord:
    """A Cmdletization query over several properties that matched nothing (WSL2-Network-Fix#5 wording)."""
    return ErrorRecord(f"No matching {cim_class} objects found by CIM query for instances of the "
                       f"ROOT/StandardCimv2/{cim_class} class on the  CIM server: SELECT * FROM {cim_class}  WHERE {where}. "
                       "Verify query parameters and retry.", f"CmdletizationQuery_NotFound,{call.cmdlet.name}",
                       "ObjectNotFound", target_name=cim_class, target_type="String", activity=call.cmdlet.name,
                       reason="CimJobException", exception_type="Microsoft.Management.Infrastructure.CimException",
                       terminating=False)


def _is_wildcard(value: Any) -> bool:
    return any(c in str(value) for c in "*?[")


def filter_by(call: Call, items: list[Any], param: str, key, cim_class: str, prop: str | None = None) -> list[Any]:
    """Keep the items whose `key(item)` matches one of the values of -`param` (wildcards allowed); each
    plain value that matches nothing is a CmdletizationQuery_NotFound_<prop> error."""
    low = param.lower()  # the canonical name `bind` gives it (Call.has / get)
    named = call.named
    if low not in named:
        return items
    kept: list[Any] = []
    for value in as_list(named[low]):
        matched = [i for i in items if like(str(key(i)).lower(), str(value).lower())]
        if not matched and not _is_wildcard(value):
            call_error = not_found(call, cim_class, prop or param, value)
            _pending_errors(call).append(call_error)
        kept.extend(m for m in matched if m not in kept)
    return kept


def _pending_errors(call: Call) -> list[ErrorRecord]:
    return call.named.setdefault("__errors__", [])


def report(ctx: Ctx, call: Call) -> None:
    """Hand the errors `filter_by` collected to the context (WriteError, in order)."""
    for error in call.named.pop("__errors__", []):
        ctx.error(error)


# ----------------------------------------------------------------------------------------------
# Interfaces of a host or guest (what Get-NetAdapter / Get-NetIPAddress list)
# ----------------------------------------------------------------------------------------------


def dashed(mac: str) -> str:
    """'00155D0A0B0C' -> '00-15-5D-0A-0B-0C' (the six two-letter slices, as a join over range(0, 12, 2))."""
    return f"{mac[0:2]}-{mac[2:4]}-{mac[4:6]}-{mac[6:8]}-{mac[8:10]}-{mac[10:12]}"


def interfaces(ctx: Ctx) -> list[dict[str, Any]]:
    """alias, description, mac, cidr, gateway, network, index — physical/VM NICs then vEthernet adapters.

    A per-place view that several cmdlets read (Get-NetAdapter, Get-NetIPAddress, Get-NetRoute …):
    computed once while the lab stands still (`Lab.memo`), each caller getting its own dicts."""
    return [dict(item) for item in _shared_interfaces(ctx)]


def _shared_interfaces(ctx: Ctx) -> list[dict[str, Any]]:
    """`interfaces(ctx)` for a caller that only reads them (Get-NetAdapter, Get-NetIPAddress): the
    kept dicts themselves, not copies. Nothing may change them."""
    kept = ctx.lab.memo(_INTERFACES, dict)  # one table per lab state, by place: no key tuple or closure per call
    found = kept.get(ctx.owner)
    if found is None:
        found = kept[ctx.owner] = _interfaces(ctx)
    return found


_INTERFACES = ("interfaces",)  # the Lab.memo key of _shared_interfaces' table


def _interfaces(ctx: Ctx) -> list[dict[str, Any]]:
    lab = ctx.lab
    out: list[dict[str, Any]] = []
    if ctx.is_guest:
        for i, adapter in enumerate(lab.adapters(ctx.owner)):
            rec = lab[adapter]
            switch = lab.switch_of(adapter)
            chain = network._bridge_chain(lab, adapter)  # noqa: SLF001 - walked once for the gateway and the network
            out.append({"alias": "Ethernet" if i == 0 else f"Ethernet {i + 1}",
                        "description": "Microsoft Hyper-V Network Adapter" + ("" if i == 0 else f" #{i + 1}"),
                        "mac": rec.mac or derived_mac(adapter), "cidr": rec.ip, "gateway": _gateway(ctx, switch, chain),
                        "network": lab[chain[-1]].name if chain else "Unidentified network", "up": switch is not None,
                        "speed": f"{rec.max_bandwidth_mbps} Mbps" if rec.max_bandwidth_mbps else "10 Gbps"})
    else:
        for i, nic in enumerate(lab.owned(ctx.owner, "nic")):
            rec = lab[nic]
            out.append({"alias": rec.adapter, "description": "Intel(R) Ethernet Controller X550" + ("" if i == 0 else f" #{i + 1}"),
                        # an Intel OUI for the physical NIC (B4-96-91), the rest derived from its id
                        "mac": "B49691" + guid("nic", nic).replace("-", "")[:6].upper(), "cidr": rec.ip, "gateway": rec.gateway,
                        "network": rec.network, "up": True, "speed": "10 Gbps"})
    for sw_id, sw in switches(ctx):
        if sw.type == "Internal":
            out.append({"alias": f"vEthernet ({sw.name})", "description": "Hyper-V Virtual Ethernet Adapter",
                        # host vNICs get Hyper-V's own OUI: 00-15-5D-… (PowerShell#26410's Get-NetAdapter)
                        "mac": "00155D" + guid("vnic", sw_id).replace("-", "")[:6].upper(), "cidr": sw.host_ip, "gateway": None,
                        "network": None, "up": True, "speed": "10 Gbps"})
    for index, item in enumerate(out):
        item["index"] = 4 + index * 3
    return out


def switches(ctx: Ctx) -> list[tuple[str, Switch]]:
    """(node id, record) of the owner's switches, and the Default Switch where the edition has one."""
    found = [(sw_id, ctx.lab[sw_id]) for sw_id in ctx.lab.owned(ctx.owner, "switch")]
    default = None if ctx.is_guest else background.default_switch(ctx.platform, ctx.owner)
    if default is not None and not any(sw.name == default[1].name for _, sw in found):
        found.insert(0, default)
    return found


def nic_description(ctx: Ctx, name: str) -> str | None:
    for item in interfaces(ctx):
        if item["alias"] == name or (ctx.is_guest and _guest_adapter_alias(ctx, name) == item["alias"]):
            return item["description"]
    return None


def _guest_adapter_alias(ctx: Ctx, adapter_name: str) -> str | None:
    for i, adapter in enumerate(ctx.lab.adapters(ctx.owner)):
        if ctx.lab[adapter].name == adapter_name:
            return "Ethernet" if i == 0 else f"Ethernet {i + 1}"
    return None


def _gateway(ctx: Ctx, switch: str | None, chain: list[str] | None) -> str | None:
    """The default gateway a guest adapter gets: its Internal switch's host address, or the gateway of
    the NIC on the network its External switches bridge to (`chain`: network._bridge_chain)."""
    lab = ctx.lab
    if switch is None:
        return None
    sw = lab[switch]
    if sw.type == "Internal":
        return ip_of(sw.host_ip)
    if sw.type == "External":
        if chain:
            # the NICs on that network, straight from its edges (not a scan of every host per call)
            for nic in lab.into(chain[-1], Edge.UPLINK):
                if lab.kind(nic) == "nic":
                    return lab[nic].gateway
    return None


@cmdlet("Get-NetAdapter", positional=("Name",), params=("Name", "InterfaceDescription", "Physical", "IncludeHidden",
                                                       "CimSession"), cls="Microsoft.Management.Infrastructure.CimCmdlets.GetNetAdapter")
def get_netadapter(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    out = []
    chosen = filter_by(call, _shared_interfaces(ctx), "Name", lambda i: i["alias"], "MSFT_NetAdapter")
    chosen = filter_by(call, chosen, "InterfaceDescription", lambda i: i["description"], "MSFT_NetAdapter")
    report(ctx, call)
    computer = ctx.computer_name if chosen else None  # read once for all the adapters
    for item in chosen:
        out.append(NET_ADAPTER_SHAPE.make({
            "Name": item["alias"], "InterfaceDescription": item["description"], "ifIndex": item["index"],
            "Status": "Up" if item["up"] else "Disconnected", "MacAddress": dashed(item["mac"]),
            "LinkSpeed": item["speed"], "InterfaceAlias": item["alias"], "PSComputerName": computer,
        }))
    return out


NET_ADAPTER_SHAPE = cim_shape("MSFT_NetAdapter", [
    ("Name", VARIES), ("InterfaceDescription", VARIES), ("ifIndex", VARIES), ("Status", VARIES), ("MacAddress", VARIES),
    ("LinkSpeed", VARIES), ("InterfaceAlias", VARIES),
])


# Get-NetIPAddress's rows, one per IPv4 address of the place; VARIES: set per address.
IP_ADDRESS_SHAPE = cim_shape("MSFT_NetIPAddress", [
    ("IPAddress", VARIES), ("InterfaceIndex", VARIES), ("InterfaceAlias", VARIES), ("AddressFamily", "IPv4"),
    ("Type", "Unicast"), ("PrefixLength", VARIES), ("PrefixOrigin", "Manual"),
    ("SuffixOrigin", "Manual"), ("AddressState", "Preferred"), ("ValidLifetime", "Infinite ([TimeSpan]::MaxValue)"),
    ("PreferredLifetime", "Infinite ([TimeSpan]::MaxValue)"), ("SkipAsSource", False),
    ("PolicyStore", "ActiveStore"),
])


@cmdlet("Get-NetIPAddress", positional=("IPAddress",), params=("IPAddress", "InterfaceAlias", "InterfaceIndex",
                                                              "AddressFamily", "PrefixLength", "CimSession"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.GetNetIPAddress")
def get_netipaddress(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    named = call.named  # canonical lower-case names (`bind`), each read once: every place is asked
    family = str(named.get("addressfamily") or "IPv4")
    if family.lower() == "ipv6":
        return []
    given = named.get("interfacealias")
    alias = [str(a).lower() for a in as_list(given)] if given is not None else None
    given = named.get("ipaddress", _NOT_GIVEN)
    addresses = [str(a) for a in as_list(given)] if given is not _NOT_GIVEN else None
    out: list[PSObject] = []
    rows = [(i["alias"], i["index"], i["cidr"]) for i in _shared_interfaces(ctx) if i["cidr"]] + [_LOOPBACK]
    computer = ctx.computer_name
    for name, index, cidr in rows:
        if alias and name.lower() not in alias:
            continue
        if addresses is not None and ip_of(cidr) not in addresses:
            continue
        address, prefix = _LOOPBACK_ADDRESS if cidr is _LOOPBACK_CIDR else parse_interface(cidr)
        out.append(IP_ADDRESS_SHAPE.make({"IPAddress": address, "InterfaceIndex": index, "InterfaceAlias": name,
                                          "PrefixLength": prefix, "PSComputerName": computer}))
    if not out and (call.has("InterfaceAlias") or call.has("IPAddress")):
        where = " AND ".join([*(f"((InterfaceAlias LIKE '{a}'))" for a in as_list(call.get("InterfaceAlias"))),
                              *(f"((IPAddress LIKE '{a}'))" for a in as_list(call.get("IPAddress"))),
                              "((AddressFamily = 2))"])
        ctx.error(query_not_found(call, "MSFT_NetIPAddress", where))
    return out


_NOT_GIVEN = object()  # a parameter absent from the call (one given as $null is still given)

# every place's loopback row, its address read once (not a new "127.0.0.1" per guest: the evidence keeps each row)
_LOOPBACK_CIDR = "127.0.0.1/8"
_LOOPBACK = ("Loopback Pseudo-Interface 1", 1, _LOOPBACK_CIDR)
_LOOPBACK_ADDRESS = parse_interface(_LOOPBACK_CIDR)


def _internal_switch_by_alias(ctx: Ctx, alias: str) -> str | None:
    for sw_id in ctx.lab.owned(ctx.owner, "switch"):
        if f"vEthernet ({ctx.lab[sw_id].name})".lower() == alias.lower():
            return sw_id
    return None


@cmdlet("New-NetIPAddress", positional=("IPAddress",), params=("IPAddress", "PrefixLength", "InterfaceAlias",
                                                              "InterfaceIndex", "DefaultGateway", "AddressFamily"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.NewNetIPAddress")
def new_netipaddress(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    alias = str(call.get("InterfaceAlias") or "")
    if not alias and call.has("InterfaceIndex"):
        alias = next((i["alias"] for i in interfaces(ctx) if i["index"] == int(call.get("InterfaceIndex"))), "")
    sw_id = _internal_switch_by_alias(ctx, alias)
    if sw_id is None:
        missing = not_found(call, "MSFT_NetAdapter", "InterfaceAlias", alias)
        raise Terminating(replace(missing, terminating=True))
    if ctx.lab[sw_id].host_ip:
        # samples/error-winnat.txt sample D (VD#338), VERBATIM
        raise Terminating(cim_error(call, "Instance MSFT_NetIPAddress already exists", 87, "InvalidArgument",
                                    "MSFT_NetIPAddress", True))
    cidr = f"{call.get('IPAddress')}/{int(call.get('PrefixLength') or 24)}"
    ctx.lab.update(sw_id, host_ip=cidr)
    link_derived_edges(ctx.lab, ctx.owner)
    return get_netipaddress(ctx, _with(call, InterfaceAlias=alias))


@cmdlet("Remove-NetIPAddress", positional=("IPAddress",), params=("IPAddress", "InterfaceAlias", "Confirm"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.RemoveNetIPAddress")
def remove_netipaddress(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    for sw_id in ctx.lab.owned(ctx.owner, "switch"):
        sw = ctx.lab[sw_id]
        if sw.host_ip and (ip_of(sw.host_ip) == str(call.get("IPAddress")) or
                           f"vEthernet ({sw.name})".lower() == str(call.get("InterfaceAlias") or "").lower()):
            ctx.lab.update(sw_id, host_ip=None)
    link_derived_edges(ctx.lab, ctx.owner)
    return []


def _with(call: Call, **named: Any) -> Call:
    return Call(call.cmdlet, {**call.named, **{k.lower(): v for k, v in named.items()}}, call.arguments, call.input)


@cmdlet("Get-NetRoute", params=("DestinationPrefix", "InterfaceAlias", "AddressFamily", "CimSession"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.GetNetRoute")
def get_netroute(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    """The IPv4 route table as `route print` has it: default routes, on-link subnets, host and broadcast
    routes of each address, loopback and multicast; -DestinationPrefix / -InterfaceAlias filter it."""
    if str(call.get("AddressFamily") or "IPv4").lower() == "ipv6":
        return []
    routes = _routes(ctx)
    routes = filter_by(call, routes, "DestinationPrefix", lambda r: r[1], "MSFT_NetRoute")
    routes = filter_by(call, routes, "InterfaceAlias", lambda r: r[0]["alias"], "MSFT_NetRoute")
    report(ctx, call)
    return [cim("MSFT_NetRoute", [
        ("ifIndex", i["index"]), ("DestinationPrefix", prefix), ("NextHop", hop), ("RouteMetric", metric),
        ("ifMetric", 15 if i["index"] != 1 else 75), ("PolicyStore", "ActiveStore"), ("InterfaceAlias", i["alias"]),
        ("AddressFamily", "IPv4"), ("Protocol", "NetMgmt" if prefix == "0.0.0.0/0" else "Local"),
        ("State", "Alive"), ("TypeOfRoute", 3 if prefix == "0.0.0.0/0" else 2),
    ], ctx) for i, prefix, hop, metric in routes]


LOOPBACK = {"alias": "Loopback Pseudo-Interface 1", "index": 1, "cidr": "127.0.0.1/8", "gateway": None}


def _routes(ctx: Ctx) -> list[tuple[dict[str, Any], str, str, int]]:
    routes: list[tuple[dict[str, Any], str, str, int]] = []
    with_address = [i for i in interfaces(ctx) if i["cidr"]]
    routes += [(i, "0.0.0.0/0", i["gateway"], 0) for i in with_address if i["gateway"]]
    for i in [*with_address, LOOPBACK]:
        iface = ipaddress.ip_interface(i["cidr"])
        routes.append((i, str(iface.network), "0.0.0.0", 256))
        routes.append((i, f"{iface.ip}/32", "0.0.0.0", 256))
        if iface.network.prefixlen < 31 and i is not LOOPBACK:
            routes.append((i, f"{iface.network.broadcast_address}/32", "0.0.0.0", 256))
    for i in [*with_address, LOOPBACK]:
        routes.append((i, "224.0.0.0/4", "0.0.0.0", 256))
    for i in [*with_address, LOOPBACK]:
        routes.append((i, "255.255.255.255/32", "0.0.0.0", 256))
    return routes


@cmdlet("Get-NetConnectionProfile", params=("InterfaceAlias", "Name", "CimSession"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.GetNetConnectionProfile")
def get_netconnectionprofile(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    return [cim("MSFT_NetConnectionProfile", [
        ("Name", i["network"]), ("InterfaceAlias", i["alias"]), ("InterfaceIndex", i["index"]),
        ("NetworkCategory", "Private" if i["network"] != "Unidentified network" else "Public"),
        ("DomainAuthenticationKind", "None"),
        ("IPv4Connectivity", "Internet" if i["network"] != "Unidentified network" else "LocalNetwork"),
        ("IPv6Connectivity", "NoTraffic"),
    ], ctx) for i in interfaces(ctx) if i["network"] and i["cidr"]]


# ----------------------------------------------------------------------------------------------
# Virtual switches and VM network adapters
# ----------------------------------------------------------------------------------------------


def switch_object(ctx: Ctx, sw_id: str, sw: Switch | None = None) -> PSObject:
    sw = sw or ctx.lab[sw_id]
    description = None
    if sw.type == "External" and sw.adapter:
        description = nic_description(ctx, sw.adapter) or sw.adapter
    props = [
        ("Name", sw.name),
        ("Id", background.DEFAULT_SWITCH_ID if _is_default_switch(ctx, sw_id, sw) else guid("switch", sw_id)),
        ("Notes", ""),
        ("Extensions", "{Microsoft Windows Filtering Platform, Microsoft NDIS Capture}"),
        ("BandwidthReservationMode", "Absolute"), ("PacketDirectEnabled", False), ("EmbeddedTeamingEnabled", False),
        ("AllowNetLbfoTeams", False), ("IovEnabled", False), ("SwitchType", enums.switch_type(sw.type)),
        ("AllowManagementOS", sw.type != "Private"), ("NetAdapterInterfaceDescription", description),
        ("NetAdapterInterfaceDescriptions", "{" + description + "}" if description else None),
        ("NetAdapterInterfaceGuid", "{" + guid("nicguid", sw_id) + "}" if description else None),
        ("IovSupport", False), ("IovSupportReasons", None), ("AvailableIPSecSA", 0), ("NumberIPSecSAAllocated", 0),
        ("AvailableVMQueues", 0), ("NumberVmqAllocated", 0), ("BandwidthPercentage", 0),
        ("DefaultFlowMinimumBandwidthAbsolute", 0), ("DefaultFlowMinimumBandwidthWeight", 0),
        ("CimSession", "CimSession: ."), ("ComputerName", ctx.computer_name), ("IsDeleted", False),
    ]
    return obj("Microsoft.HyperV.PowerShell.VMSwitch", props, to_string=f"VMSwitch (Name = '{sw.name}')")


def _is_default_switch(ctx: Ctx, sw_id: str, sw: Switch) -> bool:
    """The Default Switch, derived or declared by a lab whose VMs use it, has the same Id everywhere."""
    if sw_id not in ctx.lab:
        return True
    return background.is_windows_default_switch(ctx.platform, sw.name)


def _switch_by_name(ctx: Ctx, name: str) -> str | None:
    for sw_id in ctx.lab.owned(ctx.owner, "switch"):
        if ctx.lab[sw_id].name.lower() == str(name).lower():
            return sw_id
    return None


def switch_not_found(call: Call, name: str) -> ErrorRecord:
    return hv_error(call.cmdlet, f'Hyper-V was unable to find a virtual switch with name "{name}".', "InvalidParameter",
                    "InvalidArgument", target=str(name), target_type="String")


@cmdlet("Get-VMSwitch", positional=("Name",), params=("Name", "Id", "SwitchType", "ComputerName"))
def get_vmswitch(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    missing = platform_missing(ctx, call.cmdlet)
    if missing is not None:
        ctx.error(missing)
        return []
    names = as_list(call.get("Name"))
    out = []
    every = switches(ctx)
    for name in names or ["*"]:
        matched = [(s, sw) for s, sw in every if like(sw.name.lower(), str(name).lower())]
        if not matched and "*" not in str(name):
            ctx.error(switch_not_found(call, str(name)))
        out.extend(switch_object(ctx, s, sw) for s, sw in matched)
    if call.has("SwitchType"):
        out = [o for o in out if o["SwitchType"] == str(call.get("SwitchType"))]
    return out


@cmdlet("New-VMSwitch", positional=("Name",), params=("Name", "SwitchType", "NetAdapterName", "AllowManagementOS",
                                                     "NetAdapterInterfaceDescription", "Notes", "ComputerName"))
def new_vmswitch(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    name = str(call.get("Name"))
    if _switch_by_name(ctx, name) is not None:
        raise Terminating(hv_error(call.cmdlet, f"Failed while adding virtual Ethernet switch connections.\n"
                                                f"A virtual switch named '{name}' already exists.", "InvalidParameter",
                                   "InvalidArgument", terminating=True))
    if call.has("NetAdapterName"):
        adapter = str(call.get("NetAdapterName"))
        if ctx.is_guest:  # the guest's NIC names map back to the VM's adapter names
            adapter = next((ctx.lab[a].name for i, a in enumerate(ctx.lab.adapters(ctx.owner))
                            if ("Ethernet" if i == 0 else f"Ethernet {i + 1}").lower() == adapter.lower()), adapter)
        record = Switch(name=name, type="External", adapter=adapter)
    else:
        record = Switch(name=name, type=str(call.get("SwitchType") or "Private").capitalize())
    node = ctx.lab.add(switch_id(ctx.owner, name), record)
    ctx.lab.link(ctx.owner, node, Edge.HAS)
    link_derived_edges(ctx.lab, ctx.owner)
    return [switch_object(ctx, node)]


@cmdlet("Remove-VMSwitch", positional=("Name",), params=("Name", "Force", "ComputerName"))
def remove_vmswitch(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    for name in as_list(call.get("Name")):
        sw_id = _switch_by_name(ctx, str(name))
        if sw_id is None:
            ctx.error(switch_not_found(call, str(name)))
            continue
        ctx.lab.remove(sw_id)
        link_derived_edges(ctx.lab, ctx.owner)
    return []


# Microsoft.HyperV.PowerShell.VMNetworkAdapter: the first 31 properties as Get-VMNetworkAdapter | fl *
# prints them, then the rest of the class's properties (names and types from the Hyper-V module's class
# as public wrappers mirror it — HyperVDsc's stubs, Eryph/HyperVPlus data classes; defaults of a new
# synthetic adapter). Order after the first 31: RECONSTRUCTED (docs/fidelity.md). VARIES: set per adapter.
ADAPTER_SHAPE = Shape("Microsoft.HyperV.PowerShell.VMNetworkAdapter", [
    ("Name", VARIES), ("Id", VARIES),
    ("IsLegacy", False), ("IsManagementOs", False), ("ComputerName", VARIES), ("VMName", VARIES),
    ("VMId", VARIES), ("SwitchName", VARIES),
    ("SwitchId", VARIES), ("Connected", VARIES),
    ("PoolName", ""), ("MacAddress", VARIES), ("DynamicMacAddressEnabled", VARIES),
    ("AllowPacketDirect", False), ("MacAddressSpoofing", VARIES),
    ("AllowTeaming", enums.on_off(False)), ("RouterGuard", enums.on_off(False)), ("DhcpGuard", enums.on_off(False)),
    ("StormLimit", 0), ("PortMirroringMode", "None"), ("IeeePriorityTag", enums.on_off(False)),
    ("VirtualSubnetId", 0), ("DynamicIPAddressLimit", 0), ("DeviceNaming", enums.on_off(False)),
    ("VMQWeight", 100), ("IOVWeight", 0), ("BandwidthSetting", VARIES), ("BandwidthPercentage", 0),
    ("StatusDescription", VARIES), ("Status", VARIES),
    ("IPAddresses", VARIES),
    ("ClusterMonitored", True), ("IsExternalAdapter", False), ("AdapterId", VARIES),
    ("IovQueuePairsRequested", 1), ("IovQueuePairsAssigned", 0), ("IovInterruptModeration", "Default"),
    ("IovUsage", 0), ("VirtualFunction", None), ("PacketDirectNumProcs", 0), ("PacketDirectModerationCount", 64),
    ("PacketDirectModerationInterval", 1000000), ("MandatoryFeatureId", VARIES), ("MandatoryFeatureName", VARIES),
    ("TestReplicaPoolName", ""), ("TestReplicaSwitchName", ""),
    ("AclList", VARIES), ("ExtendedAclList", VARIES),
    ("IsolationSetting", "Microsoft.HyperV.PowerShell.VMNetworkAdapterIsolationSetting"), ("RoutingDomainList", VARIES),
    ("VlanSetting", "Microsoft.HyperV.PowerShell.VMNetworkAdapterVlanSetting"), ("CurrentIsolationMode", "Vlan"),
    ("StaticIPAddressLimit", 0), ("FixSpeed10G", enums.on_off(False)), ("VmqUsage", 0),
    ("IPsecOffloadMaxSA", 512), ("IPsecOffloadSAUsage", 0), ("VFDataPathActive", False),
    ("VmmqEnabled", False), ("VmmqEnabledRequested", True), ("VmmqQueuePairs", 16), ("VmmqQueuePairsRequested", 16),
    ("VrssEnabled", VARIES), ("VrssEnabledRequested", True), ("VrssMaxQueuePairs", 16),
    ("VrssMaxQueuePairsRequested", 16), ("VrssMinQueuePairs", 1), ("VrssMinQueuePairsRequested", 1),
    ("VrssQueueSchedulingMode", "Dynamic"), ("VrssQueueSchedulingModeRequested", "Dynamic"),
    ("VrssExcludePrimaryProcessor", False), ("VrssExcludePrimaryProcessorRequested", False),
    ("VrssIndependentHostSpreading", False), ("VrssIndependentHostSpreadingRequested", False),
    ("VrssVmbusChannelAffinityPolicy", "Strong"), ("VrssVmbusChannelAffinityPolicyRequested", "Strong"),
    ("RscEnabled", False), ("RscEnabledRequested", True), ("NumaAwarePlacement", False),
    ("VMSnapshotId", "00000000-0000-0000-0000-000000000000"), ("VMSnapshotName", ""),
    ("CimSession", "CimSession: ."), ("IsDeleted", False),
])


def adapter_object(ctx: Ctx, adapter: str, computer_name: str | None = None, vm: str | None = None) -> PSObject:
    """One adapter as Get-VMNetworkAdapter writes it. `computer_name`: the place's name, when the caller
    lists many adapters; `vm`: the adapter's VM, when the caller found the adapter through it."""
    lab = ctx.lab
    rec = lab[adapter]
    if vm is None:
        vm = lab.owner(adapter)
    vmrec: VM = lab[vm]
    switch = lab.switch_of(adapter)
    running = behaviour.is_running(lab, vm)
    upper = stable_guid("vm", vm)  # the VM's GUID in stable_guid's own (upper) case
    vid = ids.vm_guids(lab)[vm]  # guid("vm", vm): one text per VM, shared by its objects
    bandwidth = None
    if rec.max_bandwidth_mbps:
        inner = obj("Microsoft.HyperV.PowerShell.VMNetworkAdapterBandwidthSetting", [
            ("MinimumBandwidthAbsolute", 0), ("MinimumBandwidthWeight", 0),
            ("MaximumBandwidth", rec.max_bandwidth_mbps * 1_000_000),
            ("ParentAdapter", f"VMNetworkAdapter (Name = '{rec.name}', VMName = '{vmrec.name}') [VMId = '{vid}']"),
            ("VMName", vmrec.name), ("IsDeleted", False)])
        bandwidth = Nested("Microsoft.HyperV.PowerShell.VMNetworkAdapterBandwidthSetting", inner)
    adapter_guid = stable_guid("adapter", adapter)  # guid("adapter", adapter).upper(): stable_guid's own case
    return _ADAPTER_BY_RUNNING[running].make({
        "Name": rec.name, "Id": f"Microsoft:{upper}\\{adapter_guid}",
        "ComputerName": ctx.computer_name if computer_name is None else computer_name, "VMName": vmrec.name,
        "VMId": vid, "SwitchName": lab[switch].name if switch else None,
        "SwitchId": ids.switch_guids(lab)[switch] if switch else None, "Connected": switch is not None,
        "MacAddress": rec.mac or derived_mac(adapter), "DynamicMacAddressEnabled": rec.mac is None,  # lab.mac
        "MacAddressSpoofing": enums.on_off(rec.mac_spoofing),
        "BandwidthSetting": bandwidth,
        "IPAddresses": [ip_of(rec.ip)] if running and rec.ip else [],
        "AdapterId": adapter_guid, "MandatoryFeatureId": [], "MandatoryFeatureName": [],
        "AclList": [], "ExtendedAclList": [], "RoutingDomainList": [],
    }, to_string=f"VMNetworkAdapter (Name = '{rec.name}', VMName = '{vmrec.name}')")


# an adapter's status and vRSS as its VM runs or not: the constants of two templates
_ADAPTER_BY_RUNNING = {running: ADAPTER_SHAPE.fixing({"StatusDescription": "{OK}" if running else "{}",
                                                       "Status": "{Ok}" if running else "{}", "VrssEnabled": running})
                       for running in (False, True)}


def management_os_object(ctx: Ctx, sw_id: str, sw: Switch) -> PSObject:
    """A host vNIC: one per switch that shares it with the management OS, named after the switch."""
    mac = next((i["mac"] for i in interfaces(ctx) if i["alias"] == f"vEthernet ({sw.name})"),
               "00155D" + guid("vnic", sw_id).replace("-", "")[:6].upper())
    return obj("Microsoft.HyperV.PowerShell.VMInternalNetworkAdapter", [
        ("Name", sw.name), ("Id", f"Microsoft:{guid('vnicid', sw_id).upper()}"), ("IsLegacy", False),
        ("IsManagementOs", True), ("ComputerName", ctx.computer_name), ("VMName", ""), ("VMId", None),
        ("SwitchName", sw.name), ("SwitchId", guid("switch", sw_id)), ("Connected", True), ("PoolName", ""),
        ("MacAddress", mac), ("DynamicMacAddressEnabled", True), ("MacAddressSpoofing", enums.on_off(False)),
        ("Status", "{Ok}"), ("IPAddresses", []), ("IsDeleted", False),
    ], to_string=f"VMInternalNetworkAdapter (Name = '{sw.name}')")


def _adapters(ctx: Ctx, call: Call) -> list[str]:
    return [adapter for _, adapter in _vm_adapters(ctx, call)]


def _vm_adapters(ctx: Ctx, call: Call) -> list[tuple[str, str]]:
    """(VM, adapter) for each adapter the call names: the VM each was found through, so that its
    object need not look its owner up again (Get-VMNetworkAdapter lists every adapter twice per
    collection: the adapters, then their bandwidth settings)."""
    piped = [o for o in call.input if isinstance(o, PSObject) and "MacAddress" in o]
    lab = ctx.lab
    if piped and not call.has("VMName") and not call.has("VM"):
        found = []
        for o in piped:
            for vm in ctx.vms():
                if lab[vm].name == o["VMName"]:
                    found += [(vm, a) for a in lab.adapters(vm) if lab[a].name == o["Name"]]
        return found
    if call.flag("All"):
        return [(vm, a) for vm in ctx.vms() for a in lab.adapters(vm)]
    vms = ctx.find_vms(call, params=("VMName", "VM"))
    name = call.get("Name")
    if name is None:
        return [(vm, a) for vm in vms for a in lab.adapters(vm)]
    wanted = str(name).lower()
    return [(vm, a) for vm in vms for a in lab.adapters(vm) if lab[a].name.lower() == wanted]


@cmdlet("Get-VMNetworkAdapter", positional=("VMName",), params=("VMName", "VM", "Name", "All", "ManagementOS",
                                                                "ComputerName"))
def get_vmnetworkadapter(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    missing = platform_missing(ctx, call.cmdlet)
    if missing is not None:
        ctx.error(missing)
        return []
    if call.flag("ManagementOS"):
        # Get-VMNetworkAdapter -ManagementOS: the host's vNICs (Internal switches, External with AllowManagementOS)
        return [management_os_object(ctx, s, sw) for s, sw in switches(ctx) if sw.type != "Private"]
    adapters = _vm_adapters(ctx, call)
    name = ctx.computer_name if adapters else None  # read once for all the adapters
    return [adapter_object(ctx, a, name, vm) for vm, a in adapters]


def _on(value: Any) -> bool:
    return str(value).lower() in ("on", "true", "0") if not isinstance(value, bool) else value


@cmdlet("Set-VMNetworkAdapter", positional=("VMName",),
        params=("VMName", "VM", "Name", "VMNetworkAdapter", "MacAddressSpoofing", "MaximumBandwidth", "MinimumBandwidthAbsolute",
                "DhcpGuard", "RouterGuard", "StaticMacAddress", "Passthru", "ComputerName"))
def set_vmnetworkadapter(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    out = []
    for adapter in _adapters(ctx, call):
        changes: dict[str, Any] = {}
        if call.has("MacAddressSpoofing"):
            changes["mac_spoofing"] = _on(call.get("MacAddressSpoofing"))
        if call.has("MaximumBandwidth"):
            changes["max_bandwidth_mbps"] = int(call.get("MaximumBandwidth")) // 1_000_000
        if call.has("StaticMacAddress"):
            changes["mac"] = str(call.get("StaticMacAddress")).replace("-", "").upper()
        if changes:
            ctx.lab.update(adapter, **changes)
        if call.flag("Passthru"):
            out.append(adapter_object(ctx, adapter))
    return out


@cmdlet("Connect-VMNetworkAdapter", positional=("VMName", "Name", "SwitchName"),
        params=("VMName", "VM", "Name", "SwitchName", "VMNetworkAdapter", "Passthru", "ComputerName"))
def connect_vmnetworkadapter(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    target = _switch_by_name(ctx, str(call.get("SwitchName")))
    if target is None:
        raise Terminating(switch_not_found(call, str(call.get("SwitchName"))))
    for adapter in _adapters(ctx, call):
        for old in ctx.lab.out(adapter, Edge.ATTACHED):
            ctx.lab.unlink(adapter, old, Edge.ATTACHED)
        ctx.lab.link(adapter, target, Edge.ATTACHED)
    return []


@cmdlet("Disconnect-VMNetworkAdapter", positional=("VMName", "Name"),
        params=("VMName", "VM", "Name", "VMNetworkAdapter", "Passthru", "ComputerName"))
def disconnect_vmnetworkadapter(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    for adapter in _adapters(ctx, call):
        for old in ctx.lab.out(adapter, Edge.ATTACHED):
            ctx.lab.unlink(adapter, old, Edge.ATTACHED)
    return []


# ----------------------------------------------------------------------------------------------
# WinNAT
# ----------------------------------------------------------------------------------------------


def nat_object(ctx: Ctx, nat: str) -> PSObject:
    rec: Nat = ctx.lab[nat]
    return cim("MSFT_NetNat", [
        ("Name", rec.name), ("ExternalIPInterfaceAddressPrefix", ""), ("InternalIPInterfaceAddressPrefix", rec.internal_prefix),
        ("IcmpQueryTimeout", 30), ("TcpEstablishedConnectionTimeout", 1800), ("TcpTransientConnectionTimeout", 120),
        ("TcpFilteringBehavior", "AddressDependentFiltering"), ("UdpFilteringBehavior", "AddressDependentFiltering"),
        ("UdpIdleSessionTimeout", 120), ("UdpInboundRefresh", False), ("Store", "Local"),
        ("Active", ctx.platform.services.winnat == "running"),
    ], ctx)


def _nats(ctx: Ctx, names: list[Any] | None) -> list[str]:
    nats = ctx.lab.owned(ctx.owner, "nat")
    if not names:
        return nats
    wanted = [str(n).lower() for n in names]
    return [n for n in nats if ctx.lab[n].name.lower() in wanted]


@cmdlet("Get-NetNat", positional=("Name",), params=("Name", "CimSession"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.GetNetNat")
def get_netnat(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    found = filter_by(call, ctx.lab.owned(ctx.owner, "nat"), "Name", lambda n: ctx.lab[n].name, "MSFT_NetNat")
    report(ctx, call)
    return [nat_object(ctx, n) for n in found]


@cmdlet("New-NetNat", positional=("Name",), params=("Name", "InternalIPInterfaceAddressPrefix",
                                                    "ExternalIPInterfaceAddressPrefix", "CimSession"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.NewNetNat")
def new_netnat(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    name = str(call.get("Name"))
    prefix = str(call.get("InternalIPInterfaceAddressPrefix"))
    try:
        wanted = ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        raise Terminating(cim_error(call, "The parameter is incorrect.", 87, "InvalidArgument", "MSFT_NetNat", True))
    for nat in ctx.lab.owned(ctx.owner, "nat"):
        rec = ctx.lab[nat]
        if rec.name.lower() == name.lower() or ipaddress.ip_network(rec.internal_prefix, strict=False).overlaps(wanted):
            # samples/error-winnat.txt sample B (VD#361), VERBATIM
            raise Terminating(cim_error(call, "The parameter is incorrect.", 87, "InvalidArgument", "MSFT_NetNat", True))
    node = ctx.lab.add(nat_id(ctx.owner, name), Nat(name=name, internal_prefix=prefix))
    ctx.lab.link(ctx.owner, node, Edge.HAS)
    link_derived_edges(ctx.lab, ctx.owner)
    return [nat_object(ctx, node)]


@cmdlet("Remove-NetNat", positional=("Name",), params=("Name", "InputObject", "Confirm", "CimSession"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.RemoveNetNat")
def remove_netnat(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    names = as_list(call.get("Name")) or [o["Name"] for o in call.input if isinstance(o, PSObject) and "Name" in o]
    for nat in _nats(ctx, names):
        ctx.lab.remove(nat)
    return []


def _mapping_objects(ctx: Ctx, nat: str) -> list[PSObject]:
    rec: Nat = ctx.lab[nat]
    return [cim("MSFT_NetNatStaticMapping", [
        ("StaticMappingID", i), ("NatName", rec.name), ("Protocol", m.protocol),
        ("RemoteExternalIPAddressPrefix", "0.0.0.0/0"), ("ExternalIPAddress", m.external_ip),
        ("ExternalPort", m.external_port), ("InternalIPAddress", m.internal_ip), ("InternalPort", m.internal_port),
        ("InternalRoutingDomainId", "{00000000-0000-0000-0000-000000000000}"),
        ("Active", ctx.platform.services.winnat == "running"),
    ], ctx) for i, m in enumerate(rec.static_mappings)]


@cmdlet("Get-NetNatStaticMapping", params=("NatName", "StaticMappingID", "CimSession"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.GetNetNatStaticMapping")
def get_netnatstaticmapping(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    return [m for nat in _nats(ctx, as_list(call.named.get("natname"))) for m in _mapping_objects(ctx, nat)]


@cmdlet("Add-NetNatStaticMapping", params=("NatName", "Protocol", "ExternalIPAddress", "ExternalPort",
                                           "InternalIPAddress", "InternalPort", "CimSession"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.AddNetNatStaticMapping")
def add_netnatstaticmapping(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    found = _nats(ctx, [call.get("NatName")])
    if not found:
        raise Terminating(cim_error(call, "The parameter is incorrect.", 87, "InvalidArgument",
                                    "MSFT_NetNatStaticMapping", True))
    nat = found[0]
    rec: Nat = ctx.lab[nat]
    mapping = StaticMapping(protocol=str(call.get("Protocol") or "TCP").upper(), external_port=int(call.get("ExternalPort")),
                            internal_ip=str(call.get("InternalIPAddress")), internal_port=int(call.get("InternalPort")),
                            external_ip=str(call.get("ExternalIPAddress") or "0.0.0.0"))
    if any(m.external_port == mapping.external_port and m.protocol == mapping.protocol for m in rec.static_mappings):
        raise Terminating(cim_error(call, "The parameter is incorrect.", 87, "InvalidArgument",
                                    "MSFT_NetNatStaticMapping", True))
    ctx.lab.update(nat, static_mappings=(*rec.static_mappings, mapping))
    return [_mapping_objects(ctx, nat)[-1]]


@cmdlet("Remove-NetNatStaticMapping", params=("NatName", "StaticMappingID", "InputObject", "Confirm", "CimSession"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.RemoveNetNatStaticMapping")
def remove_netnatstaticmapping(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    targets: list[tuple[str, int]] = [(str(o["NatName"]), int(o["StaticMappingID"])) for o in call.input
                                      if isinstance(o, PSObject) and "StaticMappingID" in o]
    if call.has("NatName"):
        ids = as_list(call.get("StaticMappingID"))
        for nat in _nats(ctx, [call.get("NatName")]):
            n = len(ctx.lab[nat].static_mappings)
            targets += [(ctx.lab[nat].name, int(i)) for i in (ids or range(n))]
    for nat in ctx.lab.owned(ctx.owner, "nat"):
        rec: Nat = ctx.lab[nat]
        drop = {i for name, i in targets if name.lower() == rec.name.lower()}
        if drop:
            ctx.lab.update(nat, static_mappings=tuple(m for i, m in enumerate(rec.static_mappings) if i not in drop))
    return []


# ----------------------------------------------------------------------------------------------
# Firewall
# ----------------------------------------------------------------------------------------------


def _rule_label(rule: FirewallRule, param: str) -> str:
    return rule.name if param == "Name" else rule.display_name or rule.name


def firewall_object(ctx: Ctx, rule: FirewallRule, computer_name: str | None = None) -> PSObject:
    """`computer_name`: the place's name, when the caller lists many rules."""
    return cim("MSFT_NetFirewallRule", [
        ("Name", rule.name), ("DisplayName", rule.display_name or rule.name), ("Description", ""),
        ("DisplayGroup", rule.display_group), ("Group", rule.group),
        ("Enabled", enums.fw_enabled(rule.enabled)), ("Profile", rule.profile), ("Platform", "{}"),
        ("Direction", enums.fw_direction(rule.direction.capitalize())),
        ("Action", enums.fw_action(rule.action.capitalize())), ("EdgeTraversalPolicy", "Block"),
        ("LooseSourceMapping", False), ("LocalOnlyMapping", False), ("Owner", None), ("PrimaryStatus", "OK"),
        ("Status", "The rule was parsed successfully from the store. (65536)"), ("EnforcementStatus", "NotApplicable"),
        ("PolicyStoreSource", "PersistentStore"), ("PolicyStoreSourceType", "Local"),
    ], ctx, computer_name=computer_name)


def _rules(ctx: Ctx, call: Call) -> list[FirewallRule]:
    names = call.names("Name", "DisplayName")
    if names is None:
        names = [o["Name"] for o in call.input if isinstance(o, PSObject) and "Name" in o] or None
    rules = background.effective_rules(ctx.platform)
    if names is None:
        return rules
    param = "DisplayName" if call.has("DisplayName") and not call.has("Name") else "Name"
    found: list[FirewallRule] = []
    for value in names:
        matched = [r for r in rules if like(_rule_label(r, param).lower(), str(value).lower())]
        if not matched and not _is_wildcard(value):
            ctx.error(not_found(call, "MSFT_NetFirewallRule", param, value))
        found.extend(m for m in matched if m not in found)
    return found


@cmdlet("Get-NetFirewallRule", positional=("Name",), params=("Name", "DisplayName", "Enabled", "Direction", "Action",
                                                            "PolicyStore", "CimSession"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.GetNetFirewallRule")
def get_netfirewallrule(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    rules = _rules(ctx, call)
    computer = ctx.computer_name if rules else None  # read once for all the rules
    return [firewall_object(ctx, r, computer) for r in rules]


@cmdlet("Get-NetFirewallPortFilter", params=("All", "Protocol", "LocalPort", "AssociatedNetFirewallRule", "CimSession"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.GetNetFirewallPortFilter")
def get_netfirewallportfilter(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    rules = _rules(ctx, call) if call.input else background.effective_rules(ctx.platform)
    return [cim("MSFT_NetProtocolPortFilter", [
        ("InstanceID", r.name), ("Protocol", r.protocol), ("LocalPort", str(r.port) if r.port is not None else "Any"),
        ("RemotePort", "Any"), ("IcmpType", "Any"), ("DynamicTarget", "Any"),
    ], ctx) for r in rules]


@cmdlet("New-NetFirewallRule", params=("Name", "DisplayName", "Direction", "Action", "Protocol", "LocalPort", "Enabled",
                                       "Profile", "Program", "RemotePort", "Group", "Description", "CimSession"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.NewNetFirewallRule")
def new_netfirewallrule(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    name = str(call.get("Name") or call.get("DisplayName"))
    port = call.get("LocalPort")
    port = None if port is None or str(port).lower() == "any" else int(as_list(port)[0])
    proto = str(call.get("Protocol") or "Any")
    rule = FirewallRule(name=name, direction=str(call.get("Direction") or "Inbound").lower(),
                        action=str(call.get("Action") or "Allow").lower(),
                        protocol=proto.upper() if proto.lower() in ("tcp", "udp") else "Any", port=port,
                        enabled=str(call.get("Enabled", "True")).lower() in ("true", "1"))
    rules = tuple(r for r in ctx.platform.firewall if r.name.lower() != name.lower())
    ctx.lab.update_platform(ctx.owner, firewall=(*rules, rule))
    return [firewall_object(ctx, rule)]


def _change_rules(ctx: Ctx, call: Call, **changes: Any) -> None:
    chosen = {r.name for r in _rules(ctx, call)}
    rules = []
    for r in background.effective_rules(ctx.platform):
        if r.name not in chosen:
            rules.append(r)
        elif changes:
            rules.append(replace(r, **changes))
    ctx.lab.update_platform(ctx.owner, firewall=background.stored_rules(ctx.platform, rules))


@cmdlet("Remove-NetFirewallRule", positional=("Name",), params=("Name", "DisplayName", "CimSession"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.RemoveNetFirewallRule")
def remove_netfirewallrule(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    _change_rules(ctx, call)
    return []


@cmdlet("Enable-NetFirewallRule", positional=("Name",), params=("Name", "DisplayName", "CimSession"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.EnableNetFirewallRule")
def enable_netfirewallrule(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    _change_rules(ctx, call, enabled=True)
    return []


@cmdlet("Disable-NetFirewallRule", positional=("Name",), params=("Name", "DisplayName", "CimSession"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.DisableNetFirewallRule")
def disable_netfirewallrule(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    _change_rules(ctx, call, enabled=False)
    return []


# ----------------------------------------------------------------------------------------------
# Listeners and Test-NetConnection
# ----------------------------------------------------------------------------------------------


def _listeners(ctx: Ctx, proto: str, platform: Platform | None = None) -> list[int]:
    """The lab's own listeners: a VM's services, and netsh portproxy's listen ports (iphlpsvc).
    `platform`: ctx.platform, when the caller has read it already."""
    record = ctx.lab[ctx.owner]
    ports = [s.port for s in record.services if s.protocol == proto] if isinstance(record, VM) else []
    if proto == "TCP":
        ports += [r.listen_port for r in (ctx.platform if platform is None else platform).portproxy]
    return sorted(set(ports))


def _tcp_rows(ctx: Ctx) -> list[tuple[str, int, int]]:
    """(local address, port, owning process) of every TCP listener, system ones included (background)."""
    platform = ctx.platform  # read once: the system listeners, the portproxy rules
    system = background.tcp_listeners(platform)
    rows = {(("0.0.0.0", s.port)): s.process for s in system}
    if system:  # NetBIOS session service: on each IPv4 address, not on 0.0.0.0
        for item in _shared_interfaces(ctx):
            if item["cidr"]:
                rows[(ip_of(item["cidr"]), background.NETBIOS_TCP)] = 4
    listening = _listeners(ctx, "TCP", platform)
    if listening:
        proxied = [r.listen_port for r in platform.portproxy]
        for port in listening:
            rows.setdefault(("0.0.0.0", port), 4 if port in proxied else 2840)
    if not rows:
        return []  # most guests of a generated lab: nothing listens
    return sorted(((a, p, pid) for (a, p), pid in rows.items()), key=lambda r: (r[0] != "0.0.0.0", r[0], r[1]))


@cmdlet("Get-NetTCPConnection", params=("State", "LocalPort", "LocalAddress", "CimSession"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.GetNetTCPConnection")
def get_nettcpconnection(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    named = call.named  # canonical lower-case names (`bind`)
    state = str(named.get("state") or "Listen")
    if state.lower() != "listen":
        return []
    rows = _tcp_rows(ctx)
    if "localport" in named:
        rows = [r for r in rows if r[1] in [int(x) for x in as_list(named["localport"])]]
    computer = ctx.computer_name if rows else None  # read once for all the rows
    return [TCP_LISTENER_SHAPE.make({"LocalAddress": address, "LocalPort": port, "OwningProcess": pid,
                                     "PSComputerName": computer}) for address, port, pid in rows]


# Get-NetTCPConnection -State Listen's rows; VARIES: set per listener.
TCP_LISTENER_SHAPE = cim_shape("MSFT_NetTCPConnection", [
    ("LocalAddress", VARIES), ("LocalPort", VARIES), ("RemoteAddress", "0.0.0.0"), ("RemotePort", 0),
    ("State", enums.tcp_state("Listen")), ("AppliedSetting", None), ("OwningProcess", VARIES),
])


@cmdlet("Get-NetUDPEndpoint", params=("LocalPort", "LocalAddress", "CimSession"),
        cls="Microsoft.Management.Infrastructure.CimCmdlets.GetNetUDPEndpoint")
def get_netudpendpoint(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    system = background.udp_ports(ctx.platform)
    ports = sorted(set(_listeners(ctx, "UDP")) | set(system))
    rows = [("0.0.0.0", p) for p in ports]
    if system:
        rows += [(ip_of(i["cidr"]), p) for i in _shared_interfaces(ctx) if i["cidr"] for p in background.NETBIOS_UDP]
    computer = ctx.computer_name if rows else None  # read once for all the rows
    return [cim("MSFT_NetUDPEndpoint", [("LocalAddress", a), ("LocalPort", p), ("OwningProcess", 4)], ctx,
                computer_name=computer) for a, p in rows]


def resolve(ctx: Ctx, name: str) -> str:
    """An IP address, a VM or host name (its first address), or else the internet (the LAN)."""
    try:
        ipaddress.ip_address(name)
        return name
    except ValueError:
        pass
    lab = ctx.lab
    for vm in lab.all_vms():
        if lab[vm].name.lower() == name.lower():
            for adapter in lab.adapters(vm):
                if lab[adapter].ip:
                    return ip_of(lab[adapter].ip)
    for host in lab.hosts():
        if host.lower() == name.lower():
            for nic in lab.owned(host, "nic"):
                return ip_of(lab[nic].ip)
    root = lab.root_host(ctx.owner)
    for nic in lab.owned(root, "nic"):
        nets = lab.out(nic, Edge.UPLINK)
        if nets:
            return nets[0]
    return name


@cmdlet("Test-NetConnection", positional=("ComputerName",),
        params=("ComputerName", "Port", "CommonTCPPort", "InformationLevel", "TraceRoute"),
        cls="Microsoft.PowerShell.Commands.TestNetConnectionCommand")
def test_netconnection(ctx: Ctx, call: Call) -> Iterable[PSObject]:
    name = str(call.get("ComputerName") or "internetbeacon.msedge.net")
    port = int(call.get("Port") or {"http": 80, "rdp": 3389, "smb": 445, "winrm": 5985}.get(
        str(call.get("CommonTCPPort") or "").lower(), 0))
    destination = resolve(ctx, name)
    result = network.trace(ctx.lab, ctx.owner, destination, port or 0, "TCP" if port else "ICMP")
    source = next((i for i in interfaces(ctx) if i["cidr"]), None)
    props: list[tuple[str, Any]] = [
        ("ComputerName", name), ("RemoteAddress", destination if not destination.startswith("network:") else "13.107.4.52"),
    ]
    if port:
        props.append(("RemotePort", port))
    props += [("InterfaceAlias", source["alias"] if source else ""),
              ("SourceAddress", ip_of(source["cidr"]) if source else "")]
    if port:
        props.append(("TcpTestSucceeded", result.delivered))
    else:
        props += [("PingSucceeded", result.delivered), ("PingReplyDetails (RTT)", "1 ms" if result.delivered else "0 ms")]
    props.append(("NestlabTrace", str(result)))
    return [obj("TestNetConnectionResult", props)]
