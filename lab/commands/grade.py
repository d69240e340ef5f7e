"""`nestlab grade`: rate a diagnostic against every root cause of the catalog (lab/grade.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from nestlab.simulator.errors import BadInput

ENV = "$NESTLAB_URL, $NESTLAB_USER, $NESTLAB_PASSWORD"  # lab.grade.URL_ENV … (imported only when grading)


@click.command("grade")
@click.option("--script", "script", type=click.Path(dir_okay=False), default=None,
              help="A PowerShell diagnostic script, run unchanged on every Hyper-V host of each lab.")
@click.option("--command", "command_line", default=None, metavar="'CMD …'",
              help=f"A program run against the served lab ({ENV} in its environment).")
@click.option("--rules", "rules", type=click.Path(dir_okay=False), default=None,
              help="YAML: root-cause id → regex that means the diagnostic named it.")
@click.option("--exit-code", "by_exit", is_flag=True, help="Read only the exit code: not 0 means 'found something'.")
@click.option("--endpoint", "via_endpoint", is_flag=True, help="Send --script through pypsrp to the served lab.")
@click.option("--with-nestlab/--without-nestlab", default=True, help="Grade nestlab's own diagnosis side by side.")
@click.option("--generated", default=0, show_default=True, help="Also this many generated labs.")
@click.option("--seed", default=0, show_default=True, help="The first generated lab's seed.")
@click.option("--fault", "only", multiple=True, metavar="ID", help="Only these root causes (repeatable).")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print the table as Markdown (for the README).")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
def command(script: str | None, command_line: str | None, rules: str | None, by_exit: bool, via_endpoint: bool,
            with_nestlab: bool, generated: int, seed: int, only: tuple[str, ...], as_markdown: bool,
            as_json: bool) -> None:
    """Inject every root cause into the builtin labs, run a diagnostic on each, and print
    recall and precision per root cause plus what it said on the healthy labs.

    \b
    Examples:
      nestlab grade --script fixtures/scripts/Test-NestedHost.ps1 --rules fixtures/grade/test-nestedhost.yaml
      nestlab grade --script Get-NestedVirtStatus.ps1 --rules fixtures/grade/get-nestedvirtstatus.yaml --markdown
      nestlab grade --command './my-check.sh' --exit-code --generated 10
      nestlab grade --without-nestlab --script check.ps1 --exit-code --fault extensions-not-exposed
    """
    from rich.console import Console

    from nestlab.lab import grade as grading

    diagnostics = _diagnostics(script, command_line, rules, by_exit, via_endpoint, with_nestlab)
    for fault in only:
        if fault not in grading.faults.CATALOG:
            raise BadInput(f"--fault {fault}: not a root-cause id of the catalog")
    cases = list(grading.cases(generated=generated, seed=seed, only=only or None))
    console = Console(stderr=True)
    grades = []
    for diagnostic, rule in diagnostics:
        with console.status(f"grading {diagnostic.name}…") as status:
            grades.append(grading.grade(diagnostic, rule, cases,
                                        progress=lambda c: status.update(f"{diagnostic.name}: {c.lab_name} "
                                                                         f"{c.fault or 'healthy'}")))
    if as_json:
        click.echo(json.dumps([_as_dict(g) for g in grades], indent=2))
    elif as_markdown:
        click.echo(markdown(grades), nl=False)
    else:
        _print(grades)


def _diagnostics(script, command_line, rules, by_exit, via_endpoint, with_nestlab):
    from nestlab.lab import grade as grading

    if script and command_line:
        raise BadInput("grade: give --script or --command, not both")
    out = []
    if script or command_line:
        if bool(rules) == by_exit:
            raise BadInput("grade: give --rules FILE or --exit-code to say how to read the diagnostic's verdict")
        rule = grading.ExitCodeRule() if by_exit else grading.RegexRule.load(rules)
        if script:
            if not Path(script).is_file():
                raise BadInput(f"--script {script}: no such file")
            out.append((grading.ScriptDiagnostic(Path(script), via_endpoint=via_endpoint), rule))
        else:
            out.append((grading.CommandDiagnostic(command_line), rule))
    if with_nestlab:
        out.append((grading.NestlabDiagnosis(), grading.IdsRule()))
    if not out:
        raise BadInput("grade: nothing to grade (give --script or --command, or keep --with-nestlab)")
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
        missed = [s for s in g.scores if s.found < s.cases and s.said_instead]
        for s in missed:
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
