"""A tiny stand-in executor for protocol tests: the wire is tested apart from the cmdlets.

`FakeHost` answers a handful of made-up commands with known shapes, so a test of the endpoint
or of PsrpSession can compare what came over the wire with what went in, without depending on
the simulated Hyper-V cmdlets.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

from nestlab.simulator.endpoint.auth import Credentials
from nestlab.simulator.endpoint.server import LabServer
from nestlab.simulator.psdata import Command, ErrorRecord, PSEnum, PSObject, Result

USER = "labadmin"
PASSWORD = "S3cret-pa55"

VM_TYPES = ("Microsoft.HyperV.PowerShell.VirtualMachine", "Microsoft.HyperV.PowerShell.VirtualMachineBase", "System.Object")


def not_recognized(name: str) -> ErrorRecord:
    return ErrorRecord(
        f"The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable program. "
        "Check the spelling of the name, or if a path was included, verify that the path is correct and try again.",
        "CommandNotFoundException", "ObjectNotFound", target_name=name, target_type="String",
        reason="CommandNotFoundException", exception_type="System.Management.Automation.CommandNotFoundException",
    )


class FakeHost:
    """Commands: Get-Thing [-Name N], Get-Many -Count N -Size S, Get-Partly -Name a,b (b is missing),
    Set-Thing -Name N -Value V (shared state), Get-Slow -Seconds S, Echo (returns its Command)."""

    def __init__(self) -> None:
        self.state: dict[str, object] = {}
        self.calls: list[tuple[str, tuple[Command, ...]]] = []
        self.lock = threading.Lock()

    def __call__(self, context: str, pipeline: tuple[Command, ...]) -> Result:
        with self.lock:
            self.calls.append((context, pipeline))
        command = pipeline[0]
        handler = getattr(self, "_" + command.name.lower().replace("-", "_"), None)
        if handler is None:
            return Result((), (not_recognized(command.name),), True)
        return handler(context, command)

    def thing(self, context: str, name: str) -> PSObject:
        return PSObject(VM_TYPES, {
            "Name": name,
            "ComputerName": context,
            "State": PSEnum("Microsoft.HyperV.PowerShell.VMState", "Running", 2),
            "MemoryStartup": 4 * 2**30,
            "ProcessorCount": 2,
            "DynamicMemoryEnabled": False,
            "CreationTime": datetime(2026, 1, 2, 3, 4, 5, 678900, tzinfo=timezone.utc),
            "IPAddresses": ["10.0.0.5", "fe80::5"],
            "Notes": self.state.get(name, ""),
        }, to_string=f"VirtualMachine (Name = '{name}')")

    def _get_thing(self, context: str, command: Command) -> Result:
        return Result((self.thing(context, str(command.param("Name", "L1"))), "done"))

    def _get_many(self, context: str, command: Command) -> Result:
        size = int(command.param("Size", 10))
        return Result(tuple(f"{i:06d}" + "x" * size for i in range(int(command.param("Count", 1)))))

    def _get_partly(self, context: str, command: Command) -> Result:
        found = self.thing(context, "a")
        missing = ErrorRecord(
            "Hyper-V was unable to find a virtual machine with name \"b\".",
            "InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM", "InvalidArgument",
            target_name="b", target_type="String", activity="Get-VM", reason="VirtualizationException",
            exception_type="Microsoft.HyperV.PowerShell.VirtualizationException", terminating=False,
        )
        return Result((found,), (missing,), False)

    def _set_thing(self, context: str, command: Command) -> Result:
        with self.lock:
            self.state[str(command.param("Name"))] = command.param("Value")
        return Result()

    def _get_slow(self, context: str, command: Command) -> Result:
        time.sleep(float(command.param("Seconds", 1)))
        return Result(("slow",))

    def _echo(self, context: str, command: Command) -> Result:
        return Result((repr(command),))

    def _write_output(self, context: str, command: Command) -> Result:
        """What the endpoint puts before a pipeline that has input; `Echo` after it shows what it got."""
        return Result(tuple(command.param("InputObject") or ()))


@contextmanager
def serve_fake(hosts: tuple[str, ...] = ("HV01",), *, tls=None, fake: FakeHost | None = None,
               limits=None) -> Iterator[tuple[LabServer, FakeHost]]:
    """A LabServer on free loopback ports answering with a FakeHost; stopped on exit."""
    fake = fake or FakeHost()
    server = LabServer(None, Credentials(USER, PASSWORD), execute=fake, hosts=list(hosts), tls=tls, limits=limits)
    with server:
        yield server, fake
