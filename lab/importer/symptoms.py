"""A ticket's free text → symptoms placed on the lab, and the lines nothing could place.

A customer folder holds more than command output: the error they pasted ("Hyper-V cannot be
installed: The processor does not have required virtualization capabilities"), a note before it
("Inside L1, Server Manager > Add Roles …"), an error record under a command. Each such line that
quotes a message, code or event id of the triage catalog (diagnosis.symptoms.observe at
KNOWN) becomes a symptom, placed on the node it was seen on: a VM its text names (a start
failure: that VM's parent), else the VM or host the last note of the same file named ("Inside L1,
…"), else the host or guest the file describes. Every other free line is listed (file:line, why)
and skipped — `nestlab import --strict` stops on them instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nestlab.diagnosis.evidence import Observed
from nestlab.diagnosis.symptoms import KNOWN, observe, seen_on
from nestlab.lab.importer.parse import FreeLine
from nestlab.lab.importer.textobject import ErrorText
from nestlab.simulator.model import Lab


@dataclass(frozen=True)
class TicketText:
    """Free lines and error records of one file, with the host or guest path the file describes."""

    file: str
    context: tuple[str, ...]
    free: tuple[FreeLine, ...]
    errors: tuple[ErrorText, ...]


def read_ticket(lab: Lab, texts: list[TicketText]) -> tuple[tuple[Observed, ...], tuple[str, ...]]:
    """(symptoms, skipped lines as 'file:line: why: text') of every file's free text and errors."""
    symptoms: list[Observed] = []
    skipped: list[str] = []
    for text in texts:
        here = context_node(lab, text.context)
        for error in text.errors:
            observed = observe(error.message, f"{text.file}:{error.line}", threshold=KNOWN)
            if observed is not None:
                symptoms.append(_placed(lab, observed, here))
        for line in text.free:
            source = f"{text.file}:{line.line}"
            observed = observe(line.text, source, threshold=KNOWN)
            if observed is not None:
                symptoms.append(_placed(lab, observed, here))
                continue
            named = _named_node(lab, line.text)
            if named:
                here = named  # "Inside L1, …": what follows in this file was seen there
            skipped.append(f"{source}: {line.why}; no known error message: {line.text.strip()[:80]!r}")
    return tuple(symptoms), tuple(skipped)


def context_node(lab: Lab, context: tuple[str, ...]) -> str:
    """The lab node a file's (host, vm …) path describes; a bundle's unnamed host is its only host."""
    hosts = lab.hosts()
    host = context[0] if context and context[0] in hosts else (hosts[0] if len(hosts) == 1 else "")
    if not host:
        return ""
    node = "/".join((host, *context[1:]))
    return node if node in lab else host


def _placed(lab: Lab, observed: Observed, here: str) -> Observed:
    named = seen_on(lab, observed)
    return Observed(observed.text, observed.source, named or here, observed.symptoms)


def _named_node(lab: Lab, text: str) -> str:
    for node in [*lab.all_vms(), *lab.hosts()]:
        if re.search(rf"(?<![\w-]){re.escape(lab[node].name)}(?![\w-])", text, re.I):
            return node
    return ""
