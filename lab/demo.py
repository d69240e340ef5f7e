"""The closed loop for one fault: inject, see the symptom, diagnose, fix, diagnose again.

`nestlab demo` runs it for every fault of the catalog on builtin:reference (builtin:legacy for
the faults real only on early builds); the BDD suite's fault
scenarios are the same loop written in Gherkin. The diagnosis goes through a SimSession only
(the fault's record is never shown to it); the fix runs the finding's own resolution commands, so
a row that heals proves the diagnosis's resolution is right.
"""

from __future__ import annotations

from dataclasses import dataclass

from nestlab.lab import fix
from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.session import SimSession
from nestlab.simulator import faults, labfile
from nestlab.simulator.model import Lab


@dataclass(frozen=True)
class Loop:
    fault: str
    subject: str
    symptom: str
    symptom_shown: bool
    found: bool  # the diagnosis named this root cause on this subject
    others: tuple[str, ...]  # error findings that name something else
    healed: bool  # after the fix: symptom gone and no error or warning left
    left: tuple[str, ...]  # findings left after the fix

    @property
    def ok(self) -> bool:
        return self.symptom_shown and self.found and not self.others and self.healed


# Where the demo runs each fault: builtin:reference, or builtin:legacy (a Windows Server 2016 lab)
# for a fault that is real only on early builds (VBS blocking nesting: simulator/behaviour.py).
DEMO_LABS = ("builtin:reference", "builtin:legacy")


def demo_lab(fault_id: str) -> Lab:
    """The first demo lab where the fault has a subject."""
    fault = faults.get(fault_id)
    labs = [labfile.load(name) for name in DEMO_LABS]
    return next((lab for lab in labs if fault.candidates(lab)), labs[0])


def closed_loop(fault_id: str, lab: Lab | None = None, *, subject: str | None = None) -> Loop:
    lab = lab if lab is not None else demo_lab(fault_id)
    fault = faults.get(fault_id)
    subject = fault.inject(lab, subject)
    symptom = fault.symptom(lab, subject)
    shown = faults.check_symptom(lab, symptom)

    session = SimSession(lab)
    report = diagnose_session(session, target=lab.name).report
    named = [f for f in report.findings if f.root_cause == fault_id and f.subject == subject]
    others = tuple(f"{f.root_cause} on {f.subject}" for f in report.findings
                   if f.severity == "error" and f.explained_by is None and f.root_cause != fault_id)

    fix.apply(session, fix.plan(report), manual=fix.simulated_manual_action(lab))
    after = diagnose_session(session, target=lab.name).report
    left = tuple(f"{f.root_cause} on {f.subject}" for f in after.findings if f.severity in ("error", "warning"))
    healed = not left and not faults.check_symptom(lab, symptom)
    return Loop(fault_id, subject, str(symptom), shown, bool(named), others, healed, left)
