"""`nestlab fidelity TARGET`: where the simulator would have predicted a host's answers otherwise."""

from __future__ import annotations

import json

import click

from nestlab.lab.completion import complete_target


@click.command("fidelity")
@click.argument("target", shell_complete=complete_target)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (target, compared, differences).")
def command(target: str, as_json: bool) -> None:
    """Capture TARGET, run every probe on it and on the captured lab in the simulator, list each difference.

    A difference is an object, a property, a value, a type, an error (text, FullyQualifiedErrorId,
    category), a pipeline failing on one side only, or a native command's lines. Exit 0 when the
    simulator predicts every answer, 1 when it does not (the list is the simulator's to-do list),
    2 on bad input. Read-only: only the diagnosis's probes run on the host.

    \b
    Examples:
      NESTLAB_PASSWORD=… nestlab fidelity 'psrp://admin@hv01.lab.example'
      nestlab fidelity inventory:lab/inventory.yaml --json
      nestlab fidelity builtin:reference              the simulator against itself: empty
    """
    from nestlab.lab.fidelity import fidelity
    from nestlab.lab.targets import parse_target

    with parse_target(target).open() as session:
        report = fidelity(session, target=target)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        click.echo(report.text(), nl=False)
    raise SystemExit(1 if report.differences else 0)
