"""`nestlab import`: a data-collection bundle (ours, or the files a customer sent) → a lab file.

Pipeline: `source` (folder or zip → files with their host/guest context) → `parse` (text →
printed objects, errors and commands; unreadable lines are problems) → `context` (objects by
kind, per host or guest) → `build` (lab-format data plus the assumptions it made) → a Lab
validated by the lab-file loader. Any problem stops the import with every 'file:line: why'.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nestlab.lab.importer.build import Builder
from nestlab.lab.importer.context import Context
from nestlab.lab.importer.parse import parse_file
from nestlab.lab.importer.source import Bundle, read_bundle
from nestlab.simulator import labfile
from nestlab.simulator.errors import BadInput
from nestlab.simulator.model import Lab


@dataclass(frozen=True)
class Imported:
    lab: Lab
    assumptions: tuple[str, ...]
    files: tuple[str, ...]

    def text(self) -> str:
        """The lab file: its assumptions as a comment block on top, then the lab."""
        head = ["# Imported by `nestlab import` from a data-collection bundle."]
        if self.assumptions:
            head.append("# Assumptions (the bundle does not show these; the format's defaults were taken):")
            head += [f"#   - {a}" for a in self.assumptions]
        return "\n".join(head) + "\n" + labfile.dumps(self.lab)


def import_bundle(path: str | Path, *, name: str | None = None) -> Imported:
    """A bundle folder, zip or single file → a validated Lab and what had to be assumed.

    BadInput lists every line that could not be read (file:line: why), never a partial lab.
    """
    bundle = read_bundle(Path(path))
    contexts, problems = _contexts(bundle)
    notes = [] if bundle.manifest is not None else _fold_plain_folders(contexts)
    builder = Builder(contexts)
    hosts = builder.hosts()
    problems += builder.read.problems
    if problems:
        raise BadInput(problems[0], lines=problems)
    lab_name = name or (bundle.manifest or {}).get("lab") or bundle.name
    data = {"lab": str(lab_name), "description": f"imported from data-collection bundle {bundle.name}", "hosts": hosts}
    return Imported(_validated(data), tuple(notes + builder.assumptions), tuple(f.name for f in bundle.files))


def _contexts(bundle: Bundle) -> tuple[dict[tuple[str, ...], Context], list[str]]:
    """Every file parsed into the context (host or guest) it describes; a guest implies its parents."""
    contexts: dict[tuple[str, ...], Context] = {}
    problems: list[str] = []
    for f in bundle.files:
        parsed = parse_file(f.name, f.text, f.command)
        problems += parsed.unreadable
        contexts.setdefault(f.context, Context(f.context)).add(parsed)
    for path in list(contexts):
        for depth in range(1, len(path)):
            contexts.setdefault(path[:depth], Context(path[:depth]))
    return contexts, problems


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
