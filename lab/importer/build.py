"""Contexts of a bundle → lab-format data, and the list of what it had to assume.

Each lab-format key is read from the outputs that show it (docs/evidence.md); a key no output
shows is left out, so it takes the format's default, and is named in `assumptions`. One reader
per part of the format; the Builder is all of them over one bundle.
"""

from __future__ import annotations

from nestlab.lab.importer.read_host import HostReader
from nestlab.lab.importer.read_owner import OwnerReader
from nestlab.lab.importer.read_platform import PlatformReader
from nestlab.lab.importer.read_vms import VmReader


class Builder(HostReader, PlatformReader, OwnerReader, VmReader):
    def hosts(self) -> list[dict]:
        """One lab-format host per top-level context (a host folder, or the bundle itself)."""
        return [self.host(path) for path in self.contexts if len(path) == 1]
