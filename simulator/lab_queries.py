"""Behaviour-free questions about a lab's records, shared by the fault catalog and the diagnosis.

Both sides hold a `model.Lab` (the simulator's, or the one the diagnosis rebuilt from evidence),
so what a record *says* is answered once, here: which builds nest, which VMs host nested VMs.
Nothing here runs a cmdlet or reads simulator state beyond the records (the diagnosis may import
this module: tests/test_diagnosis_imports.py).
"""

from __future__ import annotations

from nestlab.simulator.model import Lab

MIN_BUILD = 14393  # Windows Server 2016 / Windows 10 1607: the first builds with nested Hyper-V
# The last build on which VBS running on a host (or nested host) stops nesting below it
# (simulator/behaviour.py's docstring cites the sources; the rule vbs-enabled reads the same number).
VBS_BLOCKS_THROUGH_BUILD = 14393


def os_supported(caption: str, build: int) -> bool:
    """Whether this Windows can run (nested) Hyper-V: build 14393 or later, and not a Home edition."""
    return build >= MIN_BUILD and "home" not in caption.lower()


def is_nested_host(lab: Lab, vm: str) -> bool:
    """A VM that hosts nested VMs, as its records show: Hyper-V in its guest, or VMs inside it."""
    return lab[vm].guest.hyperv_installed or bool(lab.vms(vm))


def nested_hosts(lab: Lab) -> list[str]:
    return [vm for vm in lab.all_vms() if is_nested_host(lab, vm)]
