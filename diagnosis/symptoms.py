"""Error texts people saw, as evidence: matched to the triage catalog and placed on a node.

A ticket's pasted error ("Hyper-V cannot be installed: The processor does not have required
virtualization capabilities") or `nestlab diagnose --symptom "TEXT"` says what failed and, often,
where. `observe` matches a text to the triage catalog's symptoms (diagnosis.triage); `place`
puts it on the host or VM it was seen on: the node given (a ticket file's host or guest, a
"Inside L1, …" line before it), else the VM the text names — for a start failure, the VM's
parent, where the start was tried. A symptom on a VM also says that VM is meant to host nested
VMs (diagnosis.intent), and every symptom ranks the findings that explain it first
(diagnosis.engine).
"""

from __future__ import annotations

import re
from dataclasses import replace

from nestlab.diagnosis import intent
from nestlab.diagnosis.evidence import Evidence, Observed, Statements
from nestlab.diagnosis.triage import FRAGMENT, SYMPTOMS, symptom_score
from nestlab.simulator.errors import BadInput
from nestlab.simulator.model import Lab

KNOWN = FRAGMENT  # a ticket line counts as a known error when it quotes a message, a code or an event id
PASTED = 0.5  # a text someone pastes on purpose (--symptom) may also be a paraphrase
QUOTED = re.compile(r"'([^']{1,64})'")
START_FAILURE = re.compile(r"could not be started|failed to start|could not initialize memory|not enough memory", re.I)


def observe(text: str, source: str, node: str = "", *, threshold: float = PASTED) -> Observed | None:
    """The text as a symptom when it matches the triage catalog at `threshold` or better, else None."""
    scored = sorted(((symptom_score(s, text)[0], s.id) for s in SYMPTOMS), reverse=True)
    ids = tuple(symptom for score, symptom in scored if score >= threshold)
    return Observed(text.strip(), source, node, ids) if ids else None


def place(ev: Evidence, stated: Statements) -> Statements:
    """Statements with every name resolved against the evidence lab (BadInput for a VM that is
    not there) and each symptom put on the node it was seen on.

    A nesting failure whose text names no node ("Hyper-V cannot be installed: …") was seen where
    someone tried to run Hyper-V; when the lab holds one VM that might be that place (the lone
    readiness candidate, diagnosis.intent), it is put there."""
    lab = ev.lab
    for name in stated.nested_hosts:
        _one_vm(lab, name, "--nested-host")
    reachable = tuple((_one_vm(lab, vm, "--reachable"), port) for vm, port in stated.reachable)
    candidates = [vm for vms in intent.readiness_candidates(ev).values() for vm in vms]
    placed = []
    for observed in stated.symptoms:
        node = seen_on(lab, observed)
        if not node and len(candidates) == 1 and intent.NESTING_SYMPTOMS & set(observed.symptoms):
            node = candidates[0]
        placed.append(replace(observed, node=node))
    return replace(stated, symptoms=tuple(placed), reachable=reachable)


def seen_on(lab: Lab, observed: Observed) -> str:
    """The node a symptom was seen on: the one given (a name or an id), else what its text names."""
    if observed.node:
        return _node(lab, observed.node) or ""
    for quoted in QUOTED.findall(observed.text):
        vm = _node(lab, quoted)
        if vm and lab.kind(vm) == "vm":
            return lab.parent(vm) if START_FAILURE.search(observed.text) else vm
    for node in [*lab.all_vms(), *lab.hosts()]:
        if re.search(rf"(?<![\w-]){re.escape(lab[node].name)}(?![\w-])", observed.text, re.I):
            return node
    return ""


def _node(lab: Lab, name: str) -> str | None:
    if name in lab and lab.kind(name) in ("host", "vm"):
        return name
    matches = [n for n in [*lab.hosts(), *lab.all_vms()] if lab[n].name.lower() == name.lower()]
    return matches[0] if matches else None


def _one_vm(lab: Lab, name: str, option: str) -> str:
    node = _node(lab, name)
    if node is None or lab.kind(node) != "vm":
        known = ", ".join(lab[vm].name for vm in lab.all_vms()) or "none"
        raise BadInput(f"{option} {name}: no VM of that name in the target (VMs: {known})")
    return node


def parse_reachable(text: str) -> tuple[str, int]:
    """`VM:PORT` (`L2-web:80`, `HV01/L1/L2-web:80`) → (VM, port); BadInput otherwise."""
    vm, sep, port = text.rpartition(":")
    if not sep or not vm or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadInput(f"--reachable {text}: expected VM:PORT, e.g. L2-web:80")
    return vm, int(port)
