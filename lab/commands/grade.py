"""`nestlab grade DIAGNOSTIC`: rate a diagnostic against every root cause of the catalog (lab/grade.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from nestlab.simulator.errors import BadInput

ENV = "$NESTLAB_URL, $NESTLAB_USER, $NESTLAB_PASSWORD"  # lab.grade.URL_ENV … (imported only when grading)


@click.command("grade")
@click.argument("diagnostic", metavar="[DIAGNOSTIC]", required=False)
@click.option("--verdicts", "verdicts", type=click.Path(dir_okay=False), default=None,
              help="YAML: root-cause id → regex that means the diagnostic named it. Without: its exit code "
                   "(not 0 = found something).")
@click.option("--labs", "lab_specs", multiple=True, metavar="LAB",
              help="builtin:NAME, a lab file, or generated:N (repeatable). Default: every builtin lab.")
@click.option("--seed", default=0, show_default=True, help="The first generated lab's seed.")
@click.option("--endpoint", "via_endpoint", is_flag=True, help="Send a .ps1 through pypsrp to the served lab.")
@click.option("--with-nestlab/--without-nestlab", default=True, help="Grade nestlab's own diagnosis side by side.")
@click.option("--fault", "only", multiple=True, metavar="ID", help="Only these root causes (repeatable).")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print the table as Markdown (for the README).")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
def command(diagnostic: str | None, verdicts: str | None, lab_specs: tuple[str, ...], seed: int, via_endpoint: bool,
            with_nestlab: bool, only: tuple[str, ...], as_markdown: bool, as_json: bool) -> None:
    """Inject every root cause into the labs, run DIAGNOSTIC on each, and print recall and
    precision per root cause, what it said instead when it missed, and its false alarms on the
    healthy labs — beside nestlab's own diagnosis.

    DIAGNOSTIC is a PowerShell script (.ps1, run unchanged on every Hyper-V host of each lab,
    nested ones too) or a command, run against the served lab with its URL and credentials in
    $NESTLAB_URL, $NESTLAB_USER, $NESTLAB_PASSWORD.

    \b
    Examples:
      nestlab grade fixtures/scripts/Test-NestedHost.ps1 --verdicts fixtures/verdicts/test-nestedhost.yaml
      nestlab grade Get-NestedVirtStatus.ps1 --verdicts fixtures/verdicts/get-nestedvirtstatus.yaml --markdown
      nestlab grade './my-check.sh' --labs builtin:reference --labs generated:10
      nestlab grade check.ps1 --without-nestlab --fault extensions-not-exposed --json
    """
    from rich.console import Console

    from nestlab.lab import grade as grading

    diagnostics = _diagnostics(diagnostic, verdicts, via_endpoint, with_nestlab)
    for fault in only:
        if fault not in grading.faults.CATALOG:
            raise BadInput(f"--fault {fault}: not a root-cause id of the catalog")
    labs = grading.labs_of(lab_specs, seed=seed) if lab_specs else None
    cases = list(grading.cases(labs=labs, only=only or None))
    console = Console(stderr=True)
    grades = []
    for diag, rule in diagnostics:
        with console.status(f"grading {diag.name}…") as status:
            grades.append(grading.grade(diag, rule, cases,
                                        progress=lambda c: status.update(f"{diag.name}: {c.lab_name} {c.fault or 'healthy'}")))
    if as_json:
        click.echo(json.dumps([_as_dict(g) for g in grades], indent=2))
    elif as_markdown:
        click.echo(markdown(grades), nl=False)
    else:
        _print(grades)


def _diagnostics(diagnostic, verdicts, via_endpoint, with_nestlab):
    from nestlab.lab import grade as grading

    out = []
    if diagnostic:
        rule = grading.RegexRule.load(verdicts) if verdicts else grading.ExitCodeRule()
        if diagnostic.lower().endswith(".ps1"):
            if not Path(diagnostic).is_file():
                raise BadInput(f"{diagnostic}: no such script file")
            out.append((grading.ScriptDiagnostic(Path(diagnostic), via_endpoint=via_endpoint), rule))
        else:
            out.append((grading.CommandDiagnostic(diagnostic), rule))
    elif verdicts:
        raise BadInput("grade: --verdicts reads a DIAGNOSTIC's output; give the diagnostic")
    if with_nestlab:
        out.append((grading.NestlabDiagnosis(), grading.IdsRule()))
    if not out:
        raise BadInput("grade: nothing to grade (give a DIAGNOSTIC, or keep --with-nestlab)")
    return out


def _causes(grades) -> list[str]:
    return sorted({s.cause for g in grades for s in g.scores})


def _cell(grade, cause: str) -> tuple[str, str]:
    from nestlab.lab.grade import percent

    s = grade.score(cause)
    if s is None:
        return "–", "–"
    return (f"{s.found}/{s.cases}", percent(s.precision) if grade.names_causes else "–")


def _print(grades) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="recall and precision per root cause")
    table.add_column("root cause")
    for g in grades:
        table.add_column(f"{g.diagnostic}\nfound", justify="right")
        table.add_column("precision", justify="right")
    for cause in _causes(grades):
        table.add_row(cause, *(c for g in grades for c in _cell(g, cause)))
    table.add_row("healthy labs: false alarms", *(c for g in grades for c in (f"{g.healthy_alarms}/{g.healthy}", "")))
    Console(width=max(Console().width, 120)).print(table)
    for g in grades:
        for s in g.scores:
            if s.found < s.cases and s.said_instead:
                said = ", ".join(f"{k} ({n})" for k, n in s.said_instead)
                click.echo(f"{g.diagnostic}: {s.cause} missed {s.cases - s.found}/{s.cases}; said instead: {said}")


def markdown(grades) -> str:
    head = "| root cause | " + " | ".join(f"{g.diagnostic}: found | precision" for g in grades) + " |\n"
    rule = "|---|" + "---:|---:|" * len(grades) + "\n"
    rows = "".join(f"| `{cause}` | " + " | ".join(" | ".join(_cell(g, cause)) for g in grades) + " |\n"
                   for cause in _causes(grades))
    caught = "| **root causes caught** | " + " | ".join(f"{g.caught}/{len(g.scores)} | " for g in grades) + "\n"
    healthy = "| healthy labs with a false alarm | " + " | ".join(f"{g.healthy_alarms}/{g.healthy} | " for g in grades) + "\n"
    return head + rule + rows + caught + healthy


def _as_dict(g) -> dict:
    return {"diagnostic": g.diagnostic, "healthy": g.healthy, "healthy_alarms": g.healthy_alarms,
            "scores": [{"root_cause": s.cause, "cases": s.cases, "found": s.found, "recall": s.recall,
                        "false_alarms": s.false_alarms, "precision": s.precision,
                        "said_instead": dict(s.said_instead)} for s in g.scores]}
