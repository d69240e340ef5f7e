"""Text-only sources as the answers the collector would have had: systeminfo's lines as
Win32_OperatingSystem's, Win32_ComputerSystem's and Win32_Processor's objects.

A customer often sends systeminfo instead of the CIM classes; what it prints is the same facts
under other labels, so it becomes an object of the probe that shows them (`cs`, `cpu`), and the
CIM object, when the bundle has one too, wins property by property.
"""

from __future__ import annotations

import re
from typing import Any

from nestlab.lab.importer.numbers import parse_int
from nestlab.lab.importer.textobject import TextObject
from nestlab.lab.importer.values import Reader
from nestlab.simulator.psdata import PSObject

VENDOR_IDS = re.compile(r"GenuineIntel|AuthenticAMD", re.IGNORECASE)  # as Win32_Processor and systeminfo print them
HYPERVISOR_DETECTED = "A hypervisor has been detected"
# systeminfo's "Hyper-V Requirements" lines, by the Win32_Processor property each one is
REQUIREMENTS = {"vm monitor mode extensions": "VMMonitorModeExtensions",
                "second level address translation": "SecondLevelAddressTranslationExtensions",
                "virtualization enabled in firmware": "VirtualizationFirmwareEnabled"}


def operating_system(si: TextObject) -> dict[str, Any]:
    """Win32_OperatingSystem's Caption and BuildNumber as systeminfo prints them ('… Build 20348')."""
    if not si.text("OS Name"):
        return {}
    build = re.search(r"Build (\d+)", si.text("OS Version") or "")
    return {"Caption": si.text("OS Name"), **({"BuildNumber": int(build.group(1))} if build else {})}


def computer_system(read: Reader, si: TextObject) -> dict[str, Any]:
    """Win32_ComputerSystem's Name, Manufacturer, Model, TotalPhysicalMemory (bytes) and
    HypervisorPresent as systeminfo prints them."""
    found: dict[str, Any] = {"Name": si.text("Host Name"), "Manufacturer": si.text("System Manufacturer")}
    if found["Manufacturer"] is not None:
        found["Model"] = si.text("System Model") or ""
    memory = si.text("Total Physical Memory")
    if memory:
        mb = memory.replace("MB", "").strip()
        try:
            found["TotalPhysicalMemory"] = parse_int(mb) * 2**20
        except ValueError:
            read.problem(si, "Total Physical Memory", f"{mb!r} is not a number of MB")
    requirements = si.text("Hyper-V Requirements")
    if requirements is not None:
        found["HypervisorPresent"] = requirements.startswith(HYPERVISOR_DETECTED)
    return {k: v for k, v in found.items() if v is not None}


def processor(si: TextObject) -> dict[str, Any]:
    """Win32_Processor's Manufacturer and virtualization flags as systeminfo prints them."""
    found: dict[str, Any] = {}
    vendor = VENDOR_IDS.search(si.text("Processor(s)") or "")
    if vendor:
        found["Manufacturer"] = vendor.group()
    for line in (si.text("Hyper-V Requirements") or "").split("\n"):
        label, _, value = line.partition(":")
        if value and label.strip().lower() in REQUIREMENTS:
            found[REQUIREMENTS[label.strip().lower()]] = value.strip().lower() == "yes"
    return found


def overlaid(probe: str, base: dict[str, Any], shown: PSObject | None) -> PSObject | None:
    """The synthetic object with the real one's properties over it; None when neither shows anything."""
    merged = {**base, **(dict(shown) if shown is not None else {})}
    return PSObject((f"nestlab.import.{probe}",), merged) if merged else None
