"""Where the simulator would have predicted otherwise: a host's answers against the simulator's.

`nestlab capture` turns what a host shows into a lab file; `fidelity` closes the loop: it captures
the host, runs every probe of the diagnosis plan (`diagnosis.probes`, plus the disk probes for each
virtual disk the capture found) on the host and on the captured lab in the simulator, and lists
each answer that differs — an object missing or extra, a property missing or extra, a value, a
type (an enum that arrived as a string, an Int32 that arrived as an Int64), an error's text,
FullyQualifiedErrorId or category, a pipeline that failed on one side only, or the lines a native
command printed. Against a served simulated lab the list is empty (the capture reproduces what
the probes see); against a real host it is the simulator's to-do list (docs/fidelity.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator, Sequence

from nestlab.diagnosis import probes
from nestlab.lab.capture import Capture, capture
from nestlab.lab.session import Session, SimSession, address
from nestlab.simulator.model import Lab
from nestlab.simulator.psdata import ErrorRecord, PSEnum, PSObject, Result

MAX_SHOWN = 3  # values of a list shown in a difference


@dataclass(frozen=True)
class Difference:
    """One answer of the host that the simulator, given the captured lab, would not have given."""

    context: str  # "HV01" or "HV01/L1"
    probe: str  # the probe's key ("vms", "events:System", "testvhd:C:\\…")
    command: str  # the probe as typed
    kind: str  # object | property | value | type | error | failed | text
    detail: str

    def __str__(self) -> str:
        return f"{self.context}: {self.command}: {self.kind}: {self.detail}"

    def as_dict(self) -> dict[str, str]:
        return {"context": self.context, "probe": self.probe, "command": self.command, "kind": self.kind,
                "detail": self.detail}


@dataclass(frozen=True)
class FidelityReport:
    target: str
    captured: Capture
    compared: int  # probe answers compared
    differences: tuple[Difference, ...]

    def text(self) -> str:
        head = f"{self.target}: {self.compared} probe answers compared"
        if not self.differences:
            return head + "; the simulator predicts every one of them.\n"
        lines = [head + f"; where the simulator would have predicted otherwise ({len(self.differences)}):"]
        lines += [f"  {d}" for d in self.differences]
        return "\n".join(lines) + "\n"

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "compared": self.compared,
                "differences": [d.as_dict() for d in self.differences]}


def fidelity(session: Session, *, target: str) -> FidelityReport:
    """Capture `session`'s hosts, then compare each probe's answer on the host and in the simulator."""
    captured = capture(session, target=target)
    simulated = SimSession(captured.lab.copy())
    found: list[Difference] = []
    compared = 0
    for context in contexts(captured.lab):
        host, vm = address(context)
        plan = plan_for(captured.lab, context)
        real = session.run_batch(host, [p.pipeline for p in plan], vm=vm)
        predicted = simulated.run_batch(host, [p.pipeline for p in plan], vm=vm)
        for item, got, expected in zip(plan, real, predicted):
            compared += 1
            found += [Difference(context, item.key, item.text, kind, detail)
                      for kind, detail in compare(expected, got)]
    return FidelityReport(target, captured, compared, tuple(found))


def contexts(lab: Lab) -> list[str]:
    """Each host, and each guest PowerShell Direct can enter (Running at every level), outermost first."""
    out = []
    for host in lab.hosts():
        out.append(host)
        out += [vm for vm in lab.vms(host, recursive=True)
                if all(lab[v].state == "Running" for v in [vm, *lab.ancestors(vm)[:-1]])]
    return out


def plan_for(lab: Lab, context: str) -> tuple[probes.Probe, ...]:
    """The diagnosis's first batch for this platform, and the disk probes for each of its disks."""
    guest = lab.kind(context) == "vm"
    paths = [lab[v].path for v in lab.owned(context, "vhd")]
    disk = tuple(probe for path in paths for probe in (
        probes.probe(f"vhd:{path}", probes.C("Get-VHD", Path=path)),
        probes.probe(f"testpath:{path}", probes.C("Test-Path", Path=path)),
        probes.probe(f"testvhd:{path}", probes.C("Test-VHD", Path=path))))
    return probes.first_batch(guest=guest) + disk


# ----------------------------------------------------------------------------------------------
# comparing two answers
# ----------------------------------------------------------------------------------------------


def compare(expected: Result, got: Result) -> Iterator[tuple[str, str]]:
    """(kind, detail) for each way the host's answer `got` differs from the simulator's `expected`."""
    if expected.failed != got.failed:
        yield "failed", f"the simulator's pipeline {'failed' if expected.failed else 'succeeded'}, the host's " \
                        f"{'failed' if got.failed else 'succeeded'}"
    yield from _errors(expected.errors, got.errors)
    yield from _outputs(list(expected.output), list(got.output))


def _errors(expected: Sequence[ErrorRecord], got: Sequence[ErrorRecord]) -> Iterator[tuple[str, str]]:
    for i in range(max(len(expected), len(got))):
        if i >= len(expected):
            yield "error", f"the host reports an error the simulator would not: {_error(got[i])}"
            continue
        if i >= len(got):
            yield "error", f"the simulator would report an error the host does not: {_error(expected[i])}"
            continue
        mine, theirs = expected[i], got[i]
        for what, a, b in (("message", mine.message, theirs.message),
                           ("FullyQualifiedErrorId", mine.fully_qualified_error_id, theirs.fully_qualified_error_id),
                           ("category", mine.category, theirs.category)):
            if _norm(a) != _norm(b):
                yield "error", f"{what}: simulator {_short(a)!r}, host {_short(b)!r}"


def _outputs(expected: list[Any], got: list[Any]) -> Iterator[tuple[str, str]]:
    texts = all(not isinstance(o, PSObject) for o in expected + got)
    if texts and expected + got:
        if [_value_text(o) for o in expected] != [_value_text(o) for o in got]:
            yield "text", f"lines differ: simulator {_short(_lines(expected))!r}, host {_short(_lines(got))!r}"
        return
    if len(expected) != len(got):
        yield "object", f"the host answers {len(got)} object(s), the simulator {len(expected)}" + _names(expected, got)
    for mine, theirs in zip(expected, got):
        yield from _object(mine, theirs)


def _object(mine: Any, theirs: Any) -> Iterator[tuple[str, str]]:
    if not (isinstance(mine, PSObject) and isinstance(theirs, PSObject)):
        if _value_text(mine) != _value_text(theirs) or _kind(mine) != _kind(theirs):
            yield "value", f"simulator {_short(_value_text(mine))!r} ({_kind(mine)}), " \
                           f"host {_short(_value_text(theirs))!r} ({_kind(theirs)})"
        return
    label = _label(theirs)
    if mine.type_names[:1] != theirs.type_names[:1]:
        yield "type", f"{label}: type simulator {mine.type_names[:1]}, host {theirs.type_names[:1]}"
    ours, real = list(mine), list(theirs)
    missing = [p for p in real if p not in mine]
    extra = [p for p in ours if p not in theirs]
    if missing:
        yield "property", f"{label}: the host has {', '.join(missing)}; the simulator does not"
    if extra:
        yield "property", f"{label}: the simulator has {', '.join(extra)}; the host does not"
    for prop in (p for p in real if p in mine):
        a, b = mine[prop], theirs[prop]
        if _kind(a) != _kind(b) and not (a is None or b is None):
            yield "type", f"{label}.{prop}: simulator {_kind(a)} {_short(_value_text(a))!r}, " \
                          f"host {_kind(b)} {_short(_value_text(b))!r}"
        elif _value_text(a) != _value_text(b):
            yield "value", f"{label}.{prop}: simulator {_short(_value_text(a))!r}, host {_short(_value_text(b))!r}"


def _label(obj: PSObject) -> str:
    for key in ("Name", "VMName", "Path", "DisplayName", "Id", "DeviceId", "DriveLetter", "LocalPort", "InstanceID"):
        if key in obj and obj[key] not in (None, ""):
            return f"{obj.type_names[0].rsplit('/', 1)[-1].rsplit('.', 1)[-1]}[{obj[key]}]"
    return obj.type_names[0].rsplit(".", 1)[-1] if obj.type_names else "object"


def _names(expected: list[Any], got: list[Any]) -> str:
    mine = {_label(o) for o in expected if isinstance(o, PSObject)}
    theirs = {_label(o) for o in got if isinstance(o, PSObject)}
    parts = []
    if theirs - mine:
        parts.append("only the host: " + ", ".join(sorted(theirs - mine)[:MAX_SHOWN]))
    if mine - theirs:
        parts.append("only the simulator: " + ", ".join(sorted(mine - theirs)[:MAX_SHOWN]))
    return " (" + "; ".join(parts) + ")" if parts else ""


def _kind(value: Any) -> str:
    """The .NET-ish type a value arrived as (an enum and the string of its name are different kinds)."""
    if isinstance(value, PSEnum):
        return f"enum {value.type_name.rsplit('.', 1)[-1]}"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Int"
    if isinstance(value, float):
        return "Double"
    if isinstance(value, datetime):
        return "DateTime"
    if isinstance(value, (list, tuple)):
        return "Object[]"
    if isinstance(value, PSObject):
        return value.type_names[0] if value.type_names else "PSObject"
    return "String" if isinstance(value, str) else type(value).__name__


def _value_text(value: Any) -> str:
    if isinstance(value, PSEnum):
        return value.name
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(_value_text(v) for v in value) + "}"
    if isinstance(value, PSObject):
        return value.to_string
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat()
    return "" if value is None else str(value)


def _lines(values: list[Any]) -> str:
    return " | ".join(_value_text(v) for v in values)


def _error(error: ErrorRecord) -> str:
    return f"{_short(error.message)!r} ({error.fully_qualified_error_id}, {error.category})"


def _norm(text: str) -> str:
    return " ".join((text or "").split())


def _short(text: str, limit: int = 160) -> str:
    text = _norm(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
