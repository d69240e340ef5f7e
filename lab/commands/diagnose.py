"""`nestlab diagnose TARGET`: collect evidence through PowerShell and print the findings."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from nestlab.lab import timeout_option
from nestlab.lab.completion import complete_target
from nestlab.simulator.errors import BadInput

if TYPE_CHECKING:
    from nestlab.diagnosis.evidence import Statements
    from nestlab.diagnosis.findings import Report
    from nestlab.lab.diagnose import Diagnosis


@click.command("diagnose")
@click.argument("target", shell_complete=complete_target)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (spec/cli.md).")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print the report as Markdown (for a ticket).")
@click.option("--vm", "vm", metavar="NAME", help="Only findings about this VM (name or node id) and below.")
@click.option("--html", "html_path", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write one self-contained HTML report (topology, findings, checklist, traces).")
@timeout_option.option
@click.option("--nested-host", "nested_hosts", metavar="VM", multiple=True,
              help="This VM is meant to host nested VMs (repeatable): every check of the guide's first section applies.")
@click.option("--symptom", "symptoms", metavar="TEXT", multiple=True,
              help="An error text someone saw (repeatable): evidence that ranks the findings and places intent.")
@click.option("--reachable", "reachable", metavar="VM:PORT", multiple=True,
              help="This VM's TCP port is meant to be reachable from outside (repeatable).")
def command(target: str, as_json: bool, as_markdown: bool, vm: str | None, html_path: Path | None, timeout: float,
            nested_hosts: tuple[str, ...] = (), symptoms: tuple[str, ...] = (), reachable: tuple[str, ...] = ()) -> None:
    """Collect evidence from TARGET and name root causes, subjects, evidence and fixes.

    TARGET is a lab file, builtin:NAME, psrp://[user@]host[:port][?transport=…&auth=…],
    inventory:PATH or fleet:LAB (docs/targets.md). What could not be collected (guests not
    entered, hosts that did not answer) is listed too; in --json as "gaps". Exit 0: nothing
    wrong; 1: findings; 2: could not run.

    \b
    Examples:
      nestlab diagnose builtin:reference
      nestlab diagnose broken.yaml --json
      nestlab diagnose broken.yaml --markdown > ticket-4711.md
      nestlab diagnose psrp://admin@hv01.contoso.com --vm L1
      nestlab diagnose inventory:lab/inventory.yaml --timeout 120
      nestlab diagnose fleet:reference
      nestlab diagnose broken.yaml --html report.html
      nestlab diagnose lab.yaml --nested-host L1
      nestlab diagnose lab.yaml --symptom "Hyper-V cannot be installed: The processor does not have required virtualization capabilities"
      nestlab diagnose lab.yaml --reachable L2-web:80
    """
    if html_path is not None and not html_path.parent.is_dir():
        raise BadInput(f"{html_path}: no such folder {html_path.parent}")
    from rich.console import Console
    from nestlab.lab.diagnose import blocking, diagnose_target, reached_nothing, unreachable_error
    from nestlab.lab.render import print_report, report_markdown

    if as_json and as_markdown:
        raise click.UsageError("--json and --markdown: choose one")
    result = diagnose_target(target, stated(nested_hosts, symptoms, reachable), timeout=timeout)
    if reached_nothing(result):  # no host answered: no report at all (it would read "no findings")
        raise unreachable_error(result)
    report = _only_vm(result.report, vm) if vm else result.report
    if as_json:
        click.echo(report.to_json())
    elif as_markdown:
        click.echo(report_markdown(report), nl=False)
    else:
        print_report(Console(width=max(Console().width, 120)), report)
    if html_path is not None:
        _write_html(html_path, replace(result, report=report))
    failed = unreachable_error(result)
    if failed:  # the other hosts were diagnosed and printed; the run still could not do it all
        raise failed
    sys.exit(1 if blocking(report) else 0)


def _write_html(path: Path, diagnosis: Diagnosis) -> None:
    from nestlab.lab.report_html import report_page
    from nestlab.simulator.labfile import write_atomic

    write_atomic(path, report_page(diagnosis))
    click.echo(f"{path}: HTML report written", err=True)


def stated(nested_hosts: tuple[str, ...], symptoms: tuple[str, ...], reachable: tuple[str, ...]) -> Statements:
    """The options as Statements; a --symptom no catalog entry matches is still kept as text."""
    from nestlab.diagnosis.evidence import Observed, Statements
    from nestlab.diagnosis.symptoms import observe, parse_reachable

    seen = tuple(observe(text, "--symptom") or Observed(text.strip(), "--symptom") for text in symptoms if text.strip())
    return Statements(nested_hosts=tuple(nested_hosts), symptoms=seen,
                      reachable=tuple(parse_reachable(r) for r in reachable))


def _only_vm(report: Report, vm: str) -> Report:
    from nestlab.diagnosis.findings import Report
    from nestlab.simulator.model import NodeId

    wanted = NodeId.parse(vm)  # a VM's name (L1) or its id (HV01/L1)

    def about(subject: str) -> bool:
        node = NodeId.parse(subject)
        return vm in node.guest_path or node.within(wanted)

    return replace(report, findings=tuple(f for f in report.findings if about(f.subject)))
