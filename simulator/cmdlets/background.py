"""What every Windows of an edition and build shows that no lab file lists (`os.background: realistic`).

A real host is never as clean as a lab file: its guests listen on RPC, SMB and WinRM ports, its
firewall holds a few hundred built-in rules, a Windows 10/11 host with Hyper-V has the Default
Switch, a client has Defender in root/SecurityCenter2 (a server has no such namespace), and its
event logs hold days of routine service-control and VM-lifecycle entries in front of anything that
matters. All of it is derived here from the edition, the build and the records' state, so lab files
stay short; `minimal` (the default) shows none of it. Sources: docs/fidelity.md ("background").
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from nestlab.simulator import behaviour
from nestlab.simulator.model import FirewallRule, Platform, Switch

# Windows 10 1709 (16299) brought the Default Switch (Virtualization-Documentation, "Default Switch").
DEFAULT_SWITCH_BUILD = 16299
# The Default Switch's Id is the same GUID on every Windows 10/11 host (docs/fidelity.md): tools
# find it by that Id, not by its name (code-ready/crc `hypervDefaultVirtualSwitchId`,
# `Get-VMSwitch -Id c08cb7b8-…`; canonical/multipass `kDefaultHyperVSwitchGUID`).
DEFAULT_SWITCH_ID = "c08cb7b8-9b3c-408e-8e30-5e16a3aeb444"
DEFAULT_SWITCH = "Default Switch"


def realistic(platform: Platform) -> bool:
    return platform.os.background == "realistic"


def is_client(platform: Platform) -> bool:
    return not behaviour.is_server(platform)


def _number(*parts: str) -> int:
    return int(hashlib.sha1("\x00".join(parts).encode()).hexdigest()[:8], 16)


# ----------------------------------------------------------------------------------------------
# Listeners (Get-NetTCPConnection -State Listen / Get-NetUDPEndpoint)
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemListener:
    port: int
    process: int  # OwningProcess: 4 = System (HTTP.sys, SMB), others the svchost/lsass/wininit PIDs
    service: str


# netstat -ano of a fresh Windows Server 2016+ (WinRM on by default since 2012) and Windows 10/11
# (no WinRM listener until Enable-PSRemoting; CDPSvc 5040 and Delivery Optimization 7680 instead).
SERVER_TCP = (
    SystemListener(135, 912, "RpcSs"), SystemListener(445, 4, "LanmanServer"), SystemListener(5985, 4, "WinRM"),
    SystemListener(47001, 4, "WinRM"), SystemListener(49664, 680, "lsass"), SystemListener(49665, 540, "wininit"),
    SystemListener(49666, 1084, "EventLog"), SystemListener(49667, 1500, "Schedule"),
    SystemListener(49668, 2060, "spoolsv"), SystemListener(49669, 664, "services"),
)
CLIENT_TCP = (
    SystemListener(135, 1012, "RpcSs"), SystemListener(445, 4, "LanmanServer"), SystemListener(5040, 7388, "CDPSvc"),
    SystemListener(7680, 9124, "DoSvc"), SystemListener(49664, 992, "lsass"), SystemListener(49665, 764, "wininit"),
    SystemListener(49666, 1560, "EventLog"), SystemListener(49667, 1916, "Schedule"),
    SystemListener(49668, 3044, "spoolsv"), SystemListener(49669, 968, "services"),
)
SERVER_UDP = (123, 500, 4500, 5353, 5355)
CLIENT_UDP = (123, 500, 1900, 4500, 5050, 5353, 5355)
NETBIOS_TCP = 139  # on each IPv4 address, not on 0.0.0.0
NETBIOS_UDP = (137, 138)


def tcp_listeners(platform: Platform) -> tuple[SystemListener, ...]:
    if not realistic(platform):
        return ()
    return CLIENT_TCP if is_client(platform) else SERVER_TCP


def udp_ports(platform: Platform) -> tuple[int, ...]:
    if not realistic(platform):
        return ()
    return CLIENT_UDP if is_client(platform) else SERVER_UDP


# ----------------------------------------------------------------------------------------------
# Built-in firewall rules (Get-NetFirewallRule): a representative part of the ~400 of a fresh install.
# Only rules a FirewallRule can express (TCP/UDP and a port): the ICMP/IGMP rules and the program- or
# RPC-scoped ones (WMI, Remote Event Log, Hyper-V - WMI) would read as "allow every port" here.
# ----------------------------------------------------------------------------------------------

# (Name, DisplayName, DisplayGroup, direction, protocol, port, profile, enabled on server, on client)
_RULES: tuple[tuple[str, str, str, str, str, int | None, str, bool, bool], ...] = (
    ("CoreNet-DHCP-In", "Core Networking - Dynamic Host Configuration Protocol (DHCP-In)", "Core Networking",
     "inbound", "UDP", 68, "Any", True, True),
    ("CoreNet-DHCP-Out", "Core Networking - Dynamic Host Configuration Protocol (DHCP-Out)", "Core Networking",
     "outbound", "UDP", 67, "Any", True, True),
    ("CoreNet-DNS-Out-UDP", "Core Networking - DNS (UDP-Out)", "Core Networking", "outbound", "UDP", 53, "Any",
     True, True),
    ("FPS-SMB-In-TCP", "File and Printer Sharing (SMB-In)", "File and Printer Sharing", "inbound", "TCP", 445, "Any",
     True, False),
    ("FPS-NB_Session-In-TCP", "File and Printer Sharing (NB-Session-In)", "File and Printer Sharing", "inbound",
     "TCP", 139, "Any", True, False),
    ("FPS-NB_Name-In-UDP", "File and Printer Sharing (NB-Name-In)", "File and Printer Sharing", "inbound", "UDP",
     137, "Any", True, False),
    ("WINRM-HTTP-In-TCP", "Windows Remote Management (HTTP-In)", "Windows Remote Management", "inbound", "TCP",
     5985, "Domain, Private", True, False),
    ("WINRM-HTTP-In-TCP-PUBLIC", "Windows Remote Management (HTTP-In)", "Windows Remote Management", "inbound",
     "TCP", 5985, "Public", True, False),
    ("RemoteDesktop-UserMode-In-TCP", "Remote Desktop - User Mode (TCP-In)", "Remote Desktop", "inbound", "TCP",
     3389, "Any", False, False),
    ("RemoteDesktop-UserMode-In-UDP", "Remote Desktop - User Mode (UDP-In)", "Remote Desktop", "inbound", "UDP",
     3389, "Any", False, False),
    ("MDNS-In-UDP", "mDNS (UDP-In)", "mDNS", "inbound", "UDP", 5353, "Any", True, True),
    ("NETDIS-NB_Name-In-UDP", "Network Discovery (NB-Name-In)", "Network Discovery", "inbound", "UDP", 137,
     "Private", False, True),
    ("NETDIS-SSDPSrv-In-UDP", "Network Discovery (SSDP-In)", "Network Discovery", "inbound", "UDP", 1900, "Private",
     False, True),
)
# Added with the Hyper-V role (group "Hyper-V" and the Replica listeners, off until Replica is configured).
_HYPERV_RULES: tuple[tuple[str, str, str, str, str, int | None, str, bool, bool], ...] = (
    ("VIRT-REMOTEDESKTOP-In-TCP-NoScope", "Hyper-V (REMOTE_DESKTOP_TCP-In)", "Hyper-V", "inbound", "TCP", 2179,
     "Any", True, True),
    ("VIRT-MIGL-In-TCP-NoScope", "Hyper-V (MIG-TCP-In)", "Hyper-V", "inbound", "TCP", 6600, "Any", True, False),
    ("VIRT-HVRHTTPL-In-TCP-NoScope", "Hyper-V Replica HTTP Listener (TCP-In)", "Hyper-V Replica HTTP", "inbound",
     "TCP", 80, "Any", False, False),
    ("VIRT-HVRHTTPSL-In-TCP-NoScope", "Hyper-V Replica HTTPS Listener (TCP-In)", "Hyper-V Replica HTTPS", "inbound",
     "TCP", 443, "Any", False, False),
)


def builtin_rules(platform: Platform) -> tuple[FirewallRule, ...]:
    if not realistic(platform):
        return ()
    client = is_client(platform)
    rows = _RULES + (_HYPERV_RULES if platform.hyperv_installed else ())
    return tuple(FirewallRule(name=name, display_name=display, group=f"@FirewallAPI.dll,-{_number(group) % 40000}",
                              display_group=group, direction=direction, action="allow", protocol=proto, port=port,
                              profile=profile, enabled=on_client if client else on_server)
                 for name, display, group, direction, proto, port, profile, on_server, on_client in rows)


def effective_rules(platform: Platform) -> list[FirewallRule]:
    """Built-in rules, each replaced by the lab's own rule of the same Name, then the lab's other rules."""
    builtin = builtin_rules(platform)
    if not builtin:  # a minimal platform has none: its own rules, in their order (what the merge below gives)
        return list(platform.firewall)
    own = {r.name.lower(): r for r in platform.firewall}
    names = {r.name.lower() for r in builtin}
    return [own.get(r.name.lower(), r) for r in builtin] + [r for r in platform.firewall if r.name.lower() not in names]


def stored_rules(platform: Platform, rules: list[FirewallRule]) -> tuple[FirewallRule, ...]:
    """What the lab must keep of an effective rule list: its own rules and changed built-in ones."""
    builtin = {r.name.lower(): r for r in builtin_rules(platform)}
    return tuple(r for r in rules if builtin.get(r.name.lower()) != r)


# ----------------------------------------------------------------------------------------------
# The Default Switch of Windows 10/11 (Internal, ICS gives it DHCP and NAT; there is no NetNat)
# ----------------------------------------------------------------------------------------------


def default_switch(platform: Platform, owner: str) -> tuple[str, Switch] | None:
    """(pseudo node id, record) of the Default Switch, or None where the host has none."""
    if not (realistic(platform) and is_client(platform) and platform.hyperv_installed
            and platform.os.build >= DEFAULT_SWITCH_BUILD):
        return None
    # ICS picks a /20 in 172.16.0.0/12 at each boot; derived from the host so it is stable here
    block = _number("default-switch", owner) % 256
    net = ipaddress.ip_network(f"172.{16 + block // 16}.{(block % 16) * 16}.0/20")
    return f"{owner}:switch:{DEFAULT_SWITCH}", Switch(name=DEFAULT_SWITCH, type="Internal",
                                                      host_ip=f"{net.network_address + 1}/20")


def is_windows_default_switch(platform: Platform, name: str) -> bool:
    """Whether a switch of this name on this platform is Windows' own Default Switch (with its fixed
    Id): a client of build 16299+, whatever the lab's background; on a server it is someone's own."""
    return name == DEFAULT_SWITCH and is_client(platform) and platform.os.build >= DEFAULT_SWITCH_BUILD


# ----------------------------------------------------------------------------------------------
# Security Center (root/SecurityCenter2 exists on client editions only)
# ----------------------------------------------------------------------------------------------


def security_center(platform: Platform) -> bool:
    return not realistic(platform) or is_client(platform)


def defender(platform: Platform) -> tuple[str, ...]:
    """Antivirus products a client's Security Center lists besides the lab's own."""
    return ("Windows Defender",) if realistic(platform) and is_client(platform) else ()


# ----------------------------------------------------------------------------------------------
# File-system minifilters (fltmc filters): what Windows loads, and the anti-virus products' own
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Minifilter:
    name: str
    instances: int
    altitude: str  # an infinite-precision decimal string ("385250.5")


# A fresh Windows Server 2016+ / Windows 10+ (Microsoft's "Allocated filter altitudes": WdFilter is
# Microsoft Defender's, 328010 in "FSFilter Anti-Virus" 320000-329999; the others are Microsoft's own).
WINDOWS_FILTERS = (
    Minifilter("bindflt", 1, "409800"), Minifilter("WdFilter", 5, "328010"), Minifilter("storqosflt", 0, "244000"),
    Minifilter("wcifs", 0, "189900"), Minifilter("CldFlt", 0, "180451"), Minifilter("FileCrypt", 0, "141100"),
    Minifilter("luafv", 1, "135000"), Minifilter("npsvctrig", 1, "46000"), Minifilter("Wof", 2, "40700"),
    Minifilter("FileInfo", 5, "40500"),
)
ANTIVIRUS_ALTITUDES = (320000, 330000)  # "FSFilter Anti-Virus" (load order groups and altitudes)


def product_filter(product: str) -> Minifilter:
    """The file-system filter an anti-virus product loads: every such product scans file I/O from
    a minifilter in the anti-virus load-order group (its name: the product's first word)."""
    low, high = ANTIVIRUS_ALTITUDES
    altitude = low + 100 + _number("filter", product) % (high - low - 2000)
    return Minifilter(product.split()[0][:30] if product.split() else product, 4, str(altitude))


def minifilters(platform: Platform) -> tuple[Minifilter, ...]:
    """fltmc filters, highest altitude first: Windows' own (realistic world) and each security product's."""
    found = [*(WINDOWS_FILTERS if realistic(platform) else ()),
             *(product_filter(p) for p in platform.security.blocking_software)]
    return tuple(sorted(found, key=lambda f: float(f.altitude), reverse=True))


# ----------------------------------------------------------------------------------------------
# Event-log history: boots, service control, time sync, DCOM noise, VM lifecycle
# ----------------------------------------------------------------------------------------------

BOOT_MINUTES_AGO = 3 * 24 * 60  # LastBootUpTime is NOW - 3 days (system.win32_operatingsystem)

# Services that start and stop on their own all day (trigger-start services of a Windows 10/2016+ install)
ROUTINE_SERVICES = (
    "Windows Modules Installer", "Background Intelligent Transfer Service", "Windows Update",
    "WinHTTP Web Proxy Auto-Discovery Service", "Device Setup Manager", "Windows Error Reporting Service",
    "Microsoft Store Install Service", "Windows Defender Antivirus Network Inspection Service",
)


@dataclass(frozen=True)
class Entry:
    provider: str
    event_id: int
    level: str
    message: str
    minutes_ago: int


def system_history(platform: Platform, owner: str) -> list[Entry]:
    """~450 System-log entries over the three days since the last boot."""
    if not realistic(platform):
        return []
    out = [
        Entry("EventLog", 6005, "Information", "The Event log service was started.", BOOT_MINUTES_AGO),
        Entry("Microsoft-Windows-Kernel-General", 12, "Information",
              "The operating system started at system time \u200e" + _boot_stamp() + ".", BOOT_MINUTES_AGO + 1),
        Entry("EventLog", 6009, "Information",
              f"Microsoft (R) Windows (R) 10.00. {platform.os.build}  Multiprocessor Free.", BOOT_MINUTES_AGO),
    ]
    for day in range(1, 3):
        out.append(Entry("EventLog", 6013, "Information",
                         f"The system uptime is {day * 86400} seconds.", BOOT_MINUTES_AGO - day * 1440))
    seed = _number("events", owner)
    minute = BOOT_MINUTES_AGO - 5
    step = 0
    while minute > 10:
        service = ROUTINE_SERVICES[(seed + step) % len(ROUTINE_SERVICES)]
        out.append(Entry("Service Control Manager", 7036, "Information",
                         f"The {service} service entered the running state.", minute))
        out.append(Entry("Service Control Manager", 7036, "Information",
                         f"The {service} service entered the stopped state.", minute - 2))
        if step % 9 == 0:
            out.append(Entry("Microsoft-Windows-Time-Service", 37, "Information",
                             "The time provider NtpClient is currently receiving valid time data from "
                             "time.windows.com,0x8 (ntp.m|0x8|0.0.0.0:123->20.101.57.9:123).", minute - 1))
        if step % 7 == 3:
            out.append(Entry("Microsoft-Windows-DistributedCOM", 10016, "Warning",
                             "The application-specific permission settings do not grant Local Activation permission "
                             "for the COM Server application with CLSID \n{2593F8B9-4EAF-457C-B68A-50F6B8EA6B54}\n and "
                             "APPID \n{15C20B67-12E7-4BB6-92BB-7AFF07997402}\n to the user NT AUTHORITY\\LOCAL SERVICE "
                             "SID (S-1-5-19) from address LocalHost (Using LRPC) running in the application container "
                             "Unavailable SID (Unavailable). This security permission can be modified using the "
                             "Component Services administrative tool.", minute - 3))
        minute -= 17 + (seed >> (step % 16)) % 9
        step += 1
    return out


def vm_history(platform: Platform, vm_names: list[tuple[str, str, bool]]) -> list[Entry]:
    """Hyper-V-Worker-Admin lifecycle entries for each VM (name, VM id, running): started at boot,
    and for a VM that is off, turned off later."""
    if not realistic(platform):
        return []
    out: list[Entry] = []
    for i, (name, vid, running) in enumerate(vm_names):
        started = BOOT_MINUTES_AGO - 3 - i
        out.append(Entry("Microsoft-Windows-Hyper-V-Worker", 18500, "Information",
                         f"'{name}' started successfully. (Virtual machine ID {vid.upper()})", started))
        if not running:
            out.append(Entry("Microsoft-Windows-Hyper-V-Worker", 18504, "Information",
                             f"'{name}' was shut down using the Shutdown integration component with the following "
                             f"reason: Planned. (Virtual machine ID {vid.upper()})", started - 600 - 13 * i))
    return out


def vmms_history(platform: Platform, vm_names: list[tuple[str, str, bool]]) -> list[Entry]:
    """Hyper-V-VMMS-Admin: the service's start at boot, and one realized VM per VM."""
    if not realistic(platform):
        return []
    out = [Entry("Microsoft-Windows-Hyper-V-VMMS", 14094, "Information",
                 "The Virtual Machine Management service started successfully.", BOOT_MINUTES_AGO - 2)]
    for i, (name, vid, _running) in enumerate(vm_names):
        out.append(Entry("Microsoft-Windows-Hyper-V-VMMS", 13002, "Information",
                         f"A new virtual machine '{name}' was realized. (Virtual machine ID {vid.upper()})",
                         BOOT_MINUTES_AGO - 2 - i))
    return out


def _boot_stamp() -> str:
    from nestlab.simulator.cmdlets.system import NOW  # the simulated clock

    boot: datetime = NOW - timedelta(minutes=BOOT_MINUTES_AGO)
    return boot.strftime("%Y-%m-%dT%H:%M:%S.5000000Z")
