"""Grade any diagnostic against the fault catalog: recall and precision per root cause (issue 12, item 3).

A diagnostic is run on a set of cases — every builtin lab healthy, then every root cause of the
catalog injected into every builtin lab it applies to, then the same over a sample of generated
labs — and a rule reads a verdict out of what it printed:

* `RegexRule`: a regex per root-cause id; the id is named when its regex matches the text;
* `ExitCodeRule`: "something is wrong" when the exit code is not 0 (recall only: it names no id);
* `IdsRule`: the text is root-cause ids, one a line (nestlab's own diagnosis).

Three kinds of diagnostic: a PowerShell script (run through the engine on every Hyper-V host of
the lab, nested ones included; `via_endpoint` sends it through pypsrp to the served lab), a
command (run with the served lab's URLs and credentials in its environment), and nestlab's own
diagnosis (in process, through SimSession). Nothing here reads fault records: the grader knows
what it injected, the diagnostic only what it asked.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol

from nestlab.simulator import faults, labfile, powershell, psformat
from nestlab.simulator.errors import BadInput
from nestlab.simulator.model import Lab

ANY = "*"  # what an exit-code rule predicts: something, not which root cause
URL_ENV, USER_ENV, PASSWORD_ENV = "NESTLAB_URL", "NESTLAB_USER", "NESTLAB_PASSWORD"


@dataclass(frozen=True)
class Case:
    """One lab to diagnose and what was injected into it (None: healthy)."""

    lab_name: str
    lab: Lab = field(compare=False, repr=False)
    fault: str | None = None
    subject: str | None = None


@dataclass(frozen=True)
class Verdict:
    text: str
    exit_code: int


class Diagnostic(Protocol):
    name: str

    def run(self, lab: Lab) -> Verdict: ...


class Rule(Protocol):
    def read(self, verdict: Verdict) -> set[str]: ...


# -- cases --------------------------------------------------------------------------------------

def labs_of(specs: Iterable[str], *, seed: int = 0) -> list[tuple[str, Lab]]:
    """`builtin:NAME`, a lab file, or `generated:N` (N generated labs from `seed`) → (name, Lab)."""
    out: list[tuple[str, Lab]] = []
    for spec in specs:
        if spec.startswith("generated:"):
            count = spec.split(":", 1)[1]
            if not count.isdigit():
                raise BadInput(f"--labs {spec}: generated:N needs a number of labs")
            from nestlab.simulator.generate import generate
            out += [(f"generated:{seed + i}", generate(seed=seed + i, hosts=1, depth=2)) for i in range(int(count))]
        else:
            out.append((spec, labfile.load(spec)))
    return out


def cases(*, builtins: Iterable[str] | None = None, generated: int = 0, seed: int = 0,
          only: Iterable[str] | None = None, labs: list[tuple[str, Lab]] | None = None) -> Iterator[Case]:
    """Healthy labs first, then each root cause injected into each lab it applies to."""
    if labs is None:
        names = builtins if builtins is not None else labfile.builtin_names()
        labs = labs_of([f"builtin:{n}" for n in names] + ([f"generated:{generated}"] if generated else []), seed=seed)
    wanted = list(only) if only is not None else list(faults.CATALOG)
    for name, lab in labs:
        yield Case(name, lab.copy())
    for fault_id in wanted:
        fault = faults.get(fault_id)
        for name, lab in labs:
            if not fault.find(lab):
                continue
            broken = lab.copy()
            subject = fault.inject(broken)
            yield Case(name, broken, fault_id, subject)


# -- rules --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RegexRule:
    patterns: tuple[tuple[str, re.Pattern[str]], ...]

    def read(self, verdict: Verdict) -> set[str]:
        return {cause for cause, pattern in self.patterns if pattern.search(verdict.text)}

    @classmethod
    def load(cls, path: str | Path) -> "RegexRule":
        """A YAML mapping root-cause id → regex (or a list of them); unknown ids are BadInput."""
        from ruamel.yaml import YAML

        file = Path(path)
        if not file.is_file():
            raise BadInput(f"{path}: no such rules file")
        data = YAML(typ="safe").load(file.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise BadInput(f"{path}: a rules file maps root-cause ids to regexes")
        pairs: list[tuple[str, re.Pattern[str]]] = []
        for cause, value in data.items():
            if cause not in faults.CATALOG:
                raise BadInput(f"{path}: '{cause}' is not a root-cause id of the catalog")
            for text in value if isinstance(value, list) else [value]:
                try:
                    pairs.append((cause, re.compile(str(text), re.IGNORECASE | re.MULTILINE)))
                except re.error as exc:
                    raise BadInput(f"{path}: {cause}: bad regex {text!r}: {exc}") from None
        return cls(tuple(pairs))


@dataclass(frozen=True)
class ExitCodeRule:
    def read(self, verdict: Verdict) -> set[str]:
        return {ANY} if verdict.exit_code != 0 else set()


@dataclass(frozen=True)
class IdsRule:
    def read(self, verdict: Verdict) -> set[str]:
        return {line.strip() for line in verdict.text.splitlines() if line.strip() in faults.CATALOG}


# -- diagnostics --------------------------------------------------------------------------------

def hyperv_hosts(lab: Lab) -> list[str]:
    """Every context a person would run a host script on: the hosts and each VM that runs VMs."""
    out: list[str] = []
    stack = list(lab.hosts())
    while stack:
        node = stack.pop(0)
        out.append(node)
        stack.extend(vm for vm in lab.vms(node) if lab.vms(vm))
    return out


def console_text(result: Any) -> str:
    """A ScriptResult as the console would show it (every stream), for a rule to read."""
    lines: list[str] = []
    pending: list[Any] = []
    for kind, value in result.events:
        if kind == "output":
            pending.append(value)
            continue
        if pending:
            lines.append(psformat.render(pending))
            pending = []
        if kind == "error":
            lines.append(psformat.format_error(value[0]))
        elif kind in ("warning", "verbose", "debug"):
            lines.append(f"{kind.upper()}: {value}")
        else:
            lines.append(str(value))
    if pending:
        lines.append(psformat.render(pending))
    return "\n".join(lines)


@dataclass
class ScriptDiagnostic:
    """A PowerShell script, unchanged, on every Hyper-V host of the lab."""

    path: Path
    args: tuple[str, ...] = ()
    via_endpoint: bool = False

    @property
    def name(self) -> str:
        return self.path.name

    def run(self, lab: Lab) -> Verdict:
        text = self.path.read_text(encoding="utf-8-sig")
        if self.via_endpoint:
            return self._through_endpoint(lab, text)
        from nestlab.simulator.pwsh import run_script

        parts, code = [], 0
        for context in hyperv_hosts(lab):
            result = run_script(lambda where, pipeline: powershell.run(lab, where, pipeline), context, text,
                                args=self.args)
            parts.append(console_text(result))
            code = max(code, result.exit_code)
        return Verdict("\n".join(parts), code)

    def _through_endpoint(self, lab: Lab, text: str) -> Verdict:
        from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool
        from pypsrp.wsman import WSMan

        from nestlab.simulator.endpoint.server import Credentials, LabServer

        user, password = "grader", os.urandom(12).hex()
        parts, code = [], 0
        with LabServer(lab, Credentials(user, password)) as server:
            for host in lab.hosts():
                wsman = WSMan("127.0.0.1", port=server.servers[host].port, username=user, password=password,
                              ssl=False, auth="basic", encryption="never", no_proxy=True)
                with RunspacePool(wsman) as pool:
                    ps = PowerShell(pool)
                    ps.add_script(text)
                    for arg in self.args:
                        ps.add_argument(arg)
                    output = ps.invoke()
                    parts += [str(i.message_data) for i in ps.streams.information]
                    parts += [f"WARNING: {w.message}" for w in ps.streams.warning]
                    parts += [str(o) for o in output] + [str(e) for e in ps.streams.error]
                    code = max(code, 1 if ps.state == PSInvocationState.FAILED else 0)
        return Verdict("\n".join(parts), code)


@dataclass
class CommandDiagnostic:
    """Any program: it gets the served lab's first host URL and credentials in its environment."""

    command: str
    timeout: float = 300.0

    @property
    def name(self) -> str:
        return shlex.split(self.command)[0].rsplit("/", 1)[-1]

    def run(self, lab: Lab) -> Verdict:
        from nestlab.simulator.endpoint.server import Credentials, LabServer

        user, password = "grader", os.urandom(12).hex()
        with LabServer(lab, Credentials(user, password)) as server:
            urls = server.urls()
            env = {**os.environ, URL_ENV: urls[lab.hosts()[0]], USER_ENV: user, PASSWORD_ENV: password,
                   "NESTLAB_URLS": " ".join(f"{h}={u}" for h, u in urls.items())}
            try:
                done = subprocess.run(shlex.split(self.command), env=env, capture_output=True, text=True,
                                      timeout=self.timeout, check=False)
            except FileNotFoundError:
                raise BadInput(f"--command: {shlex.split(self.command)[0]}: no such program") from None
            except subprocess.TimeoutExpired:
                return Verdict(f"timed out after {self.timeout:.0f} s", 124)
        return Verdict(done.stdout + done.stderr, done.returncode)


class NestlabDiagnosis:
    """nestlab's own diagnosis through a SimSession: the root causes of its error and warning findings."""

    name = "nestlab diagnose"

    def run(self, lab: Lab) -> Verdict:
        from nestlab.lab.diagnose import blocking, diagnose_session
        from nestlab.lab.session import SimSession

        report = diagnose_session(SimSession(lab)).report
        ids = sorted({f.root_cause for f in report.findings if f.severity in ("error", "warning")})
        return Verdict("\n".join(ids), 1 if blocking(report) else 0)


# -- scoring ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Score:
    """One root cause: how often it was named when injected, and when it was not."""

    cause: str
    cases: int
    found: int
    false_alarms: int  # named on cases where it was not injected (healthy ones included)
    said_instead: tuple[tuple[str, int], ...] = ()  # when missed: what was named instead, how often

    @property
    def recall(self) -> float:
        return self.found / self.cases if self.cases else 0.0

    @property
    def precision(self) -> float | None:
        named = self.found + self.false_alarms
        return self.found / named if named else None


@dataclass(frozen=True)
class Grade:
    diagnostic: str
    scores: tuple[Score, ...]
    healthy: int
    healthy_alarms: int  # healthy labs on which it named something
    names_causes: bool  # False for an exit-code rule: it only says "something"

    def score(self, cause: str) -> Score | None:
        return next((s for s in self.scores if s.cause == cause), None)

    @property
    def caught(self) -> int:
        return sum(1 for s in self.scores if s.found)


def grade(diagnostic: Diagnostic, rule: Rule, all_cases: Iterable[Case],
          progress: Callable[[Case], None] | None = None) -> Grade:
    said: list[tuple[Case, set[str]]] = []
    for case in all_cases:
        if progress is not None:
            progress(case)
        said.append((case, rule.read(diagnostic.run(case.lab))))
    return score(diagnostic.name, said, names_causes=not isinstance(rule, ExitCodeRule))


def score(name: str, said: list[tuple[Case, set[str]]], *, names_causes: bool = True) -> Grade:
    causes = sorted({c.fault for c, _ in said if c.fault is not None})
    scores = []
    for cause in causes:
        mine = [(c, p) for c, p in said if c.fault == cause]
        hit = [(c, p) for c, p in mine if (cause in p if names_causes else bool(p))]
        others = [(c, p) for c, p in said if c.fault != cause]
        alarms = sum(1 for _, p in others if cause in p) if names_causes else 0
        instead = Counter(x for c, p in mine if (c, p) not in hit for x in (p or {"(nothing)"}))
        scores.append(Score(cause, len(mine), len(hit), alarms, tuple(instead.most_common(3))))
    healthy = [(c, p) for c, p in said if c.fault is None]
    return Grade(name, tuple(scores), len(healthy), sum(1 for _, p in healthy if p), names_causes)


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"
