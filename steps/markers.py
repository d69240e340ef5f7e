"""The tags a feature may carry, each a pytest marker: `pytest -m network` runs one section.

One table, read by the pytest plugin (nestlab.pytest_plugin, which registers the markers) and by the coverage test
(which checks that every tag used in `features/` is here).
"""

from __future__ import annotations

SECTIONS: dict[str, str] = {
    "checklist": "guide: Troubleshooting checklist (host and VM prerequisites)",
    "hyperv_role": "guide: Nested VM can't start Hyper-V role or install other hypervisors",
    "network": "guide: Network connectivity issues in nested VMs",
    "performance": "guide: Performance degradation in nested virtualization",
    "security": "guide: Nested Hyper-V blocked by security policies",
    "nat": "guide: NAT and port forwarding issues",
    "storage": "guide: Snapshot/Checkpoint and differencing disk issues",
    "resources": "guide: VM resource changes not recognized",
    "data_collection": "guide: Data collection",
    "triage": "symptom or error text -> the root causes it points to",
}

KINDS: dict[str, str] = {
    "cmd": "the fault is injected with PowerShell commands (works on real hosts too)",
    "state": "the fault needs a physical change only a simulated target can make",
    "destructive": "the scenario changes its target (injects a fault or applies a resolution)",
}

THEMES: dict[str, str] = {
    "healthy": "a builtin lab as shipped: nothing to find",
    "reachability": "hop-by-hop traces through switches, NAT and port forwarding",
    "causal": "several faults at once: causes explain their consequences",
    "cases": "customer reproductions from fixtures/cases/, one folder each",
    "customer": "a customer's lab file pasted into the feature",
}

MARKERS: dict[str, str] = {**SECTIONS, **KINDS, **THEMES}
