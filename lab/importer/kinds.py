"""Which Hyper-V or Windows object a printed record is, from its property names alone.

Customers send files under any name and in any order, so the importer recognises each record
by the properties PowerShell printed (the names of notes.md §4 and docs/evidence.md), not by
the file it came in.
"""

from __future__ import annotations

from typing import Callable

from nestlab.lab.importer.textobject import TextObject

Rule = Callable[[set[str]], bool]


def _all(*names: str) -> Rule:
    return lambda n: all(x in n for x in names)


def _any(*names: str) -> Rule:
    return lambda n: any(x in n for x in names)


# First match wins: more specific shapes come first.
KINDS: tuple[tuple[str, Rule], ...] = (
    ("vhd", _any("vhdtype", "vhdformat")),
    ("switch", _all("switchtype")),
    ("adapter", lambda n: "macaddress" in n and ("switchname" in n or "ismanagementos" in n)),
    ("processor", lambda n: "state" not in n and "exposevirtualizationextensions" in n or _all("count", "compatibilityformigrationenabled")(n)),
    ("memory", lambda n: "dynamicmemoryenabled" in n and ("startup" in n or "startup(m)" in n)),
    ("vm", lambda n: "state" in n and _any("name", "vmname")(n)
        and _any("generation", "uptime", "cpuusage", "cpuusage(%)", "memoryassigned", "memoryassigned(m)")(n)),
    ("nat", _all("internalipinterfaceaddressprefix")),
    ("mapping", _all("natname", "internalport")),
    ("deviceguard", _all("virtualizationbasedsecuritystatus")),
    ("os", _all("caption", "buildnumber")),
    ("computersystem", _any("totalphysicalmemory", "hypervisorpresent")),
    ("cpu", _any("numberoflogicalprocessors", "vmmonitormodeextensions")),
    ("registry", _all("pschildname")),
    ("feature", _any("installstate", "install state", "featurename")),
    ("harddrive", _all("controllertype", "path")),
    ("ipaddress", _all("ipaddress", "prefixlength")),
    ("route", _all("nexthop", "destinationprefix")),
    ("volume", _all("driveletter", "sizeremaining")),
    ("partition", _all("driveletter", "disknumber", "partitionnumber")),
    ("physicaldisk", _all("mediatype", "deviceid")),
    ("portfilter", _all("localport", "protocol", "instanceid")),
    ("firewall", _all("direction", "action", "enabled", "name")),
    ("antivirus", _all("displayname", "productstate")),
    ("minifilter", _all("filter name", "altitude")),  # fltmc filters
    ("hotfix", _all("hotfixid", "installedon")),
    ("imds", _all("vmsize")),
    ("bandwidth", _all("maximumbandwidth")),
    ("tcplistener", _all("localport", "remoteport")),
    ("udplistener", lambda n: "localport" in n and "localaddress" in n and "remoteport" not in n),
    ("childitem", _all("fullname")),
    ("profile", _all("networkcategory", "interfacealias")),
    ("netadapter", _all("interfacedescription", "macaddress")),
    ("service", _all("status", "name", "displayname")),
    ("event", lambda n: "id" in n and "message" in n and _any("providername", "timecreated", "logname")(n)),
)


def kind_of(obj: TextObject) -> str | None:
    if obj.view in ("systeminfo", "bcdedit", "portproxy", "msinfo32"):
        return obj.view
    if obj.view == "scalar":
        verb = (obj.command or "").split(" ", 1)[0].lower()
        return {"test-path": "testpath", "test-vhd": "testvhd"}.get(verb, "scalar")
    names = obj.names()
    for kind, rule in KINDS:
        if rule(names):
            return kind
    return None
