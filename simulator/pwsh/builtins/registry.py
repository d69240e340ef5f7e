"""Get-ItemProperty for the one key scripts read that the registry model does not hold:
HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion (ProductName, EditionID, InstallationType,
CurrentBuild, BuildLabEx …), derived from the host's Win32_OperatingSystem answer so it can never
disagree with it. Every other path goes to the simulated Get-ItemProperty (registry_keys) unchanged.

BuildLabEx shapes are Windows' own ("17763.1.amd64fre.rs5_release.180914-1434"); the branch per
build is the public release naming (rs1 14393, rs5 17763, vb 19041-19045, fe 20348, ni 22621,
ge 26100).
"""

from __future__ import annotations

from typing import Any

from nestlab.simulator.psdata import Command, PSObject
from nestlab.simulator.pwsh.builtins import BuiltinCall, builtin
from nestlab.simulator.pwsh.values import enumerate_value, to_str

CURRENT_VERSION = "SOFTWARE\\MICROSOFT\\WINDOWS NT\\CURRENTVERSION"
BRANCHES = {14393: "rs1_release.160715-1616", 17763: "rs5_release.180914-1434", 19041: "vb_release.191206-1406",
            19045: "vb_release.191206-1406", 20348: "fe_release.210507-1500", 22621: "ni_release.220506-1250",
            26100: "ge_release.240331-1435"}


def _key(path: str) -> str:
    p = path.strip().strip("'\"").replace("/", "\\")
    for prefix in ("Microsoft.PowerShell.Core\\Registry::", "Registry::", "HKLM:\\", "HKLM:", "HKEY_LOCAL_MACHINE\\"):
        if p.upper().startswith(prefix.upper()):
            p = p[len(prefix):]
            break
    return p.rstrip("\\").upper()


def _current_version(call: BuiltinCall, path: str) -> PSObject | None:
    result = call.session.execute(call.session.context, (Command("Get-CimInstance", (("ClassName", "Win32_OperatingSystem"),)),))
    if not result.output:
        return None
    os_info = result.output[0]
    build = int(to_str(os_info.get("BuildNumber")) or 0)
    caption = to_str(os_info.get("Caption"))
    server = "Server" in caption
    edition = ("ServerDatacenter" if "Datacenter" in caption else "ServerStandard") if server else \
        ("Enterprise" if "Enterprise" in caption else "Professional")
    product = caption.replace("Microsoft ", "", 1)
    values = [("SystemRoot", "C:\\Windows"), ("BuildBranch", BRANCHES.get(build, "release").split(".")[0]),
              ("CurrentBuild", str(build)), ("CurrentBuildNumber", str(build)), ("CurrentMajorVersionNumber", 10),
              ("CurrentMinorVersionNumber", 0), ("CurrentType", "Multiprocessor Free"), ("CurrentVersion", "6.3"),
              ("EditionID", edition), ("InstallationType", "Server" if server else "Client"), ("ProductName", product),
              ("BuildLab", f"{build}.{BRANCHES.get(build, 'release.000000-0000')}"),
              ("BuildLabEx", f"{build}.1.amd64fre.{BRANCHES.get(build, 'release.000000-0000')}"),
              ("RegisteredOwner", "Windows User"), ("UBR", 1)]
    ps_path = "Microsoft.PowerShell.Core\\Registry::HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"
    values += [("PSPath", ps_path), ("PSParentPath", ps_path.rsplit("\\", 1)[0]), ("PSChildName", "CurrentVersion"),
               ("PSDrive", "HKLM"), ("PSProvider", "Microsoft.PowerShell.Core\\Registry")]
    wanted = [to_str(n).lower() for n in enumerate_value(call.get("Name"))]
    if wanted:
        values = [(k, v) for k, v in values if k.lower() in wanted or k.startswith("PS")]
    return PSObject(("System.Management.Automation.PSCustomObject", "System.Object"), values, "")


@builtin("Get-ItemProperty", positional=("Path", "Name"), params=("Path", "LiteralPath", "Name", "Include", "Exclude", "Filter"))
def get_item_property(call: BuiltinCall) -> list[Any]:
    paths = [to_str(p) for p in enumerate_value(call.get("Path") if call.has("Path") else call.get("LiteralPath"))]
    if not paths and call.input:
        paths = [to_str(p) for p in call.input]
    out: list[Any] = []
    rest: list[str] = []
    for path in paths:
        if _key(path) == CURRENT_VERSION:
            found = _current_version(call, path)
            if found is not None:
                out.append(found)
        else:
            rest.append(path)
    if rest:
        params: list[tuple[str, Any]] = [("Path", rest if len(rest) > 1 else rest[0])]
        if call.has("Name"):
            params.append(("Name", call.get("Name")))
        result = call.session.execute(call.session.context, (Command("Get-ItemProperty", tuple(params)),))
        for rec in result.errors:
            call.session.write_error(rec, call.action, call.evaluator.script.position(call.stage.node))
        out.extend(result.output)
    return out
