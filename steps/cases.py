"""Customer cases as data: `fixtures/cases/<case-name>/`, one folder each.

A folder holds
- `lab.yaml` — the customer's state as a lab file; its first line is the one-line story
  (`# A Contoso build agent on Azure cannot start its nested VMs …`);
- `expected` — the root causes the diagnosis must report, one per line: `ID` or `ID SUBJECT`;
- `unexpected` — root causes it must not report (the plausible wrong answers), one id per line;
- `symptoms` (optional) — the errors the customer saw, one per line: `TEXT`, or `NODE | TEXT`
  for the host or VM it was seen on; the diagnosis takes them as `--symptom` does (evidence that
  ranks findings and places intent, docs/severity.md); `nestlab import --case` writes it;
- `nested_hosts` (optional) — the VMs the customer means to host nested VMs, one VM name or node id
  per line, as `nestlab diagnose --nested-host VM` states them: for intent that only the ticket's
  words carry (an Ubuntu VM meant to run KVM shows nothing on the Windows side, multipass #2795).
Blank lines and `#` comments are ignored (in `symptoms`, only lines starting with `#`). One generic scenario (features/cases.feature) runs every
folder, so adding a case is adding a folder, as terraform-compliance keeps its regression corpus.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nestlab.resources import cases_dir
from nestlab.simulator.errors import BadInput

CASES_DIR = cases_dir()  # package data: found in a checkout and in a wheel


@dataclass(frozen=True)
class Expected:
    root_cause: str
    subject: str | None = None

    def __str__(self) -> str:
        return f"{self.root_cause} on {self.subject}" if self.subject else self.root_cause


@dataclass(frozen=True)
class Case:
    name: str
    lab_file: Path
    story: str
    expected: tuple[Expected, ...]
    unexpected: tuple[str, ...]
    symptoms: tuple[tuple[str, str], ...] = ()  # (node or "", text)
    nested_hosts: tuple[str, ...] = ()  # VM names or node ids, as --nested-host takes them


def case_dirs(base: Path = CASES_DIR) -> list[Path]:
    return sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))) if base.is_dir() else []


def load_case(folder: Path) -> Case:
    lab_file = folder / "lab.yaml"
    if not lab_file.is_file():
        raise BadInput(f"{folder}: a case needs lab.yaml")
    first = lab_file.read_text(encoding="utf-8").splitlines()[:1]
    if not first or not first[0].startswith("#") or not first[0].lstrip("# ").strip():
        raise BadInput(f"{lab_file}:1: a case's lab.yaml starts with a one-line story comment")
    expected = tuple(Expected(*line.split(None, 1)) for line in _lines(folder / "expected"))
    unexpected = tuple(line.split()[0] for line in _lines(folder / "unexpected"))
    if not expected:
        raise BadInput(f"{folder / 'expected'}: lists no root cause")
    nested = folder / "nested_hosts"
    nested_hosts = tuple(_lines(nested)) if nested.is_file() else ()
    return Case(folder.name, lab_file, first[0].lstrip("# ").strip(), expected, unexpected, _symptoms(folder / "symptoms"),
                nested_hosts)


def _symptoms(path: Path) -> tuple[tuple[str, str], ...]:
    if not path.is_file():
        return ()
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        node, sep, text = line.partition(" | ")
        found.append((node.strip(), text.strip()) if sep else ("", line.strip()))
    return tuple(found)


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        raise BadInput(f"{path}: missing (one root-cause id per line)")
    stripped = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in stripped if line]
