"""`nestlab import`: a data-collection bundle (ours, or the files a customer sent) → a lab file.

Pipeline: `source` (folder or zip → files with their host/guest context) → `parse` (text →
printed objects, errors and commands; unreadable lines are problems) → `context` (objects by
kind, per host or guest) → `build` (lab-format data plus the assumptions it made) → a Lab
validated by the lab-file loader. A line that is no command's output is free text
(`symptoms`): a known error message becomes a symptom placed on the lab, any other line is listed
as skipped ('file:line: why'); with `strict`, such a line stops the import as before. A problem
in the output itself (a value cut short, an unknown enum value) always stops it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nestlab.diagnosis.evidence import Observed
from nestlab.lab.importer.build import Builder
from nestlab.lab.importer.context import Context
from nestlab.lab.importer.parse import parse_file
from nestlab.lab.importer.source import Bundle, read_bundle
from nestlab.lab.importer.symptoms import TicketText, read_ticket
from nestlab.simulator import labfile
from nestlab.simulator.errors import BadInput
from nestlab.simulator.model import Lab


@dataclass(frozen=True)
class Imported:
    lab: Lab
    assumptions: tuple[str, ...]
    files: tuple[str, ...]
    symptoms: tuple[Observed, ...] = ()  # known error messages of the ticket, placed on the lab
    skipped: tuple[str, ...] = ()  # free lines nothing could place: 'file:line: why: text'

    def text(self) -> str:
        """The lab file: its assumptions, the symptoms seen and the lines skipped as a comment
        block on top (a lab file is state only), then the lab."""
        head = ["# Imported by `nestlab import` from a data-collection bundle."]
        if self.assumptions:
            head.append("# Assumptions (the bundle does not show these; the format's defaults were taken):")
            head += [f"#   - {a}" for a in self.assumptions]
        if self.symptoms:
            head.append("# Symptoms seen (evidence, not state: pass them to `nestlab diagnose --symptom`):")
            head += [f"#   - {o.source} on {o.node or '?'}: {o.text}" for o in self.symptoms]
        if self.skipped:
            head.append("# Lines skipped (not command output, no known error message):")
            head += [f"#   - {line}" for line in self.skipped]
        return "\n".join(head) + "\n" + labfile.dumps(self.lab)


def import_bundle(path: str | Path, *, name: str | None = None, strict: bool = False) -> Imported:
    """A bundle folder, zip or single file → a validated Lab, what had to be assumed, the
    symptoms its free text names and the lines skipped.

    BadInput lists every problem (file:line: why), never a partial lab; with `strict`, a line
    that is no command's output is one.
    """
    bundle = read_bundle(Path(path))
    contexts, unreadable, texts = _contexts(bundle)
    problems = list(unreadable) if strict else []
    notes = [] if bundle.manifest is not None else _fold_plain_folders(contexts)
    builder = Builder(contexts)
    hosts = builder.hosts()
    problems += builder.read.problems
    if problems:
        raise BadInput(problems[0], lines=problems)
    lab_name = name or (bundle.manifest or {}).get("lab") or bundle.name
    data = {"lab": str(lab_name), "description": f"imported from data-collection bundle {bundle.name}", "hosts": hosts}
    lab = _validated(data)
    symptoms, skipped = read_ticket(lab, texts)
    return Imported(lab, tuple(notes + builder.assumptions), tuple(f.name for f in bundle.files), symptoms, skipped)


def _contexts(bundle: Bundle) -> tuple[dict[tuple[str, ...], Context], list[str], list[TicketText]]:
    """Every file parsed into the context (host or guest) it describes (a guest implies its
    parents), the lines no layout reads, and each file's free text and errors."""
    contexts: dict[tuple[str, ...], Context] = {}
    problems: list[str] = []
    texts: list[TicketText] = []
    for f in bundle.files:
        parsed = parse_file(f.name, f.text, f.command)
        problems += parsed.unreadable
        texts.append(TicketText(f.name, f.context, tuple(parsed.free), tuple(parsed.errors)))
        contexts.setdefault(f.context, Context(f.context)).add(parsed)
    for path in list(contexts):
        for depth in range(1, len(path)):
            contexts.setdefault(path[:depth], Context(path[:depth]))
    return contexts, problems, texts


def _fold_plain_folders(contexts: dict[tuple[str, ...], Context]) -> list[str]:
    """In a customer's folder, a subfolder is a guest only if its parent shows a VM of that name;
    any other folder ('logs', 'screenshots') is read as part of its parent."""
    notes = []
    for path in sorted((p for p in contexts if len(p) > 1), key=len, reverse=True):
        parent = contexts[path[:-1]]
        if path[-1] not in parent.vm_names():
            parent.merge(contexts.pop(path))
            notes.append(f"folder {'/'.join(p for p in path if p)!r} names no VM of its parent; read as part of it")
    return notes


def _validated(data: dict) -> Lab:
    """The lab-file loader's checks on what we built, so the file written always loads."""
    lab = labfile.lab_from_data(data)
    text = labfile.dumps(lab)
    return labfile.loads(text, "<imported lab>")
