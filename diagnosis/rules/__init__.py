"""The rule table: one rule per root-cause id of spec/root-causes.md, one module per guide section.

Grep a root-cause id to find its rule: `@rule("extensions-not-exposed", …)` in hyperv_role.py.
"""

from __future__ import annotations

from nestlab.diagnosis.rules import checklist, hyperv_role, nat, network, performance, resources, security, storage
from nestlab.diagnosis.rules.common import Hit, Rule, rule

RULES: tuple[Rule, ...] = (
    *checklist.RULES,
    *hyperv_role.RULES,
    *network.RULES,
    *performance.RULES,
    *security.RULES,
    *nat.RULES,
    *storage.RULES,
    *resources.RULES,
)

RULES_BY_ID: dict[str, Rule] = {r.root_cause: r for r in RULES}
if len(RULES_BY_ID) != len(RULES):  # pragma: no cover - a programming error, caught at import
    raise RuntimeError("two rules claim the same root-cause id")

__all__ = ["RULES", "RULES_BY_ID", "Hit", "Rule", "rule"]
