"""Where a command runs, as a scenario says it: `on "HV01"` or `in the guest of "HV01/L1/L2-web"`.

A node id names the nesting (lab-format "Node identity"); a Session addresses the same place as a
top-level host plus the chain of guests reached by PowerShell Direct, outermost first.
"""

from __future__ import annotations

from dataclasses import dataclass

from nestlab.lab.session import address
from nestlab.simulator.model import NodeId


@dataclass(frozen=True)
class Where:
    host: str
    vm: tuple[str, ...] = ()

    @classmethod
    def of(cls, node_id: str) -> "Where":
        """`HV01` → the host; `HV01/L1/L2` → inside L2's guest, reached through L1."""
        return cls(*address(node_id))

    def __str__(self) -> str:
        return str(NodeId.of_host(self.host, self.vm))
