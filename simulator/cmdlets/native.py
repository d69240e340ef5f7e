"""Native commands (netsh, bcdedit, reg, net, systeminfo): positional arguments in, lines of text out.

Texts: samples/netsh-portproxy-show-all.txt (column layout 0/16/28/44), error-winnat.txt sample A
(`net start winnat`), systeminfo-hyperv-requirements.txt. A boot setting written with bcdedit is
pending until Restart-Computer (simulator.cmdlets.system.reboot).
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Iterable

from nestlab.simulator import behaviour
from nestlab.simulator.cmdlets import registry_keys
from nestlab.simulator.cmdlets.base import Call, Ctx, cmdlet
from nestlab.simulator.cmdlets.system import hypervisor_present, start_service
from nestlab.simulator.model import VM, PortProxyRule

OK = "The operation completed successfully."


def _args(call: Call) -> list[str]:
    return [str(a) for a in call.arguments]


def _lowered_args(call: Call) -> list[str]:
    """`[a.lower() for a in _args(call)]` in one pass (every place runs bcdedit, netsh and fltmc)."""
    return [str(a).lower() for a in call.arguments]


# ----------------------------------------------------------------------------------------------
# netsh interface portproxy
# ----------------------------------------------------------------------------------------------


def portproxy_table(rules: tuple[PortProxyRule, ...]) -> list[str]:
    if not rules:
        return [""]
    lines = ["", "Listen on ipv4:             Connect to ipv4:", "",
             "Address         Port        Address         Port",
             "--------------- ----------  --------------- ----------"]
    lines += [f"{r.listen_address:<16}{r.listen_port:<12}{r.connect_address:<16}{r.connect_port}" for r in rules]
    return lines + [""]


def _keyvalues(args: list[str]) -> dict[str, str]:
    out = {}
    for a in args:
        key, sep, value = a.partition("=")
        if sep:
            out[key.lower()] = value
    return out


@cmdlet("netsh")
def netsh(ctx: Ctx, call: Call) -> Iterable[str]:
    args = _lowered_args(call)
    if len(args) >= 3 and args[0] in ("interface", "int", "in") and args[1] == "portproxy":
        verb = args[2]
        rules = ctx.platform.portproxy
        if verb == "show":
            return portproxy_table(rules)
        kv = _keyvalues(_args(call)[3:])
        listen = kv.get("listenaddress", "0.0.0.0")
        if verb == "add" and "listenport" in kv and "connectaddress" in kv:
            rule = PortProxyRule(listen_address=listen, listen_port=int(kv["listenport"]),
                                 connect_address=kv["connectaddress"], connect_port=int(kv.get("connectport", kv["listenport"])))
            kept = tuple(r for r in rules if (r.listen_address, r.listen_port) != (listen, rule.listen_port))
            ctx.lab.update_platform(ctx.owner, portproxy=(*kept, rule))
            return [""]
        if verb == "delete" and "listenport" in kv:
            port = int(kv["listenport"])
            kept = tuple(r for r in rules if not (r.listen_port == port and r.listen_address == listen))
            if len(kept) == len(rules):
                return ["The system cannot find the file specified.", ""]
            ctx.lab.update_platform(ctx.owner, portproxy=kept)
            return [""]
        if verb == "reset":
            ctx.lab.update_platform(ctx.owner, portproxy=())
            return [""]
    return [f"The following command was not found: {' '.join(_args(call))}.", ""]


# ----------------------------------------------------------------------------------------------
# bcdedit
# ----------------------------------------------------------------------------------------------


def launch_type(ctx: Ctx) -> str:
    """What the BCD store says (a pending /set shows at once, takes effect at reboot)."""
    return ctx.pending_boot().get("hypervisor_launch", ctx.platform.hypervisor_launch)


@lru_cache(maxsize=64)  # the captions of a lab's systems: a handful
def _description(caption: str) -> str:
    """bcdedit's description line for an OS caption, one text per caption (every guest's answer holds one)."""
    return f"description             {caption.replace('Microsoft ', '')}"


@cmdlet("bcdedit")
def bcdedit(ctx: Ctx, call: Call) -> Iterable[str]:
    args = _lowered_args(call)
    if args and args[0] == "/set":
        rest = [a for a in args[1:] if not a.startswith("{")]
        if len(rest) >= 2 and rest[0] == "hypervisorlaunchtype" and rest[1] in ("auto", "off"):
            ctx.set_pending_boot("hypervisor_launch", rest[1])
            return [OK]
        return ["The set command specified is not valid.", "Run \"bcdedit /?\" for command line assistance.",
                "The parameter is incorrect."]
    if not args or args[0] in ("/enum", "/v"):
        platform = ctx.platform
        launch = launch_type(ctx)  # read once: whether the line shows, and what it says
        lines = ["", "Windows Boot Loader", "-------------------", "identifier              {current}",
                 "device                  partition=C:", "path                    \\Windows\\system32\\winload.efi",
                 _description(platform.os.caption),
                 "locale                  en-US", "inherit                 {bootloadersettings}",
                 "osdevice                partition=C:", "systemroot              \\Windows", "nx                      OptOut",
                 "bootmenupolicy          Standard"]
        if platform.hyperv_installed or launch == "off":
            lines.append(f"hypervisorlaunchtype    {launch.capitalize()}")
        return lines
    return ["The parameter is incorrect.", "Run \"bcdedit /?\" for command line assistance."]


# ----------------------------------------------------------------------------------------------
# reg
# ----------------------------------------------------------------------------------------------

REG_MISSING = "ERROR: The system was unable to find the specified registry key or value."


def _flag(args: list[str], name: str) -> str | None:
    low = [a.lower() for a in args]
    if name in low and low.index(name) + 1 < len(args):
        return args[low.index(name) + 1]
    return None


@cmdlet("reg")
def reg(ctx: Ctx, call: Call) -> Iterable[str]:
    args = _args(call)
    if len(args) < 2:
        return ["ERROR: Invalid syntax.", "Type \"REG /?\" for usage."]
    verb, key = args[0].lower(), args[1]
    name = _flag(args, "/v")
    if verb == "delete" and name:
        return [OK] if registry_keys.write_value(ctx, key, name, None) else [REG_MISSING]
    if verb == "add" and name:
        data = _flag(args, "/d") or "0"
        value = int(data, 16) if data.lower().startswith("0x") else int(data)
        return [OK] if registry_keys.write_value(ctx, key, name, value) else ["ERROR: Access is denied."]
    if verb == "query":
        values = registry_keys.read_key(ctx, key)
        if values is None or (name and not any(k.lower() == name.lower() for k in values)):
            return [REG_MISSING]
        shown = {k: v for k, v in values.items() if not name or k.lower() == name.lower()}
        return ["", "HKEY_LOCAL_MACHINE\\" + registry_keys.normalize(key).title().replace("Currentcontrolset",
                                                                                           "CurrentControlSet"),
                *[f"    {k}    REG_DWORD    {v:#x}" for k, v in shown.items()], ""]
    return ["ERROR: Invalid syntax.", "Type \"REG /?\" for usage."]


# ----------------------------------------------------------------------------------------------
# net start / stop, systeminfo
# ----------------------------------------------------------------------------------------------


@cmdlet("net")
def net(ctx: Ctx, call: Call) -> Iterable[str]:
    args = _lowered_args(call)
    if len(args) == 2 and args[1] == "winnat" and args[0] in ("start", "stop"):
        state = ctx.platform.services.winnat
        if args[0] == "stop":
            if state != "running":
                return ["The Windows NAT Driver service is not started.", "",
                        "More help is available by typing NET HELPMSG 3521.", ""]
            ctx.lab.update_platform(ctx.owner, services=replace(ctx.platform.services, winnat="stopped"))
            return ["The Windows NAT Driver service was stopped successfully.", ""]
        if state == "running":
            return ["The requested service has already been started.", "",
                    "More help is available by typing NET HELPMSG 2182.", ""]
        if not start_service(ctx, "winnat"):
            # samples/error-winnat.txt sample A (ptrumpis/snap-camera-server#147)
            return ["System error 32 has occurred.", "",
                    "The process cannot access the file because it is being used by another process.", ""]
        return ["The Windows NAT Driver service was started successfully.", ""]
    return ["The syntax of this command is:", "", "NET", "    [ ACCOUNTS | COMPUTER | CONFIG | CONTINUE | FILE | GROUP | HELP |"]


@cmdlet("systeminfo")
def systeminfo(ctx: Ctx, call: Call) -> Iterable[str]:
    record = ctx.lab[ctx.owner]
    platform = ctx.platform
    virtual = isinstance(record, VM) or record.kind == "azure-vm"
    memory = behaviour.guest_memory_gb(ctx.lab, ctx.owner) if isinstance(record, VM) else record.memory_gb
    cpu = ctx.lab[ctx.lab.root_host(ctx.owner)].cpu
    lines = [
        "", f"Host Name:                 {record.name.upper()}", f"OS Name:                   {platform.os.caption}",
        f"OS Version:                10.0.{platform.os.build} N/A Build {platform.os.build}",
        f"System Manufacturer:       {'Microsoft Corporation' if virtual else 'Dell Inc.'}",
        f"System Model:              {'Virtual Machine' if virtual else 'PowerEdge R750'}",
        "System Type:               x64-based PC",
        f"Total Physical Memory:     {int(memory * 1024):,} MB",
    ]
    if hypervisor_present(ctx):
        lines.append("Hyper-V Requirements:      A hypervisor has been detected. Features required for Hyper-V will "
                     "not be displayed.")
    else:
        yes = lambda b: "Yes" if b else "No"  # noqa: E731
        lines += [f"Hyper-V Requirements:      VM Monitor Mode Extensions: {yes(cpu.virtualization_extensions)}",
                  f"                           Virtualization Enabled In Firmware: {yes(cpu.enabled_in_firmware)}",
                  f"                           Second Level Address Translation: {yes(cpu.slat)}",
                  "                           Data Execution Prevention Available: Yes"]
    return lines



# ----------------------------------------------------------------------------------------------
# hostname, ipconfig
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# fltmc (Filter Manager Control Program): `fltmc` and `fltmc filters` list the loaded minifilters
# ----------------------------------------------------------------------------------------------

FLTMC_HEADER = ["", "Filter Name                     Num Instances    Altitude    Frame",
                "------------------------------  -------------  ------------  -----"]


@cmdlet("fltmc")
def fltmc(ctx: Ctx, call: Call) -> Iterable[str]:
    """The layout of real captures (public fltmc outputs: name in 32 columns, instances right-aligned
    to column 41, the altitude's integer part to column 54, a fraction after it, frame 0)."""
    from nestlab.simulator.cmdlets import background

    args = _lowered_args(call)
    if args not in ([], ["filters"]):
        return ["", "Invalid command. Run fltmc help for a list of valid commands.", ""]
    lines = list(FLTMC_HEADER)
    for f in background.minifilters(ctx.platform):
        whole, _, fraction = f.altitude.partition(".")
        lines.append(f"{f.name:<32}{f.instances:>9}{whole:>13}{('.' + fraction) if fraction else '':<9}0")
    return lines + [""]


@cmdlet("hostname")
def hostname(ctx: Ctx, call: Call) -> Iterable[str]:
    """hostname.exe prints the computer name as it was set (case kept), nothing else."""
    return [ctx.computer_name]


@cmdlet("ipconfig")
def ipconfig(ctx: Ctx, call: Call) -> Iterable[str]:
    """`ipconfig` (no /all): one block per adapter, as Windows Server 2022 prints it.

    Layout: pywinrm's recorded `ipconfig` answer (winrm/tests/conftest.py) and the Windows
    Server 2022 console: a blank line, "Windows IP Configuration", then per adapter
    "Ethernet adapter NAME:" and dotted labels padded to column 39.
    """
    from nestlab.simulator.cmdlets.network import interfaces  # network imports this module's neighbours

    args = _lowered_args(call)
    if args and args[0] not in ("/all",):
        return ["", "Error: unrecognized or incomplete command line.", "",
                "USAGE:", "    ipconfig [/allcompartments] [/? | /all | ", ""]
    lines = ["", "Windows IP Configuration", ""]
    for iface in interfaces(ctx):
        lines += ["", f"Ethernet adapter {iface['alias']}:", ""]
        if not iface.get("up", True):
            lines += [_dotted("Media State", "Media disconnected"), _dotted("Connection-specific DNS Suffix", "")]
            continue
        lines.append(_dotted("Connection-specific DNS Suffix", ""))
        if iface["cidr"]:
            import ipaddress

            address = ipaddress.ip_interface(iface["cidr"])
            lines += [_dotted("IPv4 Address", str(address.ip)), _dotted("Subnet Mask", str(address.netmask))]
        else:
            lines.append(_dotted("Autoconfiguration IPv4 Address", "169.254.0.1"))
        lines.append(_dotted("Default Gateway", iface.get("gateway") or ""))
    return lines


def _dotted(label: str, value: str) -> str:
    """`   IPv4 Address. . . . . . . . . . . : 10.0.0.5`: dots on the odd columns up to 35, the colon at 37."""
    text = "   " + label + (" " if label == "Connection-specific DNS Suffix" else "")  # its resource string has the space
    text += "".join("." if column % 2 else " " for column in range(len(text), 37))
    return f"{text}: {value}"


# ----------------------------------------------------------------------------------------------
# exit codes
# ----------------------------------------------------------------------------------------------

# The exit code each native command ends with when it prints one of its failure messages (and 0
# otherwise): what %ERRORLEVEL% / $LASTEXITCODE shows after it. net: NERR codes end with exit 2
# ("NET HELPMSG"), a syntax error with 1; netsh, bcdedit and reg end with 1 on any error.
_FAILURES: dict[str, tuple[tuple[str, int], ...]] = {
    "net": (("System error", 2), ("More help is available by typing NET HELPMSG", 2), ("The syntax of this command is:", 1)),
    "netsh": (("The following command was not found", 1), ("The system cannot find the file specified.", 1)),
    "bcdedit": (("The parameter is incorrect.", 1), ("The set command specified is not valid.", 1)),
    "reg": (("ERROR:", 1),),
    "ipconfig": (("Error: unrecognized", 1),),
}


def exit_code(name: str, lines: Iterable[str]) -> int:
    """The exit code native command `name` ends with after printing `lines`."""
    failures = _FAILURES.get(name.lower(), ())
    for line in lines:
        for start, code in failures:
            if str(line).startswith(start):
                return code
    return 0
